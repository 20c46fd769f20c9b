"""GET /search: the help search box."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from assistant.web.deps import AssistantDep, SettingsDep, checked_text
from assistant.web.errors import ApiError
from assistant.web.schemas import LangCode

router = APIRouter()


@router.get("/search", response_model=None)
def search(s: SettingsDep, a: AssistantDep,
           q: Annotated[str, Query(description="What the user typed so far.")],
           k: Annotated[int, Query(ge=1, le=100)] = 5,
           lang: Annotated[LangCode | None, Query(
               description="The page's language; a query clearly in another language gets "
                           "results in that one, named by the response's `lang`.")] = None,
           category: Annotated[str | None, Query(max_length=80)] = None) -> JSONResponse:
    """Articles for the in-app help search box (prefixes, typos, Chinese fragments), in the
    language the response's `lang` names."""
    query = checked_text(q, s.max_query_chars, "q")
    if k > s.search_max_k:
        raise ApiError(422, "invalid_request", f"k must be at most {s.search_max_k}",
                       [{"field": "k", "message": f"at most {s.search_max_k}"}])
    known = a.state.index.kb.categories
    if category is not None and category not in known:
        names = ", ".join(known)
        raise ApiError(422, "invalid_request", f"unknown category {category!r}; one of {names}",
                       [{"field": "category", "message": f"one of {names}"}])
    shown, results_lang, results = a.search_box(query, k=k, lang=lang, category=category)
    return JSONResponse({"query": shown, "lang": results_lang,
                         "results": [r.to_dict() for r in results]})
