"""The agent console's API (bearer agent token) and its page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from assistant.web.deps import AgentName, AssistantDep
from assistant.web.pages import PAGE_HEADERS, STATIC_DIR
from assistant.web.schemas import ClaimBody, LangCode, ResolveBody, TextBody

router = APIRouter(prefix="/agent")


@router.get("/tickets")
def agent_list(agent: AgentName, a: AssistantDep,
               status: Annotated[Literal["open", "claimed", "resolved", "abandoned"] | None,
                                 Query()] = "open",
               priority: Annotated[Literal["normal", "urgent"] | None, Query()] = None,
               lang: Annotated[LangCode | None, Query()] = None,
               category: Annotated[str | None, Query(max_length=64)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """Tickets for agents, most urgent and oldest first (agent token required)."""
    rows, open_count = a.tickets(status=status, priority=priority, lang=lang, category=category,
                                 limit=limit)
    return {"tickets": rows, "open": open_count}


@router.get("/me")
def agent_me(agent: AgentName) -> dict:
    """The signed-in agent's name (the console shows who is working)."""
    return {"agent": agent}


@router.get("/tickets/{ticket_id}")
def agent_ticket(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """One ticket with its conversation, details and candidates."""
    return a.ticket(ticket_id)


@router.post("/tickets/claim")
def agent_claim_next(agent: AgentName, a: AssistantDep, body: ClaimBody | None = None) -> dict:
    """Take the next ticket (urgent first, then oldest); `ticket` is null when none wait."""
    body = body or ClaimBody(lang=None, category=None)
    return {"ticket": a.claim_next(agent, lang=body.lang, category=body.category)}


@router.post("/tickets/{ticket_id}/claim")
def agent_claim(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """Take this ticket; 409 when another agent holds it."""
    return a.claim(ticket_id, agent)


@router.post("/tickets/{ticket_id}/reply")
def agent_reply(ticket_id: str, body: TextBody, agent: AgentName, a: AssistantDep) -> dict:
    """Reply to the user (the ticket must be claimed by this agent)."""
    return a.agent_reply(ticket_id, agent, body.text)


@router.post("/tickets/{ticket_id}/resolve")
def agent_resolve(ticket_id: str, body: ResolveBody, agent: AgentName, a: AssistantDep) -> dict:
    """Close the ticket with a resolution note."""
    return a.resolve(ticket_id, agent, body.resolution)


@router.post("/tickets/{ticket_id}/release")
def agent_release(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """Put the ticket back in the queue for someone else."""
    return a.release(ticket_id, agent)


@router.get("", include_in_schema=False)
def agent_console() -> FileResponse:
    """The agent console page (it asks for the agent token)."""
    return FileResponse(STATIC_DIR / "agent.html", media_type="text/html", headers=PAGE_HEADERS)
