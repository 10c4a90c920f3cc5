"""RFC 9457 problem documents: the one error shape of the API.

Every 4xx/5xx body is ``application/problem+json`` with ``type`` (a URN
naming the kind of problem, ``urn:syncd:problem:<slug>``), ``title`` (the
same for every occurrence of that kind), ``status`` and ``detail`` (this
occurrence, for people). Invalid parameters add ``errors``: one entry per
parameter with where it was (``query``, ``path``, ``header``, ``body``),
its name, the problem and, when there is a fixed set, the allowed values.

Routes raise :class:`Problem` (or let :class:`syncd.errors.StoreError`
propagate); :mod:`syncd.api.errors` turns every exception into a
response. ``PROBLEMS`` is the ``responses=`` of every router, so the
OpenAPI document declares each problem status an endpoint can answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPE = "application/problem+json"


class ParameterError(BaseModel):
    #: query, path, header or body
    location: str = Field(alias="in")
    name: str
    problem: str
    allowed: list[str] | None = None

    model_config = ConfigDict(populate_by_name=True)


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ParameterError] | None = None


class Problem(Exception):
    """Raise to answer with a problem document (see the module docstring)."""

    def __init__(self, status: int, title: str, detail: str, *, slug: str,
                 headers: dict[str, str] | None = None,
                 errors: list[ParameterError] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = headers or {}
        self.errors = errors

    def document(self) -> dict[str, Any]:
        doc = ProblemDocument(type=f"urn:syncd:problem:{self.slug}", title=self.title,
                              status=self.status, detail=self.detail, errors=self.errors)
        return doc.model_dump(by_alias=True, exclude_none=True)

    # ------------------------------------------------------------------ the common ones

    @classmethod
    def not_found(cls, what: str, key: object) -> Problem:
        return cls(404, "Not found", f"there is no {what} {key}", slug="not-found")

    @classmethod
    def unauthorized(cls) -> Problem:
        # the same words for a missing, malformed or unknown token: no hint which tokens exist
        return cls(401, "Unauthorized",
                   "this endpoint needs a valid API token: Authorization: Bearer <token>",
                   slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="syncd"'})

    @classmethod
    def forbidden(cls, scope: str) -> Problem:
        return cls(403, "Forbidden", f"this token does not have the {scope!r} scope",
                   slug="forbidden")

    @classmethod
    def invalid(cls, errors: list[ParameterError]) -> Problem:
        body = any(e.location == "body" for e in errors)
        detail = "; ".join(_error_text(e) for e in errors)
        return cls(422 if body else 400, "Invalid request" if body else "Invalid parameter",
                   detail, slug="invalid-request" if body else "invalid-parameter",
                   errors=errors)

    @classmethod
    def store_unavailable(cls, retry_after_s: int) -> Problem:
        return cls(503, "Store unavailable",
                   "the interaction store is not answering; retry later",
                   slug="store-unavailable", headers={"Retry-After": str(retry_after_s)})

    @classmethod
    def internal(cls) -> Problem:
        return cls(500, "Internal error", "the server failed; the error is in its log",
                   slug="internal")


def _error_text(error: ParameterError) -> str:
    where = {"query": "query parameter", "path": "path parameter", "header": "header",
             "body": "body field"}.get(error.location, error.location)
    text = f"{where} {error.name!r}: {error.problem}"
    if error.allowed:
        text += " (allowed: " + ", ".join(error.allowed) + ")"
    return text


def _content(description: str) -> dict[str, Any]:
    # the schema itself is added to the document's components by syncd.api.openapi
    return {"description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}}


#: ``responses=`` of every router: the problem statuses any endpoint may answer
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _content("Invalid parameter: the problem names it and its allowed values"),
    401: _content("No valid bearer token"),
    403: _content("The token lacks the scope this endpoint needs"),
    404: _content("Unknown id or path"),
    500: _content("Server error (logged)"),
    503: _content("The store is unavailable; see Retry-After"),
}
