"""Offboarding: erase a departed rep's mailbox (``syncd purge --account ID``).

What goes, in one transaction through :mod:`syncd.store.removal`:

* the account's sources (its copies of every interaction);
* interactions left with no source, with their participants (their open
  reminders closed ``superseded``, ``interaction.deleted`` in the feed);
* the account's cursors, and its ``accounts`` row (with its quarantine
  entries) once the config no longer names it;
* the rep's own open reminders (``owner``), unless another configured
  account has the same owner (the rep is still here through it).

What stays: interactions another account also saw (their other copies),
contacts and companies, and notes and calls people logged (no source).

Removing an account from the config does NOT erase anything (a typo must
not erase history): the daemon logs at start, for every account with
stored data that the config no longer names, that its data remains and
the exact command that erases it (:func:`leftover_accounts`).

A dry run does the real work inside a savepoint and rolls it back, so its
counts are exact. Re-running finds nothing: offboarding is idempotent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from matching import canonical_address
from syncd.store.removal import (
    RemovalCounts,
    close_owner_reminders,
    record_removal,
    remove_account_sources,
    remove_cursors,
)
from syncd.store.schema import Account, Source

REASON = "purged: account offboarded"


@dataclass
class OffboardReport:
    account: str
    dry_run: bool = False
    #: interactions the account had a copy of (before deciding what to remove)
    matched: int = 0
    removed: RemovalCounts = field(default_factory=RemovalCounts)
    cursors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "dry_run": self.dry_run, "matched": self.matched,
                **asdict(self.removed), "cursors": self.cursors}


def known_account(session: Session, account_id: str) -> bool:
    """Whether the store has anything of ``account_id`` (its row or a copy)."""
    if session.get(Account, account_id) is not None:
        return True
    return session.scalar(select(Source.id).where(Source.account_id == account_id)
                          .limit(1)) is not None


def offboard(session: Session, account_id: str, *, configured: Collection[str] = (),
             other_owners: Collection[str] = (), dry_run: bool = False) -> OffboardReport:
    """Erase ``account_id``'s mailbox (see the module doc).

    ``configured``: the account ids the config names (the row of one of
    them is kept); ``other_owners``: the owners of the other configured
    accounts (their reminders stay).
    """
    report = OffboardReport(account=account_id, dry_run=dry_run)
    ids = sorted(set(session.scalars(select(Source.interaction_id)
                                     .where(Source.account_id == account_id))))
    report.matched = len(ids)
    row = session.get(Account, account_id)
    savepoint = session.begin_nested() if dry_run else None
    try:
        report.removed = remove_account_sources(session, account_id, ids, reason=REASON)
        owner = _canonical(row.owner) if row is not None and row.owner else None
        if owner is not None and owner not in {_canonical(o) for o in other_owners}:
            report.removed.reminders += close_owner_reminders(session, owner, reason=REASON)
        report.cursors = remove_cursors(session, account_id)
        if row is not None and account_id not in configured:
            session.execute(delete(Account).where(Account.id == account_id))
        if not report.removed.empty or report.cursors:
            record_removal(session, "offboard", reason=REASON, counts=report.removed,
                           scope={"account": account_id}, extra={"cursors": report.cursors})
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


def leftover_accounts(session: Session, configured: Collection[str]) -> list[tuple[str, int]]:
    """(account id, stored copies) of every account in the store the config no longer names."""
    rows = session.execute(select(Account.id).where(Account.id.not_in(list(configured)))
                           .order_by(Account.id)).scalars().all()
    out: list[tuple[str, int]] = []
    for account_id in rows:
        copies = session.scalar(select(func.count()).select_from(Source)
                                .where(Source.account_id == account_id)) or 0
        out.append((account_id, int(copies)))
    return out


def purge_command_for(account_id: str) -> str:
    """The exact command that erases a leftover account's data."""
    return f"syncd purge --account {account_id}"


def _canonical(address: str) -> str:
    return canonical_address(address) or address.strip().lower()
