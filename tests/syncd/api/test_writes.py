"""The write endpoints over real HTTP (uvicorn on a socket, the real app), on SQLite
and PostgreSQL: corrections, notes and calls, reminders, the directory; every
write needs the ``write`` scope and is audited with the token's name and viewer.

The store holds a small story written through the real engine
(tests/syncd/reminders/harness.py): Rita wrote Ann (Acme) on Monday, so a
follow_up waits; Bob (Globex) wrote Rita cc Ann; Carl (Globex) is a contact.
The API's clock is Tuesday 09:00.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from providers.base import Address
from syncd.api.app import create_app
from syncd.api.server import ApiServer
from syncd.store.database import Database
from syncd.store.schema import AuditEntry, Interaction
from tests.syncd.api.conftest import api_section, auth, problem
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, World, settings

CARL = Address("carl@globex.example", "Carl Globex")
NOW = MONDAY + timedelta(days=1)


@dataclass
class Story:
    url: str
    db: Database
    ids: dict[str, int]

    def post(self, path: str, body: Any = None, token: str | None = "writer") -> httpx.Response:
        headers = auth(token) if token else {}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=30)

    def patch(self, path: str, body: Any, token: str = "writer") -> httpx.Response:
        return httpx.patch(self.url + path, json=body, headers=auth(token), timeout=30)

    def delete(self, path: str, token: str = "writer", **params: Any) -> httpx.Response:
        return httpx.delete(self.url + path, params=params, headers=auth(token), timeout=30)

    def get(self, path: str, token: str = "admin", **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=auth(token), timeout=30)


@pytest.fixture
def story(database: Database) -> Iterator[Story]:
    w = World(database, settings(api=api_section()))
    acme = w.company("Acme", "acme.example")
    globex = w.company("Globex", "globex.example")
    ids = {"acme": acme, "globex": globex, "ann": w.contact(ANN, acme),
           "carl": w.contact(CARL, globex)}
    w.at(MONDAY).mail(RITA, (ANN,), "Proposal")
    w.at(MONDAY + timedelta(hours=1)).mail(BOB, (RITA,), "Contract", cc=(ANN,))
    with database.session(write=False) as s:
        ids["contract"] = s.scalars(select(Interaction.id)
                                    .where(Interaction.subject == "Contract")).one()
    server = ApiServer(create_app(w.settings, database, clock=lambda: NOW), "127.0.0.1", 0)
    server.start()
    try:
        yield Story(server.url, database, ids)
    finally:
        server.stop()


def audited(db: Database) -> list[tuple[str, str, str]]:
    with db.session(write=False) as s:
        return [(e.action, e.actor, e.viewer)
                for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_writes_need_a_token_with_the_write_scope(story: Story) -> None:
    body = {"text": "hello", "contact_id": story.ids["ann"]}
    problem(story.post("/v1/notes", body, token=None), 401)
    assert "write" in problem(story.post("/v1/notes", body, token="rita"), 403)["detail"]
    problem(story.post(f"/v1/interactions/{story.ids['contract']}/override",
                       {"action": "not_customer"}, token="sam"), 403)
    assert audited(story.db) == []


def test_a_logged_call_answers_the_follow_up_and_joins_the_history(story: Story) -> None:
    call = {"contact_id": story.ids["ann"], "duration_seconds": 420, "outcome": "connected",
            "text": "Walked through the proposal", "key": "call-1"}
    made = story.post("/v1/calls", call)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert (doc["kind"], doc["author"], doc["company_id"], doc["reminders_answered"]) == (
        "call", RITA.email, story.ids["acme"], 1)
    assert doc["occurred_at"] == "2026-11-03T09:00:00Z"
    again = story.post("/v1/calls", call)
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    done = story.get("/v1/reminders", status="done").json()["items"]
    assert [r["reason"] for r in done] == [
        f"answered by a call 2026-11-03 09:00 UTC (logged by {RITA.email}; connected)"]
    shown = story.get(f"/v1/interactions/{doc['id']}").json()
    assert shown["kind"] == "call" and shown["body"] == "Walked through the proposal"
    assert (shown["logged"]["author"], shown["logged"]["duration_seconds"]) == (RITA.email, 420)
    # a rep's token logs as that rep; an admin must name the author
    bad = problem(story.post("/v1/notes", {"text": "x", "contact_id": story.ids["ann"],
                                           "author": "sam@ourco.example"}), 422)
    assert bad["errors"][0]["name"] == "author"
    assert problem(story.post("/v1/notes", {"text": "x", "contact_id": story.ids["ann"]},
                              token="admin"), 422)["errors"][0]["name"] == "author"
    assert problem(story.post("/v1/notes", {"text": "x", "contact_id": 999}),
                   422)["errors"][0]["name"] == "contact_id"
    assert audited(story.db) == [("call.logged", "writer", RITA.email)]


def test_a_correction_over_http_and_its_undo(story: Story) -> None:
    contract = story.ids["contract"]
    path = f"/v1/interactions/{contract}/override"
    made = story.post(path, {"action": "assign", "participant": "Ann@Acme.example",
                             "contact_id": story.ids["carl"], "note": "Ann forwards for Carl"})
    assert made.status_code == 200, made.text
    doc = made.json()
    assert (doc["participant"], doc["contact_id"], doc["company_id"], doc["set_by"]) == (
        ANN.email, story.ids["carl"], story.ids["globex"], RITA.email)
    shown = story.get(f"/v1/interactions/{contract}").json()
    people = {p["address"]: p for p in shown["participants"]}
    assert people[ANN.email]["contact"]["id"] == story.ids["carl"]
    assert people[ANN.email]["match_reason"] == f"set by {RITA.email}"
    assert [(c["participant"], c["set_by"], c["note"]) for c in shown["corrections"]] == [
        (ANN.email, RITA.email, "Ann forwards for Carl")]
    refused = problem(story.post(path, {"action": "assign", "participant": RITA.email,
                                        "contact_id": story.ids["carl"]}), 422)
    assert refused["errors"][0]["name"] == "participant"
    problem(story.post("/v1/interactions/999999/override", {"action": "not_customer"}), 404)
    problem(story.post(path, {"action": "merge"}), 422)
    undone = story.delete(path, participant=ANN.email)
    assert undone.status_code == 200 and undone.json()["id"] == doc["id"]
    problem(story.delete(path, participant=ANN.email), 404)
    people = {p["address"]: p for p in story.get(f"/v1/interactions/{contract}")
              .json()["participants"]}
    assert people[ANN.email]["contact"]["id"] == story.ids["ann"]
    assert audited(story.db) == [("override.set", "writer", RITA.email),
                                 ("override.removed", "writer", RITA.email)]


def test_reminder_actions_and_manual_reminders(story: Story) -> None:
    (follow_up,) = story.get("/v1/reminders", kind="follow_up").json()["items"]
    rid = follow_up["id"]
    snoozed = story.post(f"/v1/reminders/{rid}/snooze", {"until": "2026-11-10T09:00:00Z"})
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["due_at"] == snoozed.json()["snoozed_until"] == "2026-11-10T09:00:00Z"
    moved = story.post(f"/v1/reminders/{rid}/reassign", {"owner": "sam@ourco.example"}).json()
    assert (moved["owner"], moved["assigned_by"]) == ("sam@ourco.example", RITA.email)
    problem(story.post(f"/v1/reminders/{rid}/snooze", {"until": "2026-11-01T09:00:00Z"}), 422)
    done = story.post(f"/v1/reminders/{rid}/done", {"note": "called her"}).json()
    assert (done["status"], done["reason"]) == ("done", "called her")
    problem(story.post(f"/v1/reminders/{rid}/dismiss"), 409)
    problem(story.post(f"/v1/reminders/{rid}/reassign", {"owner": RITA.email}), 409)
    problem(story.post("/v1/reminders/999999/done"), 404)

    manual = {"type": "call", "due_at": "2026-11-06T15:00:00Z", "priority": "high",
              "subject": "Call Ann about the renewal", "contact_id": story.ids["ann"]}
    made = story.post("/v1/reminders", manual)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert (doc["rule"], doc["owner"], doc["created_by"], doc["company_id"]) == (
        "manual", RITA.email, RITA.email, story.ids["acme"])
    listed = story.get("/v1/reminders").json()["items"]
    assert (doc["id"], manual["subject"]) in [(r["id"], r["subject"]) for r in listed]
    # the list carries what people did, and filters by a manual type or by origin
    (shown,) = story.get("/v1/reminders", status="done", kind="follow_up").json()["items"]
    assert (shown["id"], shown["snoozed_until"], shown["assigned_by"], shown["owner"]) == (
        rid, "2026-11-10T09:00:00Z", RITA.email, "sam@ourco.example")
    (call,) = story.get("/v1/reminders", kind="call").json()["items"]
    assert (call["id"], call["rule"], call["created_by"]) == (doc["id"], "manual", RITA.email)
    assert [r["id"] for r in story.get("/v1/reminders", origin="manual").json()["items"]] == [
        doc["id"]]
    derived = story.get("/v1/reminders", origin="derived",
                        status=["open", "done"]).json()["items"]
    assert doc["id"] not in {r["id"] for r in derived}
    assert {r["rule"] for r in derived} and "manual" not in {r["rule"] for r in derived}
    assert problem(story.post("/v1/reminders", {**manual, "priority": "asap"}),
                   422)["errors"][0]["name"] == "priority"
    assert [a for a, _, _ in audited(story.db)] == [
        "reminder.snoozed", "reminder.reassigned", "reminder.done", "reminder.created"]


def test_contacts_and_companies_created_and_updated_with_late_matching(story: Story) -> None:
    made = story.post("/v1/companies", {"name": "Globex Two", "domains": ["globex.example"]})
    assert "company" in problem(made, 409)["detail"]
    initech = story.post("/v1/companies", {"name": "Initech", "domains": ["initech.example"],
                                           "tier": "strategic"})
    assert initech.status_code == 201, initech.text
    company = initech.json()
    assert (company["domains"], company["outcome"]) == (["initech.example"], "created")
    patched = story.patch(f"/v1/companies/{company['id']}", {"tags": ["emea"], "tier": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["tags"], patched.json()["tier"]) == (["emea"], None)
    problem(story.patch("/v1/companies/999999", {"tags": []}), 404)
    assert problem(story.post("/v1/companies", {"name": "Mail", "domains": ["gmail.com"]}),
                   422)["errors"][0]["name"] == "domains"

    # Bob wrote on Monday as an unmatched person: a new contact links that at once
    bob = story.post("/v1/contacts", {"emails": [BOB.email], "name": "Bob",
                                      "company_id": story.ids["globex"]})
    assert bob.status_code == 201, bob.text
    assert bob.json()["linked"] == 1
    people = {p["address"]: p for p in story.get(
        f"/v1/interactions/{story.ids['contract']}").json()["participants"]}
    assert people[BOB.email]["contact"]["id"] == bob.json()["id"]
    more = story.patch(f"/v1/contacts/{bob.json()['id']}", {"emails": ["bob.g@gmail.com"],
                                                             "title": "CFO"})
    assert more.json()["emails"] == [BOB.email, "bobg@gmail.com"]
    problem(story.post("/v1/contacts", {"emails": [ANN.email]}), 409)
    assert problem(story.post("/v1/contacts", {"emails": ["nope"]}),
                   422)["errors"][0]["name"] == "emails"
    assert [a for a, _, _ in audited(story.db)] == [
        "company.created", "company.updated", "contact.created", "contact.updated"]
