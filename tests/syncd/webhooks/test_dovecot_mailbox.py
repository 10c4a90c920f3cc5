"""Webhooks behind a real IMAP sync: the daemon (``syncd run`` as a process) syncs a
5,000-message Dovecot mailbox shaped like a real inbox and pushes every feed event
to a real receiver (signatures verified) exactly once per id, in feed order, on
SQLite and PostgreSQL; every stored interaction arrives as one ``interaction.created``.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.database import Database
from syncd.store.schema import Interaction
from tests.fixtures.dovecot import MailUser
from tests.generate import conversation_mailbox
from tests.syncd.daemon.test_service import DaemonProcess, spawn
from tests.syncd.daemon.test_webhooks_daemon import all_positions, caught_up, wait_until
from tests.syncd.webhooks.receiver import check_order_and_ids, new_secret, receiver

__all__ = ["spawn"]  # the fixture, re-used from the daemon tests

MESSAGES = 5000


def imap_config(tmp_path: Path, db_url: str, user: MailUser, hook: dict[str, Any]) -> Path:
    secret_file = tmp_path / "webhook.secret"
    secret_file.write_text(hook.pop("secret") + "\n", encoding="utf-8")
    data = {
        "state_dir": str(tmp_path / "state"), "store": {"url": db_url},
        "health": {"port": 0}, "logging": {"level": "info", "format": "json"},
        "organization": {"internal_domains": ["ourco.example"]},
        "scheduler": {"lease_ttl": 3},
        "accounts": [{
            "id": "rita-imap", "provider": "imap", "owner": "rita@ourco.example",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password, "folders": ["INBOX"],
            "backfill_days": 36500, "interval": 3600, "jitter": 0, "page_size": 500}],
        "webhooks": [{"secret_file": str(secret_file), "poll_interval_s": 0.1, **hook}],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_5000_message_mailbox_reaches_the_receiver_once_in_order(
        tmp_path: Path, db_url: str, mail_user: MailUser,
        spawn: Callable[[Path], DaemonProcess]) -> None:
    assert mail_user.deliver_many(conversation_mailbox(
        MESSAGES, now=datetime.now(UTC), seed=5)) == MESSAGES
    secret = new_secret()
    with receiver(secret) as rx:
        config = imap_config(tmp_path, db_url, mail_user,
                             {"name": "crm", "url": rx.url("/crm"), "batch_size": 200,
                              "secret": secret})
        daemon = spawn(config)
        base = daemon.wait_for_event("health endpoint listening")["url"]

        wait_until(lambda: caught_up(base, "crm"), 600, "the initial sync and its delivery")
        assert daemon.stop(signal.SIGTERM) == 0

    expected = all_positions(db_url)
    db = Database(db_url)
    try:
        row = subscriptions.load(db, "crm")
        with db.session(write=False) as s:
            stored = set(s.scalars(select(Interaction.id)))
    finally:
        db.dispose()
    assert row is not None and row.position == expected[-1]
    deliveries = rx.on("/crm")
    assert all(d.verified for d in deliveries)
    check_order_and_ids(deliveries, expected)
    assert max(Counter(d.webhook_id for d in deliveries).values()) == 1
    created = Counter(e["entity_id"] for d in deliveries for e in d.payload["events"]
                      if e["type"] == "interaction.created")
    assert len(stored) > MESSAGES * 0.9  # a few lone messages may be skipped, not most
    assert set(created) == stored and set(created.values()) == {1}
