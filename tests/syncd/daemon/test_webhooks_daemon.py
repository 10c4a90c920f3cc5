"""Webhooks in the real daemon (``syncd run`` as a process) on the demo config, both
databases: every feed event reaches a real receiver (signatures verified with the
``standardwebhooks`` library) exactly once per id and in order, while a 410 receiver
is disabled and a failing one turns /readyz red by name without slowing the others;
/status and /metrics show per-subscription state and lag; secrets appear nowhere.
Then a SIGKILL mid-delivery and a restart: nothing lost, repeats only under the same id.
"""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.changes import read_changes
from syncd.store.database import Database
from tests.syncd.daemon.test_service import DaemonProcess, get_json, spawn
from tests.syncd.webhooks.receiver import Action, check_order_and_ids, new_secret, receiver

__all__ = ["spawn"]  # the fixture, re-used from the daemon tests


def with_webhooks(config: Path, hooks: list[dict[str, Any]], secret: str) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.pop("api", None)  # no fixed API port: tests run side by side
    data["logging"] = {"level": "info", "format": "json"}
    # PostgreSQL: a killed replica's leases lapse in seconds, not the default minute
    data["scheduler"] = {**data.get("scheduler", {}), "lease_ttl": 3}
    secret_file = config.parent / "webhook.secret"
    secret_file.write_text(secret + "\n", encoding="utf-8")
    data["webhooks"] = [{"secret_file": str(secret_file), "backoff_base": 0.05,
                         "backoff_max": 0.5, "poll_interval_s": 0.1, **h} for h in hooks]
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def all_positions(db_url: str) -> list[int]:
    db = Database(db_url)
    try:
        return [e.position for e in read_changes(db, after=0, limit=100_000).events]
    finally:
        db.dispose()


def webhook(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next((w for w in doc["webhooks"] if w["webhook"] == name), {}))


def caught_up(base: str, name: str) -> bool:
    """/status says an account synced and subscription ``name`` holds the feed's end.

    The worker's figures count only if its last read of the feed began after the
    latest successful pass: a read from before the final page's commit shows lag 0
    while that page's events wait.
    """
    _, doc = get_json(base + "/status")
    worker = webhook(doc, name).get("daemon") or {}
    passes = [a["last_success_at"] for a in doc["accounts"] if a.get("last_success_at")]
    read_at = worker.get("feed_read_at")
    if not passes or not read_at:
        return False
    fresh = datetime.fromisoformat(read_at) > max(datetime.fromisoformat(p) for p in passes)
    return bool(fresh and worker.get("position") and worker.get("lag_events") == 0
                and worker.get("position") == worker.get("feed_position"))


def test_demo_events_reach_the_receiver_once_in_order(
        demo_config: Path, db_url: str, spawn: Callable[[Path], DaemonProcess]) -> None:
    secret = new_secret()

    def script(path: str, _n: int) -> Action:
        answers: dict[str, Action] = {"/gone": "gone", "/stuck": (500, None)}
        return answers.get(path, "ok")

    with receiver(secret, script) as rx:
        config = with_webhooks(demo_config, [
            {"name": "crm", "url": rx.url("/crm"), "batch_size": 5},
            {"name": "meetings", "url": rx.url("/meetings"), "events": ["interaction.*"]},
            {"name": "gone", "url": rx.url("/gone")},
            {"name": "stuck", "url": rx.url("/stuck"), "max_lag_s": 1},
        ], secret)
        daemon = spawn(config)
        base = daemon.wait_for_event("health endpoint listening")["url"]

        wait_until(lambda: caught_up(base, "crm"), 60, "the crm subscription to catch up")
        wait_until(lambda: get_json(base + "/readyz")[0] == 503, 15, "/readyz to turn red")
        _, ready = get_json(base + "/readyz")
        assert [w["webhook"] for w in ready["lagging_webhooks"]] == ["stuck"]
        assert ready["lagging_webhooks"][0]["last_error"] == (
            "webhook stuck: the receiver answered 500")
        assert ready["overdue_accounts"] == []

        _, doc = get_json(base + "/status")
        crm = webhook(doc, "crm")
        assert crm["state"] == "active" and crm["url"].startswith("http://127.0.0.1:")
        # the reminders clock may have recorded an event since: then it is on its way
        assert crm["daemon"]["state"] in ("idle", "delivering")
        caught_up_at = crm["position"]
        gone = webhook(doc, "gone")
        assert gone["state"] == "disabled" and "410 Gone" in gone["last_error"]
        stuck = webhook(doc, "stuck")
        assert stuck["daemon"]["state"] in ("retrying", "delivering")
        assert stuck["daemon"]["lag_events"] > 0 and stuck["daemon"]["failures"] > 0
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        assert 'syncd_webhook_lag_events{subscription="crm"} ' in metrics
        assert 'syncd_webhook_lag_seconds{subscription="crm"} ' in metrics
        assert re.search(r'syncd_webhook_lag_events\{subscription="stuck"\} [1-9]', metrics)
        assert 'syncd_webhook_deliveries_total{outcome="delivered",subscription="crm"}' \
            in metrics
        assert 'syncd_webhook_deliveries_total{outcome="gone",subscription="gone"} 1.0' \
            in metrics
        assert daemon.stop(signal.SIGTERM) == 0

    db = Database(db_url)
    try:
        row = subscriptions.load(db, "crm")
    finally:
        db.dispose()
    assert row is not None and row.position >= caught_up_at > 10
    # everything up to the acknowledged position, exactly once per id, in order
    expected = [p for p in all_positions(db_url) if p <= row.position]
    check_order_and_ids(rx.on("/crm"), expected)
    assert max(Counter(d.webhook_id for d in rx.on("/crm")).values()) == 1
    events = [e for d in rx.on("/meetings") for e in d.payload["events"]]
    assert events and {e["type"].split(".")[0] for e in events} == {"interaction"}
    assert len(rx.on("/gone")) == 1
    logs = "".join(daemon.lines)
    assert "webhook disabled: the receiver answered 410 Gone" in logs
    for text in (logs, json.dumps(doc), metrics):
        assert secret not in text and secret.removeprefix("whsec_") not in text


def test_sigkill_mid_delivery_then_restart_loses_nothing(
        demo_config: Path, db_url: str, spawn: Callable[[Path], DaemonProcess]) -> None:
    secret = new_secret()
    # slow acknowledgements: the kill lands with batches acknowledged, in flight and pending
    with receiver(secret, lambda _p, _n: ("slow", 0.2)) as rx:
        config = with_webhooks(demo_config, [
            {"name": "crm", "url": rx.url("/crm"), "batch_size": 2, "timeout_s": 5},
        ], secret)
        first = spawn(config)
        rx.wait_for(lambda: len(rx.deliveries) >= 4)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        db = Database(db_url)
        try:
            row = subscriptions.load(db, "crm")
            assert row is not None and row.position > 0
            expected = all_positions(db_url)
            assert row.position < expected[-1]  # killed mid-delivery
            second = spawn(config)
            wait_until(lambda: (subscriptions.load(db, "crm") or row).position
                       == all_positions(db_url)[-1], 60, "delivery after the restart")
            assert second.stop(signal.SIGTERM) == 0
        finally:
            db.dispose()
    check_order_and_ids(rx.on("/crm"), all_positions(db_url))


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # same on both
def test_reload_starts_and_stops_subscriptions(
        demo_config: Path, db_url: str, spawn: Callable[[Path], DaemonProcess]) -> None:
    secret = new_secret()
    with receiver(secret) as rx:
        config = with_webhooks(demo_config, [{"name": "crm", "url": rx.url("/crm")}], secret)
        daemon = spawn(config)
        base = daemon.wait_for_event("health endpoint listening")["url"]

        def position(name: str) -> int:
            return int((webhook(get_json(base + "/status")[1], name).get("daemon") or {})
                       .get("position") or 0)

        wait_until(lambda: position("crm") > 0 and position("crm") == all_positions(db_url)[-1],
                   60, "crm to catch up")
        with_webhooks(config, [{"name": "erp", "url": rx.url("/erp"), "batch_size": 3}], secret)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_event("config reloaded")
        wait_until(lambda: position("erp") == all_positions(db_url)[-1], 60, "erp to catch up")
        _, doc = get_json(base + "/status")
        assert [w["webhook"] for w in doc["webhooks"]] == ["erp"]
        assert daemon.stop(signal.SIGTERM) == 0
    expected = all_positions(db_url)
    check_order_and_ids(rx.on("/erp"), expected)
    # crm stopped at the reload: everything up to there, no gap, no repeat
    reached = max(p for d in rx.on("/crm") for p in d.positions)
    check_order_and_ids(rx.on("/crm"), [p for p in expected if p <= reached])
