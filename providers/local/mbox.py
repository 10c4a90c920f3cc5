"""mbox files (e.g. a Google Takeout export): one resource per file, read by byte offset.

Format
    Messages start at a ``From `` separator line carrying a date
    (``From sender Mon Nov  2 09:00:00 2026`` or Takeout's
    ``From 1234@xxx Mon Nov 02 09:00:00 +0000 2026``); a body line ``>From ``
    loses one ``>``. The separator's date is the fallback when the Date header
    is unusable. Takeout headers: ``X-GM-THRID`` → ``thread_hint``,
    ``X-Gmail-Labels`` → ``tags``; a message carrying a skipped label (Spam,
    Trash, Drafts by default) is left out.

Cursor per file
    ``{"v": 1, "offset", "size", "mtime_ns", "ino", "tail"}``: ``offset`` is
    where the next unread message starts; ``tail`` hashes the 4 KiB before it.
    The next pass continues at ``offset`` only if the file is the same inode,
    at least ``offset`` long and those 4 KiB are unchanged (the file was only
    appended to); otherwise (truncated, replaced, rewritten) it re-reads from
    the start, which the store's Message-ID dedupe makes harmless. Unchanged
    size, mtime and inode → no read at all.

Provider ids are ``<path>#<offset of the message>``. That is also why an
mbox takes no part in coverage checks (``syncd verify``): a rewritten file
reuses offsets for other messages, so an id cannot say whether its message
is still there.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from providers.base import Cursor, Page, Quarantined
from providers.errors import BadItem, TransientError
from providers.local.common import PageBuilder, header_excerpt, settled
from providers.rfc5322 import decode_header_value, parse_date, parse_message, read_headers

_SEPARATOR = re.compile(rb"^From \S*[ \t].*\d{1,2}:\d\d(:\d\d)?.*\d{4}\s*$")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
TAIL_BYTES = 4096


@dataclass(frozen=True)
class Options:
    page_size: int
    privacy: str
    not_before: datetime | None
    skip_labels: frozenset[str]


def _tail_hash(fh: IO[bytes], offset: int) -> str:
    start = max(0, offset - TAIL_BYTES)
    fh.seek(start)
    return hashlib.sha256(fh.read(offset - start)).hexdigest()[:32]


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


def sync_file(path: Path, cursor: Cursor | None, options: Options) -> Iterator[Page]:
    resource = str(path)
    state: Mapping[str, Any] = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else {}
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally; the generator spans yields
    except FileNotFoundError as exc:
        raise TransientError(f"mbox {path} does not exist") from exc
    except OSError as exc:
        raise TransientError(f"cannot open mbox {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fh.fileno())
        if state and (st.st_size, st.st_mtime_ns, st.st_ino) == (
                state.get("size"), state.get("mtime_ns"), state.get("ino")):
            return
        start = 0
        offset = state.get("offset")
        if (state and isinstance(offset, int) and state.get("ino") == st.st_ino
                and 0 < offset <= st.st_size and _tail_hash(fh, offset) == state.get("tail")):
            start = offset
        yield from _read(fh, path, resource, start, st, options)
    finally:
        fh.close()


def _read(fh: IO[bytes], path: Path, resource: str, start: int, st: os.stat_result,
          options: Options) -> Iterator[Page]:
    builder = PageBuilder.start(resource, options.page_size)
    folder = path.stem
    fallback_mtime = datetime.fromtimestamp(st.st_mtime, UTC)
    done = start

    def cursor_at(offset: int, final: bool) -> Cursor:
        here = fh.tell()
        tail = _tail_hash(fh, offset)
        fh.seek(here)
        return {"v": 1, "offset": offset, "tail": tail, "size": st.st_size if final else None,
                "mtime_ns": settled(st.st_mtime_ns) if final else None, "ino": st.st_ino}

    for msg_offset, end, sep, raw in split_messages(fh, start):
        if end > st.st_size:  # appended while we read: leave it for the next pass
            break
        provider_id = f"{resource}#{msg_offset}"
        extra = read_headers(raw, ("x-gm-thrid", "x-gmail-labels"))
        labels = _labels(extra.get("x-gmail-labels"))
        if not any(label.lower() in options.skip_labels for label in labels):
            try:
                message = parse_message(
                    raw, provider_id=provider_id, folder=folder, privacy=options.privacy,
                    fallback_date=_separator_date(sep) or fallback_mtime, tags=labels,
                    thread_hint=(extra.get("x-gm-thrid") or "").strip() or None, size=len(raw))
            except BadItem as exc:
                excerpt = header_excerpt(raw, options.privacy)
                builder.quarantined.append(Quarantined(provider_id=provider_id, kind="message",
                                                       reason=exc.reason, excerpt=excerpt))
            else:
                builder.keep(message, options.not_before)
        done = end
        if builder.full:
            yield builder.take(cursor_at(done, final=False))
    yield builder.take(cursor_at(done, final=done >= st.st_size))
