"""The health server over real HTTP: routes, 404/405, failing probes, ephemeral port."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from syncd.daemon.http import HealthServer, Response
from syncd.errors import StoreError
from syncd.jsontext import utc_iso


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def server() -> Iterator[HealthServer]:
    alive = threading.Event()
    alive.set()
    srv = HealthServer("127.0.0.1", 0, {
        "/healthz": lambda: Response.json({"status": "ok"} if alive.is_set() else
                                          {"status": "down"}, 200 if alive.is_set() else 503),
    })
    srv.alive = alive  # type: ignore[attr-defined]
    with srv:
        yield srv


def test_ephemeral_port_and_json_route(server: HealthServer) -> None:
    assert server.port != 0
    status, headers, body = get(server.url + "/healthz")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok"}


def test_route_reflects_live_state(server: HealthServer) -> None:
    server.alive.clear()  # type: ignore[attr-defined]
    status, _, body = get(server.url + "/healthz")
    assert status == 503 and json.loads(body)["status"] == "down"


def test_unknown_path_is_404_and_query_strings_are_ignored(server: HealthServer) -> None:
    status, _, body = get(server.url + "/nope")
    assert status == 404 and json.loads(body)["path"] == "/nope"
    assert get(server.url + "/healthz?verbose=1")[0] == 200


def test_other_methods_are_405(server: HealthServer) -> None:
    status, headers, _ = get(server.url + "/healthz", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_head_has_no_body(server: HealthServer) -> None:
    status, headers, body = get(server.url + "/healthz", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_route_added_after_start_is_served(server: HealthServer) -> None:
    server.add_route("/metrics", lambda: Response.text("syncd_up 1\n"))
    status, headers, body = get(server.url + "/metrics")
    assert status == 200 and body == b"syncd_up 1\n"
    assert headers["Content-Type"].startswith("text/plain")


def test_failing_route_answers_500_without_traceback(server: HealthServer) -> None:
    def broken() -> Response:
        raise StoreError("database unreachable at db.internal:5432")

    def buggy() -> Response:
        raise KeyError("password=hunter2")

    server.add_route("/status", broken)
    server.add_route("/bug", buggy)
    status, _, body = get(server.url + "/status")
    assert status == 500
    assert json.loads(body) == {"error": "database unreachable at db.internal:5432"}
    status, _, body = get(server.url + "/bug")
    assert status == 500 and b"hunter2" not in body and b"Traceback" not in body
    # the server survives both
    assert get(server.url + "/healthz")[0] == 200


def test_stop_releases_the_port() -> None:
    srv = HealthServer("127.0.0.1", 0, {"/healthz": lambda: Response.json({})})
    srv.start()
    port = srv.port
    srv.stop()
    again = HealthServer("127.0.0.1", port, {"/healthz": lambda: Response.json({"again": 1})})
    with again:
        assert json.loads(get(again.url + "/healthz")[2]) == {"again": 1}


def test_times_are_iso_utc_with_z() -> None:
    cet = timezone(timedelta(hours=1))
    assert utc_iso(datetime(2026, 12, 1, 10, 0, tzinfo=cet)) == "2026-12-01T09:00:00Z"
    assert utc_iso(datetime(2026, 12, 1, 10, 0)) == "2026-12-01T10:00:00Z"
    assert utc_iso(None) is None
    body = Response.json({"at": datetime(2026, 12, 1, tzinfo=UTC)}).body
    assert json.loads(body) == {"at": "2026-12-01T00:00:00Z"}


def test_port_in_use_is_a_config_error_naming_health_port(server: HealthServer) -> None:
    from syncd.errors import ConfigError

    clash = HealthServer("127.0.0.1", server.port, {})
    clash_port = server.port
    # allow_reuse_address does not allow two listeners on one port
    with pytest.raises(ConfigError) as info:
        clash.start()
    [issue] = info.value.issues
    assert issue.path == "health.port" and str(clash_port) in issue.problem
