"""The one place where errors become problem documents (:mod:`syncd.api.problems`).

:func:`install` registers, on one app:

==========================================  ===========================================
:class:`~syncd.api.problems.Problem`        its own status, headers and body
invalid parameters (FastAPI validation)     400 naming each parameter, what is wrong
                                            and the allowed values (422 for JSON bodies)
HTTP errors (unknown path, wrong method)    their status (404, 405…) as a problem
:class:`syncd.errors.StoreError`            503 with ``Retry-After`` (logged, no detail)
anything else                               500, traceback to the (redacting) log only
==========================================  ===========================================

No error response ever carries a traceback, a SQL statement or a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.api.problems import MEDIA_TYPE, ParameterError, Problem
from syncd.errors import StoreError, describe
from syncd.logs import get_logger

log = get_logger(__name__)

#: seconds a client should wait after a store outage
STORE_RETRY_AFTER_S = 5

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.document(), status_code=problem.status,
                        headers=problem.headers or None, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    """Register every error handler on ``app`` (see the module docstring)."""

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(Problem.invalid(parameter_errors(exc.errors())))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return problem_response(http_problem(exc.status_code, exc.detail, exc.headers))

    async def on_store(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable for an API request", path=request.url.path,
                    error=describe(exc))
        return problem_response(Problem.store_unavailable(STORE_RETRY_AFTER_S))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(StoreError, on_store)
    app.add_middleware(CatchAll)


def http_problem(status: int, detail: Any, headers: Mapping[str, str] | None) -> Problem:
    phrase = _phrase(status)
    text = detail if isinstance(detail, str) and detail != phrase else None
    if status == 404:
        text = text or "there is no such path; the API lives under /v1 (see /v1/openapi.json)"
    elif status == 405:
        text = text or "this path does not answer that method"
    slug = re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")
    return Problem(status, phrase, text or phrase, slug=slug, headers=dict(headers or {}))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a 500 problem, logged once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("API request failed", method=scope.get("method"),
                          path=scope.get("path"))
            if started:  # too late for a problem body; the connection is closed
                return
            await problem_response(Problem.internal())(scope, receive, send)


# ---------------------------------------------------------------------- validation errors


def parameter_errors(errors: Sequence[Any]) -> list[ParameterError]:
    """FastAPI's validation errors as one :class:`ParameterError` per parameter."""
    out: list[ParameterError] = []
    seen: set[tuple[str, str]] = set()
    for err in errors:
        loc = [p for p in err.get("loc", ()) if not isinstance(p, int)]
        location = str(loc[0]) if loc else "query"
        name = ".".join(str(p) for p in loc[1:]) or location
        if (location, name) in seen:
            continue
        seen.add((location, name))
        problem, allowed = _describe(err)
        out.append(ParameterError(location=location, name=name, problem=problem,
                                  allowed=allowed))
    return out


def _describe(err: Mapping[str, Any]) -> tuple[str, list[str] | None]:
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    shown = _shown(err.get("input"))
    if kind == "missing":
        return "is required", None
    if kind in ("literal_error", "enum"):
        allowed = _QUOTED.findall(str(ctx.get("expected", "")))
        return f"{shown} is not allowed", allowed or None
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{shown} is not an integer", None
    if kind in ("bool_parsing", "bool_type"):
        return f"{shown} is not a boolean", ["true", "false"]
    if kind.startswith(("datetime_", "timezone_")) or kind.startswith("date_"):
        return (f"{shown} is not a time; use ISO-8601 with a time zone, e.g. "
                "2026-11-02T09:00:00Z"), None
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"{shown} is out of range: it must be {words} {ctx.get(key)}", None
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters", None
    if kind == "string_too_short":
        return f"is shorter than {ctx.get('min_length')} characters", None
    message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    return message, None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
