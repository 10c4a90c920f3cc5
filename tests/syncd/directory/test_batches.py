"""Large imports: streamed, committed in batches, late matching right across batches."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from providers.base import Address, Deletion, Event, Message, Page
from syncd.directory.contacts import import_companies, import_contacts
from syncd.directory.opportunities import import_opportunities
from syncd.store.changes import read_changes
from syncd.store.database import Database
from syncd.store.schema import Contact, ContactEmail, Opportunity, Participant
from tests.syncd.store.builders import POLICY, REP, apply, message


def commits(database: Database) -> list[int]:
    """A list that grows by one per committed transaction on ``database``."""
    seen: list[int] = []
    event.listen(database.engine, "commit", lambda _conn: seen.append(1))
    return seen


@pytest.mark.slow
@pytest.mark.timeout(900)  # 40-60 s on an idle 2-core box; far more on a busy one
def test_20000_rows_import_in_transactions_of_2000(database: Database, tmp_path: Path) -> None:
    import_companies(database, _write(tmp_path / "co.csv",
                                      "Company,Website\nBig Co,https://www.big.example/\n"))
    path = tmp_path / "contacts.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("First Name,Last Name,Email,Company\n")
        for n in range(20_000):
            out.write(f"Person,{n},p{n}@big.example,Big Co\n")
    counted = commits(database)
    lines: list[int] = []
    report = import_contacts(database, path, policy=POLICY, progress=lines.append)
    assert (report.created, report.errors) == (20_000, [])
    # one transaction per 2,000 rows (each with its late matching): memory and
    # lock time do not grow with the file
    assert len(counted) == 10
    assert lines == [2_001 + 2_000 * k for k in range(10)]
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(ContactEmail)) == 20_000
        assert s.scalar(select(func.count()).select_from(Contact)
                        .where(Contact.company_id.is_(None))) == 0


def test_late_matching_across_batches_links_each_participant_once(
    database: Database, tmp_path: Path
) -> None:
    people = [Address(f"p{n}@newco.example") for n in range(7)]
    items: list[Message | Event | Deletion] = [message(n, sender=p)
                                               for n, p in enumerate(people)]
    apply(database, Page("INBOX", [*items, message(10, sender=REP, to=tuple(people[:3]))]))
    import_companies(database, _write(tmp_path / "co.csv",
                                      "name,domains\nNewCo,newco.example\n"), policy=POLICY)
    after = read_changes(database, after=0, limit=1000).events[-1].position or 0
    # p0 comes back in the 4th batch with a second address: one contact still
    rows = "".join(f"P{n},p{n}@newco.example\n" for n in range(7))
    contacts = _write(tmp_path / "ct.csv",
                      f"name,emails\n{rows}P0,p0@newco.example;p0@other.example\n")
    report = import_contacts(database, contacts, policy=POLICY, batch_size=2)
    assert (report.created, report.updated, report.errors) == (7, 1, [])
    with database.session(write=False) as s:
        links = {(p.address, p.interaction_id): p.contact_id
                 for p in s.scalars(select(Participant)
                                    .where(Participant.address.like("%@newco.example")))}
        owners = {e.address: e.contact_id for e in s.scalars(select(ContactEmail))}
    assert len(links) == 10  # 7 senders, 3 recipients of the rep's mail
    assert all(contact == owners[address] for (address, _), contact in links.items())
    rematched = [e for e in read_changes(database, after=after, limit=1000).events
                 if e.type == "participant.rematched"]
    assert report.linked == len(rematched) == 10  # each participant once
    assert len({e.entity_id for e in rematched}) == 10


def test_opportunities_link_once_after_the_last_batch(database: Database,
                                                      tmp_path: Path) -> None:
    apply(database, Page("INBOX", [message(1, sender=Address("ann@acme.example"))]))
    import_companies(database, _write(tmp_path / "co.csv", "name,domains\nAcme,acme.example\n"),
                     policy=POLICY)
    deals = _write(tmp_path / "o.csv", "Deal Name,Account Name,Deal Stage,Deal Owner\n"
                   "First,Acme,Proposal,rita@ourco.example\n"
                   "Second,Acme,Closed Won,rita@ourco.example\n"
                   "Third,Acme,Closed Lost,sam@ourco.example\n")
    report = import_opportunities(database, deals, batch_size=1)
    assert (report.created, report.linked) == (3, 1)  # the one open deal, once
    with database.session(write=False) as s:
        assert {o.name: o.is_open for o in s.scalars(select(Opportunity))} == {
            "First": True, "Second": False, "Third": False}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
