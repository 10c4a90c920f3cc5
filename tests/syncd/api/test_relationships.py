"""Reply times, strength and the strongest connection on ``/v1/contacts`` and
``/v1/companies``, through real HTTP (both databases), on the seeded story of
:mod:`tests.syncd.api.seed`: Ann (Acme) wrote Monday 09:00, Rita answered 10:00 (one
hour: our reply), Ann wrote again cc Sam at 12:00, and met Rita on Wednesday; nobody
answered Bob (Globex)."""

from __future__ import annotations

from tests.syncd.api.conftest import Served


def test_contacts_and_companies_carry_reply_times_and_strength(served: Served) -> None:
    seeded = served.seeded
    ann = served.get(f"/v1/contacts/{seeded.ann}").json()["relationship"]
    assert (ann["our_median_reply_seconds"], ann["our_replies"]) == (3600, 1)
    assert ann["strongest_connection"] == "rita@ourco.example"
    rita = ann["connections"][0]
    assert rita["rep"] == "rita@ourco.example" and rita["meetings"] == 1
    assert rita["two_way_emails"] >= 1 and 0 < rita["strength"] <= 100
    strengths = [c["strength"] for c in ann["connections"]]
    assert strengths == sorted(strengths, reverse=True)
    acme = served.get(f"/v1/companies/{seeded.acme}").json()["relationship"]
    assert acme["strongest_connection"] == "rita@ourco.example"
    globex = served.get(f"/v1/companies/{seeded.globex}").json()["relationship"]
    # one-way mail only: a weak connection, no reply times
    assert globex["our_median_reply_seconds"] is None and globex["our_replies"] == 0
    assert all(c["two_way_emails"] == 0 and c["strength"] < 5 for c in globex["connections"])


def test_lists_and_single_reads_agree(served: Served) -> None:
    seeded = served.seeded
    now = served.get(f"/v1/contacts/{seeded.ann}").json()["relationship"]["connections"]
    listed = served.get("/v1/contacts", limit=50).json()["items"]
    assert next(c for c in listed if c["id"] == seeded.ann)["relationship"]["connections"] == now
