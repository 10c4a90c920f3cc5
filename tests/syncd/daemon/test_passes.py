"""The daemon reacts to a pass's verdict and never decides it again.

The real :class:`Daemon` (scheduler, backoff, metrics) runs passes of an
engine stand-in that returns scripted :class:`PassResult` values, so each
verdict's consequences are checked on their own: state, ``retry_at``, where
the account's job runs next, and the counters.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.config.model import Account, Settings
from syncd.daemon.passes import Progress
from syncd.daemon.runtime import AccountRuntime
from syncd.daemon.service import Daemon
from syncd.logs import configure_logging
from syncd.sync.outcome import PassResult, Verdict
from tests.syncd.daemon.exposition import has_sample

ACCOUNT = "rita-local"
INTERVAL = 3600


class ScriptedEngine:
    """Answers every pass with ``answer(account)``: a result, or an exception to raise."""

    def __init__(self, answer: Callable[[Account], PassResult]) -> None:
        self._answer = answer

    def should_poll(self, account: Account) -> bool:
        return True

    def register_accounts(self, accounts: Iterable[Account] | None = None) -> None:
        return None

    def sync_account(self, account: Account, *, progress: Progress | None = None,
                     stop: threading.Event | None = None) -> PassResult:
        return self._answer(account)


def settings_for(tmp_path: Path) -> Settings:
    (tmp_path / "mail").mkdir(exist_ok=True)
    return Settings.model_validate({
        "state_dir": str(tmp_path / "state"), "health": {"enabled": False},
        "scheduler": {"workers": 1, "backoff_base": 30, "backoff_max": 60},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": ACCOUNT, "provider": "local", "owner": "rita@ourco.example",
                      "interval": INTERVAL, "jitter": 0, "maildirs": [str(tmp_path / "mail")]}]})


@pytest.fixture
def after_one_pass(tmp_path: Path) -> Iterator[Callable[[Callable[[Account], PassResult]],
                                                         tuple[Daemon, AccountRuntime]]]:
    """Start a daemon whose engine answers with ``answer``; return once one pass ended."""
    started: list[Daemon] = []

    def run(answer: Callable[[Account], PassResult]) -> tuple[Daemon, AccountRuntime]:
        daemon = Daemon(settings_for(tmp_path), ScriptedEngine(answer), enable_reminders=False)
        started.append(daemon)
        daemon.start()
        runtime = daemon.runtime[ACCOUNT]
        deadline = time.monotonic() + 20
        # the state is written last: once it left "syncing" the pass is fully recorded
        while runtime.passes < 1 or runtime.state == "syncing":
            assert time.monotonic() < deadline, runtime.to_dict()
            time.sleep(0.01)
        return daemon, runtime

    yield run
    for daemon in started:
        daemon.shutdown(grace_s=5)


def result(verdict: Verdict, error_code: str | None = None,
           retry_after: float | None = None) -> Callable[[Account], PassResult]:
    return lambda account: PassResult(account_id=account.id, verdict=verdict,
                                      error_code=error_code, retry_after=retry_after,
                                      error_message=error_code and f"{error_code} trouble")


def next_run(daemon: Daemon) -> datetime:
    job = daemon._scheduler.get_job(ACCOUNT)
    assert job is not None
    when: datetime = job.next_run_time
    return when


def test_a_permanent_store_error_fails_the_account_without_backing_off(
        after_one_pass: Callable[[Callable[[Account], PassResult]],
                                 tuple[Daemon, AccountRuntime]]) -> None:
    before = datetime.now(UTC)
    daemon, runtime = after_one_pass(result(Verdict.FAILED, "store"))
    assert runtime.state == "failed"
    assert runtime.last_error_code == "store"
    assert runtime.retry_at is None
    assert runtime.backoff_failures == 0 and daemon.backoff.failures(ACCOUNT) == 0
    # the job was not moved: it runs an interval after the first run
    assert next_run(daemon) >= before + timedelta(seconds=INTERVAL)
    assert runtime.next_run_at == next_run(daemon)
    text = daemon.metrics.render()
    assert has_sample(text, f'syncd_passes_total{{account="{ACCOUNT}",provider="local",'
                            'outcome="failed"} 1')
    assert has_sample(text, f'syncd_errors_total{{account="{ACCOUNT}",provider="local",'
                            'class="store"} 1')
    assert 'outcome="store"' not in text


def test_deletions_and_restored_copies_reach_the_log_line_and_the_metrics(
        after_one_pass: Callable[[Callable[[Account], PassResult]],
                                 tuple[Daemon, AccountRuntime]]) -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    try:
        daemon, runtime = after_one_pass(lambda account: PassResult(
            account_id=account.id, items=5, created=1, updated=2, deleted=3, restored=1))
    finally:
        configure_logging("info", "json", stream=io.StringIO())
    assert runtime.state == "idle"
    entries = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    finished = next(e for e in entries if e["event"] == "pass finished")
    assert {k: finished[k] for k in ("items", "created", "updated", "deleted", "restored")} == {
        "items": 5, "created": 1, "updated": 2, "deleted": 3, "restored": 1}
    text = daemon.metrics.render()
    labels = f'{{account="{ACCOUNT}",provider="local"}}'
    assert has_sample(text, f"syncd_deleted_total{labels} 3")
    assert has_sample(text, f"syncd_restored_total{labels} 1")


def test_back_off_reschedules_after_at_least_retry_after(
        after_one_pass: Callable[[Callable[[Account], PassResult]],
                                 tuple[Daemon, AccountRuntime]]) -> None:
    before = datetime.now(UTC)
    daemon, runtime = after_one_pass(result(Verdict.BACK_OFF, "transient", retry_after=120))
    assert runtime.state == "backing_off"
    assert runtime.retry_at is not None
    assert runtime.retry_at >= before + timedelta(seconds=120)  # the floor, over a 60 s cap
    assert runtime.retry_at < before + timedelta(seconds=INTERVAL)
    assert next_run(daemon) == runtime.retry_at == runtime.next_run_at
    assert runtime.backoff_failures == 1
    text = daemon.metrics.render()
    assert has_sample(text, f'syncd_passes_total{{account="{ACCOUNT}",provider="local",'
                            'outcome="transient"} 1')
    assert has_sample(text, f'syncd_errors_total{{account="{ACCOUNT}",provider="local",'
                            'class="transient"} 1')


def crash(account: Account) -> PassResult:
    raise KeyError("a bug in the engine")


@pytest.mark.parametrize(("answer", "state", "outcome", "error_class"), [
    (result(Verdict.OK), "idle", "ok", None),
    (result(Verdict.STOPPED), "idle", "stopped", None),
    (result(Verdict.NEEDS_REAUTH, "auth"), "needs_reauth", "auth", "auth"),
    (result(Verdict.FAILED, "internal"), "failed", "failed", "internal"),
    (crash, "failed", "failed", "internal"),
], ids=["ok", "stopped", "needs-reauth", "failed", "engine-raised"])
def test_verdicts_other_than_back_off_leave_the_job_at_its_interval(
        after_one_pass: Callable[[Callable[[Account], PassResult]],
                                 tuple[Daemon, AccountRuntime]],
        answer: Callable[[Account], PassResult], state: str, outcome: str,
        error_class: str | None) -> None:
    before = datetime.now(UTC)
    daemon, runtime = after_one_pass(answer)
    assert runtime.state == state
    assert runtime.retry_at is None and daemon.backoff.failures(ACCOUNT) == 0
    assert next_run(daemon) >= before + timedelta(seconds=INTERVAL)
    assert (runtime.last_success_at is not None) == (outcome == "ok")
    assert runtime.last_error_code == error_class
    text = daemon.metrics.render()
    assert has_sample(text, f'syncd_passes_total{{account="{ACCOUNT}",provider="local",'
                            f'outcome="{outcome}"}} 1')
    assert ("syncd_errors_total{" in text) == (error_class is not None)
    if error_class is not None:
        assert has_sample(text, f'syncd_errors_total{{account="{ACCOUNT}",provider="local",'
                                f'class="{error_class}"}} 1')


class SlowToReturn(Daemon):
    """The real daemon, whose account jobs linger a moment after the pass ended."""

    def _run_pass(self, account_id: str) -> None:
        super()._run_pass(account_id)
        time.sleep(0.5)  # the job is still running when its retry comes due


def test_a_retry_due_before_the_backed_off_job_returned_still_runs(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings = settings.model_copy(update={"scheduler": settings.scheduler.model_copy(
        update={"backoff_base": 0.01, "backoff_max": 0.01})})
    answers = iter([Verdict.BACK_OFF, Verdict.OK])
    daemon = SlowToReturn(settings, ScriptedEngine(
        lambda account: result(next(answers, Verdict.OK), "transient")(account)),
        enable_reminders=False)
    daemon.start()
    try:
        runtime = daemon.runtime[ACCOUNT]
        deadline = time.monotonic() + 10  # not an interval (an hour) later
        while runtime.passes < 2 or runtime.state == "syncing":
            assert time.monotonic() < deadline, runtime.to_dict()
            time.sleep(0.01)
        assert runtime.state == "idle" and runtime.retry_at is None
    finally:
        daemon.shutdown(grace_s=5)
