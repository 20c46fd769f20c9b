"""The user's side of a ticket: its status, follow-ups, rating and cancelling.

Every route needs the ticket's secret, issued once in the `/answer` reply that created the
ticket, as `Authorization: Bearer <secret>`. Without it, or with a wrong one, the answer is the
404 of an unknown ticket, so ids cannot be probed. Agents use their own routes and tokens.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from assistant.handoff.protocols import ROLES
from assistant.web.deps import AssistantDep, SettingsDep, checked_text
from assistant.web.schemas import RatingBody, TextBody

router = APIRouter(prefix="/tickets")

#: What a user sees of their ticket (agents see everything).
USER_FIELDS = ("id", "status", "priority", "lang", "category", "created_at", "updated_at",
               "position", "eta_minutes", "details", "resolution", "rating", "rating_comment",
               "channel", "reopen_until")


def ticket_secret(request: Request) -> str | None:
    """The secret sent as `Authorization: Bearer <ticket secret>`, else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


TicketSecret = Annotated[str | None, Depends(ticket_secret)]


def user_view(ticket: dict) -> dict:
    """The ticket as its user sees it: no internal notes or events, no agent names, no
    contact address, team or candidates."""
    view = {k: ticket.get(k) for k in USER_FIELDS}
    view["messages"] = [{"role": m["role"], "text": m["text"], "at": m["at"]}
                        for m in ticket["messages"] if m["role"] in ROLES]
    return view


@router.get("/{ticket_id}")
def ticket_status(ticket_id: str, secret: TicketSecret, a: AssistantDep) -> dict:
    """The user's own ticket: status, place, wait, replies."""
    return user_view(a.user_ticket(ticket_id, secret=secret))


@router.post("/{ticket_id}/messages")
def ticket_message(ticket_id: str, body: TextBody, secret: TicketSecret, s: SettingsDep,
                   a: AssistantDep) -> dict:
    """A follow-up or more details from the user on an open ticket."""
    ticket, redacted = a.follow_up(ticket_id, checked_text(body.text, s.max_query_chars, "text"),
                                   secret=secret)
    return {**user_view(ticket), "redacted": redacted}


@router.post("/{ticket_id}/rating")
def ticket_rating(ticket_id: str, body: RatingBody, secret: TicketSecret,
                  a: AssistantDep) -> dict:
    """Rate the help after the ticket is resolved (1-5, optional comment)."""
    return user_view(a.rate(ticket_id, body.score, body.comment, secret=secret))


@router.post("/{ticket_id}/reopen")
def ticket_reopen(ticket_id: str, body: TextBody, secret: TicketSecret, s: SettingsDep,
                  a: AssistantDep) -> dict:
    """"Still not solved": a resolved ticket goes back to its team's queue with your message
    (within ASSISTANT_REOPEN_DAYS of its resolution; 409 otherwise)."""
    ticket = a.reopen(ticket_id, checked_text(body.text, s.max_query_chars, "text"),
                      secret=secret)
    return user_view(ticket)


@router.post("/{ticket_id}/cancel")
def ticket_cancel(ticket_id: str, secret: TicketSecret, a: AssistantDep) -> dict:
    """The user no longer needs help; the ticket leaves the queue."""
    return user_view(a.cancel(ticket_id, secret=secret))
