"""The OpenAPI 3.1 document: served at ``/v1/openapi.json``, committed as ``docs/openapi.json``.

:func:`document` is FastAPI's generated schema with three corrections, so
the document says exactly what the API answers:

* every problem status points at one ``ProblemDocument`` schema
  (``application/problem+json``), added to the components;
* FastAPI's default ``422 HTTPValidationError`` is gone: invalid
  parameters are 400 problems (already in each operation's responses), and
  operations with a JSON body answer 422 with a problem document;
* the bearer scheme applies to every operation.

:func:`render` is the committed file's exact text; ``syncd api openapi``
prints or writes it (:func:`syncd.api.app.openapi_text`), and a test keeps
``docs/openapi.json`` equal to it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from syncd.api.problems import MEDIA_TYPE, ParameterError, ProblemDocument

SUMMARY = "The CRM-facing API of syncd: interaction history, reminders, sync status."
DESCRIPTION = """\
Read the interaction history syncd keeps (emails and meetings matched to contacts,
companies and opportunities), reminders, suggested contacts and sync status.

* **Auth**: `Authorization: Bearer <token>` with a token from `api.tokens` in the
  config. Scopes: `read`, `write`. No or a wrong token: 401; a missing scope: 403.
* **Errors**: every 4xx/5xx is an RFC 9457 problem document
  (`application/problem+json`). Invalid parameters are 400 and name the parameter
  and its allowed values; a store outage is 503 with `Retry-After`.
* **Lists** are cursor-paginated: `limit` (1-200, default 50) and `cursor` (the
  previous page's `next_cursor`, with the same filters). Pages are stable while
  sync writes.
* **Visibility**: a rep's token shows an interaction's subject, snippet, body and
  location only if one of the rep's mailboxes saw it, or as far as the
  organization's `api.sharing.colleagues` policy allows; each item says which
  level applied in `visibility`. An `admin` token sees everything stored.
* Times are ISO-8601 in UTC (`Z`).
"""


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then cached on the app)."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, openapi_version="3.1.0",
                          summary=app.summary, description=app.description, routes=app.routes)
        app.openapi_schema = _corrected(doc)
    return app.openapi_schema


def _corrected(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = {"$ref": "#/components/schemas/ProblemDocument"}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                if "requestBody" in operation:
                    responses["422"] = {"description": "Invalid JSON body: the problem names "
                                                       "each field",
                                        "content": {MEDIA_TYPE: {"schema": problem}}}
                else:
                    del responses["422"]
            operation["security"] = [{"bearer": []}]
    if "#/components/schemas/HTTPValidationError" not in json.dumps(doc.get("paths", {})):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    ref = "#/components/schemas/{model}"
    schemas["ProblemDocument"] = ProblemDocument.model_json_schema(ref_template=ref)
    schemas["ProblemDocument"].pop("$defs", None)
    schemas["ParameterError"] = ParameterError.model_json_schema(ref_template=ref,
                                                                 by_alias=True)
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def render(doc: dict[str, Any]) -> str:
    """The document as committed: indented JSON, keys in generation order, final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

