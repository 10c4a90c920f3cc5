"""A small world for reminder scenarios: the real sync engine over scripted
pages (tests/scripted.py), a real store (SQLite or PostgreSQL), real
matching, and a clock that time-machine moves. Nothing of syncd's is
replaced."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import time_machine
from sqlalchemy import select

from providers.base import Address, Attendee, Deletion, Event, Message, Page
from syncd.config.model import Settings
from syncd.reminders.derive import DeriveReport
from syncd.reminders.queries import ReminderView, list_reminders
from syncd.reminders.service import sweep
from syncd.store.database import Database
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail, Reminder
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME
from tests.scripted import Script, ScriptedFactory

RITA = Address("rita@ourco.example", "Rita Rep")
SAM = Address("sam@ourco.example", "Sam Seller")
ANN = Address("ann@acme.example", "Ann Acme")
BOB = Address("bob@globex.example", "Bob Globex")

# BASE_TIME is Monday 2026-11-02 09:00 UTC
MONDAY = BASE_TIME


def settings(reminders: Mapping[str, Any] | None = None, **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [
            {"id": "rita-mail", "provider": "local", "owner": RITA.email, "backfill_days": 0},
            {"id": "sam-mail", "provider": "local", "owner": SAM.email, "backfill_days": 0},
        ],
    }
    if reminders is not None:
        data["reminders"] = dict(reminders)
    data.update(extra)
    return Settings.model_validate(data)


class World:
    """Deliver mail and meetings through the engine at chosen times."""

    def __init__(self, database: Database, conf: Settings | None = None) -> None:
        self.db = database
        self.settings = conf or settings()
        #: account id -> the pages its (scripted) server holds; a pass yields those
        #: after the account's stored cursor
        self.pending: dict[str, list[Page]] = {}
        self._factory = ScriptedFactory(
            lambda account_id: Script(self.pending.setdefault(account_id, [])))
        self._ids = count(1)  # message numbers: m1, m2, ... in delivery order
        self._cursors = count(1)
        self._refs: dict[str, tuple[str, ...]] = {}
        #: message id -> provider id (to deliver a Deletion)
        self.pids: dict[str, str] = {}
        self._traveller: Any = None
        self.now = MONDAY
        self._engine()

    def _engine(self) -> None:
        self.engine = SyncEngine(self.db, self.settings, provider_factory=self._factory)

    def reconfigure(self, conf: Settings) -> None:
        self.settings = conf
        self._engine()

    # ------------------------------------------------------------------ clock

    def at(self, when: datetime) -> World:
        self.now = when
        return self

    def _travel(self) -> Any:
        return time_machine.travel(self.now, tick=False)

    # ------------------------------------------------------------------ input

    def mail(self, sender: Address, to: tuple[Address, ...], subject: str = "Pricing", *,
             when: datetime | None = None, account: str = "rita-mail",
             reply_to: str | None = None, cc: tuple[Address, ...] = (),
             thread_hint: str | None = None, references: tuple[str, ...] | None = None) -> str:
        n = next(self._ids)
        msgid = f"m{n}@test.example"
        if references is not None:
            refs = references
        else:  # like mail clients: the parent's References plus the parent
            refs = (*self._refs.get(reply_to, ()), reply_to) if reply_to else ()
        self._refs[msgid] = refs
        self.pids[msgid] = f"{account}/{n}"
        item = Message(provider_id=f"{account}/{n}", message_id=msgid,
                       sent_at=when or self.now, sender=sender, to=to, cc=cc,
                       subject=subject, folder="INBOX", in_reply_to=reply_to,
                       references=refs, thread_hint=thread_hint)
        self.deliver(item, account=account)
        return msgid

    def meeting(self, uid: str, start: datetime, *, minutes: int = 60,
                attendees: tuple[Address, ...] = (ANN,), organizer: Address = RITA,
                status: str = "confirmed", sequence: int = 0, title: str = "Review",
                account: str = "rita-mail") -> None:
        event = Event(provider_id=f"cal/{uid}", uid=uid, recurrence_id=None, start=start,
                      end=start + timedelta(minutes=minutes), title=title, organizer=organizer,
                      attendees=tuple(Attendee(a, "accepted") for a in (organizer, *attendees)),
                      status=status,  # type: ignore[arg-type]
                      sequence=sequence)
        self.deliver(event, account=account)

    def deliver(self, *items: Message | Event | Deletion, account: str = "rita-mail") -> None:
        self.pending.setdefault(account, []).append(
            Page(resource="INBOX", items=list(items), cursor={"n": next(self._cursors)}))
        with self._travel():
            result = self.engine.sync_account(self.settings.account(account))
        assert result.ok, result.error_message

    def sweep(self) -> DeriveReport:
        with self._travel():
            return sweep(self.db, self.settings)

    # ------------------------------------------------------------------ directory

    def company(self, name: str, domain: str, *, tier: str | None = None,
                tags: tuple[str, ...] = (), owner: str | None = None) -> int:
        with self.db.session() as s:
            company = Company(name=name, tier=tier, tags=list(tags), owner=owner)
            company.domains.append(CompanyDomain(domain=domain))
            s.add(company)
            s.flush()
            return company.id

    def contact(self, who: Address, company_id: int | None = None,
                tags: tuple[str, ...] = ()) -> int:
        with self.db.session() as s:
            contact = Contact(name=who.name, company_id=company_id, tags=list(tags))
            contact.emails.append(ContactEmail(address=who.email, original=who.email))
            s.add(contact)
            s.flush()
            return contact.id

    # ------------------------------------------------------------------ output

    def reminders(self, *status: str) -> list[ReminderView]:
        return list_reminders(self.db, status=status)

    def open(self, kind: str | None = None) -> list[ReminderView]:
        return [r for r in self.reminders("open") if kind is None or r.kind == kind]

    def one(self, kind: str, status: str = "open") -> ReminderView:
        found = [r for r in self.reminders(status) if r.kind == kind]
        assert len(found) == 1, [(r.kind, r.status, r.reason) for r in self.reminders()]
        return found[0]

    def rows(self) -> list[tuple[Any, ...]]:
        """Every reminder column, to prove that re-running changes nothing."""
        with self.db.session(write=False) as s:
            cols = list(Reminder.__table__.columns)
            return [tuple(r) for r in s.execute(select(*cols).order_by(Reminder.id))]
