"""Articles and categories for the help centre."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from assistant.web.deps import AssistantDep
from assistant.web.errors import ApiError
from assistant.web.schemas import DisplayLang

router = APIRouter()


@router.get("/articles/{article_id}")
def article(a: AssistantDep, article_id: Annotated[str, Path(max_length=80)],
            lang: DisplayLang = "en") -> dict:
    """One article rendered for display: Markdown to sanitised HTML."""
    view = a.article(article_id, lang)
    if view is None:
        raise ApiError(404, "not_found", f"no article with id {article_id!r}; "
                                         "GET /categories lists them")
    return view.to_dict()


@router.get("/categories")
def categories(a: AssistantDep, lang: DisplayLang = "en") -> dict:
    """The KB's categories with their articles' titles, for browsing."""
    return {"lang": lang, "categories": a.categories(lang)}
