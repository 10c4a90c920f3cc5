"""timeline() and account_statuses() on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from providers.base import Address, Page
from syncd.directory.contacts import import_companies, import_contacts
from syncd.store.database import Database
from syncd.store.queries import account_statuses, timeline
from syncd.store.schema import Account, Company
from syncd.store.timeline_pages import (
    TimelineFilters,
    TimelineSubject,
    timeline_key,
    timeline_page,
)
from syncd.store.types import utcnow
from tests.generate import BASE_TIME
from tests.syncd.store.builders import REP, apply, meeting, message


def seed(database: Database, tmp_path: Path) -> None:
    (tmp_path / "co.csv").write_text("name,domains\nAcme,acme.example;acme-group.example\n")
    (tmp_path / "ct.csv").write_text("name,emails\nAnn,ann@acme.example;ann@gmail.com\n")
    import_companies(database, tmp_path / "co.csv")
    import_contacts(database, tmp_path / "ct.csv")
    apply(database, Page("INBOX", [
        message(1, sender=Address("ann@gmail.com", "Ann (home)")),
        message(2, sender=REP, to=(Address("ann@acme.example"),), subject="Re: Hello",
                in_reply_to="msg-1@mail.example"),
        message(3, sender=Address("bob@acme-group.example")),
        message(4, sender=Address("eve@other.example")),
        meeting("m1@x", attendees=("ann@acme.example", "rita@ourco.example")),
    ]))
    apply(database, Page("INBOX", [message(2, sender=REP, to=(Address("ann@acme.example"),),
                                           pid="b/2", subject="Re: Hello")]), account_id="acc2")


def test_contact_timeline_covers_every_address_newest_first(database: Database,
                                                            tmp_path: Path) -> None:
    seed(database, tmp_path)
    entries = timeline(database, contact="Ann@Acme.example")
    assert [(e.kind, e.subject) for e in entries] == [
        ("meeting", "Sync"), ("email", "Re: Hello"), ("email", "Hello")]
    assert entries == timeline(database, contact="ann@googlemail.com")
    reply = entries[1]
    assert reply.sources == ("acc1", "acc2")
    assert reply.thread == entries[2].thread == "msg-1@mail.example"
    doc = json.loads(json.dumps([e.to_dict() for e in entries]))
    assert doc[1]["occurred_at"].endswith("Z")
    ann = next(p for p in doc[1]["participants"] if p["address"] == "ann@acme.example")
    assert (ann["contact_name"], ann["company_name"], ann["match"]) == ("Ann", "Acme", "contact")


def test_company_timeline_by_any_domain_and_fallback(database: Database, tmp_path: Path) -> None:
    seed(database, tmp_path)
    subjects = [e.subject for e in timeline(database, company="acme-group.example")]
    # meeting, msg 3 (bob@acme-group), msg 2 (to ann@acme); not msg 1: Ann wrote from
    # gmail.com and her contact has no company, so nothing ties it to Acme
    assert subjects == ["Sync", "Hello", "Re: Hello"]
    assert [e.id for e in timeline(database, company="ACME.example")] == [
        e.id for e in timeline(database, company="acme-group.example")]
    assert [e.subject for e in timeline(database, company="other.example")] == ["Hello"]
    assert timeline(database, company="nobody.example") == []


def test_account_statuses(database: Database) -> None:
    now = utcnow()
    apply(database, Page("INBOX", [message(1)], cursor={"uid": 1}))
    with database.session() as s:
        s.add(Account(id="acc0", provider="imap", owner="sam@ourco.example", state="failed",
                      last_error_at=now, last_error_code="internal",
                      last_error_message="internal error (KeyError)", lease_holder="host-a"))
    statuses = account_statuses(database, now=now + timedelta(seconds=90))
    assert [s.account for s in statuses] == ["acc0", "acc1"]
    failed, ok = (s.to_dict() for s in statuses)
    assert failed["state"] == "failed" and failed["lease_holder"] == "host-a"
    assert failed["last_error"]["code"] == "internal"
    assert failed["cursor_age_s"] is None
    assert 85 <= ok["cursor_age_s"] <= 120
    json.dumps([s.to_dict() for s in statuses])


def test_company_timeline_pages_walk_each_interaction_once(database: Database,
                                                          tmp_path: Path) -> None:
    """timeline_page reads a company's pages from its participants' index: several
    of its people on one interaction, and interactions at the same time, still give
    each interaction once, newest first by (time, id), across pages."""
    (tmp_path / "co.csv").write_text("name,domains\nAcme,acme.example\n")
    import_companies(database, tmp_path / "co.csv")
    same = BASE_TIME + timedelta(hours=1)
    apply(database, Page("INBOX", [
        message(n, sender=Address(f"p{n}@acme.example"),
                to=(REP, Address("ann@acme.example"), Address("bob@acme.example")),
                when=same if n % 3 == 0 else None)
        for n in range(1, 12)]))
    with database.session(write=False) as s:
        acme = s.scalars(select(Company.id)).one()
    subject = TimelineSubject("company", acme)
    everything = timeline_page(database, subject, TimelineFilters(), after=None, limit=100)
    assert everything is not None and len(everything) == 11
    keys = [timeline_key(v) for v in everything]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == 11
    walked: list[int] = []
    after = None
    while True:
        page = timeline_page(database, subject, TimelineFilters(), after=after, limit=2)
        assert page is not None
        walked += [v.id for v in page]
        if len(page) < 2:
            break
        after = timeline_key(page[-1])
    assert walked == [v.id for v in everything]
    since = timeline_page(database, subject, TimelineFilters(since=same, kinds=("email",)),
                          after=None, limit=100)
    assert since is not None
    assert [v.id for v in since] == [v.id for v in everything if v.occurred_at >= same]
