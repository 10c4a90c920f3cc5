"""``GET /v1/leads`` over real HTTP (both databases): leads written by the real engine,
filtered by status, in pages that continue with the cursor; the feed carries them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from providers.base import Address
from syncd.store.audit import ADMIN, Actor
from syncd.store.database import Database
from syncd.store.leads import set_status
from tests.syncd.api.conftest import ServeApp, auth, problem
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
