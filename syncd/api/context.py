"""What every request may need, built once per app: settings, store, clock, status.

:func:`syncd.api.app.create_app` puts one :class:`ApiContext` on
``app.state.ctx``; routes take what they need through the typed
dependencies ``Ctx`` (the whole context) and ``Db`` (the store). The
context is read-only after the app is built: requests run concurrently in
worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from syncd.config.api import ApiSettings
from syncd.config.model import Settings
from syncd.store.database import Database

#: the ``/status`` document (``syncd.daemon.runtime.status_document``'s shape)
StatusSource = Callable[[], dict[str, Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    database: Database
    #: the accounts document: the daemon's own under `syncd run`, the store's otherwise
    status: StatusSource
    clock: Callable[[], datetime] = _utcnow

    @property
    def api(self) -> ApiSettings:
        """The ``api:`` section (defaults when the app is built without one, e.g. openapi)."""
        return self.settings.api or ApiSettings()


# Dependencies are ``async def`` when they never block: FastAPI runs a plain
# ``def`` dependency in a worker thread, a round trip per dependency per request.


async def context(request: Request) -> ApiContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ApiContext)
    return ctx


async def database(request: Request) -> Database:
    return (await context(request)).database


Ctx = Annotated[ApiContext, Depends(context)]
Db = Annotated[Database, Depends(database)]
