"""Test data for store tests: normalized records, a matching policy, and a way
to apply a page exactly as the engine does (real matching, real store)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from matching import build_policy, resolve
from providers.base import Address, Attendee, Automation, Event, Message, Page
from syncd.store.database import Database
from syncd.store.directory_lookup import snapshot_for
from syncd.store.page_writer import ApplyResult, write_page
from syncd.store.schema import (
    Account,
    Interaction,
    Participant,
    QuarantineEntry,
    Source,
    SyncCursor,
    Thread,
    UnmatchedAddress,
)
from syncd.sync.triage import triage
from tests.generate import BASE_TIME

POLICY = build_policy(internal_domains=["ourco.example"])
REP = Address("rita@ourco.example", "Rita Rep")


def message(n: int, *, sender: Address | None = None, to: tuple[Address, ...] = (REP,),
            pid: str | None = None, msgid: str | None = None, subject: str | None = "Hello",
            when: datetime | None = None, **kw: Any) -> Message:
    return Message(
        provider_id=pid or f"INBOX/1/{n}",
        message_id=msgid or f"msg-{n}@mail.example",
        sent_at=when or BASE_TIME + timedelta(minutes=n),
        sender=sender or Address(f"person{n}@acme.example", f"Person {n}"),
        to=to,
        subject=subject,
        folder="INBOX",
        **kw,
    )


def meeting(uid: str, *, sequence: int = 0, title: str = "Sync", pid: str | None = None,
            start: datetime | None = None, attendees: tuple[str, ...] = ("ann@acme.example",),
            status: str = "confirmed", method: str | None = None,
            partstat: str = "needs_action", updated: datetime | None = None) -> Event:
    start = start or BASE_TIME + timedelta(days=3)
    return Event(
        provider_id=pid or f"cal/{uid}",
        uid=uid,
        recurrence_id=None,
        start=start,
        end=start + timedelta(hours=1),
        title=title,
        organizer=REP,
        attendees=tuple(Attendee(Address(a), partstat) for a in attendees),  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        sequence=sequence,
        method=method,
        updated=updated,
    )


def ensure_account(db: Database, account_id: str = "acc1") -> None:
    with db.session() as s:
        if s.get(Account, account_id) is None:
            s.add(Account(id=account_id, provider="local", owner=REP.email))


def apply(db: Database, page: Page, account_id: str = "acc1", policy: Any = POLICY
          ) -> ApplyResult:
    """What the engine does for one page, minus the provider: triage (level
    ``full``, no private tags), matching, then the page writer."""
    ensure_account(db, account_id)
    with db.session() as s:
        t = triage(page, policy=policy)
        decisions = resolve(t.addresses, snapshot_for(s, t.addresses, policy), policy)
        return write_page(s, account_id, t.decide(decisions).write)


TABLES = (Interaction, Participant, Source, Thread, UnmatchedAddress, QuarantineEntry, SyncCursor)


def dump(db: Database, *, tables: tuple[Any, ...] = TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the history tables, every column: to prove "nothing changed"."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.session(write=False) as s:
        for model in tables:
            cols = list(model.__table__.columns)
            rows = s.execute(select(*cols).order_by(*model.__table__.primary_key.columns))
            out[model.__tablename__] = [tuple(r) for r in rows]
    return out


def automated(n: int) -> Message:
    return message(n, automation=Automation(list_id="<news.acme.example>"))
