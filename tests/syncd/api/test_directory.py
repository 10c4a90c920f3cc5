"""``/v1/contacts`` and ``/v1/companies`` with rollups, through real HTTP (both databases).

The seeded story (:mod:`tests.syncd.api.seed`) for Ann at Acme: she wrote
"Acme pricing" (Monday 09:00), Rita answered (10:00: a two-way exchange),
she wrote "Shared update" to Rita cc Sam (12:00), and met Rita on Wednesday.
"""

from __future__ import annotations

from typing import Any

from tests.syncd.api.conftest import Served, problem
from tests.syncd.api.test_reads import items

ANN_ROLLUPS = {
    "first_interaction_at": "2026-11-02T09:00:00Z",
    "last_interaction_at": "2026-11-04T09:00:00Z",
    "last_inbound_at": "2026-11-02T12:00:00Z",
    "last_outbound_at": "2026-11-02T10:00:00Z",
    "last_exchange_at": "2026-11-02T10:00:00Z",
    "next_meeting_at": None,
    "interactions_total": 4,
    "upcoming_meetings": 0,
}


def picked(rollups: dict[str, Any]) -> dict[str, Any]:
    return {k: rollups[k] for k in ANN_ROLLUPS}


def test_contacts_list_search_and_one(served: Served) -> None:
    seeded = served.seeded
    everyone = items(served, "/v1/contacts", limit=1)
    assert [c["id"] for c in everyone] == sorted([seeded.ann, seeded.bob])
    ann = next(c for c in everyone if c["id"] == seeded.ann)
    assert ann["name"] == "Ann Acme" and ann["emails"] == ["ann@acme.example"]
    assert ann["company"] == {"id": seeded.acme, "name": "Acme"}
    assert picked(ann["rollups"]) == ANN_ROLLUPS
    reps = ann["rollups"]["top_reps"]
    assert [(r["rep"], r["exchanges"]) for r in reps] == [("rita@ourco.example", 1)]
    assert 0 < reps[0]["strength"] < 1
    for query in ({"name": "ANN"}, {"domain": "acme.example"},
                  {"address": "Ann@Acme.example"}, {"name": "acme", "domain": "acme.example"}):
        assert [c["id"] for c in items(served, "/v1/contacts", **query)] == [seeded.ann], query
    assert items(served, "/v1/contacts", name="nobody") == []
    one = served.get(f"/v1/contacts/{seeded.ann}")
    assert one.status_code == 200 and one.json() == ann
    problem(served.get("/v1/contacts/999999"), 404)


def test_companies_list_search_and_one(served: Served) -> None:
    seeded = served.seeded
    companies = items(served, "/v1/companies")
    assert [c["id"] for c in companies] == sorted([seeded.acme, seeded.globex])
    acme = served.get(f"/v1/companies/{seeded.acme}").json()
    assert acme["domains"] == ["acme.example"] and acme["owner"] == "rita@ourco.example"
    assert picked(acme["rollups"]) == ANN_ROLLUPS  # Ann is everyone Acme talks through
    globex = served.get(f"/v1/companies/{seeded.globex}").json()
    assert globex["rollups"]["last_inbound_at"] == "2026-11-02T11:00:00Z"
    assert globex["rollups"]["top_reps"] == []  # nobody answered Bob: no exchange
    assert [c["id"] for c in items(served, "/v1/companies", domain="mail.acme.example")] == [
        seeded.acme]
    assert [c["id"] for c in items(served, "/v1/companies", address="bob@globex.example")] == [
        seeded.globex]
    problem(served.get("/v1/companies/999999"), 404)


def test_rollups_are_the_same_for_every_viewer_and_never_show_content(served: Served) -> None:
    seeded = served.seeded
    admin = served.get(f"/v1/companies/{seeded.acme}").json()
    for token in ("rita", "sam"):
        response = served.get(f"/v1/companies/{seeded.acme}", token=token)
        assert response.status_code == 200 and response.json() == admin
        text = served.get("/v1/contacts", token=token).text
        for subject in ("Acme pricing", "Shared update", "Acme review", "Globex contract"):
            assert subject not in text


def test_errors_are_problems(served: Served) -> None:
    problem(served.get("/v1/contacts", token=None), 401)
    problem(served.get("/v1/contacts", token="writer"), 403)  # write scope only
    doc = problem(served.get("/v1/companies", cursor="not-a-cursor"), 400)
    assert "cursor" in doc["detail"]
    contacts_cursor = served.get("/v1/contacts", limit=1).json()["next_cursor"]
    problem(served.get("/v1/companies", cursor=contacts_cursor), 400)  # another list's
