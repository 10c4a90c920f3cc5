"""Rules for what a request may carry, checked before any route runs.

PostgreSQL text cannot hold the NUL character (the driver refuses it), so a
NUL in a query parameter or a JSON body would fail deep in the store.
:func:`no_nul_characters` (a dependency of the whole app) answers such a
request with the usual invalid-parameter problem instead (400 naming the
query parameter; 422 for a body), on SQLite too, so both stores behave alike.
"""

from __future__ import annotations

from fastapi import Request

from syncd.api.problems import ParameterError, Problem

_NUL = "\x00"
_PROBLEM = "contains a NUL character, which the store cannot hold"


async def no_nul_characters(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if _NUL in name or _NUL in value:
            raise Problem.invalid([ParameterError(location="query",
                                                  name=name.replace(_NUL, "\\0"),
                                                  problem=_PROBLEM)])
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            raise Problem.invalid([ParameterError(location="body", name="body",
                                                  problem=_PROBLEM)])
