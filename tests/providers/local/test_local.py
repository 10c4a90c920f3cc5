"""The local provider: the shared contract on a Maildir, an mbox and .ics files (no server:
no credentials, server errors or refused cursors; a missing path is the outage), plus
flags, Takeout labels, quarantine."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import create_provider
from providers.base import Cursor, Deletion, Provider, ProviderContext
from providers.local import LocalProvider
from providers.local.settings import LocalAccount
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics
from tests.providers.contract import (
    NOT_MAIL,
    BackendHooks,
    CalendarContract,
    Limits,
    MailContract,
    NotApplicable,
    events,
    items,
    messages,
    sync_all,
)

OLD = time.time() - 3600  # an mtime old enough to count as settled


def account(tmp_path: Path, **keys: Any) -> LocalAccount:
    return LocalAccount.model_validate(
        {"id": "local-test", "provider": "local", "owner": "rita@ourco.example",
         "backfill_days": 0, **keys},
        context={"base_dir": tmp_path})


@dataclass
class LocalBackend:
    """Maildir + folder of .ics files under tmp_path; one provider per sync."""

    root: Path
    page_size: int = 10
    privacy: str = "subject"
    counter: int = 0

    def __post_init__(self) -> None:
        for sub in ("cur", "new", "tmp"):
            (self.root / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "calendars").mkdir(exist_ok=True)

    def provider(self) -> Provider:
        return self.provider_at(self.privacy)

    def provider_at(self, privacy: str, **paths: Any) -> Provider:
        keys = {"maildirs": ["Maildir"], "calendars": ["calendars"], **paths}
        acct = account(self.root, page_size=self.page_size, **keys)
        return create_provider(acct, ProviderContext(privacy=privacy, now=lambda: BASE_TIME))

    def add_message(self, raw: bytes, *, folder: str = "", name: str | None = None) -> Path:
        self.counter += 1
        base = self.root / "Maildir" / folder
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        name = name or f"{1790000000 + self.counter}.M{self.counter}P1.test"
        tmp = base / "tmp" / name
        tmp.write_bytes(raw)
        target = base / "new" / name
        os.rename(tmp, target)  # Maildir delivery: write to tmp/, rename into new/
        return target

    def add_event(self, spec: EventSpec) -> None:
        path = self.root / "calendars" / f"{spec.uid}.ics"
        path.write_text(to_ics(spec), encoding="utf-8")


#: files on disk: what a local account cannot meet, whatever its format
NO_SERVER: Limits = {
    "auth_error": NotApplicable("files on disk: no credentials to refuse"),
    "server_error": NotApplicable("files on disk: no server to answer with an error (a "
                                  "missing path is the 'unreachable' case)"),
    "cursor_expired": NotApplicable(
        "a local cursor is checked against the files themselves (mtimes, seen keys, mbox "
        "offset and prefix fingerprint); a stale one means 'read again', there is no "
        "server to refuse it"),
}


class LocalMailBackend(LocalBackend, BackendHooks):
    """The mail contract on a Maildir. Its ``stored_ids`` stands for a store that
    holds every message added (the contract syncs them all before removing one)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.removed: set[str] = set()

    def limits(self) -> Limits:
        return NO_SERVER

    def provider_at(self, privacy: str, **paths: Any) -> Provider:
        keys = {"maildirs": ["Maildir"], "calendars": ["calendars"], **paths}
        acct = account(self.root, page_size=self.page_size, **keys)
        return create_provider(acct, ProviderContext(privacy=privacy, now=lambda: BASE_TIME,
                                                     stored_ids=self.stored_ids))

    def stored_ids(self, resource: str) -> set[str]:
        folder = Path(resource)
        return {f"{resource}#{p.name.split(':', 1)[0]}" for sub in ("cur", "new")
                for p in (folder / sub).glob("*")} | self.removed

    def remove_message(self, handle: object) -> None:
        assert isinstance(handle, Path)
        self.removed.add(f"{handle.parent.parent}#{handle.name.split(':', 1)[0]}")
        handle.unlink()

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        # a configured folder that is not there (an unmounted share) is the local outage
        provider = self.provider_at(self.privacy, maildirs=["unmounted/Maildir"])
        try:
            yield provider
        finally:
            provider.close()

    def add_malformed_message(self) -> None:
        self.add_message(NOT_MAIL)


class LocalCalendarBackend(LocalBackend, BackendHooks):
    """The calendar contract on a folder of .ics files."""

    def limits(self) -> Limits:
        return NO_SERVER

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        provider = self.provider_at(self.privacy, calendars=["unmounted/calendars"])
        try:
            yield provider
        finally:
            provider.close()

    def remove_event(self, uid: str) -> None:
        (self.root / "calendars" / f"{uid}.ics").unlink()

    def add_malformed_event(self) -> None:
        (self.root / "calendars" / "malformed.ics").write_text(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:malformed@test\r\n"
            "SUMMARY:no start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")


@dataclass
class MboxBackend(BackendHooks):
    """One mbox file (mboxrd, as Google Takeout writes it) under tmp_path. Its
    ``stored_ids`` stands for a store that holds every message added: the ids of
    the file's messages (by the provider's own key scheme) plus those removed."""

    root: Path
    page_size: int = 10

    def __post_init__(self) -> None:
        self.path = self.root / "archive.mbox"
        self.path.write_bytes(b"")
        self.removed: set[str] = set()

    def limits(self) -> Limits:
        return NO_SERVER

    def provider(self) -> Provider:
        return self.provider_at("subject")

    def provider_at(self, privacy: str, path: Path | None = None) -> Provider:
        acct = account(self.root, mboxes=[str(path or self.path)], page_size=self.page_size)
        return create_provider(acct, ProviderContext(privacy=privacy, now=lambda: BASE_TIME,
                                                     stored_ids=self.stored_ids))

    def ids_in_file(self) -> set[str]:
        from providers.local.common import SeenSet
        from providers.local.mbox import keyed_messages

        with self.path.open("rb") as fh:
            return {f"{self.path}#{key}" for *_, key in keyed_messages(fh, 0, SeenSet())}

    def stored_ids(self, resource: str) -> set[str]:
        return self.ids_in_file() | self.removed if resource == str(self.path) else set()

    def add_message(self, raw: bytes) -> bytes:
        """Append ``raw`` (From-line escaped); the bytes written, to remove it by."""
        text = re.sub(rb"(?m)^(>*From )", rb">\1", raw.replace(b"\r\n", b"\n"))
        entry = b"From contract@test Mon Nov  2 09:00:00 2026\n" + text.rstrip(b"\n") + b"\n\n"
        with self.path.open("ab") as fh:
            fh.write(entry)
        return entry

    def remove_message(self, handle: object) -> None:
        """Expunge as a mail client does: write the file anew without it, move it over."""
        assert isinstance(handle, bytes)
        data = self.path.read_bytes()
        assert handle in data
        before = self.ids_in_file()
        fresh = self.path.with_suffix(".new")
        fresh.write_bytes(data.replace(handle, b"", 1))
        os.replace(fresh, self.path)
        self.removed |= before - self.ids_in_file()

    def add_event(self, spec: EventSpec) -> None:  # pragma: no cover - mail only
        raise NotImplementedError("an mbox holds mail")

    @contextmanager
    def unreachable_server(self) -> Iterator[Provider]:
        provider = self.provider_at("subject", self.root / "unmounted" / "archive.mbox")
        try:
            yield provider
        finally:
            provider.close()

    def add_malformed_message(self) -> None:
        self.add_message(NOT_MAIL)


@pytest.fixture
def local_backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path)


class TestLocalMailContract(MailContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[LocalMailBackend]:
        yield LocalMailBackend(tmp_path)


class TestLocalMboxContract(MailContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[MboxBackend]:
        yield MboxBackend(tmp_path)


class TestLocalCalendarContract(CalendarContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[LocalCalendarBackend]:
        yield LocalCalendarBackend(tmp_path)


# --------------------------------------------------------------------------- settings


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    acct = account(tmp_path, maildirs=["mail", "/abs/box"], mboxes=["~/t.mbox"])
    assert acct.maildirs == [tmp_path / "mail", Path("/abs/box")]
    assert acct.mboxes == [Path("~/t.mbox").expanduser()]
    assert (acct.past_days, acct.future_days) == (90, 180)
    assert isinstance(create_provider(acct, ProviderContext()), LocalProvider)


def test_missing_path_is_a_transient_error(tmp_path: Path) -> None:
    from syncd.errors import TransientError

    provider = LocalProvider(account(tmp_path, maildirs=["nope"]), ProviderContext())
    with pytest.raises(TransientError, match="does not exist"):
        list(provider.sync({}))


# --------------------------------------------------------------------------- Maildir


def age(path: Path) -> None:
    """Make a directory's mtime old (settled), as on a mailbox not touched for a while."""
    os.utime(path, (OLD, OLD))


def test_move_to_cur_with_flags_is_not_re_emitted(local_backend: LocalBackend) -> None:
    delivered = local_backend.add_message(make_message(1))
    _, cursors = sync_all(local_backend)
    os.rename(delivered, local_backend.root / "Maildir" / "cur" / f"{delivered.name}:2,S")
    pages, cursors = sync_all(local_backend, cursors)
    assert messages(pages) == []
    flagged = local_backend.root / "Maildir" / "cur" / f"{delivered.name}:2,FRS"
    os.rename(local_backend.root / "Maildir" / "cur" / f"{delivered.name}:2,S", flagged)
    assert messages(sync_all(local_backend, cursors)[0]) == []


def test_flags_become_tags_and_subfolders_are_folders(local_backend: LocalBackend) -> None:
    path = local_backend.add_message(make_message(1), folder=".Sent")
    os.rename(path, path.parent.parent / "cur" / f"{path.name}:2,RS")
    local_backend.add_message(make_message(2), folder=".Trash")
    local_backend.add_message(make_message(3), folder=".Projects.Acme")
    got = {m.message_id: m for m in messages(sync_all(local_backend)[0])}
    assert set(got) == {message_id(1), message_id(3)}  # Trash is skipped by default
    assert got[message_id(1)].folder == "Sent"
    assert got[message_id(1)].tags == ("\\Answered", "\\Seen")
    assert got[message_id(3)].folder == "Projects/Acme"


def test_unchanged_maildir_is_not_even_listed(local_backend: LocalBackend) -> None:
    local_backend.add_message(make_message(1))
    for sub in ("cur", "new"):
        age(local_backend.root / "Maildir" / sub)
    _, cursors = sync_all(local_backend)
    resource = str(local_backend.root / "Maildir")
    assert cursors[resource]["new"] is not None  # settled mtimes are trusted
    # a file dropped in without touching the directory mtime is invisible: proof of no listing
    (local_backend.root / "Maildir" / "new" / "sneaky").write_bytes(make_message(2))
    age(local_backend.root / "Maildir" / "new")
    assert sync_all(local_backend, cursors)[0] == []
    # a real delivery changes the directory mtime, and both new files are found
    local_backend.add_message(make_message(3))
    got = sorted(m.message_id for m in messages(sync_all(local_backend, cursors)[0]))
    assert got == [message_id(2), message_id(3)]


def test_interrupted_pass_resumes_without_skipping(local_backend: LocalBackend) -> None:
    for n in range(1, 26):
        local_backend.add_message(make_message(n))
    for sub in ("cur", "new"):
        age(local_backend.root / "Maildir" / sub)
    provider = local_backend.provider()
    first = next(iter(provider.sync({})))  # engine saves page 1, then the process dies
    assert len(first.items) == 10 and first.cursor is not None
    pages, _ = sync_all(local_backend, {first.resource: first.cursor})
    got = {m.message_id for m in messages(pages)}
    assert got == {message_id(n) for n in range(1, 26)} - {m.message_id for m in messages([first])}


def test_malformed_message_is_quarantined_and_the_pass_goes_on(
        local_backend: LocalBackend) -> None:
    local_backend.add_message(make_message(1))
    bad = local_backend.add_message(b"\x00\x01\x02 this is not mail\n\nat all")
    local_backend.add_message(make_message(2))
    pages, cursors = sync_all(local_backend)
    assert sorted(m.message_id for m in messages(pages)) == [message_id(1), message_id(2)]
    (q,) = [q for p in pages for q in p.quarantined]
    assert q.kind == "message" and q.provider_id.endswith(bad.name)
    assert "not an email message" in q.reason
    again, _ = sync_all(local_backend, cursors)
    assert [q for p in again for q in p.quarantined] == []  # reported once


def test_encoded_and_8bit_headers(local_backend: LocalBackend) -> None:
    local_backend.add_message(
        b"From: =?iso-8859-1?q?J=FCrgen_M=FCller?= <j@acme.example>\r\n"
        b"To: \"Ren\xc3\xa9e\" <renee@ourco.example>\r\n"
        b"Subject: =?utf-8?b?w5xiZXIgZGllIExpZWZlcnVuZw==?=\r\n"
        b"Date: Tue, 03 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <enc-1@acme.example>\r\n\r\nHallo\r\n")
    (msg,) = messages(sync_all(local_backend)[0])
    assert msg.sender is not None and msg.sender.name == "Jürgen Müller"
    assert msg.to[0].name == "Renée" and msg.subject == "Über die Lieferung"
    assert msg.sent_at == datetime(2026, 11, 3, 9, tzinfo=UTC)


def test_privacy_snippet_reaches_local_messages(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, privacy="snippet")
    backend.add_message(make_message(1, body="Let us talk pricing on Monday."))
    (msg,) = messages(sync_all(backend)[0])
    assert msg.snippet == "Let us talk pricing on Monday." and msg.body is None


def test_backfill_window_leaves_out_old_mail(tmp_path: Path) -> None:
    (tmp_path / "Maildir" / "new").mkdir(parents=True)
    (tmp_path / "Maildir" / "new" / "1.old").write_bytes(
        make_message(1, when=BASE_TIME - timedelta(days=100)))
    (tmp_path / "Maildir" / "new" / "2.new").write_bytes(
        make_message(2, when=BASE_TIME - timedelta(days=10)))
    provider = LocalProvider(account(tmp_path, maildirs=["Maildir"], backfill_days=30),
                             ProviderContext(now=BASE_TIME))
    got = [m.message_id for m in messages(list(provider.sync({})))]
    assert got == [message_id(2)]


# --------------------------------------------------------------------------- mbox (Takeout)


def takeout_entry(n: int, labels: str, thread: str, **kw: Any) -> bytes:
    raw = make_message(n, headers={"X-GM-THRID": thread, "X-Gmail-Labels": labels}, **kw)
    sep = f"From {1780000000000000000 + n}@xxx Mon Nov 02 09:00:00 +0000 2026\n".encode()
    return sep + raw.replace(b"\r\n", b"\n") + b"\n"


def mbox_provider(tmp_path: Path, path: Path, page_size: int = 500) -> LocalProvider:
    return LocalProvider(account(tmp_path, mboxes=[str(path)], page_size=page_size),
                         ProviderContext(now=BASE_TIME))


def run(provider: Provider, cursors: dict[str, Cursor] | None = None
        ) -> tuple[list[Any], dict[str, Cursor]]:
    from tests.providers.contract import drain

    pages, cursors = drain(provider, cursors)
    return items(pages), cursors


def test_takeout_mbox_threads_labels_and_skips_spam(tmp_path: Path) -> None:
    box = tmp_path / "All mail Including Spam and Trash.mbox"
    box.write_bytes(
        takeout_entry(1, "Inbox,Important,=?UTF-8?Q?Kunden/M=C3=BCller?=", "17001")
        + takeout_entry(2, "Spam", "17002")
        + takeout_entry(3, "Sent", "17001", body="Hi\nFrom here on we agree.\n>From escaped\n"))
    got, cursors = run(mbox_provider(tmp_path, box))
    assert [m.message_id for m in got] == [message_id(1), message_id(3)]
    first, third = got
    assert first.thread_hint == "17001" == third.thread_hint
    assert first.tags == ("Inbox", "Important", "Kunden/Müller")
    assert first.folder == "All mail Including Spam and Trash"
    assert third.tags == ("Sent",)
    assert cursors[str(box)]["offset"] == box.stat().st_size


def test_mbox_body_from_lines_and_fallback_date(tmp_path: Path) -> None:
    box = tmp_path / "plain.mbox"
    body = b"Date: garbage\nFrom: a@x.example\nSubject: s\n\nline\n>From the desk\nFrom me\n"
    box.write_bytes(b"From a@x.example Tue Nov  3 08:00:00 2026\n" + body)
    provider = LocalProvider(account(tmp_path, mboxes=[str(box)]),
                             ProviderContext(now=BASE_TIME, privacy="full"))
    (msg,), _ = run(provider)
    assert msg.sent_at == datetime(2026, 11, 3, 8, tzinfo=UTC)
    assert msg.body == "line\nFrom the desk\nFrom me\n"


def test_mbox_appended_reads_only_the_new_part(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    box.write_bytes(b"".join(takeout_entry(n, "Inbox", "1") for n in range(1, 4)))
    got, cursors = run(mbox_provider(tmp_path, box, page_size=2))
    assert len(got) == 3
    assert run(mbox_provider(tmp_path, box), cursors)[0] == []
    with open(box, "ab") as fh:
        fh.write(takeout_entry(4, "Inbox", "1") + takeout_entry(5, "Inbox", "1"))
    got, cursors = run(mbox_provider(tmp_path, box), cursors)
    assert [m.message_id for m in got] == [message_id(4), message_id(5)]


def test_mbox_replaced_or_truncated_is_read_again(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    box.write_bytes(b"".join(takeout_entry(n, "Inbox", "1") for n in range(1, 4)))
    _, cursors = run(mbox_provider(tmp_path, box))
    box.write_bytes(takeout_entry(7, "Inbox", "1"))  # shorter: truncated/rewritten in place
    got, cursors = run(mbox_provider(tmp_path, box), cursors)
    assert [m.message_id for m in got] == [message_id(7)]
    replacement = tmp_path / "new.mbox"  # a fresh export moved over the old file, longer
    replacement.write_bytes(b"".join(takeout_entry(n, "Inbox", "1") for n in (8, 9, 10, 11)))
    os.replace(replacement, box)
    got, _ = run(mbox_provider(tmp_path, box), cursors)
    assert [m.message_id for m in got] == [message_id(n) for n in (8, 9, 10, 11)]


class StoreStandIn:
    """What the engine's store keeps of an mbox: live provider ids, applied page by page."""

    def __init__(self, *ids: str) -> None:
        self.ids: set[str] = set(ids)
        self.asked = 0

    def stored_ids(self, resource: str) -> set[str]:
        self.asked += 1
        return {pid for pid in self.ids if pid.startswith(resource + "#")}

    def provider(self, tmp_path: Path, path: Path, page_size: int = 500) -> LocalProvider:
        return LocalProvider(account(tmp_path, mboxes=[str(path)], page_size=page_size),
                             ProviderContext(now=BASE_TIME, stored_ids=self.stored_ids))

    def run(self, tmp_path: Path, path: Path, cursors: dict[str, Cursor] | None = None,
            page_size: int = 500) -> tuple[list[Any], dict[str, Cursor]]:
        got, cursors = run(self.provider(tmp_path, path, page_size), cursors)
        for item in got:
            if isinstance(item, Deletion):
                self.ids.discard(item.provider_id)
            else:
                self.ids.add(item.provider_id)
        return got, cursors


def by_message_id(got: list[Any]) -> dict[str, str]:
    return {m.message_id: m.provider_id for m in got if not isinstance(m, Deletion)}


def test_mbox_rewrite_without_a_message_reports_exactly_that_deletion(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    entries = [takeout_entry(n, "Inbox", "1") for n in range(1, 5)]
    box.write_bytes(b"".join(entries))
    store = StoreStandIn()
    got, cursors = store.run(tmp_path, box)
    ids = by_message_id(got)
    assert len(set(ids.values())) == 4
    inode = box.stat().st_ino
    box.write_bytes(b"".join(entries[:1] + entries[2:]))  # expunged in place, file shorter
    assert box.stat().st_ino == inode
    got, cursors = store.run(tmp_path, box, cursors)
    assert got == [Deletion(ids[message_id(2)], "message")]
    assert store.run(tmp_path, box, cursors)[0] == []


def test_mbox_rewrite_that_drops_one_and_appends_another(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    entries = [takeout_entry(n, "Inbox", "1") for n in range(1, 4)]
    box.write_bytes(b"".join(entries))
    store = StoreStandIn()
    got, cursors = store.run(tmp_path, box)
    ids = by_message_id(got)
    replacement = tmp_path / "t.mbox.new"  # written anew and moved over: the file grew
    replacement.write_bytes(b"".join(entries[1:]) + takeout_entry(4, "Inbox", "1")
                            + takeout_entry(5, "Inbox", "1"))
    os.replace(replacement, box)
    got, cursors = store.run(tmp_path, box, cursors)
    assert [m.message_id for m in got if not isinstance(m, Deletion)] == [
        message_id(4), message_id(5)]
    assert got[-1:] == [Deletion(ids[message_id(1)], "message")]  # after the new copies
    assert {pid for pid in store.ids} == {ids[message_id(2)], ids[message_id(3)],
                                          *by_message_id(got).values()}


def test_mbox_interrupted_rescan_neither_repeats_nor_forgets(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    entries = [takeout_entry(n, "Inbox", "1") for n in range(1, 4)]
    box.write_bytes(b"".join(entries))
    store = StoreStandIn()
    got, cursors = store.run(tmp_path, box)
    gone = by_message_id(got)[message_id(1)]
    box.write_bytes(b"".join([*entries[1:], *(takeout_entry(n, "Inbox", "1")
                                              for n in range(4, 8))]))
    first = next(iter(store.provider(tmp_path, box, page_size=2).sync(cursors)))
    assert [m.message_id for m in messages([first])] == [message_id(4), message_id(5)]
    assert first.cursor is not None  # saved; the process dies before the next page
    store.ids |= {m.provider_id for m in messages([first])}
    got, _ = store.run(tmp_path, box, {str(box): first.cursor}, page_size=2)
    assert [m.message_id for m in got if not isinstance(m, Deletion)] == [
        message_id(6), message_id(7)]
    assert got[-1] == Deletion(gone, "message")


def test_mbox_identical_copies_have_distinct_ids_by_occurrence(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    copy, other = takeout_entry(1, "Inbox", "1"), takeout_entry(2, "Inbox", "1")
    box.write_bytes(copy + other + copy)
    store = StoreStandIn()
    got, cursors = store.run(tmp_path, box)
    first, second, third = (m.provider_id for m in got)
    assert third == f"{first}.2" and len({first, second, third}) == 3
    box.write_bytes(other + copy)  # one copy expunged: the last occurrence is the one gone
    got, cursors = store.run(tmp_path, box, cursors)
    assert got == [Deletion(third, "message")]
    with open(box, "ab") as fh:  # a copy appended again takes the free occurrence
        fh.write(copy)
    got, cursors = store.run(tmp_path, box, cursors)
    assert [m.provider_id for m in got] == [third]


def test_mbox_status_headers_rewritten_in_place_keep_the_ids(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    entry = takeout_entry(1, "Inbox", "1")
    head, body = entry.split(b"\n\n", 1)
    box.write_bytes(head + b"\nStatus: O\nX-Mozilla-Status: 0000\n\n" + body)
    store = StoreStandIn()
    got, cursors = store.run(tmp_path, box)
    box.write_bytes(head + b"\nStatus: RO\nX-Status: A\nX-Mozilla-Status: 0001\n\n" + body)
    assert store.run(tmp_path, box, cursors)[0] == []  # read and answered: the same message
    (msg,) = by_message_id(got).values()
    assert store.ids == {msg}


class ReadCounter:
    """Counts the bytes the mbox reader gets from disk (its ``open`` is swapped for this)."""

    def __init__(self) -> None:
        self.bytes = 0

    def open(self, path: Path, mode: str) -> io.BufferedReader:
        counter = self

        class Counted(io.FileIO):
            def readinto(self, buffer: Any) -> int | None:
                n = super().readinto(buffer)
                counter.bytes += n or 0
                return n

        assert mode == "rb"
        return io.BufferedReader(Counted(path, "r"))


def test_mbox_append_reads_only_the_appended_bytes(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.local import mbox

    box = tmp_path / "big.mbox"
    filler = "A line of filler text in the body of the message.\n" * 400
    box.write_bytes(b"".join(takeout_entry(n, "Inbox", "1", body=filler)
                             for n in range(1, 101)))
    counter = ReadCounter()
    monkeypatch.setattr(mbox, "open", counter.open, raising=False)
    store = StoreStandIn()
    _, cursors = store.run(tmp_path, box)
    old_size = box.stat().st_size
    assert old_size > 2_000_000 and counter.bytes >= old_size
    appended = takeout_entry(101, "Inbox", "1", body=filler) + takeout_entry(102, "Inbox", "1")
    with open(box, "ab") as fh:
        fh.write(appended)
    counter.bytes = 0
    got, cursors = store.run(tmp_path, box, cursors)
    assert [m.message_id for m in got] == [message_id(101), message_id(102)]
    # the new bytes plus the prefix fingerprint's windows (read twice, in buffer-sized
    # blocks), nowhere near the 2 MB before them
    assert counter.bytes < len(appended) + 200_000
    # the counter sees a rescan, for contrast: one message expunged in place
    gone = takeout_entry(50, "Inbox", "1", body=filler)
    box.write_bytes(box.read_bytes().replace(gone, b""))
    counter.bytes = 0
    got, _ = store.run(tmp_path, box, cursors)
    assert [type(it) for it in got] == [Deletion] and counter.bytes >= box.stat().st_size


def offset_ids(box: Path) -> list[str]:
    """The provider ids cursor version 1 gave the messages of ``box`` (byte offsets)."""
    from providers.local.mbox import split_messages

    with box.open("rb") as fh:
        return [f"{box}#{offset}" for offset, *_ in split_messages(fh, 0)]


def test_mbox_old_offset_cursor_migrates_to_content_ids(tmp_path: Path) -> None:
    box = tmp_path / "t.mbox"
    box.write_bytes(b"".join(takeout_entry(n, "Inbox", "1") for n in range(1, 6)))
    st = box.stat()
    old = offset_ids(box)
    elsewhere = f"{tmp_path / 'other.mbox'}#0"
    store = StoreStandIn(*old, elsewhere)
    v1: Cursor = {"v": 1, "offset": st.st_size, "tail": "0" * 32, "size": st.st_size,
                  "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}
    provider = store.provider(tmp_path, box, page_size=2)
    first = next(iter(provider.sync({str(box): v1})))  # the engine saves page 1, then dies
    assert [m.message_id for m in messages([first])] == [message_id(1), message_id(2)]
    assert first.cursor is not None and first.cursor["v"] == 2
    store.ids |= {it.provider_id for it in first.items}
    got, cursors = store.run(tmp_path, box, {str(box): first.cursor}, page_size=2)
    delivered = [m for m in got if not isinstance(m, Deletion)]
    assert [m.message_id for m in delivered] == [message_id(n) for n in (3, 4, 5)]
    # old ids are marked gone only after every message is stored again under its new id
    assert got[len(delivered):] == [Deletion(pid, "message") for pid in sorted(old)]
    assert store.ids == {elsewhere, *(it.provider_id for it in first.items),
                         *(m.provider_id for m in delivered)}
    assert cursors[str(box)]["v"] == 2 and "legacy" not in cursors[str(box)]
    asked = store.asked
    assert store.run(tmp_path, box, cursors)[0] == [] and store.asked == asked


mbox_bodies = st.lists(st.sampled_from(["hello", "From here on", ">From quoted", "", "bye"]),
                       max_size=3)
mbox_messages = st.builds(
    lambda subject, lines: (f"From: a@x.example\nSubject: {subject}\n\n"
                            + "".join(f"{ln}\n" for ln in lines)).encode(),
    st.sampled_from(["a", "b", "c"]), mbox_bodies)


def mbox_of(messages: list[bytes], separator: bytes) -> bytes:
    escaped = (re.sub(rb"(?m)^(>*From )", rb">\1", raw) for raw in messages)
    return b"".join(separator + raw + b"\n" for raw in escaped)


def keys_of(data: bytes) -> list[str]:
    from providers.local.common import SeenSet
    from providers.local.mbox import keyed_messages

    return [key for *_, key in keyed_messages(io.BytesIO(data), 0, SeenSet())]


@given(st.lists(mbox_messages, min_size=1, max_size=8), st.data())
@settings(max_examples=80, deadline=None)
def test_mbox_ids_survive_any_rewrite_that_keeps_the_bytes(
        originals: list[bytes], data: st.DataObject) -> None:
    before = keys_of(mbox_of(originals, b"From a@x.example Mon Nov  2 09:00:00 2026\n"))
    assert len(set(before)) == len(before)  # copies are told apart
    digests = {raw: key for raw, key in zip(originals, before, strict=True) if "." not in key}
    assert len(set(digests.values())) == len(digests)  # distinct messages, distinct keys
    # a rewrite: any subset of the messages in any order, with other separator lines
    kept = data.draw(st.permutations(originals)).copy()
    del kept[data.draw(st.integers(0, len(kept))):]
    after = keys_of(mbox_of(kept, b"From b@y.example Tue Nov  3 10:00:00 2026\n"))
    for raw in set(kept):
        copies = [key for other, key in zip(kept, after, strict=True) if other == raw]
        was = [key for other, key in zip(originals, before, strict=True) if other == raw]
        assert copies == was[:len(copies)]  # the same ids; a dropped copy takes the last


# --------------------------------------------------------------------------- .ics files


def combine(*specs: EventSpec) -> str:
    """One VCALENDAR holding every spec's components."""
    import icalendar

    cal = icalendar.Calendar.from_ical(to_ics(specs[0]))
    for spec in specs[1:]:
        for component in icalendar.Calendar.from_ical(to_ics(spec)).subcomponents:
            if component.name == "VEVENT":
                cal.add_component(component)
    return str(cal.to_ical().decode("utf-8"))


def ics_provider(tmp_path: Path, now: datetime = BASE_TIME, **keys: Any) -> LocalProvider:
    return LocalProvider(account(tmp_path, calendars=["cal"], **keys),
                         ProviderContext(now=now))


def test_event_removed_from_file_becomes_a_deletion(tmp_path: Path) -> None:
    (tmp_path / "cal").mkdir()
    path = tmp_path / "cal" / "team.ics"
    keep = EventSpec(uid="keep@test", title="Keep", start=BASE_TIME + timedelta(days=1))
    drop = EventSpec(uid="drop@test", title="Drop", start=BASE_TIME + timedelta(days=2),
                     rrule="FREQ=DAILY;COUNT=2")
    path.write_text(combine(keep, drop), encoding="utf-8")
    got, cursors = run(ics_provider(tmp_path))
    assert sorted(e.dedupe_key for e in got) == [
        "drop@test#2026-11-04T09:00:00Z", "drop@test#2026-11-05T09:00:00Z", "keep@test#"]
    path.write_text(to_ics(keep), encoding="utf-8")
    got, cursors = run(ics_provider(tmp_path), cursors)
    assert got == [Deletion(provider_id=f"{path}#drop@test#2026-11-04T09:00:00Z", kind="event"),
                   Deletion(provider_id=f"{path}#drop@test#2026-11-05T09:00:00Z", kind="event")]
    path.unlink()
    got, cursors = run(ics_provider(tmp_path), cursors)
    assert got == [Deletion(provider_id=f"{path}#keep@test", kind="event")]
    assert run(ics_provider(tmp_path), cursors)[0] == []


def test_moving_window_emits_only_instances_that_entered_it(tmp_path: Path) -> None:
    (tmp_path / "cal").mkdir()
    spec = EventSpec(uid="daily@test", title="Standup", start=BASE_TIME, rrule="FREQ=DAILY")
    (tmp_path / "cal" / "s.ics").write_text(to_ics(spec), encoding="utf-8")
    got, cursors = run(ics_provider(tmp_path, past_days=0, future_days=2))
    assert len(got) == 3
    assert run(ics_provider(tmp_path, past_days=0, future_days=2), cursors)[0] == []
    later = BASE_TIME + timedelta(days=1)
    got, _ = run(ics_provider(tmp_path, now=later, past_days=0, future_days=2), cursors)
    assert [e.start for e in got] == [BASE_TIME + timedelta(days=3)]


def test_bad_event_is_quarantined_and_the_rest_sync(tmp_path: Path) -> None:
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "mixed.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bad\r\nSUMMARY:no start\r\n"
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:good\r\nDTSTART:20261103T100000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    (tmp_path / "cal" / "junk.ics").write_text("this is not a calendar", encoding="utf-8")
    pages = list(ics_provider(tmp_path).sync({}))
    assert [e.uid for e in events(pages)] == ["good"]
    reasons = sorted((q.provider_id.rsplit("/", 1)[-1], q.reason)
                     for p in pages for q in p.quarantined)
    assert [r[0] for r in reasons] == ["junk.ics", "mixed.ics#bad"]


def test_seen_set_forgets_deleted_files(local_backend: LocalBackend) -> None:
    from providers.local.common import SeenSet

    paths = [local_backend.add_message(make_message(n)) for n in range(1, 4)]
    _, cursors = sync_all(local_backend)
    resource = str(local_backend.root / "Maildir")
    assert len(SeenSet.decode(cursors[resource]["seen"])) == 3
    paths[0].unlink()
    local_backend.add_message(make_message(4))
    pages, cursors = sync_all(local_backend, cursors)
    assert [m.message_id for m in messages(pages)] == [message_id(4)]
    assert len(SeenSet.decode(cursors[resource]["seen"])) == 3


def test_quarantine_excerpt_respects_metadata_privacy() -> None:
    from providers.local.common import header_excerpt

    raw = b"X-A: 1\r\nsubject: secret\r\n deal\r\nX-B: \x00 2\r\n\r\nbody text"
    assert header_excerpt(raw, "metadata") == "X-A: 1\nX-B: ? 2"
    assert "secret" in header_excerpt(raw, "subject") and "body" not in header_excerpt(raw)


def test_files_moved_during_a_pass_are_still_read(local_backend: LocalBackend) -> None:
    for n in range(1, 26):
        local_backend.add_message(make_message(n))
    pages = local_backend.provider().sync({})
    first = next(pages)  # listed all 25, read 10; now a mail client marks everything read
    new, cur = local_backend.root / "Maildir" / "new", local_backend.root / "Maildir" / "cur"
    for path in list(new.iterdir()):
        os.rename(path, cur / f"{path.name}:2,S")
    rest = messages(list(pages))
    assert len(first.items) == 10 and len(rest) == 15
    assert {m.message_id for m in [*messages([first]), *rest]} == {
        message_id(n) for n in range(1, 26)}
    assert all(m.tags == ("\\Seen",) for m in rest)


body_lines = st.lists(st.sampled_from(
    ["", "hello", "From here on", ">From quoted", ">>From deeper", "From a@b Mon Nov  2 "
     "09:00:00 2026", "  indented", "Ünïcode"]), max_size=8)


@given(st.lists(body_lines, min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_mbox_split_inverts_mboxrd_escaping(bodies: list[list[str]]) -> None:
    import io
    import re as regex

    from providers.local.mbox import split_messages

    written = b""
    expected: list[bytes] = []
    for n, lines in enumerate(bodies):
        message = f"From: a@x.example\nSubject: {n}\n\n" + "".join(f"{ln}\n" for ln in lines)
        raw = message.encode()
        expected.append(raw)
        escaped = regex.sub(rb"(?m)^(>*From )", rb">\1", raw)
        written += b"From a@x.example Mon Nov  2 09:00:00 2026\n" + escaped + b"\n"
    got = [raw for _, _, _, raw in split_messages(io.BytesIO(written), 0)]
    assert got == expected
