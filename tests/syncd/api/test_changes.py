"""``GET /v1/changes`` over real HTTP (both databases): commit-order pages that
continue with ``next_after``, content cut per viewer, 410 with a resync recipe
for a pruned position."""

from __future__ import annotations

from datetime import timedelta

import httpx

from providers.base import Page
from syncd.store.changes import Change, prune_changes, record_changes
from syncd.store.database import Database
from syncd.store.types import utcnow
from tests.syncd.api.conftest import ServeApp, auth, problem
from tests.syncd.store.builders import apply, message


def get(url: str, token: str | None = "admin", **params: int) -> httpx.Response:
    return httpx.get(url + "/v1/changes", params=params,
                     headers=auth(token) if token else {}, timeout=30)


def test_pages_continue_after_the_last_position(database: Database,
                                                serve_app: ServeApp) -> None:
    apply(database, Page("INBOX", [message(n) for n in range(1, 6)]))
    url = serve_app(database)
    seen: list[int] = []
    after = 0
    for _ in range(10):
        body = get(url, after=after, limit=2).json()
        if not body["items"]:
            break
        seen.extend(item["position"] for item in body["items"])
        after = body["next_after"]
        assert body["last_position"] == 5
    assert seen == [1, 2, 3, 4, 5]
    first = get(url, limit=1).json()["items"][0]
    assert first["type"] == "interaction.created" and first["entity"] == "interaction"
    assert first["state"]["subject"] == "Hello" and first["visibility"] == "full"
    assert first["at"].endswith("Z")
    assert get(url, after=5).json() == {"items": [], "next_after": 5, "last_position": 5}


def test_reps_get_the_colleagues_level(database: Database, serve_app: ServeApp) -> None:
    apply(database, Page("INBOX", [message(1)]))
    item = get(serve_app(database, sharing="metadata"), token="rita").json()["items"][0]
    assert item["visibility"] == "metadata"
    assert item["state"]["subject"] is None and item["state"]["kind"] == "email"
    item = get(serve_app(database, sharing="subject"), token="rita").json()["items"][0]
    assert item["state"]["subject"] == "Hello" and item["state"]["snippet"] is None


def test_a_pruned_position_is_410_with_the_way_to_resync(database: Database,
                                                         serve_app: ServeApp) -> None:
    now = utcnow()
    with database.session() as s:
        record_changes(s, [Change("test.old", "x", n, {}) for n in range(3)],
                       at=now - timedelta(days=30))
    with database.session() as s:
        record_changes(s, [Change("test.new", "x", 9, {})], at=now)
    assert prune_changes(database, retention_days=7) == 3
    url = serve_app(database)
    doc = problem(get(url, after=1), 410)
    assert doc["type"] == "urn:syncd:problem:changes-pruned"
    assert "resync" in doc["detail"] and "after=3" in doc["detail"]
    assert "syncd export" in doc["detail"] and "after=P" in doc["detail"]
    assert [i["type"] for i in get(url, after=3).json()["items"]] == ["test.new"]
    problem(get(url, token=None), 401)
    problem(get(url, after=-1), 400)
