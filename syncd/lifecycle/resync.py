"""Resync on demand: forget cursors, or widen the backfill window downwards.

``syncd resync --account ID [--resource R] [--backfill-days N] [--dry-run]``.

* **Forget** (no ``--backfill-days``): the cursor of ``R`` (or of every
  resource of the account) is deleted, so the next pass reads that
  resource as a first pass does, inside the configured backfill window.
  The store's upserts dedupe by Message-ID / iCalUID: nothing is logged
  twice.
* **Widen** (``--backfill-days N``): the window reaches ``N`` days back
  from now, without forgetting where the account is. Each provider's
  cursor says how:

  ===============  =========================================================
  provider         what moves
  ===============  =========================================================
  ``imap``         the folder cursor's ``since`` moves to the new first day
                   and its backfill boundary ``backfill_below`` to the lowest
                   UID of the folder the account already stored (or above
                   ``last_uid`` when it stored none): the backfill then
                   fetches the older mail below it, newest first, and never
                   re-reads what is stored. A message dated inside the new
                   days but with a UID above that boundary (mail copied in
                   later with an old date) is not found: forget the cursor to
                   re-read the whole window.
  ``gmail``        the cursor becomes an initial listing with the wider
                   ``after`` and the history id it had: the listing re-reads
                   the window (deduped), then history resumes where it was.
  ``outlook_mail`` a folder's cursor becomes ``{"v": 1, "since": ISO}``: the
                   next round starts from scratch with that wider
                   ``receivedDateTime`` filter (deduped).
  others           refused: their window is the config's (``backfill_days``,
                   ``past_days``): raise it there and forget the cursor.
  ===============  =========================================================

  A window that already reaches as far back changes nothing.

A dry run reports the same resources and actions and changes nothing.
Each change adds an audit row (action ``resync``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from providers.base import Cursor
from providers.imap.cursor import FolderCursor
from syncd.config.model import Account
from syncd.store.audit import ADMIN, Actor, record
from syncd.store.cursors import clear_cursor, load_cursors, save_cursor
from syncd.store.schema import Source
from syncd.store.types import utcnow

#: providers whose cursor can carry a wider window (see the module doc)
WIDENABLE = ("imap", "gmail", "outlook_mail")
GMAIL_RESOURCE = "gmail"
GRAPH_CURSOR_VERSION = 1


class ResyncRefused(ValueError):
    """The request cannot be done as asked (a usage error: the text says why)."""


@dataclass
class ResourceAction:
    resource: str
    #: forget | widen | unchanged
    action: str
    detail: str = ""


@dataclass
class ResyncReport:
    account: str
    dry_run: bool = False
    backfill_days: int | None = None
    resources: list[ResourceAction] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "dry_run": self.dry_run,
                "backfill_days": self.backfill_days,
                "resources": [{"resource": r.resource, "action": r.action, "detail": r.detail}
                              for r in self.resources]}


def resync(session: Session, account: Account, *, resource: str | None = None,
           backfill_days: int | None = None, dry_run: bool = False,
           now: datetime | None = None) -> ResyncReport:
    """Forget or widen ``account``'s cursors (see the module doc)."""
    now = now or utcnow()
    report = ResyncReport(account=account.id, dry_run=dry_run, backfill_days=backfill_days)
    cursors = load_cursors(session, account.id)
    if resource is not None and resource not in cursors:
        known = ", ".join(sorted(cursors)) or "(none yet)"
        raise ResyncRefused(f"account {account.id!r} has no cursor for resource {resource!r}; "
                            f"its resources: {known}")
    chosen = {r: c for r, c in sorted(cursors.items()) if resource in (None, r)}
    if backfill_days is None:
        for name in chosen:
            report.resources.append(ResourceAction(name, "forget", "read again from scratch"))
            if not dry_run:
                clear_cursor(session, account.id, name)
    else:
        if account.provider not in WIDENABLE:
            raise ResyncRefused(
                f"account {account.id!r} ({account.provider}) reads its window from the "
                "config: raise backfill_days (or past_days) there, then run "
                f"`syncd resync --account {account.id}`")
        for name, cursor in chosen.items():
            action = _widen(session, account, name, cursor, backfill_days, now)
            report.resources.append(action[0])
            if action[1] is not None and not dry_run:
                save_cursor(session, account.id, name, action[1], now=now)
    changed = [r for r in report.resources if r.action != "unchanged"]
    if changed and not dry_run:
        record(session, Actor(name="syncd", viewer=ADMIN), "resync", "account", None,
               after={"account": account.id, "backfill_days": backfill_days,
                      "resources": [r.resource for r in changed]}, now=now)
    return report


def _widen(session: Session, account: Account, resource: str, cursor: Cursor, days: int,
           now: datetime) -> tuple[ResourceAction, Cursor | None]:
    since = now - timedelta(days=days)
    if account.provider == "imap":
        return _widen_imap(session, account.id, resource, cursor, since)
    if account.provider == "gmail":
        after = int(since.timestamp())
        if "history_id" not in cursor:
            return ResourceAction(resource, "unchanged", "no listing yet"), None
        if cursor.get("phase") == "initial" and int(cursor.get("after", 0)) <= after:
            return ResourceAction(resource, "unchanged", "the listing already reaches back"), None
        new = {"phase": "initial", "history_id": cursor["history_id"], "after": after,
               "page_token": None}
        return ResourceAction(resource, "widen", f"listing again after {since:%Y-%m-%d}"), new
    # outlook_mail: a new round with the wider filter
    current = cursor.get("since")
    iso = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    if current is not None and str(current) <= iso:
        return ResourceAction(resource, "unchanged", "the round already reaches back"), None
    new_cursor: Cursor = {"v": GRAPH_CURSOR_VERSION, "since": iso}
    return ResourceAction(resource, "widen", f"new round from {iso}"), new_cursor


def _widen_imap(session: Session, account_id: str, folder: str, cursor: Cursor,
                since: datetime) -> tuple[ResourceAction, Cursor | None]:
    parsed = FolderCursor.from_dict(cursor)
    if parsed is None:
        return ResourceAction(folder, "unchanged", "unreadable cursor: forget it instead"), None
    first_day = since.date().isoformat()
    if parsed.since is not None and parsed.since <= first_day:
        return ResourceAction(folder, "unchanged", f"the window already starts "
                                                   f"{parsed.since}"), None
    below = parsed.backfill_below
    if below is None:  # backfill done: continue it below what is stored
        below = _lowest_stored_uid(session, account_id, folder, parsed.uidvalidity)
        below = parsed.last_uid + 1 if below is None else below
    widened = replace(parsed, since=first_day, backfill_below=below)
    return (ResourceAction(folder, "widen", f"backfill from {first_day} below UID {below}"),
            widened.to_dict())


def _lowest_stored_uid(session: Session, account_id: str, folder: str,
                       uidvalidity: int) -> int | None:
    """The lowest UID of ``folder`` (this UIDVALIDITY) the account has a copy of."""
    prefix = f"{folder}/{uidvalidity}/"
    lowest: int | None = None
    for provider_id in session.scalars(
            select(Source.provider_id).where(Source.account_id == account_id,
                                              Source.provider_id.startswith(prefix,
                                                                            autoescape=True))):
        tail = provider_id[len(prefix):]
        if tail.isdigit():
            uid = int(tail)
            lowest = uid if lowest is None else min(lowest, uid)
    return lowest
