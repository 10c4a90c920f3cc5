"""Leads over real HTTP (both databases), written by the real engine.

* ``GET /v1/leads``: filtered by status, in pages that continue with the
  cursor; the feed carries them.
* ``GET /v1/leads/{id}``, ``POST /v1/leads/{id}/qualify|disqualify``
  against the real ``syncd api`` process: a person's decision changes the
  lead, closes its ``lead`` reminder, joins the feed and is audited with the
  token's name and viewer; a read-only token is refused, an unknown lead is
  404, a final status 409, a bad id or body a problem naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from providers.base import Address
from syncd.store.audit import ADMIN, Actor
from syncd.store.database import Database
from syncd.store.leads import convert_leads, set_status
from syncd.store.schema import AuditEntry
from tests.fixtures.servers import free_port, wait_listening
from tests.syncd.api.conftest import (
    ServeApp,
    api_section,
    auth,
    problem,
    spawn,
    stop,
    write_config,
)
from tests.syncd.reminders.harness import MONDAY, RITA, World, settings


def get(url: str, path: str = "/v1/leads", token: str | None = "admin",
        **params: Any) -> httpx.Response:
    return httpx.get(url + path, params=params, headers=auth(token) if token else {},
                     timeout=30)


def test_leads_are_listed_filtered_and_paged(database: Database, serve_app: ServeApp) -> None:
    w = World(database, settings(leads={"enabled": True}))
    for n in range(3):
        w.at(MONDAY + timedelta(hours=n)).mail(Address(f"p{n}@co{n}.example", f"P{n}"),
                                               (RITA,), f"Question {n}")
    with database.session() as s:
        set_status(s, 2, "qualified", actor=Actor(name="t", viewer=ADMIN))
    url = serve_app(database)

    first = get(url, limit=2).json()
    assert [x["address"] for x in first["items"]] == ["p0@co0.example", "p1@co1.example"]
    lead = first["items"][0]
    assert {k: lead[k] for k in ("name", "domain", "status", "owner", "inbox",
                                 "source_account", "received_at")} == {
        "name": "P0", "domain": "co0.example", "status": "new", "owner": RITA.email,
        "inbox": RITA.email, "source_account": "rita-mail",
        "received_at": "2026-11-02T09:00:00Z"}
    rest = get(url, limit=2, cursor=first["next_cursor"]).json()
    assert [x["address"] for x in rest["items"]] == ["p2@co2.example"]
    assert rest["next_cursor"] is None

    assert [x["id"] for x in get(url, status="qualified").json()["items"]] == [2]
    assert [x["id"] for x in get(url, status=["new", "converted"]).json()["items"]] == [1, 3]
    assert get(url, token="rita").status_code == 200
    problem(get(url, token=None), 401)
    problem(get(url, status="maybe"), 400)
    problem(get(url, cursor="nonsense"), 400)

    feed = get(url, "/v1/changes", limit=1000).json()["items"]
    assert [(e["type"], e["entity_id"]) for e in feed if e["entity"] == "lead"] == [
        ("lead.created", 1), ("lead.created", 2), ("lead.created", 3),
        ("lead.status_changed", 2)]


# ---------------------------------------------------------------- a person's decision


@dataclass
class Served:
    """The real ``syncd api`` process over a store with four leads: p0, p1 and p2
    are new, p3 converted (a contact got its address)."""

    url: str
    db: Database

    def get(self, path: str, token: str = "admin", **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=auth(token), timeout=30)

    def post(self, path: str, body: Any = None, token: str | None = "writer",
             content: str | None = None) -> httpx.Response:
        headers = auth(token) if token else {}
        if content is not None:
            return httpx.post(self.url + path, content=content, timeout=30,
                              headers={**headers, "Content-Type": "application/json"})
        return httpx.post(self.url + path, json=body, headers=headers, timeout=30)


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[Served]:
    w = World(database, settings(leads={"enabled": True}))
    for n in range(4):
        w.at(MONDAY + timedelta(hours=n)).mail(Address(f"p{n}@co{n}.example", f"P{n}"),
                                               (RITA,), f"Question {n}")
    w.contact(Address("p3@co3.example", "P3"))
    with database.session() as s:
        assert convert_leads(s, ["p3@co3.example"]) == [4]
    port = free_port()
    config = write_config(tmp_path, database, api=api_section(listen=f"127.0.0.1:{port}"))
    log = tmp_path / "syncd.log"
    proc = spawn(config, ["api"], log)
    try:
        wait_listening("syncd api", port, proc, log, timeout=60)
        yield Served(f"http://127.0.0.1:{port}", database)
    finally:
        assert stop(proc) == 0, log.read_text()


def audited(db: Database) -> list[dict[str, Any]]:
    with db.session(write=False) as s:
        return [{"at": e.at, "actor": e.actor, "viewer": e.viewer, "action": e.action,
                 "entity": e.entity, "entity_id": e.entity_id, "before": e.before,
                 "after": e.after}
                for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def lead_reminders(served: Served) -> dict[str, str]:
    """The message of each ``lead`` reminder ("New lead: P0: Question 0") -> its status."""
    items = served.get("/v1/reminders", kind="lead",
                       status=["open", "done", "superseded"]).json()["items"]
    return {r["subject"].rpartition(": ")[2]: r["status"] for r in items}


def test_a_lead_is_qualified_and_another_disqualified_with_a_reason(served: Served) -> None:
    one = served.get("/v1/leads/1")
    assert one.status_code == 200, one.text
    assert {k: one.json()[k] for k in ("id", "address", "name", "status", "owner")} == {
        "id": 1, "address": "p0@co0.example", "name": "P0", "status": "new",
        "owner": RITA.email}
    assert lead_reminders(served) == {
        "Question 0": "open", "Question 1": "open", "Question 2": "open", "Question 3": "done"}
    started = datetime.now(UTC)

    qualified = served.post("/v1/leads/1/qualify")
    assert qualified.status_code == 200, qualified.text
    assert (qualified.json()["status"], qualified.json()["reason"]) == (
        "qualified", f"qualified by {RITA.email}")
    assert served.get("/v1/leads/1").json() == qualified.json()
    disqualified = served.post("/v1/leads/2/disqualify", {"reason": "a student, not a buyer"},
                               token="admin")
    assert disqualified.status_code == 200, disqualified.text
    assert (disqualified.json()["status"], disqualified.json()["reason"]) == (
        "disqualified", "a student, not a buyer")
    assert [x["id"] for x in served.get("/v1/leads", status="new").json()["items"]] == [3]
    assert lead_reminders(served) == {
        "Question 0": "done", "Question 1": "superseded", "Question 2": "open",
        "Question 3": "done"}

    feed = served.get("/v1/changes", after=0, limit=1000).json()["items"]
    moves = [(e["entity_id"], e["state"]["status"], e["state"]["previous_status"])
             for e in feed if e["type"] == "lead.status_changed"]
    assert moves == [(4, "converted", "new"), (1, "qualified", "new"),
                     (2, "disqualified", "new")]

    rows = audited(served.db)
    assert [{k: r[k] for k in ("actor", "viewer", "action", "entity", "entity_id",
                               "before", "after")} for r in rows] == [
        {"actor": "writer", "viewer": RITA.email, "action": "lead.qualified",
         "entity": "lead", "entity_id": 1,
         "before": {"status": "new", "reason": rows[0]["before"]["reason"]},
         "after": {"status": "qualified", "reason": f"qualified by {RITA.email}"}},
        {"actor": "admin", "viewer": "admin", "action": "lead.disqualified",
         "entity": "lead", "entity_id": 2,
         "before": {"status": "new", "reason": rows[1]["before"]["reason"]},
         "after": {"status": "disqualified", "reason": "a student, not a buyer"}},
    ]
    assert all(started <= r["at"].replace(tzinfo=UTC) <= datetime.now(UTC) for r in rows)


def test_deciding_about_a_lead_needs_the_write_scope(served: Served) -> None:
    problem(served.post("/v1/leads/1/qualify", token=None), 401)
    assert "write" in problem(served.post("/v1/leads/1/qualify", token="rita"),
                              403)["detail"]
    problem(served.post("/v1/leads/1/disqualify", {"reason": "no"}, token="sam"), 403)
    assert served.get("/v1/leads/1", token="rita").json()["status"] == "new"
    problem(served.get("/v1/leads/1", token="writer"), 403)  # write alone does not read
    assert audited(served.db) == []


def test_unknown_final_and_invalid_decisions_are_problems(served: Served) -> None:
    assert "no lead 999" in problem(served.post("/v1/leads/999/qualify"), 404)["detail"]
    problem(served.post("/v1/leads/999/disqualify", {"reason": "x"}), 404)
    problem(served.get("/v1/leads/999"), 404)

    converted = problem(served.post("/v1/leads/4/qualify"), 409)
    assert converted["detail"] == "lead 4 is converted; it cannot become qualified " \
                                  "(converted is final)"
    problem(served.post("/v1/leads/4/disqualify"), 409)
    assert served.post("/v1/leads/2/disqualify").status_code == 200
    assert "disqualified is final" in problem(served.post("/v1/leads/2/qualify"),
                                              409)["detail"]
    problem(served.post("/v1/leads/2/disqualify"), 409)

    bad_id = problem(served.post("/v1/leads/0/qualify"), 400)
    assert [(e["in"], e["name"]) for e in bad_id["errors"]] == [("path", "lead_id")]
    not_a_number = problem(served.get("/v1/leads/first"), 400)
    assert [(e["in"], e["name"]) for e in not_a_number["errors"]] == [("path", "lead_id")]
    too_long = problem(served.post("/v1/leads/1/disqualify", {"reason": "x" * 2001}), 422)
    assert [(e["in"], e["name"]) for e in too_long["errors"]] == [("body", "reason")]
    unknown = problem(served.post("/v1/leads/1/qualify", {"note": "hot"}), 422)
    assert [(e["in"], e["name"]) for e in unknown["errors"]] == [("body", "note")]
    problem(served.post("/v1/leads/1/qualify", content="{not json"), 422)
    assert served.get("/v1/leads/1").json()["status"] == "new"
    assert [r["action"] for r in audited(served.db)] == ["lead.disqualified"]
