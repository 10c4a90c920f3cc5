"""Role addresses and ``matching.skip_free_mail_only`` through the real engine, both
databases: the gate, auto-creation, company matching and the skip counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from matching import resolve
from providers.base import Address, Page
from syncd.config.policies import policy_for
from syncd.directory.contacts import import_companies, import_contacts
from syncd.store.database import Database
from syncd.store.schema import Contact, ContactEmail, Interaction, Participant
from syncd.sync.triage import triage
from tests.syncd.sync.test_privacy import REP, engine_for, mail, settings_for

INFO = Address("info@acme.example", "Acme")
SALES = Address("sales-emea@acme.example", "Acme Sales EMEA")
BOB = Address("bob@acme.example", "Bob Acme")
FREE = Address("someone@gmail.com", "Someone")
AUTO = {"auto_create": {"contacts": "sent_and_received", "companies": True}}


def subjects(db: Database) -> list[str | None]:
    with db.session(write=False) as s:
        return list(s.scalars(select(Interaction.subject).order_by(Interaction.occurred_at)))


def contact_addresses(db: Database) -> set[str]:
    with db.session(write=False) as s:
        return set(s.scalars(select(ContactEmail.address).join(Contact)))


def test_role_mail_alone_is_skipped_and_creates_nothing(database: Database) -> None:
    settings = settings_for({"id": "rita"}, matching={**AUTO, "role_addresses": ["sales-*"]})
    page = Page("INBOX", [mail(1, sender=INFO), mail(2, sender=REP, to=(SALES,)),
                          mail(3, sender=REP, to=(INFO, BOB))])
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    assert result.skipped == 2
    assert subjects(database) == ["Subject 3"]  # Bob, a person, makes it a customer mail
    assert contact_addresses(database) == {BOB.email}  # never info@, even when logged


def test_role_mail_still_links_the_company_by_domain(database: Database,
                                                     tmp_path: Path) -> None:
    (tmp_path / "companies.csv").write_text("name,domains\nAcme,acme.example\n")
    import_companies(database, tmp_path / "companies.csv")
    settings = settings_for({"id": "rita"})
    page = Page("INBOX", [mail(1, sender=INFO, cc=(Address("zed@zeta.example"),))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    with database.session(write=False) as s:
        company = s.scalar(select(Participant.company_id)
                           .where(Participant.address == INFO.email))
    assert company is not None


def test_an_imported_role_contact_makes_it_a_customer_interaction(
        database: Database, tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("name,emails\nAcme desk,info@acme.example\n")
    import_contacts(database, tmp_path / "contacts.csv")
    settings = settings_for({"id": "rita"})
    page = Page("INBOX", [mail(1, sender=INFO)])
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok and result.skipped == 0
    assert subjects(database) == ["Subject 1"]


@pytest.mark.parametrize(("flag", "logged"), [(False, ["Subject 1", "Subject 2"]),
                                              (True, ["Subject 2"])])
def test_skip_free_mail_only(database: Database, flag: bool, logged: list[str]) -> None:
    settings = settings_for({"id": "rita"}, matching={"skip_free_mail_only": flag})
    page = Page("INBOX", [mail(1, sender=FREE), mail(2, sender=FREE, cc=(BOB,))])
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok
    assert subjects(database) == logged
    assert result.skipped == (1 if flag else 0)


def test_free_mail_contacts_are_still_logged(database: Database, tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("name,emails\nSomeone,someone@gmail.com\n")
    import_contacts(database, tmp_path / "contacts.csv")
    settings = settings_for({"id": "rita"}, matching={"skip_free_mail_only": True})
    assert engine_for(database, settings, {"rita": [Page("INBOX", [mail(1, sender=FREE)])]}
                      ).sync_account(settings.accounts[0]).ok
    assert subjects(database) == ["Subject 1"]


@pytest.mark.parametrize(("sender", "matching", "code"), [
    (INFO, {}, "role_address"),
    (FREE, {"skip_free_mail_only": True}, "free_mail_only"),
])
def test_each_skip_is_counted_with_its_reason(sender: Address, matching: dict[str, Any],
                                              code: str) -> None:
    settings = settings_for({"id": "rita"}, matching=matching)
    policy = policy_for(settings, settings.accounts[0])
    triaged = triage(Page("INBOX", [mail(1, sender=sender)]), policy=policy)
    from matching.types import DirectorySnapshot
    plan = triaged.decide(resolve(triaged.addresses, DirectorySnapshot(), policy))
    [skip] = plan.skips.values()
    assert skip.reason == code and plan.write.skipped == 1
