"""A Maildir file deleted behind syncd's back, through the real engine and store: it is
reported gone (its name comes from the store's ids, the cursor holds digests), counted
once, and the interaction is kept or deleted by ``deletions``."""

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
    state = deleted_by_message(database)
    assert state[message_id(1)] == (1, 0, False)
    assert state[message_id(2)] == (0, 1, deletions == "mirror")
