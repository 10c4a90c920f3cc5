"""Who sees what, for every combination: viewer (admin, the rep whose mailbox saw it, a
colleague) x ``api.sharing.colleagues`` (metadata, subject, full) x item (Rita's own,
Sam's own, seen by both) x endpoint (interaction, timeline, reminders), over real HTTP
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncd.api.app import create_app
from syncd.api.auth import Viewer
from syncd.api.server import ApiServer
from syncd.api.visibility import Visibility
from syncd.config.api import SharingLevel
from syncd.config.model import Settings
from tests.syncd.api.conftest import api_section, auth
from tests.syncd.api.seed import Seeded

SHARING: tuple[SharingLevel, ...] = ("metadata", "subject", "full")
VIEWERS = ("admin", "rita", "sam")
#: story item -> the reps whose mailboxes saw it
SEEN_BY = {"pricing": {"rita"}, "globex": {"sam"}, "shared": {"rita", "sam"}}


def expected_level(viewer: str, item: str, sharing: str) -> str:
    if viewer == "admin" or viewer in SEEN_BY[item]:
        return "full"
    return sharing


@pytest.fixture(scope="module")
def urls(seeded: Seeded) -> Iterator[dict[str, str]]:
    """One live server per sharing policy over the seeded store."""
    servers: dict[str, ApiServer] = {}
    try:
        for sharing in SHARING:
            settings = Settings.model_validate({"api": api_section(sharing)})
            servers[sharing] = ApiServer(create_app(settings, seeded.db), "127.0.0.1", 0)
            servers[sharing].start()
        yield {sharing: server.url for sharing, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


def get(url: str, viewer: str, path: str, **params: Any) -> Any:
    response = httpx.get(url + path, params=params, headers=auth(viewer), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def check_content(doc: dict[str, Any], level: str, item: str, *, detail: bool) -> None:
    assert doc["visibility"] == level
    if level == "metadata":
        assert doc["subject"] is None and doc["snippet"] is None and doc["location"] is None
        assert doc["thread"] is None or doc["thread"]["subject"] is None
        assert all(s["folder"] is None for s in doc["sources"])
    else:
        assert doc["subject"] is not None and doc["subject"].endswith(
            {"pricing": "Acme pricing", "globex": "Globex contract",
             "shared": "Shared update"}[item])
    if level == "full":
        assert doc["snippet"] == f"snippet of {item}"
        assert all(s["folder"] == "INBOX" for s in doc["sources"])
    else:
        assert doc["snippet"] is None
    if detail:
        assert doc["body"] == (f"body of {item}" if level == "full" else None)
    # metadata is always there
    assert doc["participants"] and doc["sources"] and doc["occurred_at"]


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("item", sorted(SEEN_BY))
def test_interaction_detail(urls: dict[str, str], seeded: Seeded, sharing: str, viewer: str,
                            item: str) -> None:
    doc = get(urls[sharing], viewer, f"/v1/interactions/{seeded.ids[item]}")
    check_content(doc, expected_level(viewer, item, sharing), item, detail=True)


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_timeline_items(urls: dict[str, str], seeded: Seeded, sharing: str,
                        viewer: str) -> None:
    rows = [*get(urls[sharing], viewer, "/v1/timeline", company=seeded.acme)["items"],
            *get(urls[sharing], viewer, "/v1/timeline", company=seeded.globex)["items"]]
    by_id = {row["id"]: row for row in rows}
    for item in SEEN_BY:
        row = by_id[seeded.ids[item]]
        check_content(row, expected_level(viewer, item, sharing), item, detail=False)
        assert "body" not in row


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_meeting_title_and_location(urls: dict[str, str], seeded: Seeded, sharing: str,
                                    viewer: str) -> None:
    doc = get(urls[sharing], viewer, f"/v1/interactions/{seeded.ids['review']}")
    level = "full" if viewer in ("admin", "rita") else sharing
    assert doc["visibility"] == level
    shown = level != "metadata"
    assert doc["subject"] == ("Acme review" if shown else None)
    assert doc["location"] == ("Acme HQ, room 4" if shown else None)


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_reminder_subjects_quote_only_what_the_viewer_may_read(
        urls: dict[str, str], seeded: Seeded, sharing: str, viewer: str) -> None:
    rows = get(urls[sharing], viewer, "/v1/reminders", limit=200,
               status=["open", "done", "dismissed", "superseded"])["items"]
    globex = [r for r in rows if r["interaction_id"] == seeded.ids["globex"]
              or (r["contact"] or {}).get("id") == seeded.bob]
    assert globex, rows
    for row in globex:
        level = expected_level(viewer, "globex", sharing)
        assert row["visibility"] == level
        if level == "metadata":
            assert row["subject"] is None
        else:
            assert "Globex contract" in row["subject"]
        assert row["due_at"] and row["kind"]  # metadata stays


def test_counts_include_what_the_viewer_cannot_read(urls: dict[str, str],
                                                    seeded: Seeded) -> None:
    as_rita = get(urls["metadata"], "rita", "/v1/timeline", company=seeded.globex)["items"]
    assert [row["id"] for row in as_rita] == [seeded.ids["globex"]]
    assert as_rita[0]["subject"] is None


@pytest.mark.parametrize("sharing", SHARING)
def test_private_items_are_for_their_owner_only(sharing: SharingLevel) -> None:
    rita = Viewer("t", "rita@ourco.example", frozenset({"read"}))
    sam = Viewer("t", "sam@ourco.example", frozenset({"read"}))
    admin = Viewer("t", "admin", frozenset({"read"}))
    both = frozenset({"rita@ourco.example", "sam@ourco.example"})
    private = "rita@ourco.example"
    assert Visibility(rita, sharing).level(both, private_owner=private) == "full"
    assert Visibility(sam, sharing).level(both, private_owner=private) == "metadata"
    assert Visibility(admin, sharing).level(both, private_owner=private) == "full"
    content = Visibility(sam, sharing).content(both, subject="s", snippet="n", body="b",
                                               location="l", private_owner=private)
    assert (content.subject, content.snippet, content.body, content.location) == (
        None, None, None, None)
