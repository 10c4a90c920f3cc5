"""Corrections survive: an interaction a person corrected keeps the correction
through a re-sync of the same mailboxes (the real engine), a re-import of the
directory (late matching and opportunity re-linking) and blocklist purges
around it — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from providers.base import Address, Page
from syncd.config.model import Settings
from syncd.config.policies import global_policy
from syncd.directory.contacts import import_companies, import_contacts
from syncd.directory.corrections import correct
from syncd.directory.opportunities import import_opportunities, link_interactions
from syncd.store.audit import Actor
from syncd.store.cursors import clear_cursor
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.store.rollups import read_rollups
from syncd.store.schema import (
    Company,
    Contact,
    ContactEmail,
    Interaction,
    Opportunity,
    Override,
    Participant,
    Source,
)
from tests.syncd.sync.test_privacy import NOW, REP, SAM, engine_for, mail, settings_for

ANN = Address("ann@acme.example", "Ann Acme")
ZED = Address("zed@zeta.example", "Zed")
SPAM = Address("offers@junk.example", "Offers")
RITA = Actor(name="rita-crm", viewer=REP.email)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def import_directory(db: Database, tmp: Path, settings: Settings, *,
                     with_zed: bool = False) -> None:
    policy = global_policy(settings)
    import_companies(db, write(tmp / "companies.csv", "name,domains\nAcme,acme.example\n"
                                                     "Globex,globex.example\n"), policy=policy)
    contacts = "name,emails,company_domain\nAnn,ann@acme.example,acme.example\n" \
               "Carl,carl@globex.example,globex.example\n"
    if with_zed:
        contacts += "Zed,zed@zeta.example,\n"
    import_contacts(db, write(tmp / "contacts.csv", contacts), policy=policy)
    report = import_opportunities(db, write(tmp / "opportunities.csv",
                                            "company,name\nacme.example,Renewal\n"
                                            "globex.example,Expansion\n"))
    assert report.errors == []


def ids(db: Database) -> dict[str, int]:
    with db.session(write=False) as s:
        out = {str(name): cid for name, cid in s.execute(select(Contact.name, Contact.id))}
        out.update({name: cid for name, cid in s.execute(select(Company.name, Company.id))})
        out.update({name: oid for name, oid in s.execute(select(Opportunity.name,
                                                                Opportunity.id))})
        out["m1"] = s.scalars(select(Interaction.id)
                              .where(Interaction.dedupe_key == "m1@mail.example")).one()
        return out


def state(db: Database, interaction_id: int) -> dict[str, Any]:
    with db.session(write=False) as s:
        row = s.get(Interaction, interaction_id)
        assert row is not None
        return {
            "people": {p.address: (p.contact_id, p.company_id, p.match, p.match_reason)
                       for p in s.scalars(select(Participant)
                                          .where(Participant.interaction_id == interaction_id))},
            "opportunity": (row.opportunity_id, row.opportunity_reason),
            "overrides": s.scalar(select(func.count()).select_from(Override)),
        }


def test_a_correction_survives_resync_reimport_relinking_and_purges(
        database: Database, tmp_path: Path) -> None:
    settings = settings_for({"id": "rita"}, {"id": "sam", "owner": SAM.email})
    import_directory(database, tmp_path, settings)
    shared = mail(1, sender=ANN, to=(REP, SAM), cc=(ZED,), subject="Renewal")
    script = {"rita": [Page("INBOX", [shared, mail(2, sender=SPAM)], cursor={"n": 1})],
              "sam": [Page("INBOX", [mail(1, sender=ANN, to=(REP, SAM), cc=(ZED,),
                                          subject="Renewal", pid="sam/1")], cursor={"n": 1})]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    known = ids(database)
    m1 = known["m1"]
    before = state(database, m1)
    assert before["people"][ANN.email][:3] == (known["Ann"], known["Acme"], "contact")
    assert before["opportunity"][0] == known["Renewal"]

    # Rita corrects it: Ann wrote for Carl (Globex), it belongs to the Expansion deal,
    # and Zed on cc is not a customer
    policy = global_policy(settings)
    with database.session() as s:
        correct(s, policy, m1, actor=RITA, action="assign", address=ANN.email,
                contact_id=known["Carl"])
        correct(s, policy, m1, actor=RITA, action="assign", opportunity_id=known["Expansion"])
        correct(s, policy, m1, actor=RITA, action="not_customer", address=ZED.email)
    corrected = state(database, m1)
    by = f"set by {REP.email}"
    assert corrected["people"][ANN.email] == (known["Carl"], known["Globex"], "contact", by)
    assert corrected["people"][ZED.email] == (
        None, None, "not_customer", f"not a customer interaction ({by})")
    assert corrected["opportunity"] == (known["Expansion"], by)
    assert corrected["overrides"] == 3
    assert totals(database, known) == {"Ann": 0, "Carl": 1, "Acme": 0, "Globex": 1}

    # 1. re-sync both mailboxes from scratch (cursors forgotten: every message again)
    with database.session() as s:
        clear_cursor(s, "rita", "INBOX")
        clear_cursor(s, "sam", "INBOX")
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    assert state(database, m1) == corrected

    # 2. re-import the directory, now with Zed as a contact (late matching), and the
    #    opportunities (re-links every interaction of Acme and Globex)
    import_directory(database, tmp_path, settings, with_zed=True)
    with database.session() as s:
        assert s.scalar(select(ContactEmail.contact_id)
                        .where(ContactEmail.address == ZED.email)) is not None
        link_interactions(s, [m1])
    assert state(database, m1) == corrected

    # 3. blocklists: junk.example for everyone (another interaction), and Zed for
    #    Rita's mailbox only: her copy of the corrected mail goes, Sam's stays
    blocked = settings_for({"id": "rita", "blocklist": [ZED.email]},
                           {"id": "sam", "owner": SAM.email},
                           matching={"blocklist": ["junk.example"]})
    purging = engine_for(database, blocked, script)
    assert all(purging.sync_account(a).ok for a in blocked.accounts)
    with database.session(write=False) as s:
        subjects = list(s.scalars(select(Interaction.subject)))
        assert subjects == ["Renewal"]  # the spam is gone
        assert list(s.scalars(select(Source.account_id)
                              .where(Source.interaction_id == m1))) == ["sam"]
    assert state(database, m1) == corrected

    # the timeline shows it where the person put it, and who did
    entries = timeline(database, contact="carl@globex.example")
    assert [e.id for e in entries] == [m1]
    assert {c["set_by"] for c in entries[0].corrections} == {REP.email}
    assert [c["participant"] for c in entries[0].to_dict()["corrections"]] == [
        ANN.email, None, ZED.email]
    assert timeline(database, company="acme.example") == []
    assert timeline(database, contact=ZED.email) == []
    # and so do the rollups (Zed, a contact now, has no customer interaction)
    assert totals(database, known) == {"Ann": 0, "Carl": 1, "Acme": 0, "Globex": 1}
    assert totals(database, ids(database), ("Zed",)) == {"Zed": 0}


def totals(db: Database, known: dict[str, int],
           names: tuple[str, ...] = ("Ann", "Carl", "Acme", "Globex")) -> dict[str, int]:
    """Each party's interactions so far, from its rollup."""
    with db.session(write=False) as s:
        out: dict[str, int] = {}
        for name in names:
            kind = "company" if name in ("Acme", "Globex") else "contact"
            rollup = read_rollups(s, kind, [known[name]], now=NOW)[known[name]]
            out[name] = rollup.interactions_total
        return out
