"""``create_app(settings, database)``: the API as one ASGI app, ready for any server.

What it assembles (and nothing else does): the :class:`ApiContext` on
``app.state.ctx``, every router of :data:`syncd.api.routes.ROUTERS` under
``/v1``, the error handlers (:mod:`syncd.api.errors`), the access log
(:mod:`syncd.api.access_log`), the request rules of :mod:`syncd.api.params`
and the OpenAPI document at
``/v1/openapi.json`` (:mod:`syncd.api.openapi`). No interactive docs pages
(they would load scripts from the Internet).

``status`` is where ``/v1/accounts`` comes from: the daemon's own
``/status`` document inside ``syncd run``; by default the store's account
rows through :func:`syncd.daemon.runtime.status_document`, like
``syncd status``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI

from syncd import __version__
from syncd.api import errors, openapi
from syncd.api.access_log import AccessLog
from syncd.api.context import ApiContext, StatusSource
from syncd.api.params import no_nul_characters
from syncd.api.routes import ROUTERS
from syncd.config.model import Settings
from syncd.daemon.runtime import status_document
from syncd.store.database import Database
from syncd.store.queries import account_statuses

PREFIX = "/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"


def create_app(settings: Settings, database: Database, *, status: StatusSource | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The API over ``database`` as configured by ``settings.api`` (see the module docstring)."""
    app = FastAPI(title="syncd API", version=__version__, summary=openapi.SUMMARY,
                  description=openapi.DESCRIPTION, openapi_url=OPENAPI_PATH, docs_url=None,
                  redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  dependencies=[Depends(no_nul_characters)])
    app.state.ctx = ApiContext(
        settings=settings, database=database,
        status=status or (lambda: store_status(database)),
        clock=clock or (lambda: datetime.now(UTC)))
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    errors.install(app)
    app.add_middleware(AccessLog)  # outermost of ours: logs what errors.install answered
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    return app


def store_status(database: Database) -> dict[str, Any]:
    """The accounts document from the store alone (no daemon in this process)."""
    stored = [s.to_dict() for s in account_statuses(database)]
    return status_document(stored, None, generated_at=datetime.now(UTC))


def openapi_text() -> str:
    """The OpenAPI document of an app with default settings, as committed in ``docs/``."""
    database = Database("sqlite://")  # never connected: building the document reads no data
    try:
        return openapi.render(openapi.document(create_app(Settings(), database)))
    finally:
        database.dispose()
