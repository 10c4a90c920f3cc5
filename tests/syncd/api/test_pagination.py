"""Cursor pagination stays exact while sync writes: no row twice, none skipped, ties
broken by id; over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from syncd.store.database import Database
from tests.syncd.api.conftest import ServeApp, auth
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, World


def page(url: str, cursor: str | None, **params: Any) -> dict[str, Any]:
    query = dict(params, **({"cursor": cursor} if cursor else {}))
    response = httpx.get(url + "/v1/timeline", params=query, headers=auth("admin"), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_pages_neither_repeat_nor_skip_while_sync_inserts(database: Database,
                                                          serve_app: ServeApp) -> None:
    world = World(database)
    acme = world.company("Acme", "acme.example")
    world.contact(ANN, acme)
    hour = timedelta(hours=1)
    for n in range(6):
        world.at(MONDAY + n * hour).mail(ANN, (RITA,), f"m{n}")
    url = serve_app(database)
    seen: list[str] = []
    first = page(url, None, company=acme, limit=2)
    seen += [row["subject"] for row in first["items"]]
    assert seen == ["m5", "m4"]
    # sync writes while the client pages: one newer than everything, one older than
    # the page boundary (not yet returned), one at the boundary's exact time
    world.at(MONDAY + 10 * hour).mail(ANN, (RITA,), "newer")
    world.at(MONDAY + 2 * hour + timedelta(minutes=30)).mail(ANN, (RITA,), "older")
    world.at(MONDAY + 4 * hour).mail(ANN, (RITA,), "tie")
    cursor = first["next_cursor"]
    while cursor:
        body = page(url, cursor, company=acme, limit=2)
        seen += [row["subject"] for row in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen))
    assert {"m0", "m1", "m2", "m3", "m4", "m5", "older"} <= set(seen)
    assert "newer" not in seen  # sorts before the first page: the next refresh shows it
    # the tie at m4's time sorts by id: after m4 (newer id), so on the first page's side
    assert "tie" not in seen


def test_equal_times_are_ordered_by_id_and_all_returned(database: Database,
                                                        serve_app: ServeApp) -> None:
    world = World(database)
    acme = world.company("Acme", "acme.example")
    for n in range(5):
        world.at(MONDAY).mail(ANN, (RITA,), f"same{n}")
    url = serve_app(database)
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        body = page(url, cursor, company=acme, limit=1)
        rows += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [row["subject"] for row in rows] == [f"same{n}" for n in reversed(range(5))]
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True)


def test_the_last_page_has_no_cursor_and_an_empty_list_is_one_page(
        database: Database, serve_app: ServeApp) -> None:
    world = World(database)
    acme = world.company("Acme", "acme.example")
    url = serve_app(database)
    assert page(url, None, company=acme) == {"items": [], "next_cursor": None}
    world.at(MONDAY).mail(ANN, (RITA,), "only")
    body = page(url, None, company=acme, limit=1)
    assert [row["subject"] for row in body["items"]] == ["only"]
    assert body["next_cursor"] is None
