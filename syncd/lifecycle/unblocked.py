"""A removed blocklist entry: re-read the affected accounts' windows.

Mail from a blocked address is skipped while its cursor moves on, so
taking the entry out of the blocklist alone would log only new mail. The
blocklists last applied are remembered in the store (an audit row, action
``blocklists.applied``, holding the entries: shared by every replica, no
extra table); when the daemon starts (and on ``syncd resync --unblocked``)
:func:`plan` compares them with the configured ones:

* an entry removed from ``matching.blocklist`` affects every configured
  account; one removed from ``accounts[].blocklist`` affects that account;
* the affected accounts' cursors are forgotten, so their next pass re-reads
  the backfill window; the store's upserts dedupe what was already logged,
  and mail skipped only because of the removed entry is logged now (mail
  still covered by another entry or rule stays skipped).

Added entries need nothing here: the blocklist purge removes what they
cover (:mod:`syncd.lifecycle.purge`). The first start records the
blocklists without re-reading anything. A dry run names the accounts and
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from syncd.config.model import Settings
from syncd.store.audit import ADMIN, Actor, record
from syncd.store.schema import AuditEntry, SyncCursor

ACTION = "blocklists.applied"


@dataclass
class UnblockPlan:
    #: account id -> the removed entries that affect it
    accounts: dict[str, list[str]] = field(default_factory=dict)
    #: whether the configured blocklists differ from the recorded ones
    changed: bool = False
    #: no blocklists were recorded before (first start)
    first: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"accounts": {a: list(e) for a, e in sorted(self.accounts.items())},
                "changed": self.changed, "first": self.first}


def configured(settings: Settings) -> dict[str, Any]:
    return {"global": sorted(settings.matching.blocklist),
            "accounts": {a.id: sorted(a.blocklist) for a in settings.accounts}}


def recorded(session: Session) -> dict[str, Any] | None:
    """The blocklists last applied (None before the first record)."""
    return session.scalar(select(AuditEntry.after).where(AuditEntry.action == ACTION)
                          .order_by(AuditEntry.id.desc()).limit(1))


def plan(session: Session, settings: Settings) -> UnblockPlan:
    now = configured(settings)
    before = recorded(session)
    out = UnblockPlan(changed=before != now, first=before is None)
    if before is None:
        return out
    gone_global = sorted(set(before.get("global", [])) - set(now["global"]))
    old_accounts: dict[str, list[str]] = before.get("accounts", {})
    for account in settings.accounts:
        gone = set(gone_global)
        gone |= set(old_accounts.get(account.id, [])) - set(account.blocklist)
        if gone:
            out.accounts[account.id] = sorted(gone)
    return out


def apply(session: Session, settings: Settings, *, dry_run: bool = False) -> UnblockPlan:
    """Forget the affected accounts' cursors; record the configured blocklists."""
    found = plan(session, settings)
    if dry_run or not found.changed:
        return found
    for account_id in sorted(found.accounts):
        session.execute(delete(SyncCursor).where(SyncCursor.account_id == account_id))
    record(session, Actor(name="syncd", viewer=ADMIN), ACTION, "blocklists", None,
           after=configured(settings))
    return found
