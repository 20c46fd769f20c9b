"""The user's side of a ticket: its status, follow-ups, rating and cancelling."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.web.deps import AssistantDep, SettingsDep, checked_text
from assistant.web.schemas import RatingBody, TextBody

router = APIRouter(prefix="/tickets")

#: What a user sees of their ticket (agents see everything).
USER_FIELDS = ("id", "status", "priority", "lang", "category", "created_at", "updated_at",
               "position", "eta_minutes", "details", "resolution", "rating", "rating_comment")


def user_view(ticket: dict) -> dict:
    view = {k: ticket.get(k) for k in USER_FIELDS}
    view["messages"] = [{"role": m["role"], "text": m["text"], "at": m["at"]}
                        for m in ticket["messages"]]
    return view


@router.get("/{ticket_id}")
def ticket_status(ticket_id: str, a: AssistantDep) -> dict:
    """The user's own ticket (by its unguessable id): status, place, wait, replies."""
    return user_view(a.ticket(ticket_id))


@router.post("/{ticket_id}/messages")
def ticket_message(ticket_id: str, body: TextBody, s: SettingsDep, a: AssistantDep) -> dict:
    """A follow-up or more details from the user on an open ticket."""
    ticket, redacted = a.follow_up(ticket_id, checked_text(body.text, s.max_query_chars, "text"))
    return {**user_view(ticket), "redacted": redacted}


@router.post("/{ticket_id}/rating")
def ticket_rating(ticket_id: str, body: RatingBody, a: AssistantDep) -> dict:
    """Rate the help after the ticket is resolved (1-5, optional comment)."""
    return user_view(a.rate(ticket_id, body.score, body.comment))


@router.post("/{ticket_id}/cancel")
def ticket_cancel(ticket_id: str, a: AssistantDep) -> dict:
    """The user no longer needs help; the ticket leaves the queue."""
    return user_view(a.cancel(ticket_id))
