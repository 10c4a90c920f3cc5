"""Property-based: schemathesis drives every operation of the OpenAPI document against
the real ``syncd api`` process (SQLite and PostgreSQL stores seeded with
:mod:`tests.syncd.api.seed`), with valid and with invalid inputs: no 5xx, and every
status, content type and body as the document declares. A modest number of examples
per operation keeps CI fast.

Hypothesis drives schemathesis' strategies directly and httpx sends the requests
(schemathesis' own pytest plugin does not work with this pytest, nor its requests
transport next to the urllib3 fork that caldav's HTTP client installs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.syncd.api.conftest import Served, auth

EXAMPLES = 20
DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
OPERATIONS = [(method.upper(), path)
              for path, methods in json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"].items()
              for method in methods]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(served: Served) -> Any:
    return schemathesis.openapi.from_url(served.url + "/v1/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms(api_schema: Any, served: Served, method: str, path: str,
                            mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = send(case, served.url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    statuses: list[int] = []
    check()
    # the admin token passed: the cases reached the routes, not just the auth check
    assert statuses and 401 not in statuses and 403 not in statuses, statuses


SUBJECTS = ("contact", "company", "opportunity", "address")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_timeline_of_each_subject_conforms(api_schema: Any, served: Served,
                                           subject: str) -> None:
    """The timeline needs exactly one subject, which the document cannot express: fix one
    (a real one), generate the rest."""
    seeded = served.seeded
    values: dict[str, int | str] = {"contact": seeded.ann, "company": seeded.acme,
                                    "opportunity": seeded.renewal,
                                    "address": "carol@initech.example"}
    value = values[subject]
    others = set(SUBJECTS) - {subject}
    strategy = api_schema["/v1/timeline"]["GET"].as_strategy(query={subject: value}).filter(
        lambda case: not others & set(case.query or {}))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = send(case, served.url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    statuses: list[int] = []
    check()
    assert 200 in statuses, statuses


def send(case: Any, base_url: str) -> httpx.Response:
    """The case as a real HTTP request (httpx: schemathesis' requests transport does not
    work next to the urllib3 fork caldav's HTTP client installs)."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
               if k.lower() != "authorization"}  # generated ones, in any spelling
    headers.update(auth("admin"))
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), bytes | str):
        body["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["data"] = kwargs["data"]
    return httpx.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                         headers=headers, cookies=kwargs.get("cookies"),
                         timeout=30, **body)
