"""One router per resource; `assistant.web.app` includes them all."""
