"""The IMAP provider's coverage capability against Dovecot: what is expected, what is
present, which stored ids are compared, and fetch by UID without moving a cursor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from providers.base import Message, Reconcilable
from providers.imap.coverage import key_parser
from providers.imap.cursor import FolderCursor
from tests.fixtures.dovecot import MailUser
from tests.generate import make_message
from tests.providers.imap.helpers import NOW, provider_for, run


def test_inventory_lists_uids_in_the_window_and_everything_present(mail_user: MailUser) -> None:
    old = make_message(1, when=NOW - timedelta(days=400))
    for raw in (old, make_message(2, when=NOW - timedelta(days=2)),
                make_message(3, when=NOW - timedelta(days=1))):
        mail_user.deliver(raw)
    with provider_for(mail_user, backfill_days=30) as provider:
        assert isinstance(provider, Reconcilable)
        _, cursors = run(provider)
        inventory = provider.inventory("INBOX", cursors["INBOX"])
        assert inventory is not None
        assert inventory.expected == {"2", "3"}  # UID 1 is older than the window
        assert inventory.present == {"1", "2", "3"}

        # a backfill still owing UID 2: only what was delivered is expected
        cursor = FolderCursor.from_dict(cursors["INBOX"])
        assert cursor is not None
        owed = replace(cursor, backfill_below=3).to_dict()
        assert provider.inventory("INBOX", owed).expected == {"3"}  # type: ignore[union-attr]
        # no window (backfill_days: 0): only expunges are checked
        assert provider.inventory(  # type: ignore[union-attr]
            "INBOX", replace(cursor, since=None).to_dict()).expected == frozenset()
        # another UIDVALIDITY, or no cursor: nothing to compare
        assert provider.inventory("INBOX", replace(cursor, uidvalidity=1).to_dict()) is None
        assert provider.inventory("INBOX", None) is None

        pages = list(provider.fetch_by_id("INBOX", ["3", "2", "99"]))
        assert all(p.cursor is None for p in pages)
        got = sorted(i.provider_id for p in pages for i in p.items if isinstance(i, Message))
        assert got == [f"INBOX/{cursor.uidvalidity}/2", f"INBOX/{cursor.uidvalidity}/3"]


def test_stored_ids_compared_only_in_the_folder_uidvalidity_and_range() -> None:
    key_of = key_parser("Sent/2026", 7, 10)
    assert key_of("Sent/2026/7/3") == "3"
    assert key_of("Sent/2026/7/3#invite#demo@acme#") is None  # derived from the message
    assert key_of("Sent/2026/8/3") is None  # an older UIDVALIDITY
    assert key_of("INBOX/7/3") is None
    assert key_of("Sent/2026/7/11") is None  # above last_uid: new mail, not compared yet
