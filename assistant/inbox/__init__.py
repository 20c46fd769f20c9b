"""The email channel's entry point: an SMTP listener that turns mail into `InboundMail`
values for `Assistant.email_in` (parsing in `parsing.py`, the listener in `listener.py`)."""
