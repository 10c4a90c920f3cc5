"""The one verdict of a pass: every way a pass can end maps to exactly one
verdict, and the account state, the metrics label and ``ok`` all follow it."""

from __future__ import annotations

import pytest

from syncd.errors import (
    AuthError,
    BadItem,
    ConfigError,
    CursorExpired,
    StoreError,
    TransientError,
)
from syncd.sync.outcome import PassResult, Verdict, verdict_for


@pytest.mark.parametrize(("ended_by", "verdict", "state", "label"), [
    (None, Verdict.OK, "idle", "ok"),
    (TransientError("HTTP 503"), Verdict.BACK_OFF, "backing_off", "transient"),
    (CursorExpired("INBOX"), Verdict.BACK_OFF, "backing_off", "transient"),
    (StoreError("lost the connection"), Verdict.BACK_OFF, "backing_off", "store"),
    # a store that cannot work until a human acts is not retried on a backoff
    (StoreError("unsupported dialect", permanent=True), Verdict.FAILED, "failed", "failed"),
    (AuthError("invalid_grant"), Verdict.NEEDS_REAUTH, "needs_reauth", "auth"),
    (ConfigError("accounts.0.host: missing"), Verdict.FAILED, "failed", "failed"),
    (BadItem("m1", "no Date header"), Verdict.FAILED, "failed", "failed"),
    (RuntimeError("a bug"), Verdict.FAILED, "failed", "failed"),
])
def test_every_ending_has_one_verdict(ended_by: BaseException | None, verdict: Verdict,
                                      state: str, label: str) -> None:
    result = PassResult(account_id="a", verdict=verdict_for(ended_by))
    if ended_by is not None:
        result.error_code = getattr(ended_by, "code", "internal")
    assert result.verdict is verdict
    assert result.verdict.account_state == state
    assert result.outcome_label == label
    assert result.ok is (ended_by is None)


def test_a_stopped_pass_succeeds_and_says_so() -> None:
    result = PassResult(account_id="a", verdict=verdict_for(None, stopped=True))
    assert result.ok and result.stopped
    assert result.verdict.account_state == "idle"
    assert result.outcome_label == "stopped"
    assert result.to_dict()["stopped"] is True


def test_an_error_wins_over_a_stop() -> None:
    assert verdict_for(TransientError("x"), stopped=True) is Verdict.BACK_OFF
