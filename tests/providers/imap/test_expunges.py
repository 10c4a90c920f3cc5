"""Expunged messages reported as deletions, against the real Dovecot: with QRESYNC
(VANISHED on the next pass that sees the folder changed) and without it (a UID SEARCH
comparison at most every ``expunge_check_interval``); sequence sets property-tested;
a move between synced folders; the store keeps or mirrors by ``deletions``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from providers.base import Deletion, Message, ProviderContext
from providers.imap import ImapProvider
from providers.imap.expunges import compress, expand, gone_since_check
from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Interaction, Source
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.generate import make_message, message_id
from tests.providers.imap.helpers import NOW, account_for, run

uid_sets = st.sets(st.integers(min_value=1, max_value=5000), max_size=200)


@given(uid_sets)
def test_a_sequence_set_round_trips(uids: set[int]) -> None:
    text = compress(uids)
    assert expand(text) == uids
    assert "," not in text or len(text.split(",")) <= len(uids)


@given(uid_sets, st.integers(0, 5000), st.integers(0, 5000), uid_sets)
def test_gone_is_what_was_there_or_delivered_since_and_is_not_now(
        then: set[int], checked: int, delivered: int, now: set[int]) -> None:
    gone = gone_since_check(then, checked, delivered, now)
    assert gone == sorted(gone) and not set(gone) & now
    assert set(gone) == (then | set(range(checked + 1, delivered + 1))) - now


@pytest.mark.parametrize("bad", ["1:*", "x", "0", "3:-1", "1,,a"])
def test_a_sequence_set_that_is_not_plain_numbers_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        expand(bad)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def provider(user: MailUser, clock: Clock, **overrides: Any) -> ImapProvider:
    return ImapProvider(account_for(user, **overrides), ProviderContext(now=clock))


def expunge(user: MailUser, n: int, folder: str = "INBOX") -> None:
    admin: Any = user.client()
    try:
        admin.select_folder(folder)
        uids = admin.search(["HEADER", "Message-ID", message_id(n)])
        assert len(uids) == 1, uids
        admin.delete_messages(uids)
        admin.expunge()
    finally:
        admin.logout()


def uids_of(pages: list[Any]) -> dict[int, str]:
    """Message number -> provider id of the messages on ``pages``."""
    return {int(m.message_id.lstrip("<").split("@")[0].removeprefix("msg-")): m.provider_id
            for pg in pages for m in pg.items if isinstance(m, Message)}


def gone_ids(pages: list[Any]) -> list[str]:
    return [it.provider_id for p in pages for it in p.items if isinstance(it, Deletion)]


def test_qresync_reports_an_expunge_on_the_next_pass_and_the_idle_poll_stays_bare(
        mail_user: MailUser) -> None:
    for n in (1, 2, 3):
        mail_user.deliver(make_message(n))
    clock = Clock(NOW)
    p = provider(mail_user, clock)
    try:
        pages, cursors = run(p)
        ids = uids_of(pages)
        assert p._conn().has_capability("QRESYNC")  # Dovecot offers it: this is that path
        pages, cursors = run(p, cursors)  # nothing changed: no FETCH at all
        assert p.stats["fetches"] == 1 and not [it for pg in pages for it in pg.items]
        expunge(mail_user, 2)
        pages, cursors = run(p, cursors)
        assert gone_ids(pages) == [ids[2]]
        assert p.stats["fetches"] == 1  # VANISHED carries no message data
        pages, _ = run(p, cursors)  # reported once
        assert gone_ids(pages) == []
    finally:
        p.close()


def test_without_qresync_a_uid_search_finds_expunges_at_most_every_interval(
        mail_user: MailUser) -> None:
    for n in (1, 2, 3, 4):
        mail_user.deliver(make_message(n))
    clock = Clock(NOW)
    p = provider(mail_user, clock, qresync=False, expunge_check_interval=3600)
    try:
        pages, cursors = run(p)
        ids = uids_of(pages)
        assert "present" not in cursors["INBOX"]  # no check while the initial sync runs
        pages, cursors = run(p, cursors)  # the first check records what is there
        assert gone_ids(pages) == [] and cursors["INBOX"]["present"] == "1:4"
        expunge(mail_user, 2)
        clock.now += timedelta(minutes=30)
        fetches = p.stats["fetches"]
        pages, cursors = run(p, cursors)  # not due yet: no SEARCH of the folder, no FETCH
        assert [it for pg in pages for it in pg.items] == []
        assert p.stats["fetches"] == fetches
        mail_user.deliver(make_message(5))
        clock.now += timedelta(minutes=10)
        pages, cursors = run(p, cursors)  # new mail is fetched, the check still waits
        assert gone_ids(pages) == []
        expunge(mail_user, 5)  # delivered after the last check, gone before the next
        clock.now += timedelta(minutes=21)
        pages, cursors = run(p, cursors)
        uidvalidity = ids[2].split("/")[1]
        assert gone_ids(pages) == [ids[2], f"INBOX/{uidvalidity}/5"]
        assert cursors["INBOX"]["present"] == "1,3:4"
        clock.now += timedelta(hours=2)
        pages, _ = run(p, cursors)  # reported once
        assert gone_ids(pages) == []
    finally:
        p.close()


def engine_settings(user: MailUser, deletions: str) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "deletions": deletions,
        "accounts": [{
            "id": "imap-rita", "owner": "rita@ourco.example", "provider": "imap",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password,
            "folders": ["INBOX", "Archive"], "backfill_days": 36500,
            "connect_timeout": 5, "read_timeout": 10}]})


def copies(db: Database) -> list[tuple[str, bool, bool]]:
    """(folder, source deleted?, interaction deleted?) of every stored copy."""
    with db.session(write=False) as s:
        rows = s.execute(select(Source.provider_id, Source.deleted_at, Interaction.deleted)
                         .join(Interaction, Interaction.id == Source.interaction_id)
                         .order_by(Source.provider_id))
        return [(pid.split("/")[0], gone is not None, bool(dead)) for pid, gone, dead in rows]


def move(user: MailUser, n: int, to: str) -> None:
    admin: Any = user.client()
    try:
        admin.select_folder("INBOX")
        uids = admin.search(["HEADER", "Message-ID", message_id(n)])
        admin.move(uids, to)
    finally:
        admin.logout()


@pytest.mark.parametrize("deletions", ["retain", "mirror"])
def test_a_move_between_synced_folders_is_not_a_deletion_and_an_expunge_follows_the_policy(
        database: Database, mail_user: MailUser, deletions: str) -> None:
    customer = ("Ada", "ada@acme.example")
    mail_user.ensure_folder("Archive")
    mail_user.deliver(make_message(1, sender=customer))
    mail_user.deliver(make_message(2, sender=customer))
    settings = engine_settings(mail_user, deletions)
    engine = SyncEngine(database, settings)
    account = settings.accounts[0]
    try:
        assert engine.sync_account(account).items == 2
        assert engine.sync_account(account).ok  # the folder's baseline without QRESYNC
        move(mail_user, 1, "Archive")
        result = engine.sync_account(account)
        assert result.deleted == 1
        assert copies(database) == [("Archive", False, False), ("INBOX", True, False),
                                    ("INBOX", False, False)]
        expunge(mail_user, 2)
        assert engine.sync_account(account).deleted == 1
        dead = deletions == "mirror"
        assert copies(database) == [("Archive", False, False), ("INBOX", True, False),
                                    ("INBOX", True, dead)]
    finally:
        engine.close()
