"""`syncd webhooks` on the synced demo (both databases): the stored state per
subscription, and `resume` after a 410 or a pruned position."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from syncd.store import webhook_subscriptions as subscriptions
from syncd.store.database import Database
from tests.fixtures.demo import run
from tests.syncd.webhooks.receiver import new_secret


def test_list_and_resume(demo_config: Path, db_url: str) -> None:
    secret = new_secret()
    data = yaml.safe_load(demo_config.read_text(encoding="utf-8"))
    data["webhooks"] = [
        {"name": "crm", "url": "https://user:pw@crm.example/h?token=t", "secret": secret},
        {"name": "later", "url": "https://crm.example/", "secret": secret, "enabled": False}]
    demo_config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run(demo_config, "sync", "--once").exit_code == 0
    db = Database(db_url)
    try:
        subscriptions.register(db, ["crm"])
        subscriptions.set_state(db, "crm", "disabled", "webhook crm: the receiver answered 410")
        listed = run(demo_config, "webhooks", "--format", "json")
        assert listed.exit_code == 0, listed.output
        doc = json.loads(listed.stdout)
        crm, later = doc["webhooks"]
        assert crm["url"] == "https://crm.example" and crm["state"] == "disabled"
        assert crm["position"] == 0 and crm["lag_events"] == doc["feed_position"] > 0
        assert later["state"] is None and later["enabled"] is False
        table = run(demo_config, "webhooks")
        assert "disabled" in table.stdout and "410" in table.stdout
        for text in (listed.stdout, table.stdout):
            assert secret not in text and "token=t" not in text and "pw@" not in text

        resumed = run(demo_config, "webhooks", "resume", "crm", "--position", "3")
        assert resumed.exit_code == 0, resumed.output
        assert "active, delivering the events after position 3" in resumed.stdout
        row = subscriptions.load(db, "crm")
        assert row is not None and (row.state, row.position, row.last_error) == (
            "active", 3, None)
        assert run(demo_config, "webhooks", "resume", "nope").exit_code == 2
        assert run(demo_config, "webhooks", "resume", "later").exit_code == 1
    finally:
        db.dispose()
