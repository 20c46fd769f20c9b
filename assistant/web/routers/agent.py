"""The agent console's API (bearer agent token) and its page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from assistant.web.deps import AgentName, AssistantDep
from assistant.web.pages import PAGE_HEADERS, STATIC_DIR
from assistant.web.schemas import (
    ClaimBody,
    EscalateBody,
    LangCode,
    ResolveBody,
    TextBody,
    TransferBody,
)

router = APIRouter(prefix="/agent")


@router.get("/tickets")
def agent_list(agent: AgentName, a: AssistantDep,
               status: Annotated[Literal["open", "claimed", "resolved", "abandoned"] | None,
                                 Query()] = "open",
               priority: Annotated[Literal["normal", "urgent"] | None, Query()] = None,
               lang: Annotated[LangCode | None, Query()] = None,
               category: Annotated[str | None, Query(max_length=64)] = None,
               team: Annotated[str | None, Query(max_length=32)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """Tickets for agents, most urgent and oldest first (agent token required)."""
    rows, open_count = a.tickets(status=status, priority=priority, lang=lang, category=category,
                                 team=team, limit=limit)
    return {"tickets": rows, "open": open_count}


@router.get("/me")
def agent_me(agent: AgentName, a: AssistantDep) -> dict:
    """The signed-in agent's name and teams (the console shows who is working)."""
    return {"agent": agent, "teams": list(a.settings.teams_of(agent))}


@router.get("/teams")
def agent_teams(agent: AgentName, a: AssistantDep) -> dict:
    """The teams and agents a ticket can be escalated or transferred to."""
    return a.teams()


@router.get("/tickets/{ticket_id}")
def agent_ticket(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """One ticket with its conversation, details and candidates."""
    return a.ticket(ticket_id)


@router.post("/tickets/claim")
def agent_claim_next(agent: AgentName, a: AssistantDep, body: ClaimBody | None = None) -> dict:
    """Take the next ticket (urgent first, then oldest); `ticket` is null when none wait."""
    body = body or ClaimBody(lang=None, category=None, team=None)
    return {"ticket": a.claim_next(agent, lang=body.lang, category=body.category,
                                   team=body.team)}


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


@router.post("/tickets/{ticket_id}/escalate")
def agent_escalate(ticket_id: str, body: EscalateBody, agent: AgentName,
                   a: AssistantDep) -> dict:
    """Hand the ticket to another team's queue with the reason (you must hold it)."""
    return a.escalate(ticket_id, agent, body.team, body.reason)


@router.post("/tickets/{ticket_id}/transfer")
def agent_transfer(ticket_id: str, body: TransferBody, agent: AgentName,
                   a: AssistantDep) -> dict:
    """Pass the ticket to a colleague (who then holds it) or to a team's queue."""
    return a.transfer(ticket_id, agent, to_agent=body.agent, to_team=body.team)


@router.post("/tickets/{ticket_id}/notes")
def agent_note(ticket_id: str, body: TextBody, agent: AgentName, a: AssistantDep) -> dict:
    """An internal note for colleagues; the user never sees it."""
    return a.note(ticket_id, agent, body.text)


@router.get("", include_in_schema=False)
def agent_console() -> FileResponse:
    """The agent console page (it asks for the agent token)."""
    return FileResponse(STATIC_DIR / "agent.html", media_type="text/html", headers=PAGE_HEADERS)


@router.post("/tickets/{ticket_id}/draft")
def agent_draft(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """Draft a KB article from this resolved ticket (409 before it is resolved): written to
    the drafts folder for an editor, who publishes it with `assistant publish-draft`."""
    return a.draft_article(ticket_id)


@router.get("/tickets/{ticket_id}/assist")
def agent_assist(ticket_id: str, agent: AgentName, a: AssistantDep) -> dict:
    """Help answering, in the user's language: the details given and missing, the articles
    that fit the conversation with their steps, and canned replies."""
    return a.assist(ticket_id)
