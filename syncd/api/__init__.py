"""The CRM-facing HTTP API: versioned JSON under ``/v1``, a second listener beside health.

A top layer beside :mod:`syncd.cli` (only the CLI imports it; it may import
every layer below, including :mod:`syncd.daemon.runtime` for the status
document). FastAPI on uvicorn; OpenAPI 3.1 served at ``/v1/openapi.json``
and committed as ``docs/openapi.json`` (``syncd api openapi`` regenerates
it; a test keeps both equal).

Modules (one job each):

==============================  =================================================
:mod:`syncd.api.app`            ``create_app(settings, database)``: the app factory
:mod:`syncd.api.routes`         ``ROUTERS``: the one list of route modules mounted
:mod:`syncd.api.context`        the per-app :class:`ApiContext` and the ``Db``/``Ctx``
                                dependencies (store, settings, clock, status source)
:mod:`syncd.api.auth`           bearer tokens → :class:`Viewer`; ``ReadViewer``,
                                ``WriteViewer``, ``require_scope(scope)``
:mod:`syncd.api.problems`       :class:`Problem` (raise it) and the RFC 9457 body model
:mod:`syncd.api.errors`         the one place any error becomes a problem document
:mod:`syncd.api.pagination`     ``Paging`` (``limit``/``cursor``), opaque cursors,
                                ``Page[T]`` (``items`` + ``next_cursor``)
:mod:`syncd.api.visibility`     who may read an interaction's content (``Visibility``)
:mod:`syncd.api.models`         response models shared by several routes
:mod:`syncd.api.access_log`     one log line per request, never a header
:mod:`syncd.api.params`         request rules checked before any route (no NUL characters)
:mod:`syncd.api.server`         uvicorn on a thread of its own, for ``syncd run`` and ``syncd api``
:mod:`syncd.api.openapi`        the OpenAPI document as committed
==============================  =================================================

How to add an endpoint
----------------------

1. SQL goes in :mod:`syncd.store` (a function taking the ``Database`` and plain
   filters, returning frozen dataclasses; lists take a keyset ``after`` and a
   ``limit`` and sort by a unique key, see :mod:`syncd.store.keyset`). Routes
   stay thin: parse, call the store, apply visibility, shape the response.
2. Write ``syncd/api/routes/<resource>.py`` with ``router = APIRouter(tags=[...],
   responses=PROBLEMS)`` (from :mod:`syncd.api.problems`: documents the
   400/401/403/404/503 problem bodies so schemathesis accepts them) and add
   the module to ``ROUTERS`` in :mod:`syncd.api.routes`. Paths are relative
   to ``/v1`` (the app mounts every router under it).
3. Authenticate with a typed dependency: ``viewer: ReadViewer`` for reads,
   ``viewer: WriteViewer`` for writes (both :class:`syncd.api.auth.Viewer`;
   ``require_scope("write")`` for anything custom). No token or a wrong one
   is 401, a missing scope 403: the dependency raises, the route never runs.
4. The store: ``db: Db`` (:mod:`syncd.api.context`). Store failures raise
   :class:`syncd.errors.StoreError`; do not catch it: it becomes 503 with
   ``Retry-After``.
5. Errors: ``raise Problem.not_found("contact", contact_id)`` or
   ``Problem(status, title, detail, slug=...)``. Never build error responses by
   hand; invalid query parameters are turned into 400 problems naming the
   parameter and its allowed values by :mod:`syncd.api.errors` (invalid JSON
   bodies: 422).
6. Lists: take ``page: Paging`` (``limit`` 1-200, default 50; ``cursor``),
   pass ``page.after(TAG, datetime, int)`` (the decoded sort key of the
   previous page's last row, or ``None``; ``TAG`` names the list so a cursor
   of another list is a 400) and ``page.limit + 1`` to the store, then
   ``items, next_cursor = page.result(rows, TAG, key)`` trims the extra row
   and encodes the cursor from the last row's key; answer ``Page[T]``.
7. Content: anything carrying an interaction's subject, snippet, body,
   location or a subject copied from one (threads, reminders) must go through
   :class:`syncd.api.visibility.Visibility` (``level(owners)`` /
   ``content(owners, subject=..., ...)``; interactions are shaped once, by
   :func:`syncd.api.models.interaction_out`); the rules and their invariants
   are in that module's docstring. An item authored by a person (a note, a
   call) should count its author among the ``owners``.
8. Response models are pydantic models (in the route module, or in
   :mod:`syncd.api.models` when shared); every response field is declared so
   the OpenAPI document is exact. Regenerate ``docs/openapi.json`` with
   ``syncd api openapi --output docs/openapi.json`` and add a test under
   ``tests/syncd/api/`` (``served``: the real ``syncd api`` process over a
   seeded store; ``serve_app``: the app on a real socket in-process; both on
   SQLite and PostgreSQL); the schemathesis test picks new endpoints up from
   the document by itself.
"""

from __future__ import annotations
