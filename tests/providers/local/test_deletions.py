"""A Maildir file deleted, or a message expunged from an mbox, behind syncd's back, through
the real engine and store: it is reported gone (its name comes from the store's ids, the
cursor holds digests), counted once, and the interaction is kept or deleted by
``deletions``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction, Source
from syncd.sync.engine import SyncEngine
from tests.generate import make_message, message_id

CUSTOMER = ("Ada", "ada@acme.example")


def engine_for(database: Database, deletions: str, **paths: Any) -> tuple[SyncEngine, Any]:
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "deletions": deletions,
        "accounts": [{"id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
                      "backfill_days": 0, **paths}]})
    return SyncEngine(database, settings), settings.accounts[0]


def deleted_by_message(db: Database) -> dict[str, tuple[int, int, bool]]:
    """Message-ID -> (live copies, gone copies, interaction deleted?)."""
    out: dict[str, tuple[int, int, bool]] = {}
    with db.session(write=False) as s:
        for dedupe_key, gone, dead in s.execute(
                select(Interaction.dedupe_key, Source.deleted_at, Interaction.deleted)
                .join(Source, Source.interaction_id == Interaction.id)):
            key = next(message_id(n) for n in (1, 2) if message_id(n) in dedupe_key)
            live, old, _ = out.get(key, (0, 0, False))
            out[key] = (live + (gone is None), old + (gone is not None), bool(dead))
    return out


def deliver(maildir: Path, n: int) -> Path:
    path = maildir / "cur" / f"{1790000000 + n}.M{n}P1.test:2,S"
    path.write_bytes(make_message(n, sender=CUSTOMER))
    return path


@pytest.mark.parametrize("deletions", ["retain", "mirror"])
def test_a_file_deleted_from_a_maildir_is_reported_gone_once(
        tmp_path: Path, database: Database, deletions: str) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    deliver(maildir, 1)
    gone = deliver(maildir, 2)
    engine, account = engine_for(database, deletions, maildirs=[str(maildir)])
    try:
        assert engine.sync_account(account).items == 2
        gone.unlink()
        os.utime(maildir / "cur", ns=(1, 1))  # the listing runs whatever the mtime tick
        assert engine.sync_account(account).deleted == 1
        assert engine.sync_account(account).deleted == 0  # reported once
    finally:
        engine.close()
    assert_only_the_second_gone(database, deletions)


def assert_only_the_second_gone(database: Database, deletions: str) -> None:
    """Message 1 keeps its live copy; message 2's copy is gone (its interaction too
    under ``mirror``)."""
    state = deleted_by_message(database)
    assert state[message_id(1)] == (1, 0, False)
    assert state[message_id(2)] == (0, 1, deletions == "mirror")


@pytest.mark.parametrize("deletions", ["retain", "mirror"])
def test_a_message_expunged_from_an_mbox_is_reported_gone_once(
        tmp_path: Path, database: Database, deletions: str) -> None:
    def entry(n: int) -> bytes:
        raw = make_message(n, sender=CUSTOMER).replace(b"\r\n", b"\n")
        return b"From ada@acme.example Mon Nov  2 09:00:00 2026\n" + raw + b"\n"

    box = tmp_path / "export.mbox"
    box.write_bytes(entry(1) + entry(2))
    engine, account = engine_for(database, deletions, mboxes=[str(box)])
    try:
        assert engine.sync_account(account).items == 2
        box.write_bytes(entry(1))  # the mail client rewrote the file without message 2
        outcome = engine.sync_account(account)
        # the pass's one item is the Deletion: message 1 is not delivered again
        assert (outcome.deleted, outcome.items, outcome.created, outcome.updated) == (1, 1, 0, 0)
        assert engine.sync_account(account).deleted == 0  # reported once
    finally:
        engine.close()
    assert_only_the_second_gone(database, deletions)


@pytest.mark.parametrize("deletions", ["retain", "mirror"])
def test_an_mbox_synced_under_offset_ids_migrates_without_losing_or_doubling(
        tmp_path: Path, database: Database, deletions: str) -> None:
    from sqlalchemy import func, update

    from providers.local.mbox import split_messages
    from syncd.store.cursors import save_cursor

    box = tmp_path / "export.mbox"
    box.write_bytes(b"".join(
        b"From ada@acme.example Mon Nov  2 09:00:00 2026\n"
        + make_message(n, sender=CUSTOMER).replace(b"\r\n", b"\n") + b"\n" for n in (1, 2)))
    engine, account = engine_for(database, deletions, mboxes=[str(box)])
    try:
        assert engine.sync_account(account).items == 2
        # what an install synced before content ids left behind: offset ids, a v1 cursor
        with box.open("rb") as fh:
            offsets = [offset for offset, *_ in split_messages(fh, 0)]
        st = box.stat()
        with database.session() as s:
            for n, offset in zip((1, 2), offsets, strict=True):
                s.execute(update(Source).where(
                    Source.interaction_id.in_(select(Interaction.id).where(
                        Interaction.dedupe_key.contains(message_id(n)))))
                    .values(provider_id=f"{box}#{offset}"))
            save_cursor(s, account.id, str(box), {
                "v": 1, "offset": st.st_size, "tail": "0" * 32, "size": st.st_size,
                "mtime_ns": st.st_mtime_ns, "ino": st.st_ino})
        outcome = engine.sync_account(account)
        assert outcome.deleted == 2
        assert engine.sync_account(account).deleted == 0
    finally:
        engine.close()
    state = deleted_by_message(database)
    # each message: its new copy live, its offset copy gone, the interaction kept
    assert state == {message_id(1): (1, 1, False), message_id(2): (1, 1, False)}
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Interaction)) == 2
