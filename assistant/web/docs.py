"""`GET /docs`: the interactive API reference (Swagger UI), from the package's own files.

FastAPI's default page loads Swagger UI from a CDN (blank offline) and starts it with an
inline script (refused by the pages' Content-Security-Policy); this one needs neither."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from assistant.web.pages import PAGE_HEADERS, STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs_page() -> FileResponse:
    """Swagger UI over /openapi.json; its files are under /static/swagger-ui/."""
    return FileResponse(STATIC_DIR / "docs.html", headers=PAGE_HEADERS)
