"""What this daemon process knows about each account it schedules, and ``/status``.

Durable facts (last success, last error, counts, lease holder) live in the
store; runtime facts (state, passes, last pass times, next run, backoff)
live in one :class:`AccountRuntime` per scheduled account and die with the
process. :func:`status_document` merges the two into the one JSON shape of
``/status`` and ``syncd status --format json``.

Runtime state machine (:data:`RuntimeState`, moved by
:mod:`syncd.daemon.passes`; OK … FAILED are the pass result's
:class:`syncd.sync.outcome.Verdict`)::

    scheduled (new) / idle / failed / needs_reauth / backing_off / standby
      │ the account's job is due
      ├─ another replica holds the lease (or nobody may yet) ─► standby
      ├─ should_poll false ───────────────────────────────────► needs_reauth
      ├─ store unreachable ───────────────────────────────────► backing_off
      └─► syncing ─┬─ OK / STOPPED ───────────────────────────► idle
                   ├─ BACK_OFF ───────────────────────────────► backing_off
                   ├─ NEEDS_REAUTH ───────────────────────────► needs_reauth
                   └─ FAILED, or the engine raised ───────────► failed

    lease lost while not syncing ─► standby      daemon shut down ─► stopped

``retry_at`` is set when an account backs off (its job moves there) and
cleared by the next pass that ends any other way. ``stopped`` is final:
once the daemon stops, a pass that ends leaves ``stopped`` whatever its
verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from syncd.jsontext import utc_iso
from syncd.logs import redact_value

RuntimeState = Literal["scheduled", "syncing", "idle", "failed", "stopped",
                       "backing_off", "needs_reauth", "standby"]


@dataclass
class AccountRuntime:
    """What this process knows about one account since it started."""

    account_id: str
    provider: str
    state: RuntimeState = "scheduled"
    passes: int = 0
    failed_passes: int = 0
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_duration_s: float | None = None
    last_outcome: str | None = None
    #: mirrors the scheduler job's next run time (refreshed before a pass and for /status)
    next_run_at: datetime | None = None
    #: when this process became responsible for the account (scheduled / lease gained)
    since: datetime | None = None
    last_success_at: datetime | None = None
    #: last committed page or successful pass: what /readyz measures staleness by
    last_progress_at: datetime | None = None
    last_error_code: str | None = None
    #: consecutive transient failures (the backoff's count)
    backoff_failures: int = 0
    #: when a backed-off account is retried (its job was moved there)
    retry_at: datetime | None = None

    def progress_reference(self) -> datetime | None:
        """The latest of ``since``, last success and last progress: lag is measured from it."""
        stamps = [t for t in (self.since, self.last_success_at, self.last_progress_at) if t]
        return max(stamps) if stamps else None

    def to_dict(self, now: datetime | None = None) -> dict[str, object]:
        """The ``daemon`` object of this account in ``/status``; ``lag_s`` needs ``now``."""
        reference = self.progress_reference()
        lag = (None if now is None or reference is None
               else round(max(0.0, (now - reference).total_seconds()), 3))
        return {
            "state": self.state,
            "lag_s": lag,
            "passes": self.passes,
            "failed_passes": self.failed_passes,
            "last_pass_started_at": utc_iso(self.last_started_at),
            "last_pass_finished_at": utc_iso(self.last_finished_at),
            "last_pass_duration_s": (None if self.last_duration_s is None
                                     else round(self.last_duration_s, 3)),
            "last_pass_outcome": self.last_outcome,
            "next_run_at": utc_iso(self.next_run_at),
            "last_success_at": utc_iso(self.last_success_at),
            "last_progress_at": utc_iso(self.last_progress_at),
            "backoff_failures": self.backoff_failures,
            "retry_at": utc_iso(self.retry_at),
        }


def status_document(stored: Iterable[Mapping[str, Any]],
                    runtime: Mapping[str, AccountRuntime] | None = None, *,
                    generated_at: datetime,
                    extra: Mapping[str, object] | None = None) -> dict[str, Any]:
    """One JSON shape for ``/status`` and ``syncd status --format json``.

    ``stored`` are the store's per-account dicts (``AccountStatus.to_dict()``,
    keyed by ``account``); ``runtime`` adds a ``daemon`` object to each
    account this process schedules, and lists scheduled accounts the store
    does not know yet. Secrets are masked in the whole document.
    """
    accounts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in stored:
        item = dict(entry)
        account_id = str(item.get("account", item.get("id", "")))
        seen.add(account_id)
        if runtime is not None and account_id in runtime:
            item["daemon"] = runtime[account_id].to_dict(generated_at)
        accounts.append(item)
    for account_id, rt in (runtime or {}).items():
        if account_id not in seen:  # scheduled but never synced yet
            accounts.append({"account": account_id, "provider": rt.provider,
                             "daemon": rt.to_dict(generated_at)})
    doc: dict[str, Any] = {"generated_at": utc_iso(generated_at)}
    doc.update(extra or {})
    doc["accounts"] = accounts
    # error messages are built without secrets; mask anything that slipped through anyway
    redacted: dict[str, Any] = redact_value(doc)
    return redacted
