"""One structured log line per API request, and never a request header.

uvicorn's own access log is off (:mod:`syncd.api.server`); this ASGI
middleware logs ``method``, ``path``, ``query``, ``status``, ``duration_ms``
and ``caller`` — the *name* of the token that authenticated the request
(set by :mod:`syncd.api.auth` in the request state), never the token nor
any header, so an ``Authorization`` value cannot reach a log line. Lines go
through the redacting log chain (:mod:`syncd.logs`) like every other.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.logs import get_logger

log = get_logger("syncd.api.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # shared with the request object of the route, which records the token's name
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            log.info("api request", method=scope.get("method"), path=scope.get("path"),
                     query=scope.get("query_string", b"").decode("latin-1") or None,
                     status=status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1),
                     caller=state.get("token_name"))
