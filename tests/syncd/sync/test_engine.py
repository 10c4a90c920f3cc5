"""The sync engine over the real local provider and over scripted providers.

Scripted providers (tests/scripted.py) are test data: they yield pages or
raise the typed errors a real provider raises, so every failure path runs
through the real engine, matching and store on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from providers.base import Address, Cursor, Page, Quarantined
from syncd.config.model import Settings
from syncd.errors import AuthError, CursorExpired, TransientError
from syncd.store.database import Database
from syncd.store.queries import account_statuses, timeline
from syncd.store.schema import Account, Interaction, Source, SyncCursor
from syncd.sync.engine import SyncEngine
from syncd.sync.outcome import PassResult
from tests.generate import BASE_TIME, EventSpec, make_message, to_ics
from tests.scripted import Fault, Script, ScriptedFactory, ScriptedProvider
from tests.syncd.store.builders import dump, message

NOW = BASE_TIME + timedelta(days=1)


def settings_for(*accounts: dict[str, Any]) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"provider": "local", "owner": "rita@ourco.example", "backfill_days": 0,
                      **a} for a in accounts],
    })


def write_maildir(root: Path, messages: list[bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages):
        (root / "cur" / f"{1700000000 + i}.M{i}P1.host:2,S").write_bytes(raw)
    return root


def count(db: Database, model: Any) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------- real local provider

CUSTOMER = ("Ann Acme", "ann@acme.example")
REP = ("Rita Rep", "rita@ourco.example")


def demo_mail() -> list[bytes]:
    return [
        make_message(1, sender=CUSTOMER, to=[REP], subject="Pricing"),
        make_message(2, sender=REP, to=[CUSTOMER], subject="Re: Pricing",
                     in_reply_to="msg-0000001@mail.example",
                     references=["msg-0000001@mail.example"]),
        make_message(3, sender=REP, to=[("Colleague", "carl@ourco.example")], subject="lunch"),
        make_message(4, sender=("Acme News", "news@acme.example"), to=[REP], subject="Digest",
                     headers={"List-Id": "<news.acme.example>"}),
    ]


def test_local_pass_logs_external_mail_and_meetings_once(
    database: Database, tmp_path: Path
) -> None:
    maildir = write_maildir(tmp_path / "Maildir", demo_mail())
    ics = tmp_path / "cal.ics"
    ics.write_text(to_ics(EventSpec(uid="kickoff@acme", title="Kickoff",
                                    start=BASE_TIME + timedelta(days=2),
                                    attendees=[("Ann Acme", "ann@acme.example", "ACCEPTED")])))
    settings = settings_for({"id": "rita", "maildirs": [str(maildir)], "calendars": [str(ics)]})
    engine = SyncEngine(database, settings, clock=lambda: NOW)
    progress: list[tuple[str, int, int | None]] = []
    result = engine.sync_account(settings.accounts[0],
                                 progress=lambda *a: progress.append(a))
    assert result.ok, result.error_message
    assert result.items == 5 and result.skipped == 2
    assert progress and progress[-1][:2] == ("rita", 5)
    entries = timeline(database, contact="ANN@acme.example")
    assert [(e.kind, e.subject, e.direction) for e in entries] == [
        ("meeting", "Kickoff", "outbound"),
        ("email", "Re: Pricing", "outbound"),
        ("email", "Pricing", "inbound"),
    ]
    assert entries[1].thread == entries[2].thread == "msg-0000001@mail.example"
    assert entries[0].sources == ("rita",)
    before = dump(database)
    again = engine.sync_account(settings.accounts[0])
    assert again.ok and again.created == 0 and again.updated == 0
    after = dump(database)
    assert after["interactions"] == before["interactions"]
    assert after["participants"] == before["participants"]
    assert after["sources"] == before["sources"]
    [status] = account_statuses(database, now=NOW)
    assert status.state == "idle" and status.items_synced == 5 + again.items
    assert status.to_dict()["last_error"] is None


def test_same_mail_in_two_mailboxes_is_one_interaction(database: Database,
                                                       tmp_path: Path) -> None:
    raw = make_message(1, sender=CUSTOMER, to=[REP, ("Sam Sales", "sam@ourco.example")])
    settings = settings_for(
        {"id": "rita", "maildirs": [str(write_maildir(tmp_path / "a", [raw]))]},
        {"id": "sam", "owner": "sam@ourco.example",
         "maildirs": [str(write_maildir(tmp_path / "b", [raw]))]},
    )
    engine = SyncEngine(database, settings, clock=lambda: NOW)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    assert count(database, Interaction) == 1
    assert count(database, Source) == 2
    [entry] = timeline(database, company="acme.example")
    assert entry.sources == ("rita", "sam")


# ---------------------------------------------------------------------- scripted providers

ScriptFunction = Callable[[Mapping[str, Cursor]], Iterable[Page]]


def scripted(scripts: Mapping[str, ScriptFunction]) -> tuple[ScriptedFactory,
                                                              list[ScriptedProvider]]:
    """A factory whose accounts' pages come from functions of the cursors, and the
    providers it makes (for tests that script a pass as a generator function)."""
    factory = ScriptedFactory({account: Script(source=source)
                               for account, source in scripts.items()})
    return factory, factory.made


def customer_mail(n: int) -> Any:
    return message(n, sender=Address(f"c{n}@acme.example"),
                   to=(Address("rita@ourco.example"),), pid=f"INBOX/{n}")


def test_cursor_moves_with_each_committed_page_and_not_with_a_failed_one(
    database: Database,
) -> None:
    naive = message(21, pid="INBOX/21")
    object.__setattr__(naive, "sent_at", naive.sent_at.replace(tzinfo=None))
    script = Script([
        Page("INBOX", [customer_mail(1), customer_mail(2)], cursor={"n": 2}),
        # the store refuses a naive datetime inside this page's transaction
        Page("INBOX", [customer_mail(3), naive], cursor={"n": 4}),
    ])

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    engine = SyncEngine(database, settings, provider_factory=factory)
    with capture_logs() as logs:
        result = engine.sync_account(settings.accounts[0])
    assert not result.ok and result.error_code == "internal"
    assert "internal error" in (result.error_message or "")
    assert result.pages == 1
    assert [e["event"] for e in logs if e.get("exc_info")] == ["sync pass crashed"]
    with database.session(write=False) as s:
        assert s.scalars(select(SyncCursor.cursor)).one() == {"n": 2}
        keys = set(s.scalars(select(Interaction.dedupe_key)))
        assert s.get(Account, "a1").state == "failed"  # type: ignore[union-attr]
    assert keys == {"msg-1@mail.example", "msg-2@mail.example"}  # nothing of page 2
    assert factory.made[0].closed


def test_transient_error_mid_pass_keeps_committed_pages_and_backs_off(
    database: Database,
) -> None:
    script = Script([Page("INBOX", [customer_mail(1)], cursor={"n": 1})])
    script.fail_next(TransientError("imap.example: connection reset", retry_after=30), after=1)

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    result = SyncEngine(database, settings, provider_factory=factory).sync_account(
        settings.accounts[0])
    assert (result.ok, result.error_code, result.retry_after) == (False, "transient", 30)
    [status] = account_statuses(database)
    assert status.state == "backing_off"
    assert status.to_dict()["last_error"]["message"] == "imap.example: connection reset"
    assert count(database, Interaction) == 1


def test_cursor_expired_resyncs_fully_without_duplicates(database: Database) -> None:
    script = Script([Page("INBOX", [customer_mail(1), customer_mail(2)], cursor={"n": 2}),
                     Page("INBOX", [customer_mail(3)], cursor={"n": 3})])

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    engine = SyncEngine(database, settings, provider_factory=factory)
    assert engine.sync_account(settings.accounts[0]).ok
    before = dump(database)
    script.fail_next(CursorExpired("INBOX"))  # the server refuses the stored cursor once
    result = engine.sync_account(settings.accounts[0])
    assert result.ok and result.created == 0 and result.pages == 2
    assert factory.made[1].calls == [{"INBOX": {"n": 3}}, {}]
    after = dump(database)
    for table in ("interactions", "participants", "sources", "threads"):
        assert after[table] == before[table], table
    with database.session(write=False) as s:
        assert s.scalars(select(SyncCursor.cursor)).one() == {"n": 3}


def test_auth_error_parks_the_account_until_its_config_changes(database: Database) -> None:
    script = Script(faults=[Fault(error=AuthError("imap.example refused the login for a1"))])

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    engine = SyncEngine(database, settings, provider_factory=factory)
    account = settings.accounts[0]
    assert engine.should_poll(account)
    result = engine.sync_account(account)
    assert (result.ok, result.error_code) == (False, "auth")
    assert account_statuses(database)[0].state == "needs_reauth"
    assert not engine.should_poll(account)
    assert not engine.should_poll(settings_for({"id": "a1"}).accounts[0])  # same config
    changed = settings_for({"id": "a1", "interval": 60}).accounts[0]
    assert engine.should_poll(changed)


def test_a_bug_in_one_account_leaves_the_others_syncing(database: Database) -> None:
    broken = Script([Page("INBOX", [customer_mail(1)], cursor={"n": 1})],
                    faults=[Fault(after=1, error=ZeroDivisionError("oops"))])
    fine = Script([Page("INBOX", [customer_mail(2)], cursor={"n": 1})])

    settings = settings_for({"id": "bad"}, {"id": "good"})
    factory = ScriptedFactory({"bad": broken, "good": fine})
    engine = SyncEngine(database, settings, provider_factory=factory)
    results: list[PassResult] = [engine.sync_account(a) for a in settings.accounts]
    assert [(r.account_id, r.ok, r.error_code) for r in results] == [
        ("bad", False, "internal"), ("good", True, None)]
    assert "oops" not in (results[0].error_message or "")  # describe(), not the raw text
    states = {s.account: s.state for s in account_statuses(database)}
    assert states == {"bad": "failed", "good": "idle"}
    assert engine.should_poll(settings.accounts[0])  # a bug does not park the account


def test_stop_ends_the_pass_between_pages(database: Database) -> None:
    stop = threading.Event()
    # the daemon asks to stop while the engine writes the first page
    script = Script([Page("INBOX", [customer_mail(n)], cursor={"n": n}, total_hint=3 - n)
                     for n in range(1, 4)], on_page=lambda page: stop.set())

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    engine = SyncEngine(database, settings, provider_factory=factory)
    seen: list[tuple[str, int, int | None]] = []

    def progress(account_id: str, done: int, total: int | None) -> None:
        seen.append((account_id, done, total))

    result = engine.sync_account(settings.accounts[0], progress=progress, stop=stop)
    assert result.ok and result.stopped and result.pages == 1
    assert seen == [("a1", 1, 2)]
    with database.session(write=False) as s:
        assert s.scalars(select(SyncCursor.cursor)).one() == {"n": 1}


@pytest.mark.parametrize("n_pages", [3])
def test_quarantined_items_are_counted(database: Database, n_pages: int) -> None:
    script = Script([Page("INBOX", [customer_mail(n)], cursor={"n": n},
                          quarantined=[Quarantined(f"INBOX/bad{n}", "message", "no Date")])
                     for n in range(n_pages)])

    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": script})
    result = SyncEngine(database, settings, provider_factory=factory).sync_account(
        settings.accounts[0])
    assert result.ok and result.quarantined == n_pages and result.items == n_pages


def test_unreachable_store_is_a_transient_failure_not_a_crash() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    settings = settings_for({"id": "a1"})
    factory = ScriptedFactory({"a1": Script()})
    try:
        with capture_logs() as logs:
            result = SyncEngine(db, settings, provider_factory=factory).sync_account(
                settings.accounts[0])
    finally:
        db.dispose()
    assert (result.ok, result.error_code) == (False, "store")
    assert "127.0.0.1:1" in (result.error_message or "")
    assert not any(e.get("exc_info") for e in logs)  # expected trouble: no traceback
    assert factory.made == []  # the provider is not even built
