"""The app factory: settings, the assistant's lifespan, middleware, error handlers and the
routers. Routes translate HTTP to the service's methods and its outcomes back; nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from assistant import __version__
from assistant.core.config import Settings, load_settings
from assistant.knowledge.watch import IndexWatcher
from assistant.service import Assistant
from assistant.web import docs, pages
from assistant.web.errors import install_error_handlers
from assistant.web.middleware import close_middleware, install_middleware
from assistant.web.routers import admin, agent, answer, articles, health, search, tickets
from assistant.web.server import reload_on_sighup

ROUTERS = (answer.router, search.router, tickets.router, agent.router, admin.router,
           health.router, articles.router, pages.router, docs.router)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. Settings are read now; the model and index load in the lifespan."""
    s = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        a = assistant or Assistant(s)
        a.warm_up()  # refuses to start on a missing index or a model mismatch
        app.state.assistant = a
        hup = reload_on_sighup(a)
        watcher = IndexWatcher(a, s.watch_index_seconds).start() \
            if s.watch_index_seconds > 0 else None
        yield
        if watcher:
            watcher.stop()
        if hup:
            hup()
        a.close()
        await close_middleware(app)

    # /docs is served from the package (docs.py): the default page needs a CDN and an inline
    # script; ReDoc would too, so it is off.
    app = FastAPI(title="Wallet support assistant", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = s
    install_error_handlers(app)
    install_middleware(app, s)
    for router in ROUTERS:
        app.include_router(router)
    pages.mount_static(app)
    return app
