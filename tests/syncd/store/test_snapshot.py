"""The resync snapshot (both databases): a snapshot plus the feed after its position
rebuild exactly the current state, also when a change committed before the
snapshot is numbered after it (replayed, harmless) and when a change commits
while the snapshot is being read (not in it, applied from the feed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from providers.base import Address
from syncd.directory.contacts import upsert_company, upsert_contact
from syncd.directory.opportunities import import_opportunities
from syncd.lifecycle.purge import purge
from syncd.store.change_events import LEAD_STATE_FIELDS, REMINDER_STATE_FIELDS, STATE_FIELDS
from syncd.store.changes import FeedEvent, read_changes
from syncd.store.database import Database
from syncd.store.snapshot import ENTITIES, open_snapshot
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, World, settings
from tests.syncd.store.builders import POLICY

H = timedelta(hours=1)
Key = tuple[str, int]
Model = dict[Key, dict[str, Any]]


def snapshot(database: Database) -> tuple[int, Model]:
    """The position and the records of a fresh snapshot, as JSON."""
    with open_snapshot(database) as snap:
        return snap.position, {(r.entity, r.entity_id): r.as_json()["state"]
                               for r in snap.records()}


def apply(model: Model, event: FeedEvent) -> None:
    """What a consumer does with one event (the feed's documented meaning)."""
    key = (event.entity, event.entity_id)
    state = event.state
    if event.entity == "participant":
        return  # participants are not part of the snapshot
    if event.entity == "reminder":
        if state["status"] == "open":
            model[key] = {name: state[name] for name in REMINDER_STATE_FIELDS}
        else:  # the snapshot holds open reminders only
            model.pop(key, None)
    elif event.entity == "lead":  # created or status_changed, whole state
        model[key] = {name: state[name] for name in LEAD_STATE_FIELDS}
    elif event.type == "interaction.deleted":
        model.pop(key, None)
    elif event.type in ("opportunity.linked", "opportunity.unlinked"):
        if key in model:
            model[key]["opportunity_id"] = state["opportunity_id"]
    elif event.entity == "interaction":  # created, updated, restored, note/call logged
        before = model.get(key, {"opportunity_id": state.get("opportunity_id")})
        model[key] = {**{name: state[name] for name in STATE_FIELDS},
                      "opportunity_id": before["opportunity_id"]}
    else:  # company, contact, opportunity: created or updated, whole state
        model[key] = dict(state)


def test_snapshot_and_the_feed_after_it_rebuild_the_current_state(
        database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(database, settings(leads={"enabled": True}))
    acme = w.company("Acme", "acme.example")
    w.contact(ANN, acme)
    w.contact(BOB)
    question = w.at(MONDAY).mail(ANN, (RITA,), "Question")  # a reply_needed reminder
    w.at(MONDAY).mail(BOB, (RITA,), "Hello")
    nina = Address("nina@newco.example", "Nina")
    w.at(MONDAY).mail(nina, (RITA,), "Your product")  # a lead
    # committed, but numbered only after the snapshot has begun: in the snapshot AND
    # after its position, so it is replayed
    with database.session() as s:
        upsert_contact(s, {"emails": ANN.email, "title": "CTO"}, {"emails", "title"}, POLICY)
    monkeypatch.setattr("syncd.store.snapshot.assign_positions", lambda database: 0)
    position, model = snapshot(database)
    monkeypatch.undo()
    assert {entity for entity, _ in model} == set(ENTITIES) - {"opportunity"}
    replayed = [e for e in read_changes(database, after=position, limit=100).events
                if e.type == "contact.updated"]
    assert replayed and model[("contact", replayed[0].entity_id)]["title"] == "CTO"

    # more changes after the snapshot
    w.at(MONDAY + H).mail(RITA, (ANN,), "Re: Question", reply_to=question)  # resolves
    csv = tmp_path / "opportunities.csv"
    csv.write_text("company,name\nacme.example,Renewal\n")
    assert import_opportunities(database, csv).linked == 2  # Ann's two mails
    with database.session() as s:
        purge(s, addresses=[BOB.email, nina.email])  # the lead is disqualified
        upsert_company(s, {"name": "Zeta", "domains": "zeta.example"}, {"name", "domains"},
                       POLICY)

    for event in read_changes(database, after=position, limit=1000).events:
        apply(model, event)
    assert model == snapshot(database)[1]


def test_a_change_committed_while_the_snapshot_is_read_is_not_in_it(
        database: Database) -> None:
    with database.session() as s:
        upsert_contact(s, {"emails": ANN.email, "name": "Ann"}, {"emails", "name"}, POLICY)
    with open_snapshot(database) as snap:
        # another writer commits after the snapshot began (its first statement)
        with database.session() as s:
            upsert_contact(s, {"emails": ANN.email, "title": "CTO"}, {"emails", "title"},
                           POLICY)
            upsert_contact(s, {"emails": BOB.email}, {"emails"}, POLICY)
        counts = snap.counts()
        records = [r.as_json() for r in snap.records()]
        position = snap.position
    assert counts == {"company": 0, "contact": 1, "opportunity": 0, "reminder": 0,
                      "interaction": 0, "lead": 0}
    [ann] = records
    assert ann["state"]["title"] is None and ann["state"]["emails"] == [ANN.email]
    after = [(e.type, e.state.get("title")) for e in
             read_changes(database, after=position, limit=100).events]
    assert after == [("contact.updated", "CTO"), ("contact.created", None)]
