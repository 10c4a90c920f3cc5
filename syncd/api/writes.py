"""What every write endpoint shares: who writes, the problems a write can answer.

Write routes (``syncd.api.routes.corrections``, ``.logged``,
``.directory_writes``, ``.reminder_actions``, ``.lead_actions``) require the
``write`` scope (``viewer: WriteViewer``), call one store or domain function
per request inside one transaction, and never build audit rows themselves: the store
functions take the :class:`~syncd.store.audit.Actor` of :func:`actor` and
audit in the same transaction, so every API write is audited with the
token's name and viewer.

Errors: a value the rules refuse is 422 naming the body field
(:func:`invalid`); a state that forbids the write (a closed reminder, a
domain another company owns) is 409 (:func:`conflict`); an unknown id in
the path is 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime

from syncd.api.auth import Viewer
from syncd.api.problems import PROBLEMS, ParameterError, Problem
from syncd.store.audit import Actor

_PROBLEM = {"$ref": "#/components/schemas/ProblemDocument"}

#: ``responses=`` of write routers: the read problems plus 409 (and 422, for bodies)
WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    409: {"description": "The current state forbids this write (the problem says why)",
          "content": {"application/problem+json": {"schema": _PROBLEM}}},
}


def _plausible(moment: datetime) -> datetime:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range") from exc
    if not 1900 <= utc.year <= 2999:
        raise ValueError("must be between the years 1900 and 2999")
    return utc


#: a time in a write's body: with a zone, 1900-2999, handed on as UTC
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]


def actor(viewer: Viewer) -> Actor:
    """Who the store's audit rows and overrides name for this request."""
    return Actor(name=viewer.token_name, viewer=viewer.viewer)


def invalid(error: ValueError, fields: tuple[str, ...]) -> Problem:
    """A 422 problem for a refused value: the field is the message's ``name:`` prefix
    when it (or ``name_id``) is one of ``fields``, else the whole body."""
    text = str(error)
    name, _, rest = text.partition(":")
    name = name.strip()
    field = "body"
    if rest and name in fields:
        field = name
    elif rest and f"{name}_id" in fields:
        field = f"{name}_id"
    return Problem.invalid([ParameterError(location="body", name=field, problem=text)])


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, slug="conflict")
