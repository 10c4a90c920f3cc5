"""``GET /v1/explain`` over real HTTP against the real ``syncd api`` process, on the
synced demo (SQLite and PostgreSQL): the CLI's answers, through the viewer's visibility."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fixtures.database import _need, _pg_url
from tests.fixtures.demo import DEMO, run, write_demo_config
from tests.fixtures.servers import free_port, wait_listening
from tests.syncd.api.conftest import problem, spawn, stop
from tests.syncd.explain.demo import EVENTS, MESSAGES, prepare

#: the demo's published tokens (config/demo.yaml)
TOKENS = {"admin": "demo-only-admin-token", "rita": "demo-only-rita-token",
          "sam": "demo-only-sam-token"}


@dataclass
class Api:
    url: str
    config: Path

    def get(self, token: str, **params: str) -> httpx.Response:
        return httpx.get(self.url + "/v1/explain", params=params, timeout=30,
                         headers={"Authorization": f"Bearer {TOKENS[token]}"})


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The demo as ``demo_config`` has it, prepared, served by ``syncd api`` (once per
    module and backend: syncing the demo and starting the process is the slow part)."""
    directory = tmp_path_factory.mktemp("explain-api")
    pg, name = None, ""
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'store' / 'syncd.db'}"
    else:
        pg = _need(request.getfixturevalue("_postgres"))
        name = pg.create()
        url = _pg_url(name)
    try:
        yield from _served(directory, url)
    finally:
        if pg is not None:
            pg.drop(name)


def _served(directory: Path, url: str) -> Iterator[Api]:
    config = write_demo_config(directory, url, data_dir=DEMO)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["accounts"][0].update(backfill_days=36500, past_days=3650, future_days=3650)
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    port = free_port()
    prepare(config, api_port=port)
    log = directory / "api.log"
    proc = spawn(config, ["api"], log)
    try:
        wait_listening("syncd api", port, proc, log, timeout=60)
        yield Api(f"http://127.0.0.1:{port}", config)
    finally:
        assert stop(proc) == 0, log.read_text()


def cli_json(config: Path, *args: str) -> dict[str, Any]:
    result = run(config, "explain", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_an_admin_gets_the_cli_answers_for_every_demo_message_and_address(api: Api) -> None:
    for name, selector, expected in (("message_id", "--message-id", MESSAGES),
                                     ("event", "--event", EVENTS)):
        for value in expected:
            response = api.get("admin", **{name: value})
            assert response.status_code == 200, response.text
            assert response.json() == cli_json(api.config, selector, value)
    for address in ("wile@acme.example", "peter.gibbons@gmail.com", "sam@ourco.example"):
        response = api.get("admin", address=address)
        assert response.status_code == 200, response.text
        assert response.json() == cli_json(api.config, "--address", address)


def test_the_owner_sees_her_skip_records_and_content(api: Api) -> None:
    newsletter = api.get("rita", message_id="demo-008@updates.saasweekly.example").json()
    assert newsletter["items"][0]["seen_by"][0]["reason"] == "automated"
    logged = api.get("rita", message_id="demo-010@ourco.example").json()["items"][0]
    assert logged["visibility"] == "full"
    assert logged["subject"] == "Agenda for our discovery call"


def test_a_colleague_sees_metadata_and_not_her_skipped_mail(api: Api) -> None:
    for message_id, (logged, _) in MESSAGES.items():
        response = api.get("sam", message_id=message_id)
        if not logged:  # Rita's skipped mail is Rita's business
            assert "nothing found" in problem(response, 404)["detail"]
            continue
        (item,) = response.json()["items"]
        assert item["visibility"] == "metadata"
        assert item["subject"] is None and item["thread"]["subject"] is None
        assert all(s["folder"] is None and s["provider_id"] is None for s in item["seen_by"])
        assert item["participants"]  # who and how they matched is metadata


def test_bad_parameters_are_problems_naming_the_parameter(api: Api) -> None:
    none = problem(api.get("admin"), 400)
    assert none["errors"][0]["name"] == "message_id"
    assert none["errors"][0]["allowed"] == ["message_id", "address", "event"]
    two = problem(api.get("admin", message_id="a", event="b"), 400)
    assert [e["name"] for e in two["errors"]] == ["message_id", "event"]
    bad = problem(api.get("admin", address="not an address"), 400)
    assert bad["errors"][0]["name"] == "address"
    narrowed = problem(api.get("admin", address="a@b.example", account="x"), 400)
    assert narrowed["errors"][0]["name"] == "account"
    long = problem(api.get("admin", account="x" * 65, message_id="a"), 400)
    assert long["errors"][0]["name"] == "account"


def test_nothing_found_is_a_404_saying_what_was_searched(api: Api) -> None:
    detail = problem(api.get("admin", message_id="never@nowhere.example"), 404)["detail"]
    assert "skip records in every account" in detail
    assert "quarantine" in detail
    problem(api.get("admin", address="nobody@nowhere.example"), 404)
    problem(api.get("admin", message_id="demo-001@acme.example", account="other"), 404)


def test_a_token_is_needed(api: Api) -> None:
    problem(httpx.get(api.url + "/v1/explain", params={"message_id": "x"}, timeout=30), 401)
