"""The read endpoints through real HTTP against the real ``syncd api`` process.

The store holds the story of :mod:`tests.syncd.api.seed` (SQLite and
PostgreSQL). These tests read with the admin token (everything visible);
who sees what is :mod:`tests.syncd.api.test_visibility`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncd.daemon.runtime import status_document
from syncd.store.queries import account_statuses
from tests.syncd.api.conftest import Served


def items(served: Served, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = served.get(path, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        out.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


# ---------------------------------------------------------------------- interactions/{id}


def test_interaction_has_participants_with_match_and_reason_sources_thread_and_deal(
        served: Served) -> None:
    ids = served.seeded.ids
    response = served.get(f"/v1/interactions/{ids['shared']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["kind"] == "email" and doc["direction"] == "inbound"
    assert doc["subject"] == "Shared update" and doc["visibility"] == "full"
    assert doc["snippet"] == "snippet of shared" and doc["body"] == "body of shared"
    assert doc["occurred_at"] == "2026-11-02T12:00:00Z"
    people = {p["address"]: p for p in doc["participants"]}
    assert people["ann@acme.example"]["match"] == "contact"
    assert people["ann@acme.example"]["match_reason"]
    assert people["ann@acme.example"]["contact"] == {"id": served.seeded.ann, "name": "Ann Acme"}
    assert people["ann@acme.example"]["company"] == {"id": served.seeded.acme, "name": "Acme"}
    assert people["rita@ourco.example"]["match"] == "internal"
    assert {p["role"] for p in doc["participants"]} == {"from", "to", "cc"}
    assert sorted((s["account"], s["owner"]) for s in doc["sources"]) == [
        ("rita-mail", "rita@ourco.example"), ("sam-mail", "sam@ourco.example")]
    assert all(s["provider"] == "local" for s in doc["sources"])
    assert doc["thread"]["message_count"] >= 1
    assert doc["opportunity"]["id"] == served.seeded.renewal
    assert doc["opportunity"]["name"] == "Acme renewal"
    assert doc["opportunity"]["reason"]


def test_a_reply_shares_its_threads(served: Served) -> None:
    ids = served.seeded.ids
    first = served.get(f"/v1/interactions/{ids['pricing']}").json()
    reply = served.get(f"/v1/interactions/{ids['reply']}").json()
    assert first["thread"]["id"] == reply["thread"]["id"]
    assert reply["thread"]["message_count"] == 2
    assert reply["direction"] == "outbound"


def test_meeting_shows_times_location_and_attendees(served: Served) -> None:
    doc = served.get(f"/v1/interactions/{served.seeded.ids['review']}").json()
    assert doc["kind"] == "meeting" and doc["subject"] == "Acme review"
    assert doc["location"] == "Acme HQ, room 4"
    assert doc["occurred_at"] == "2026-11-04T09:00:00Z"
    assert doc["ends_at"] == "2026-11-04T10:00:00Z"
    assert {p["address"] for p in doc["participants"]} == {"rita@ourco.example",
                                                           "ann@acme.example"}


def test_unknown_interaction_is_a_404_problem(served: Served) -> None:
    response = served.get("/v1/interactions/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "there is no interaction 999999"


# ---------------------------------------------------------------------- timeline


def subjects(rows: list[dict[str, Any]]) -> list[str]:
    return [r["subject"] for r in rows]


def test_company_timeline_newest_first_across_pages(served: Served) -> None:
    rows = items(served, "/v1/timeline", company=served.seeded.acme, limit=1)
    assert subjects(rows) == ["Acme review", "Shared update", "Re: Acme pricing", "Acme pricing"]
    times = [r["occurred_at"] for r in rows]
    assert times == sorted(times, reverse=True)


def test_contact_and_opportunity_timelines(served: Served) -> None:
    seeded = served.seeded
    assert subjects(items(served, "/v1/timeline", contact=seeded.bob)) == ["Globex contract"]
    on_deal = subjects(items(served, "/v1/timeline", opportunity=seeded.renewal))
    assert set(on_deal) == {"Acme review", "Shared update", "Re: Acme pricing", "Acme pricing"}


def test_address_timeline_of_an_unmatched_person(served: Served) -> None:
    rows = items(served, "/v1/timeline", address="Carol@Initech.example")
    assert subjects(rows) == ["Re: Intro from Carol", "Intro from Carol"]


def test_timeline_filters(served: Served) -> None:
    acme = served.seeded.acme
    assert subjects(items(served, "/v1/timeline", company=acme, kind="meeting")) == [
        "Acme review"]
    assert subjects(items(served, "/v1/timeline", company=acme, direction="outbound",
                          kind="email")) == ["Re: Acme pricing"]
    assert subjects(items(served, "/v1/timeline", company=acme,
                          since="2026-11-02T10:00:00Z", until="2026-11-02T12:00:01Z")) == [
        "Shared update", "Re: Acme pricing"]
    assert subjects(items(served, "/v1/timeline", company=acme, account="sam-mail")) == [
        "Shared update"]
    both = items(served, "/v1/timeline", company=acme, kind=["email", "meeting"])
    assert len(both) == 4


def test_timeline_of_an_unknown_subject_is_404(served: Served) -> None:
    cases: list[dict[str, Any]] = [{"contact": 424242}, {"company": 424242},
                                   {"opportunity": 424242}]
    for params in cases:
        response = served.get("/v1/timeline", **params)
        assert response.status_code == 404, params
        assert response.json()["title"] == "Not found"


def test_timeline_needs_exactly_one_subject(served: Served) -> None:
    cases: list[dict[str, Any]] = [{}, {"contact": 1, "company": 1}]
    for params in cases:
        response = served.get("/v1/timeline", **params)
        assert response.status_code == 400
        doc = response.json()
        assert "exactly one of contact, company, opportunity or address" in doc["detail"]
        assert doc["errors"][0]["allowed"] == ["contact", "company", "opportunity", "address"]


# ---------------------------------------------------------------------- opportunities


def test_opportunities_with_history_counts_and_filters(served: Served) -> None:
    rows = items(served, "/v1/opportunities")
    assert [(o["name"], o["status"], o["company_name"]) for o in rows] == [
        ("Acme renewal", "open", "Acme")]
    deal = rows[0]
    assert deal["interaction_count"] == 4 and deal["owner"] == "rita@ourco.example"
    assert deal["last_interaction_at"] == "2026-11-04T09:00:00Z"
    assert items(served, "/v1/opportunities", status="closed") == []
    assert len(items(served, "/v1/opportunities", company=served.seeded.acme)) == 1
    assert items(served, "/v1/opportunities", company=served.seeded.globex) == []
    assert len(items(served, "/v1/opportunities", owner="RITA@ourco.example")) == 1
    assert len(items(served, "/v1/opportunities", stage="Proposal")) == 1


# ---------------------------------------------------------------------- reminders


def test_reminders_list_and_filters(served: Served) -> None:
    rows = items(served, "/v1/reminders", status=["open", "done", "dismissed", "superseded"])
    assert rows, "the seeded story derives reminders"
    due = [(r["due_at"], r["id"]) for r in rows]
    assert due == sorted(due)
    open_rows = items(served, "/v1/reminders")
    assert all(r["status"] == "open" for r in open_rows)
    sams = items(served, "/v1/reminders", owner="sam@ourco.example")
    assert sams and all(r["owner"] == "sam@ourco.example" for r in sams)
    assert any("Globex contract" in (r["subject"] or "") for r in sams)
    replies = items(served, "/v1/reminders", kind="reply_needed")
    assert replies and all(r["kind"] == "reply_needed" and r["waiting_on"] == "rep"
                           for r in replies)
    first_due = min(r["due_at"] for r in open_rows)
    assert {r["id"] for r in items(served, "/v1/reminders", due_before=first_due)} == {
        r["id"] for r in open_rows if r["due_at"] == first_due}
    assert len(items(served, "/v1/reminders", limit=1)) == len(open_rows)


def test_reminders_owner_me_is_the_tokens_viewer(served: Served) -> None:
    mine = served.get("/v1/reminders", token="sam", owner="me").json()["items"]
    assert mine and all(r["owner"] == "sam@ourco.example" for r in mine)
    response = served.get("/v1/reminders", token="admin", owner="me")
    assert response.status_code == 400 and response.json()["errors"][0]["name"] == "owner"


# ---------------------------------------------------------------------- unmatched addresses


def test_unmatched_addresses_ranked_by_two_way_activity(served: Served) -> None:
    rows = items(served, "/v1/unmatched-addresses", window_days=3650, limit=1)
    by_address = {r["address"]: r for r in rows}
    assert rows[0]["address"] == "carol@initech.example"
    carol = by_address["carol@initech.example"]
    assert (carol["inbound"], carol["outbound"], carol["meetings"], carol["score"]) == (1, 1, 0, 1)
    assert by_address["dave@hooli.example"]["score"] == 0
    assert by_address["dave@hooli.example"]["inbound"] == 1
    assert "ann@acme.example" not in by_address  # a contact is not a suggestion
    assert [r["address"] for r in items(served, "/v1/unmatched-addresses", window_days=3650,
                                        domain="hooli.example")] == ["dave@hooli.example"]


# ---------------------------------------------------------------------- accounts


def test_accounts_is_the_status_document(served: Served) -> None:
    doc = served.get("/v1/accounts").json()
    assert [a["account"] for a in doc["accounts"]] == ["rita-mail", "sam-mail"]
    expected = status_document([s.to_dict() for s in account_statuses(served.seeded.db)], None,
                               generated_at=datetime.fromisoformat(doc["generated_at"]))
    assert without_ages(doc) == without_ages(expected)
    assert all(isinstance(a["cursor_age_s"], float) for a in doc["accounts"])


def without_ages(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without cursor ages (they grow between two reads)."""
    return {**doc, "accounts": [{k: v for k, v in a.items() if k != "cursor_age_s"}
                                for a in doc["accounts"]]}
