"""The per-calendar cursor and the sync window it was built for.

Cursor (JSON, one per calendar URL)::

    {"v": 1,
     "token": "<RFC 6578 sync token>",
     "window": ["2026-08-04T00:00:00Z", "2027-05-02T00:00:00Z"],
     "seen": {"<href>": ["<uid>#2026-11-02T09:00:00Z", "<uid>#2026-11-09T09:00:00Z"]},
     "singles": {"<href>": ["<uid>", "2026-11-04T10:00:00Z"]}}

``token``
    Taken *before* the listing it accompanies, so a change racing the
    listing is reported again next time (upserts make that harmless).
``window``
    [start, end) the events were expanded in. Windows are whole UTC days
    (``today - past_days`` .. ``today + future_days + 1``), so the window
    moves once a day, not on every poll.
``seen``
    For every *recurring* object: the keys (``<uid>#<recurrence-id>``, the
    provider id minus the ``<href>#`` prefix) of the instances emitted for
    it inside the window. When the object changes, ids that
    disappeared from its expansion (a shortened RRULE, a removed override)
    are reported as deletions of those instances: the sync token only names
    objects, not instances. Ids older than the window start are pruned, so
    the cursor stays proportional to the window, not to history.
``singles``
    Every non-recurring object reported: its key (the provider id minus the
    ``<href>#`` prefix, i.e. the UID) and its end. When one changes and
    no longer overlaps the window (a meeting moved to next year), it is
    still reported with its new time, so the store does not keep the old
    one; objects never reported stay outside the window. Pruned once they
    end before the window start.

Both maps also let a deleted object be reported as deletions of every
provider id the store got for it, not only as the bare ``<href>``.

An unreadable cursor (other version, missing keys) is treated like a
refused token: :class:`providers.errors.CursorExpired`, then a full resync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import Cursor
from providers.errors import CursorExpired

VERSION = 1


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime, past_days: int, future_days: int) -> Window:
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(today - timedelta(days=past_days), today + timedelta(days=future_days + 1))

    def uncovered_by(self, old: Window) -> list[Window]:
        """Parts of this window that ``old`` did not cover (at most two)."""
        if self.end <= old.start or self.start >= old.end:
            return [self]
        parts = []
        if self.start < old.start:
            parts.append(Window(self.start, old.start))
        if self.end > old.end:
            parts.append(Window(old.end, self.end))
        return parts

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def as_tuple(self) -> tuple[datetime, datetime]:
        return (self.start, self.end)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(slots=True)
class CalendarCursor:
    token: str
    window: Window
    seen: dict[str, list[str]] = field(default_factory=dict)
    singles: dict[str, tuple[str, str]] = field(default_factory=dict)

    def to_json(self) -> Cursor:
        return {"v": VERSION, "token": self.token,
                "window": [_iso(self.window.start), _iso(self.window.end)],
                "seen": {href: sorted(keys) for href, keys in sorted(self.seen.items())},
                "singles": {href: list(v) for href, v in sorted(self.singles.items())}}

    def copy(self, *, token: str, window: Window) -> CalendarCursor:
        return CalendarCursor(token=token, window=window, seen=dict(self.seen),
                              singles=dict(self.singles))

    def remember(self, href: str, *, instance_keys: list[str],
                 single: tuple[str, datetime] | None) -> None:
        """Record what was reported for ``href``: instance keys, or (key, end)."""
        if instance_keys:
            self.seen[href] = sorted(instance_keys)
        else:
            self.seen.pop(href, None)
        if single is not None:
            self.singles[href] = (single[0], _iso(single[1]))
        else:
            self.singles.pop(href, None)

    def forget(self, href: str) -> list[str]:
        """Drop ``href``; return the keys reported for it (instance keys and UID)."""
        keys = self.seen.pop(href, [])
        single = self.singles.pop(href, None)
        return keys + ([single[0]] if single else [])

    @classmethod
    def from_json(cls, resource: str, raw: Cursor) -> CalendarCursor:
        try:
            if raw.get("v") != VERSION:
                raise ValueError("cursor version")
            start, end = raw["window"]
            seen: Any = raw.get("seen", {})
            singles: Any = raw.get("singles", {})
            if (not isinstance(raw["token"], str) or not isinstance(seen, dict)
                    or not isinstance(singles, dict)):
                raise ValueError("cursor shape")
            return cls(token=raw["token"], window=Window(_parse_iso(start), _parse_iso(end)),
                       seen={str(h): [str(k) for k in keys] for h, keys in seen.items()},
                       singles={str(h): (str(key), _iso(_parse_iso(str(ends))))
                                for h, (key, ends) in singles.items()})
        except (KeyError, TypeError, ValueError):
            raise CursorExpired(resource, f"unreadable cursor for {resource!r}; "
                                "full resync needed") from None

    def forget_before(self, start: datetime) -> None:
        """Drop what fell out of the window's past edge."""
        self.singles = {h: v for h, v in self.singles.items() if _parse_iso(v[1]) > start}
        for href in list(self.seen):
            keys = [k for k in self.seen[href] if (t := key_time(k)) is None or t >= start]
            if keys:
                self.seen[href] = keys
            else:
                del self.seen[href]


def key_time(key: str) -> datetime | None:
    """The instant of an instance key ``<uid>#<recurrence-id>``.

    Date-only recurrence ids give that day's midnight UTC; anything
    unreadable gives ``None``.
    """
    key = key.rsplit("#", 1)[-1]
    try:
        if len(key) == 10:
            return datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=UTC)
        return datetime.fromisoformat(key.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
