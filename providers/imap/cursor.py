"""The per-folder IMAP cursor and the plan it implies for the next pass.

A folder's cursor (stored by the engine as a JSON dict) is

``uidvalidity``
    UIDVALIDITY the UIDs below belong to. A different value on SELECT means
    every UID is meaningless: the folder is resynced from scratch (the store
    dedupes by Message-ID, so nothing is duplicated).
``last_uid``
    Upward boundary: every message with a UID ``<= last_uid`` is either
    delivered or still owed to the backfill; UIDs above it are new mail.
``uidnext``
    UIDNEXT seen when the cursor was written. Together with
    ``highestmodseq`` it makes "nothing new" decidable from SELECT alone.
``highestmodseq``
    HIGHESTMODSEQ (CONDSTORE) seen then, or ``None`` without CONDSTORE.
``backfill_below``
    ``None`` once the backfill is done; otherwise every backfill candidate
    (UID ``<= last_uid`` with INTERNALDATE on or after ``since``) *below*
    this UID is still to be delivered.
``since``
    ISO date of the backfill window's first day, fixed at the initial sync so
    a resumed backfill searches exactly the same window.
``present``, ``present_through``, ``checked_at``
    Only without QRESYNC (:mod:`providers.imap.expunges`): the UIDs present
    at the last expunge check as a sequence set, the ``last_uid`` it
    covered, and when it ran (ISO). ``None`` until the first check.

State machine of one folder
---------------------------
::

    (no cursor / UIDVALIDITY changed)
          │ SELECT: top = UIDNEXT-1
          ▼
    BACKFILL  last_uid=top, backfill_below=top+1
          │ SEARCH SINCE since → candidates < backfill_below, newest first,
          │ one page per chunk, backfill_below = lowest UID of the chunk
          ▼
    CURRENT   backfill_below=None
          │ SELECT: UIDNEXT/HIGHESTMODSEQ unchanged → nothing fetched at all
          │ UIDNEXT moved → UID SEARCH last_uid+1:* → pages upward,
          │ last_uid = highest UID of the chunk
          └─► CURRENT

On every pass the upward path (new mail) runs *before* the remaining
backfill, so fresh mail is never stuck behind a long history; both paths only
ever narrow what is owed, so any committed page is a safe place to resume
(after a crash, a dropped connection or a new process).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from providers.base import Cursor


@dataclass(frozen=True, slots=True)
class FolderCursor:
    uidvalidity: int
    last_uid: int
    uidnext: int
    highestmodseq: int | None = None
    backfill_below: int | None = None
    since: str | None = None
    present: str | None = None
    present_through: int | None = None
    checked_at: str | None = None

    @classmethod
    def from_dict(cls, data: Cursor | None) -> FolderCursor | None:
        """Parse a stored cursor; ``None`` (start over) if absent or unreadable."""
        if not data:
            return None
        try:
            modseq = data.get("highestmodseq")
            below = data.get("backfill_below")
            since = data.get("since")
            present = data.get("present")
            through = data.get("present_through")
            checked = data.get("checked_at")
            return cls(
                uidvalidity=int(data["uidvalidity"]),
                last_uid=int(data["last_uid"]),
                uidnext=int(data["uidnext"]),
                highestmodseq=None if modseq is None else int(modseq),
                backfill_below=None if below is None else int(below),
                since=None if since is None else str(since),
                present=None if present is None or through is None else str(present),
                present_through=None if present is None or through is None else int(through),
                checked_at=None if checked is None else str(checked),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            return None

    def to_dict(self) -> Cursor:
        out: dict[str, Any] = asdict(self)
        for name in ("present", "present_through", "checked_at"):  # only once checked
            if out[name] is None:
                del out[name]
        return out

    @property
    def backfilling(self) -> bool:
        return self.backfill_below is not None

    def up_to(self, uid: int, *, uidnext: int) -> FolderCursor:
        """After delivering new mail up to ``uid`` (inclusive)."""
        return replace(self, last_uid=max(self.last_uid, uid), uidnext=max(uidnext, uid + 1))

    def backfilled_down_to(self, uid: int | None) -> FolderCursor:
        """After delivering backfill down to ``uid``; ``None`` = backfill done."""
        return replace(self, backfill_below=uid)
