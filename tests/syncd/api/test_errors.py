"""Every error is an RFC 9457 problem document: invalid parameters name themselves and
their allowed values, unknown ids and paths are 404, a store outage is 503 with
Retry-After, a bug is a 500 without a traceback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncd.api.pagination import encode_cursor
from syncd.store.database import Database
from tests.syncd.api.conftest import ServeApp, Served, auth, problem


def invalid(response: httpx.Response, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = problem(response, 400)
    assert doc["type"] == "urn:syncd:problem:invalid-parameter"
    assert [e["name"] for e in doc["errors"]] == [name]
    assert repr(name) in doc["detail"]
    error: dict[str, Any] = doc["errors"][0]
    return error


def test_a_value_outside_a_fixed_set_names_the_allowed_values(served: Served) -> None:
    error = invalid(served.get("/v1/timeline", company=1, kind="fax"), "kind")
    assert error["in"] == "query" and "'fax' is not allowed" in error["problem"]
    assert error["allowed"] == ["email", "meeting", "note", "call"]
    error = invalid(served.get("/v1/reminders", status="later"), "status")
    assert error["allowed"] == ["open", "done", "dismissed", "superseded"]
    error = invalid(served.get("/v1/opportunities", status="won"), "status")
    assert error["allowed"] == ["open", "closed"]
    error = invalid(served.get("/v1/reminders", origin="robot"), "origin")
    assert error["allowed"] == ["derived", "manual"]


def test_a_reminder_kind_is_a_type_name(served: Served) -> None:
    assert served.get("/v1/reminders", kind="call").status_code == 200  # a manual type
    invalid(served.get("/v1/reminders", kind="Call me!"), "kind")


@pytest.mark.parametrize(("value", "words"), [("0", "at least 1"), ("201", "at most 200"),
                                              ("many", "not an integer")])
def test_limit_out_of_range_or_not_a_number(served: Served, value: str, words: str) -> None:
    assert words in invalid(served.get("/v1/opportunities", limit=value), "limit")["problem"]


def test_times_need_a_zone(served: Served) -> None:
    error = invalid(served.get("/v1/timeline", company=1, since="2026-11-02T09:00:00"), "since")
    assert "ISO-8601" in error["problem"]
    invalid(served.get("/v1/reminders", due_before="tomorrow"), "due_before")


def test_a_cursor_that_is_not_one_of_this_list(served: Served) -> None:
    invalid(served.get("/v1/opportunities", cursor="garbage!"), "cursor")
    other = encode_cursor("timeline", ["2026-11-02T09:00:00+00:00", 3])
    invalid(served.get("/v1/opportunities", cursor=other), "cursor")


def test_ids_out_of_range(served: Served) -> None:
    invalid(served.get("/v1/interactions/0"), "interaction_id")
    invalid(served.get("/v1/interactions/99999999999"), "interaction_id")
    invalid(served.get("/v1/interactions/abc"), "interaction_id")
    invalid(served.get("/v1/timeline", contact=2**40), "contact")


def test_unknown_paths_and_methods_are_problems(served: Served) -> None:
    doc = problem(httpx.get(served.url + "/v2/nothing", headers=auth("admin")), 404)
    assert "/v1" in str(doc["detail"])
    problem(httpx.get(served.url + "/", headers=auth("admin")), 404)
    doc = problem(httpx.post(served.url + "/v1/timeline", headers=auth("admin")), 405)
    assert doc["title"] == "Method Not Allowed"


def test_a_store_outage_is_503_with_retry_after(serve_app: ServeApp) -> None:
    down = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        url = serve_app(down)
        for path, params in (("/v1/interactions/1", {}), ("/v1/timeline", {"contact": 1}),
                             ("/v1/opportunities", {}), ("/v1/reminders", {}),
                             ("/v1/unmatched-addresses", {}), ("/v1/accounts", {})):
            response = httpx.get(url + path, params=params, headers=auth("admin"), timeout=30)
            doc = problem(response, 503)
            assert int(response.headers["retry-after"]) > 0, path
            assert doc["type"] == "urn:syncd:problem:store-unavailable"
            assert "127.0.0.1" not in str(doc["detail"])  # no store details leak
    finally:
        down.dispose()


def test_a_bug_is_a_500_problem_without_a_traceback(serve_app: ServeApp,
                                                    database: Database) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("secret internals password=hunter2")

    url = serve_app(database, status=broken)
    # (structlog's default console renderer, in this test process, prints rich
    # tracebacks with locals: slow, hence the timeout; syncd's own renders plain text)
    response = httpx.get(url + "/v1/accounts", headers=auth("admin"), timeout=60)
    doc = problem(response, 500)
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert doc["title"] == "Internal error"
