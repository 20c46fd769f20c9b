"""Request bodies and parameter types of the API.

Language parameters accept the codes in the language registry at the time of the request
(and list them in the OpenAPI schema), so a registered language needs no change here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, StrictStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from assistant.core import languages


class _RegistryEnum:
    """Shows the registered language codes as the schema's `enum`."""

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: cs.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out: dict[str, Any] = handler(schema)
        out["enum"] = list(languages.codes())
        return out


#: A registered language code ("en", "zh", ...).
LangCode = Annotated[str, AfterValidator(languages.validate_code), _RegistryEnum]
DisplayLang = Annotated[LangCode, Query(description="Display language.")]


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: StrictStr = Field(description="The user's message, 1 to 2,000 characters.")
    lang: LangCode | None = Field(None, description="Reply language; detected if absent.")
    session_id: StrictStr | None = Field(
        None, max_length=128, description="Keeps a conversation together (details, tickets).")
    skip_details: bool = Field(False, description="Create the ticket without the details asked.")
    idempotency_key: StrictStr | None = Field(
        None, max_length=128, description="Retries with the same key never create a second "
        "ticket (also accepted as the Idempotency-Key header).")


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=4000)


class RatingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: StrictStr | None = Field(None, max_length=2000)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool
    session_id: StrictStr | None = Field(None, max_length=128)
    query: StrictStr | None = Field(None, max_length=2000)
    article_id: StrictStr | None = Field(None, max_length=200)
    lang: LangCode | None = None
    comment: StrictStr | None = Field(None, max_length=2000)


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: StrictStr = Field(min_length=1, max_length=4000)


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lang: LangCode | None = None
    category: StrictStr | None = Field(None, max_length=64)
    team: StrictStr | None = Field(None, max_length=32, description="Default: your teams.")


class EscalateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: StrictStr = Field(min_length=1, max_length=32, description="A team id (/agent/teams).")
    reason: StrictStr = Field(min_length=1, max_length=2000,
                              description="Why: the next team reads it first.")


class TransferBody(BaseModel):
    """Exactly one of `agent` (they hold the ticket next) and `team` (its queue)."""

    model_config = ConfigDict(extra="forbid")

    agent: StrictStr | None = Field(None, min_length=1, max_length=64)
    team: StrictStr | None = Field(None, min_length=1, max_length=32)
