"""The exception tree. Expected outcomes (low confidence, out of scope) are values, not exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core.types import KBProblem


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting has a bad value; the message names the variable, the value and the fix."""


class KBValidationError(AssistantError):
    """The knowledge base has problems; `problems` lists every one, each with file and field."""

    def __init__(self, problems: list[KBProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"knowledge base has {len(problems)} problem(s):\n{lines}")


class IndexLoadError(AssistantError):
    """The index is missing, corrupt or does not match the configured model."""


class IndexMissingError(IndexLoadError):
    """No index has been built yet."""


class IndexMismatchError(IndexLoadError):
    """The index was built with another embedding model than the one configured."""


class QueueError(AssistantError):
    """The handoff queue could not store or read a ticket."""


class TicketNotFound(QueueError):
    """No ticket has this id."""


class TicketConflict(QueueError):
    """The ticket is not in a state that allows this (claimed by someone else, resolved, ...)."""


class InvalidRequest(AssistantError):
    """A request names something that does not exist here (a team, an agent): `field` says
    which part of the request, the message what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DataError(AssistantError):
    """A labelled data file is malformed; the message names the file, the line and the field."""
