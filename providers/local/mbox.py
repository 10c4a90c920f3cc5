"""mbox files (e.g. a Google Takeout export): one resource per file.

Format
    Messages start at a ``From `` separator line carrying a date
    (``From sender Mon Nov  2 09:00:00 2026`` or Takeout's
    ``From 1234@xxx Mon Nov 02 09:00:00 +0000 2026``); a body line ``>From ``
    loses one ``>``. The separator's date is the fallback when the Date header
    is unusable. Takeout headers: ``X-GM-THRID`` → ``thread_hint``,
    ``X-Gmail-Labels`` → ``tags``; a message carrying a skipped label (Spam,
    Trash, Drafts by default) is left out.

Provider ids
    ``<path>#<key>``, the key derived from the message's content: the first 16
    hex digits of the SHA-256 of its bytes (unescaped, without the ``From ``
    separator line, and without the status headers mail clients rewrite in
    place: ``Status``, ``X-Status``, ``X-Keywords``, ``X-UID``,
    ``X-Mozilla-Status``/``-Status2``/``-Keys``, ``Content-Length``,
    ``Lines``). Identical copies in one file are told apart by occurrence:
    ``<digest>``, ``<digest>.2``, ``<digest>.3`` in file order. A mail client
    expunging rewrites the file and moves every later message to another
    offset; a content id survives that, so a message removed from the file
    can be reported as a ``Deletion`` and one merely moved is not read again.

Cursor per file
    ``{"v": 2, "offset", "prefix", "seen", "size", "mtime_ns", "ino"}``.
    ``offset`` is where the next unread message starts, ``seen`` the
    :class:`~providers.local.common.SeenSet` of the keys of every message
    before it (delivered, quarantined, skipped or left out alike) and
    ``prefix`` a fingerprint of the bytes before it (:func:`_fingerprint`:
    the first and last 4 KiB and seven windows between). Unchanged size,
    mtime and inode → no read at all. Same inode, at least ``offset`` long and
    the same fingerprint → the file was only appended to: only the bytes from
    ``offset`` are read (new copies of a known message number on from
    ``seen``). Anything else (truncated, replaced, rewritten) is a rescan:
    the whole file is split and hashed, only messages whose keys are not in
    ``seen`` are parsed and delivered, and the keys of ``seen`` no longer in
    the file become ``Deletion`` items for the stored ids carrying them (the
    names come from ``ProviderContext.stored_ids``, asked only then), in the
    pass's last page, after any new copy of the same message is stored. A
    rescan's intermediate pages store ``offset: None`` and ``seen`` = the old
    keys plus those delivered so far, so an interrupted rescan rescans again
    and neither re-delivers nor forgets a deletion.

    A rewrite that keeps the length and every fingerprint window, changing
    bytes only between them, is taken for an append; removing or adding a
    message shifts every later byte, so in practice only same-length status
    header rewrites do that, and those do not change any key.

Migration from the offset ids of cursor version 1
    Version 1 named messages ``<path>#<byte offset>``. A version-1 cursor
    starts a rescan with nothing seen: every message is delivered again under
    its content id and the pass's last page reports every live stored id of
    the file still in the offset form (``#`` then up to 15 decimal digits,
    which a 16-character content key never is) as a ``Deletion``. The store
    dedupes interactions by Message-ID, so each message keeps one live copy
    (the new one is stored before the old one is marked gone, which matters
    with ``deletions: mirror``) and no interaction is doubled. The rescan's
    intermediate cursors carry ``"legacy": true`` so an interrupted migration
    still ends with those deletions.

Coverage (``syncd verify``): :func:`inventory` splits and hashes the file into
its keys, parsing no message; :func:`fetch_keys` reads the missing ones.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from providers.base import Cursor, Deletion, Inventory, Page, Quarantined
from providers.errors import BadItem, TransientError
from providers.local.common import PageBuilder, SeenSet, header_excerpt, settled, vanished
from providers.rfc5322 import decode_header_value, parse_date, parse_message, read_headers

_SEPARATOR = re.compile(rb"^From \S*[ \t].*\d{1,2}:\d\d(:\d\d)?.*\d{4}\s*$")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
#: header lines mail clients rewrite in place (read state, flags, counts): not part of a key
_VOLATILE = re.compile(
    rb"(?im)^(?:status|x-status|x-keywords|x-uid|x-mozilla-status2?|x-mozilla-keys"
    rb"|content-length|lines)[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*")
_HEADER_END = re.compile(rb"\n\r?\n")
#: a provider id of cursor version 1: ``<path>#<byte offset>``
_OFFSET_KEY = re.compile(r"0|[1-9]\d{0,14}")
WINDOW_BYTES = 4096
#: windows between the first and the last one in a prefix fingerprint
INNER_WINDOWS = 7
KEY_HEX = 16


@dataclass(frozen=True)
class Options:
    page_size: int
    privacy: str
    not_before: datetime | None
    skip_labels: frozenset[str]
    #: the store's live provider ids of a resource (ProviderContext.stored_ids)
    stored_ids: Callable[[str], Collection[str]] | None = None


def _fingerprint(fh: IO[bytes], end: int) -> str:
    """A hash of the first and last ``WINDOW_BYTES`` before ``end`` and of
    ``INNER_WINDOWS`` evenly spaced windows between: cheap to recompute on every
    pass, and any cut or insertion before ``end`` shifts the bytes under them."""
    starts = {0, max(0, end - WINDOW_BYTES)}
    starts.update(end * k // (INNER_WINDOWS + 1) for k in range(1, INNER_WINDOWS + 1))
    digest = hashlib.sha256(str(end).encode())
    for start in sorted(starts):
        fh.seek(start)
        digest.update(fh.read(min(WINDOW_BYTES, end - start)))
    return digest.hexdigest()[:32]


def content_digest(raw: bytes) -> str:
    """The content part of a message's key (see module docstring)."""
    header_end = _HEADER_END.search(raw)
    cut = header_end.end() if header_end else len(raw)
    stable = _VOLATILE.sub(b"", raw[:cut]) + raw[cut:]
    return hashlib.sha256(stable).hexdigest()[:KEY_HEX]


def next_key(digest: str, taken: SeenSet) -> str:
    """The key of the next copy of a message whose content digest is ``digest``:
    the first occurrence not in ``taken`` (the keys of the file before it)."""
    key, n = digest, 1
    while key in taken:
        n += 1
        key = f"{digest}.{n}"
    taken.add(key)
    return key


def keyed_messages(fh: IO[bytes], start: int, taken: SeenSet
                   ) -> Iterator[tuple[int, bytes, bytes, str]]:
    """(end, separator line, message bytes, key) of each message from ``start``;
    ``taken`` holds the keys of the messages before ``start`` and gains each key."""
    for _, end, sep, raw in split_messages(fh, start):
        yield end, sep, raw, next_key(content_digest(raw), taken)


def split_messages(fh: IO[bytes], start: int) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(offset, end, separator line, message bytes) of each message from ``start``."""
    fh.seek(start)
    sep: bytes | None = None
    msg_start = start
    lines: list[bytes] = []
    position = start
    for line in iter(fh.readline, b""):
        line_start = position
        position += len(line)
        if _SEPARATOR.match(line.rstrip(b"\r\n")):
            if sep is not None:
                yield msg_start, line_start, sep, _join(lines)
            sep, msg_start, lines = line, line_start, []
            continue
        if sep is None:
            continue  # junk before the first separator
        lines.append(line[1:] if _ESCAPED_FROM.match(line) else line)
    if sep is not None:
        yield msg_start, position, sep, _join(lines)


def _join(lines: list[bytes]) -> bytes:
    # the blank line before the next separator belongs to the mbox, not the message
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)


def _separator_date(sep: bytes) -> datetime | None:
    text = sep.decode("latin-1").rstrip()
    parts = text.split(None, 2)
    return parse_date(parts[2]) if len(parts) == 3 else None


def _labels(raw_value: str | None) -> tuple[str, ...]:
    if not raw_value:
        return ()
    text = decode_header_value(raw_value)
    return tuple(dict.fromkeys(
        label.strip().strip('"').strip() for label in text.split(",") if label.strip().strip('"')))


def _skipped(labels: tuple[str, ...], skip_labels: frozenset[str]) -> bool:
    return any(label.lower() in skip_labels for label in labels)


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise TransientError(f"mbox {path} does not exist") from exc
    except OSError as exc:
        raise TransientError(f"cannot open mbox {path}: {exc.strerror}") from exc


def _state(cursor: Cursor | None) -> tuple[Mapping[str, Any], bool]:
    """The cursor if it is of this version (else empty), and whether it is a
    version-1 cursor (or an interrupted migration from one)."""
    if not isinstance(cursor, dict):
        return {}, False
    if cursor.get("v") == 2:
        return cursor, bool(cursor.get("legacy"))
    return {}, cursor.get("v") == 1


def _legacy_deletions(resource: str, options: Options) -> list[Deletion]:
    """Deletions of the stored ids of ``resource`` still named by byte offset."""
    if options.stored_ids is None:
        return []
    prefix = resource + "#"
    return [Deletion(pid, "message") for pid in sorted(options.stored_ids(resource))
            if pid.startswith(prefix) and _OFFSET_KEY.fullmatch(pid[len(prefix):])]


def sync_file(path: Path, cursor: Cursor | None, options: Options) -> Iterator[Page]:
    state, legacy = _state(cursor)
    fh = _open(path)
    try:
        st = os.fstat(fh.fileno())
        offset = state.get("offset")
        if isinstance(offset, int) and (st.st_size, st.st_mtime_ns, st.st_ino) == (
                state.get("size"), state.get("mtime_ns"), state.get("ino")):
            return
        seen = SeenSet.decode(state.get("seen"))
        if (isinstance(offset, int) and state.get("ino") == st.st_ino
                and 0 <= offset <= st.st_size and _fingerprint(fh, offset) == state.get("prefix")):
            yield from _append(fh, path, offset, seen, st, options)
        else:
            yield from _rescan(fh, path, seen, legacy, st, options)
    finally:
        fh.close()


class _Pass:
    """What the append and rescan passes share: parsing into pages, cursors."""

    def __init__(self, fh: IO[bytes], path: Path, st: os.stat_result, options: Options) -> None:
        self.fh, self.path, self.st, self.options = fh, path, st, options
        self.resource = str(path)
        self.builder = PageBuilder.start(self.resource, options.page_size)
        self.fallback_mtime = datetime.fromtimestamp(st.st_mtime, UTC)

    def deliver(self, sep: bytes, raw: bytes, key: str) -> None:
        """Parse one message into the page: item, left out, skipped by label or quarantined."""
        provider_id = f"{self.resource}#{key}"
        extra = read_headers(raw, ("x-gm-thrid", "x-gmail-labels"))
        labels = _labels(extra.get("x-gmail-labels"))
        if _skipped(labels, self.options.skip_labels):
            return
        try:
            message = parse_message(
                raw, provider_id=provider_id, folder=self.path.stem,
                privacy=self.options.privacy,
                fallback_date=_separator_date(sep) or self.fallback_mtime, tags=labels,
                thread_hint=(extra.get("x-gm-thrid") or "").strip() or None, size=len(raw))
        except BadItem as exc:
            excerpt = header_excerpt(raw, self.options.privacy)
            self.builder.quarantined.append(Quarantined(
                provider_id=provider_id, kind="message", reason=exc.reason, excerpt=excerpt))
        else:
            self.builder.keep(message, self.options.not_before)

    def resumable(self, offset: int, seen: SeenSet, final: bool) -> Cursor:
        """A cursor that resumes at ``offset``; ``seen`` holds the keys before it."""
        here = self.fh.tell()
        prefix = _fingerprint(self.fh, offset)
        self.fh.seek(here)
        return {"v": 2, "offset": offset, "prefix": prefix, "seen": seen.encode(),
                "size": self.st.st_size if final else None,
                "mtime_ns": settled(self.st.st_mtime_ns) if final else None,
                "ino": self.st.st_ino}


def _append(fh: IO[bytes], path: Path, start: int, seen: SeenSet, st: os.stat_result,
            options: Options) -> Iterator[Page]:
    """Read only what was appended after ``start``; ``seen``: the keys before it."""
    run = _Pass(fh, path, st, options)
    done = start
    for end, sep, raw, key in keyed_messages(fh, start, seen):
        if end > st.st_size:  # appended while we read: leave it for the next pass
            break
        run.deliver(sep, raw, key)
        done = end
        if run.builder.full:
            yield run.builder.take(run.resumable(done, seen, final=False))
    yield run.builder.take(run.resumable(done, seen, final=done >= st.st_size))


def _rescan(fh: IO[bytes], path: Path, before: SeenSet, legacy: bool, st: os.stat_result,
            options: Options) -> Iterator[Page]:
    """Split and hash the whole file: deliver the messages whose keys ``before``
    lacks; report the keys of ``before`` no longer in the file as deletions."""
    run = _Pass(fh, path, st, options)
    now = SeenSet()  # keys of the file so far, in file order
    dealt = before.copy()  # what an interrupted rescan must not deliver again
    done = 0
    for end, sep, raw, key in keyed_messages(fh, 0, now):
        if end > st.st_size:
            break
        if key not in before:
            run.deliver(sep, raw, key)
            dealt.add(key)
        done = end
        if run.builder.full:
            interim: Cursor = {"v": 2, "offset": None, "seen": dealt.encode()}
            if legacy:
                interim["legacy"] = True
            yield run.builder.take(interim)
    run.builder.items.extend(vanished(run.resource, before.without(now), options.stored_ids))
    if legacy:
        run.builder.items.extend(_legacy_deletions(run.resource, options))
    yield run.builder.take(run.resumable(done, now, final=done >= st.st_size))


# -- coverage (providers.base.Reconcilable) -----------------------------------------------


def inventory(path: Path, cursor: Cursor | None, skip_labels: frozenset[str]
              ) -> Inventory | None:
    """The file's message keys by splitting and hashing it, no message parsed.

    ``present``: the key of every message now in the file except those a
    skipped label leaves out (a pass never delivers them); ``expected``: those
    the cursor's ``seen`` holds (what a pass dealt with); messages after the
    cursor's offset are the next pass's. Stored ids ``<path>#<key>`` map to
    ``<key>``. ``None`` without a cursor of this version or during a migration
    from offset ids (the pass reports those gone itself).
    """
    state, legacy = _state(cursor)
    if not state or legacy:
        return None
    seen = SeenSet.decode(state.get("seen"))
    present: set[str] = set()
    with _open(path) as fh:
        for _, _, raw, key in keyed_messages(fh, 0, SeenSet()):
            labels = _labels(read_headers(raw, ("x-gmail-labels",)).get("x-gmail-labels"))
            if not _skipped(labels, skip_labels):
                present.add(key)
    prefix = str(path) + "#"

    def key_of(provider_id: str) -> str | None:
        key = provider_id[len(prefix):] if provider_id.startswith(prefix) else ""
        return key if key and "#" not in key else None

    return Inventory(expected=frozenset(k for k in present if k in seen),
                     present=frozenset(present), key_of=key_of)


def fetch_keys(path: Path, keys: Collection[str], options: Options) -> Iterator[Page]:
    """Pages (cursor ``None``) of the messages behind ``keys``, read as a pass reads them."""
    wanted = set(keys)
    with _open(path) as fh:
        run = _Pass(fh, path, os.fstat(fh.fileno()), options)
        for _, sep, raw, key in keyed_messages(fh, 0, SeenSet()):
            if key in wanted:
                run.deliver(sep, raw, key)
                if run.builder.full:
                    yield run.builder.take(None)
        if not run.builder.empty:
            yield run.builder.take(None)
