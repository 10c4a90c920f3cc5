"""What one sync pass of one account came to: counts and ONE verdict.

The verdict is decided here and only here (:func:`verdict_for`), from the
exception that ended the pass (or none). Everything that reacts to a pass
reads it: the engine stores :attr:`Verdict.account_state` in
``accounts.state``, the daemon reschedules from it, ``/status`` shows it
and the metrics count :attr:`PassResult.outcome_label`.

==================  ====================  ===============================
ended by            verdict               what happens next
==================  ====================  ===============================
nothing             ``ok``                next run at the interval
stop requested      ``stopped``           the pass ended after its page
TransientError,     ``backing_off``       rescheduled after the retry
CursorExpired,                            policy's delay; the server's
transient           (floor:               Retry-After is the floor
StoreError          ``retry_after``)
AuthError           ``needs_reauth``      not polled until its config
                                          changes (``syncd auth``)
permanent           ``failed``            retried at its interval; a
StoreError, any                           human should look
other SyncdError,
a bug
==================  ====================  ===============================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncd.errors import AuthError, CursorExpired, StoreError, SyncdError, TransientError


class Verdict(StrEnum):
    """How a pass ended; the value is what ``/status`` and logs show."""

    OK = "ok"
    STOPPED = "stopped"
    BACK_OFF = "backing_off"
    NEEDS_REAUTH = "needs_reauth"
    FAILED = "failed"

    @property
    def succeeded(self) -> bool:
        return self in (Verdict.OK, Verdict.STOPPED)

    @property
    def account_state(self) -> str:
        """The ``accounts.state`` a pass with this verdict leaves behind."""
        return "idle" if self.succeeded else self.value


def verdict_for(exc: BaseException | None, *, stopped: bool = False) -> Verdict:
    """The one mapping from how a pass ended to what it means."""
    if exc is None:
        return Verdict.STOPPED if stopped else Verdict.OK
    if isinstance(exc, AuthError):
        return Verdict.NEEDS_REAUTH
    if isinstance(exc, TransientError | CursorExpired):
        return Verdict.BACK_OFF
    if isinstance(exc, StoreError):
        return Verdict.FAILED if exc.permanent else Verdict.BACK_OFF
    return Verdict.FAILED


def error_code_of(exc: BaseException) -> str:
    return exc.code if isinstance(exc, SyncdError) else "internal"


@dataclass
class PassResult:
    """The outcome of one pass of one account."""

    account_id: str
    verdict: Verdict = Verdict.OK
    items: int = 0
    quarantined: int = 0
    pages: int = 0
    error_code: str | None = None
    error_message: str | None = None
    duration_s: float = 0.0
    #: the server's Retry-After (seconds): the floor of the backoff delay
    retry_after: float | None = None
    created: int = 0
    updated: int = 0
    #: this account's copies reported gone (meetings cancelled by an edit count as updated)
    deleted: int = 0
    #: this account's copies seen again after being reported gone
    restored: int = 0
    skipped: int = 0
    #: thread and meeting interaction ids this pass changed (for reminders)
    touched_threads: set[int] = field(default_factory=set)
    touched_meetings: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.verdict.succeeded

    @property
    def stopped(self) -> bool:
        return self.verdict is Verdict.STOPPED

    @property
    def outcome_label(self) -> str:
        """The ``outcome`` label of ``syncd_passes_total`` for this pass."""
        if self.verdict is Verdict.BACK_OFF:
            return "store" if self.error_code == "store" else "transient"
        if self.verdict is Verdict.NEEDS_REAUTH:
            return "auth"
        return self.verdict.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account_id, "ok": self.ok, "items": self.items,
            "created": self.created, "updated": self.updated,
            "deleted": self.deleted, "restored": self.restored,
            "skipped": self.skipped, "quarantined": self.quarantined, "pages": self.pages,
            "error_code": self.error_code, "error_message": self.error_message,
            "duration_s": round(self.duration_s, 3), "stopped": self.stopped,
        }
