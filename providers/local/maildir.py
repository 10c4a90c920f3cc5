"""Maildir folders: one resource per folder (the root is INBOX, ``.Name`` subfolders).

Message key
    The unique part of the file name, before ``:`` (``1700000000.M1P2.host,S=42``).
    A move from new/ to cur/ or a flag change renames the file but keeps the
    key, so it is never re-emitted.

Cursor per folder
    ``{"v": 1, "seen": <SeenSet>, "cur": mtime_ns | None, "new": mtime_ns | None}``.
    A pass first compares the mtimes of cur/ and new/ with the cursor: equal →
    nothing changed, no listing, no page. Otherwise it lists both, reads only
    keys not in ``seen`` (in key order, which is delivery-time order for
    conventional names), and yields a page per ``page_size`` items whose cursor
    adds them to ``seen``. Intermediate pages store ``None`` mtimes so a pass
    interrupted after a page always relists; the last page stores the mtimes
    taken *before* listing (and only once they are settled, see
    :func:`providers.local.common.settled`), so anything delivered during the
    pass is found next time.

Keys of files that are gone drop out of ``seen`` on the next listing, so the
cursor stays proportional to the folder. Messages older than the account's
backfill window (``backfill_days`` > 0) and quarantined ones are added to
``seen`` too: a bad file is reported once, not on every poll (and an old one
once, in ``Page.left_out``, so the engine records why it is missing). A
file removed from the Maildir (its key's digest left ``seen``) is reported
as a ``Deletion`` of the stored message with that key: the cursor holds
digests, not keys, so the names come from the store
(``ProviderContext.stored_ids``), asked only when something vanished.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.base import Cursor, Inventory, Page, Quarantined
from providers.errors import BadItem, TransientError
from providers.local.common import PageBuilder, SeenSet, header_excerpt, settled, vanished
from providers.rfc5322 import parse_message

#: Maildir info flags → the IMAP system flags the rest of syncd knows
FLAGS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged", "T": "\\Deleted", "D": "\\Draft",
         "P": "$Forwarded"}


@dataclass(frozen=True)
class MaildirFolder:
    path: Path
    #: folder name as IMAP would show it: "INBOX", "Sent", "Projects/Acme"
    name: str

    @property
    def resource(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class Options:
    page_size: int
    privacy: str
    #: messages sent before this are skipped (None: no limit)
    not_before: datetime | None
    #: the store's live provider ids of a resource (ProviderContext.stored_ids)
    stored_ids: Callable[[str], Collection[str]] | None = None


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def discover(root: Path, skip: set[str]) -> list[MaildirFolder]:
    """The root Maildir and its ``.Name`` subfolders, minus skipped names."""
    if not root.is_dir():
        raise TransientError(f"Maildir {root} does not exist or is not a directory")
    folders: list[MaildirFolder] = []
    if is_maildir(root):
        folders.append(MaildirFolder(root, "INBOX"))
    for child in sorted(root.iterdir()):
        if not child.name.startswith(".") or child.name in (".", "..") or not is_maildir(child):
            continue
        parts = child.name[1:].split(".")
        if any(p.lower() in skip for p in parts):
            continue
        folders.append(MaildirFolder(child, "/".join(parts)))
    if not folders:
        raise TransientError(f"{root} is not a Maildir (no cur/ or new/ directory)")
    return folders


def message_key(filename: str) -> str:
    return filename.split(":", 1)[0]


def flags_of(filename: str) -> tuple[str, ...]:
    _, sep, info = filename.partition(":2,")
    if not sep:
        return ()
    return tuple(FLAGS[f] for f in sorted(set(info)) if f in FLAGS)


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _listing(folder: MaildirFolder, seen: SeenSet
             ) -> tuple[list[tuple[str, str, str]], SeenSet]:
    """(key, subdir, filename) of every message not yet seen, in key order; and the
    part of ``seen`` still present (keys of deleted files drop out of the cursor).
    """
    pending: dict[str, tuple[str, str, str]] = {}
    still_there = SeenSet()
    for sub, name in _entries(folder):
        key = message_key(name)
        digest = SeenSet.digest(key)
        if seen.has_digest(digest):
            still_there.add_digest(digest)
        else:
            pending.setdefault(key, (key, sub, name))  # same key in both: first wins
    return sorted(pending.values()), still_there


def _entries(folder: MaildirFolder) -> Iterator[tuple[str, str]]:
    """(subdir, file name) of every message file in new/ then cur/ (dot files are
    a client's temporary files); a missing subdir holds nothing."""
    for sub in ("new", "cur"):
        try:
            names = os.listdir(folder.path / sub)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise TransientError(f"cannot list {folder.path / sub}: {exc.strerror}") from exc
        for name in names:
            if not name.startswith("."):
                yield sub, name


class _Reader:
    """Reads listed files, following renames that happened since the listing.

    A mail client marking messages read while we sync moves many files from
    new/ to cur/: the first miss relists the folder once into a key → path
    map, and later misses look there (relisting again only if that is stale
    too), so a bulk move costs one extra listing, not one per message.
    """

    def __init__(self, folder: MaildirFolder) -> None:
        self.folder = folder
        self._moved: dict[str, tuple[str, str]] | None = None

    def _relist(self) -> dict[str, tuple[str, str]]:
        return _files(self.folder)

    def _open(self, sub: str, name: str) -> tuple[bytes, str, float] | None:
        try:
            with open(self.folder.path / sub / name, "rb") as fh:
                return fh.read(), name, os.fstat(fh.fileno()).st_mtime
        except FileNotFoundError:
            return None

    def read(self, key: str, sub: str, name: str) -> tuple[bytes, str, float] | None:
        """(bytes, current file name, mtime), or None if the message is gone."""
        found = self._open(sub, name)
        if found is not None:
            return found
        if self._moved is not None:  # the map of an earlier relisting may already know
            where = self._moved.get(key)
            if where is not None and (found := self._open(*where)) is not None:
                return found
        self._moved = self._relist()
        where = self._moved.get(key)
        return self._open(*where) if where is not None else None


def _deliver(builder: PageBuilder, folder: MaildirFolder, reader: _Reader,
             listed: tuple[str, str, str], options: Options) -> bool:
    """Read one listed message into ``builder`` (item, left out or quarantined);
    ``False`` when its file is gone."""
    key, sub, name = listed
    found = reader.read(key, sub, name)
    if found is None:
        return False
    raw, current_name, mtime = found
    provider_id = f"{folder.resource}#{key}"
    try:
        message = parse_message(
            raw, provider_id=provider_id, folder=folder.name, privacy=options.privacy,
            fallback_date=datetime.fromtimestamp(mtime, UTC),
            tags=flags_of(current_name), size=len(raw))
    except BadItem as exc:
        builder.quarantined.append(Quarantined(provider_id=provider_id, kind="message",
                                               reason=exc.reason,
                                               excerpt=header_excerpt(raw, options.privacy)))
    else:
        builder.keep(message, options.not_before)
    return True


def sync_folder(folder: MaildirFolder, cursor: Cursor | None, options: Options
                ) -> Iterator[Page]:
    state: Mapping[str, Any] = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else {}
    cur_mtime, new_mtime = _mtime_ns(folder.path / "cur"), _mtime_ns(folder.path / "new")
    if state and (cur_mtime, new_mtime) == (state.get("cur"), state.get("new")) and (
            cur_mtime is not None or new_mtime is not None):
        return
    before = SeenSet.decode(state.get("seen"))
    pending, seen = _listing(folder, before)
    builder = PageBuilder.start(folder.resource, options.page_size)
    builder.items.extend(vanished(folder.resource, before.without(seen), options.stored_ids))

    def cursor_now(final: bool) -> Cursor:
        return {
            "v": 1,
            "seen": seen.encode(),
            "cur": settled(cur_mtime) if final and cur_mtime is not None else None,
            "new": settled(new_mtime) if final and new_mtime is not None else None,
        }

    reader = _Reader(folder)
    for index, (key, sub, name) in enumerate(pending):
        if not _deliver(builder, folder, reader, (key, sub, name), options):
            continue
        seen.add(key)
        if builder.full:
            yield builder.take(cursor_now(final=False), total_hint=len(pending) - index - 1)
    final = cursor_now(final=True)
    if not builder.empty or final != dict(state):
        yield builder.take(final, total_hint=0)


# -- coverage (providers.base.Reconcilable) -----------------------------------------------


def _files(folder: MaildirFolder) -> dict[str, tuple[str, str]]:
    """Message key -> (subdir, file name) of every message now in the folder."""
    found: dict[str, tuple[str, str]] = {}
    for sub, name in _entries(folder):
        found.setdefault(message_key(name), (sub, name))
    return found


def inventory(folder: MaildirFolder, cursor: Cursor | None) -> Inventory | None:
    """The folder's message keys by listing new/ and cur/, no file read.

    ``present``: every key now in the folder; ``expected``: those the cursor's
    ``seen`` already holds (what a pass dealt with: stored, skipped, left out as
    older than the window, or quarantined); newer files are the next pass's.
    Stored ids ``<folder>#<key>`` map to ``<key>``. ``None`` without a cursor.
    """
    state = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else None
    if state is None:
        return None
    seen = SeenSet.decode(state.get("seen"))
    present = frozenset(_files(folder))
    prefix = folder.resource + "#"

    def key_of(provider_id: str) -> str | None:
        key = provider_id[len(prefix):] if provider_id.startswith(prefix) else ""
        return key if key and "#" not in key else None

    return Inventory(expected=frozenset(k for k in present if k in seen), present=present,
                     key_of=key_of)


def fetch_keys(folder: MaildirFolder, keys: Collection[str], options: Options
               ) -> Iterator[Page]:
    """Pages (cursor ``None``) of the messages behind ``keys``, read as a pass reads them."""
    files = _files(folder)
    reader = _Reader(folder)
    builder = PageBuilder.start(folder.resource, options.page_size)
    for key in sorted(k for k in keys if k in files):
        _deliver(builder, folder, reader, (key, *files[key]), options)
        if builder.full:
            yield builder.take(None)
    if not builder.empty:
        yield builder.take(None)
