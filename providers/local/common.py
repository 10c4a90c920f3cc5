"""Pieces shared by the Maildir, mbox and .ics readers of the local provider."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.base import Deletion, Item, LeftOut, Message, Page, Quarantined

#: a directory/file mtime this close to the wall clock may still change within its tick
MTIME_SETTLE_NS = 2_000_000_000
#: characters of a bad item kept in its quarantine entry (headers only, never bodies)
EXCERPT_CHARS = 300


def settled(mtime_ns: int) -> int | None:
    """``mtime_ns`` if it is old enough to be trusted as "nothing changed since", else None."""
    return mtime_ns if time.time_ns() - mtime_ns > MTIME_SETTLE_NS else None


def header_excerpt(raw: bytes, privacy: str = "subject") -> str:
    """The start of the header block, for people reading the quarantine.

    At privacy level ``metadata`` the Subject line is left out.
    """
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if privacy == "metadata":
        head = re.sub(rb"(?im)^subject:.*(\r?\n[ \t].*)*(\r?\n)?", b"", head)
    text = head[:EXCERPT_CHARS].decode("utf-8", "replace").replace("\r\n", "\n")
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in text)


class SeenSet:
    """A compact set of item keys: 8-byte BLAKE2b digests, sorted, base64 in the cursor.

    8 bytes keep the chance of two keys of a 10-million-message Maildir colliding
    below 1e-5; a collision would only hide one message.
    """

    __slots__ = ("_digests",)

    def __init__(self, digests: Iterable[bytes] = ()) -> None:
        self._digests: set[bytes] = set(digests)

    @staticmethod
    def digest(key: str) -> bytes:
        return hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.digest(key) in self._digests

    def __len__(self) -> int:
        return len(self._digests)

    def add(self, key: str) -> None:
        self._digests.add(self.digest(key))

    def copy(self) -> SeenSet:
        return SeenSet(self._digests)

    def has_digest(self, digest: bytes) -> bool:
        return digest in self._digests

    def add_digest(self, digest: bytes) -> None:
        self._digests.add(digest)

    def without(self, other: SeenSet) -> set[bytes]:
        """Digests in this set and not in ``other``."""
        return self._digests - other._digests

    def encode(self) -> str:
        return base64.b64encode(b"".join(sorted(self._digests))).decode("ascii")

    @classmethod
    def decode(cls, text: Any) -> SeenSet:
        if not isinstance(text, str) or not text:
            return cls()
        try:
            blob = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return cls()
        return cls(blob[i:i + 8] for i in range(0, len(blob) - len(blob) % 8, 8))


def vanished(resource: str, gone: set[bytes],
             stored_ids: Callable[[str], Collection[str]] | None) -> list[Deletion]:
    """Deletions of the stored messages ``<resource>#<key>`` whose key digests are in ``gone``.

    A cursor holds digests, not keys, so the ids come from the store
    (``ProviderContext.stored_ids``); it is asked only when something vanished.
    """
    if not gone or stored_ids is None:
        return []
    prefix = resource + "#"
    return [Deletion(pid, "message") for pid in sorted(stored_ids(resource))
            if pid.startswith(prefix) and SeenSet.digest(pid[len(prefix):]) in gone]


@dataclass
class PageBuilder:
    """Collects items of one resource until ``page_size`` is reached."""

    resource: str
    page_size: int
    items: list[Item]
    quarantined: list[Quarantined]
    #: read but older than the backfill window (reported, not delivered)
    left_out: list[LeftOut] = field(default_factory=list)

    @classmethod
    def start(cls, resource: str, page_size: int) -> PageBuilder:
        return cls(resource, page_size, [], [])

    @property
    def full(self) -> bool:
        return len(self.items) + len(self.quarantined) + len(self.left_out) >= self.page_size

    @property
    def empty(self) -> bool:
        return not self.items and not self.quarantined and not self.left_out

    def take(self, cursor: dict[str, Any] | None, total_hint: int | None = None) -> Page:
        page = Page(resource=self.resource, items=self.items, quarantined=self.quarantined,
                    cursor=cursor, total_hint=total_hint, left_out=self.left_out)
        self.items, self.quarantined, self.left_out = [], [], []
        return page

    def keep(self, message: Message, not_before: datetime | None) -> None:
        """Deliver ``message``, or report it left out when older than ``not_before``."""
        if not_before is None or message.sent_at >= not_before:
            self.items.append(message)
            return
        self.left_out.append(LeftOut(
            message.provider_id, "message",
            f"sent {message.sent_at:%Y-%m-%d %H:%M} UTC, before the backfill window "
            f"(backfill_days) starting {not_before:%Y-%m-%d %H:%M} UTC",
            key=message.message_id))
