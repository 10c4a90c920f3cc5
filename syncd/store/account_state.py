"""The ``accounts`` rows: one per configured account, the durable half of its state.

The sync engine is the only writer during a pass (:mod:`syncd.sync.engine`);
``syncd auth`` clears ``needs_reauth`` through :func:`credentials_renewed`.
Coverage checks (the daemon's and ``syncd verify``'s) store their result
through :func:`record_coverage_check`, each in its own short transaction.
What the states mean and when they change is decided by the pass's verdict
(:mod:`syncd.sync.outcome`); this module only stores it.

Invariants:

* A row exists for every account that was ever registered or synced, and
  its ``provider``/``owner`` follow the config.
* ``config_hash`` is set only while the account waits for re-authentication
  (the hash of the settings it failed with) and cleared by a success or a
  renewal, so a changed config makes the account pollable again.
* ``items_synced`` only grows; ``last_pass_items`` is the latest pass's.
* ``coverage_checked_at``/``coverage_drift`` describe the latest finished
  coverage check with repair; ``coverage_drift`` is NULL when it was clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncd.store.database import Database
from syncd.store.schema import Account
from syncd.store.types import utcnow


@dataclass(frozen=True, slots=True)
class PassRecord:
    """What the engine stores at the end of a pass."""

    state: str
    success: bool
    items: int
    error: tuple[str, str] | None = None
    #: hash of the settings that failed to authenticate (needs_reauth only)
    config_hash: str | None = None
    retry_after: float | None = None


def ensure_account(s: Session, account_id: str, *, provider: str, owner: str) -> Account:
    """The account's row, created (state ``idle``) if missing, provider/owner kept current."""
    row = s.get(Account, account_id)
    if row is None:
        row = Account(id=account_id, provider=provider, owner=owner, state="idle",
                      items_synced=0, last_pass_items=0, updated_at=utcnow())
        s.add(row)
        s.flush()
    elif (row.provider, row.owner) != (provider, owner):
        row.provider, row.owner = provider, owner
    return row


def awaiting_reauth(s: Session, account_id: str, config_hash: str) -> bool:
    """True while the account needs re-authentication and its settings are unchanged."""
    row = s.get(Account, account_id)
    return row is not None and row.state == "needs_reauth" and row.config_hash == config_hash


def mark_syncing(row: Account) -> None:
    now = utcnow()
    row.state = "syncing"
    row.last_pass_started_at = now
    row.updated_at = now


def credentials_renewed(row: Account) -> None:
    """A human re-authenticated the account: it is polled again."""
    if row.state == "needs_reauth":
        row.state = "idle"
    row.config_hash = None
    row.updated_at = utcnow()


def record_pass(row: Account, outcome: PassRecord) -> None:
    """Store the end of a pass on the account's row."""
    now: datetime = utcnow()
    row.state = outcome.state
    row.items_synced = (row.items_synced or 0) + outcome.items
    row.last_pass_items = outcome.items
    row.updated_at = now
    row.retry_after = outcome.retry_after
    if outcome.success:
        row.last_success_at = now
        row.config_hash = None
    if outcome.error is not None:
        row.last_error_at = now
        row.last_error_code, row.last_error_message = outcome.error
    if outcome.config_hash is not None:
        row.config_hash = outcome.config_hash


@dataclass(frozen=True, slots=True)
class CoverageState:
    """An account's latest finished coverage check, as stored."""

    checked_at: datetime
    #: the drift it left after its repair (missing, vanished, remaining); None: clean
    drift: dict[str, int] | None


def record_coverage_check(db: Database, account_id: str, *, checked_at: datetime,
                          drift: Mapping[str, int] | None) -> bool:
    """Store a finished check of ``account_id``; False if the account has no row yet.

    Its own transaction, one UPDATE: it never holds the row longer than that,
    whatever pass or command runs beside it.
    """
    with db.session() as s:
        result = s.execute(
            update(Account).where(Account.id == account_id)
            .values(coverage_checked_at=checked_at,
                    coverage_drift=dict(drift) if drift is not None else None))
        return bool(getattr(result, "rowcount", 0) == 1)


def coverage_states(db: Database, account_ids: Iterable[str]) -> dict[str, CoverageState]:
    """account id -> its latest stored check; accounts never checked are absent."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    with db.session(write=False) as s:
        rows = s.execute(select(Account.id, Account.coverage_checked_at, Account.coverage_drift)
                         .where(Account.id.in_(wanted), Account.coverage_checked_at.is_not(None)))
        return {account_id: CoverageState(checked_at, _counts(drift))
                for account_id, checked_at, drift in rows}


def _counts(drift: object) -> dict[str, int] | None:
    """The stored drift as counts (None for a clean check or an unreadable value)."""
    if not isinstance(drift, dict):
        return None
    return {key: int(drift.get(key) or 0) for key in ("missing", "vanished", "remaining")}
