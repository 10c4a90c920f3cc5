"""Skip records through the real engine and local provider: the pass's skip count is
the records' count, a second pass adds none, and mail older than the backfill window
is recorded as such (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from syncd.explain import item_answer
from syncd.store.database import Database
from syncd.store.schema import SkipRecord
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, make_message, message_id
from tests.syncd.sync.test_engine import CUSTOMER, NOW, REP, demo_mail, settings_for, write_maildir


def reasons(db: Database) -> list[tuple[str, str]]:
    with db.session(write=False) as s:
        return sorted((r.dedupe_key or "", r.reason) for r in s.scalars(select(SkipRecord)))


def test_a_pass_records_each_skip_once_and_counts_them(database: Database,
                                                       tmp_path: Path) -> None:
    old = make_message(5, sender=CUSTOMER, to=[REP], subject="Ancient",
                       when=BASE_TIME - timedelta(days=400))
    maildir = write_maildir(tmp_path / "Maildir", [*demo_mail(), old])
    settings = settings_for({"id": "rita", "maildirs": [str(maildir)], "backfill_days": 30})
    engine = SyncEngine(database, settings, clock=lambda: NOW, fetch_process="never")
    result = engine.sync_account(settings.accounts[0])
    assert result.ok, result.error_message
    expected = sorted([(message_id(3), "internal_only"), (message_id(4), "automated"),
                       (message_id(5), "outside_window")])
    assert reasons(database) == expected
    assert result.skipped == 3
    assert engine.sync_account(settings.accounts[0]).ok  # nothing new: nothing doubled
    assert reasons(database) == expected
    answer = item_answer(database, settings, message_id=message_id(5))
    (item,) = answer.items
    assert not item.logged
    assert item.verdict.startswith("not logged: outside_window: sent ")
    assert "before the backfill window (backfill_days)" in item.verdict
