"""The help-centre and chat pages and their static files (HTML, CSS, JavaScript modules)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from assistant.web.middleware import STATIC_PREFIX

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Pages run only their own files: no inline script, no other origin, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def help_centre_page() -> FileResponse:
    """The help centre: search box, categories, article view, language switch."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


@router.get("/chat")
def chat_page() -> FileResponse:
    """The chat window over POST /answer."""
    return FileResponse(STATIC_DIR / "chat.html", headers=PAGE_HEADERS)


def mount_static(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIR), name="static")
