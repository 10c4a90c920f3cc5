"""Bearer tokens: who is calling (a :class:`Viewer`) and what they may do (scopes).

Invariants:

* Tokens are configured as SHA-256 digests (``api.tokens[]``,
  :mod:`syncd.config.api`); a request's token is hashed and compared with
  **every** configured digest in constant time (:func:`hmac.compare_digest`,
  no early exit), so timing tells nothing about which tokens exist.
* No ``Authorization`` header, another scheme, a malformed or an unknown
  token: the same 401 problem (``WWW-Authenticate: Bearer``). A known token
  without the scope an endpoint needs: 403. The route never runs.
* The token itself is never stored, logged or echoed; the request keeps the
  token's *name* (``request.state.token_name``) for the access log and audit.

Routes declare ``viewer: ReadViewer`` or ``viewer: WriteViewer``
(``require_scope(scope)`` builds others).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from syncd.api.context import Ctx
from syncd.api.problems import Problem
from syncd.config.api import ADMIN, Scope

#: documents the scheme in OpenAPI; the checks (and their problem bodies) are ours
_BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="An API token from `api.tokens` in the config "
                                 "(`syncd api token create` makes one).")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a request acts for."""

    #: the token's configured name (logged and audited instead of the token)
    token_name: str
    #: a rep's canonical address, or ``admin``
    viewer: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.viewer == ADMIN

    @property
    def address(self) -> str | None:
        """The rep's address; ``None`` for admin."""
        return None if self.is_admin else self.viewer


async def viewer(request: Request, ctx: Ctx,
                 credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(_BEARER)]) -> Viewer:
    """The caller, or a 401 problem (see the module docstring). ``async``: it never
    blocks, so it runs on the event loop instead of a worker thread."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem.unauthorized()
    presented = hashlib.sha256(credentials.credentials.encode("utf-8")).digest()
    found = None
    for token in ctx.api.tokens:
        if hmac.compare_digest(presented, bytes.fromhex(token.digest())):
            found = token
    if found is None:
        raise Problem.unauthorized()
    request.state.token_name = found.name
    return Viewer(token_name=found.name, viewer=found.viewer, scopes=frozenset(found.scopes))


def require_scope(scope: Scope) -> Callable[[Viewer], Awaitable[Viewer]]:
    """A dependency: the authenticated caller, or 403 without ``scope``."""

    async def check(caller: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if scope not in caller.scopes:
            raise Problem.forbidden(scope)
        return caller

    return check


ReadViewer = Annotated[Viewer, Depends(require_scope("read"))]
WriteViewer = Annotated[Viewer, Depends(require_scope("write"))]
