"""Retention (``retention.interactions_days``) on SQLite and PostgreSQL: the store is
filled by the real engine from scripted pages, pruned by the real CLI, by
:func:`prune` in small batches and by the daemon's job."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from providers.base import Address, Message, Page
from syncd.cli import cli
from syncd.config.model import Settings
from syncd.daemon.housekeeping import run_retention
from syncd.lifecycle.retention import prune
from syncd.store.database import Database
from syncd.store.schema import (
    AuditEntry,
    ChangeEvent,
    Interaction,
    Participant,
    Reminder,
    Source,
    Thread,
)
from tests.syncd.sync.test_privacy import REP, SAM, engine_for, mail

ANN = Address("ann@acme.example")
NOW = datetime.now(UTC)


def dated(n: int, days_ago: float, **kw: Any) -> Message:
    return dataclasses.replace(mail(n, **kw), sent_at=NOW - timedelta(days=days_ago, minutes=n))


def seed(database: Database, tmp_path: Path, days: int | None = 100) -> Path:
    """Old (400 days): 1 shared by rita and sam, 2 (awaits a reply), 3; recent: 4, and
    5 replying to the old 3 (their thread keeps its row)."""
    config: dict[str, Any] = {
        "state_dir": str(tmp_path),
        "store": {"url": database.url.render_as_string(hide_password=False)},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"provider": "local", "id": "rita", "owner": REP.email},
                     {"provider": "local", "id": "sam", "owner": SAM.email}],
    }
    if days is not None:
        config["retention"] = {"interactions_days": days}
    settings = Settings.model_validate(config)
    shared = dated(1, 400, sender=ANN, to=(REP, SAM))
    script = {
        "rita": [Page("INBOX", [shared, dated(2, 400, sender=REP, to=(ANN,)),
                                dated(3, 400, subject="Renewal"), dated(4, 1),
                                dated(5, 1, subject="Re: Renewal", in_reply_to="m3@mail.example")],
                      cursor={"n": 1})],
        "sam": [Page("INBOX", [shared], cursor={"n": 1})],
    }
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def counts(database: Database) -> dict[str, int]:
    with database.session(write=False) as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Interaction, Participant, Source, Thread)}


def test_retention_dry_run_then_for_real_through_the_cli(database: Database,
                                                         tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    before = counts(database)
    with database.session(write=False) as s:
        threads_of_old = set(s.scalars(select(Interaction.thread_id).where(
            Interaction.occurred_at < NOW - timedelta(days=100))))
    dry = run(config, "retention", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.stdout)
    assert (counted["interactions"], counted["sources"]) == (3, 4)
    assert counted["threads"] == len(threads_of_old) - 1  # the renewal thread lives on
    assert counts(database) == before

    real = run(config, "retention", "--format", "json")
    assert real.exit_code == 0, real.output
    report = json.loads(real.stdout)
    for name in ("interactions", "participants", "sources", "reminders", "threads"):
        assert report[name] == counted[name], name
    with database.session(write=False) as s:
        left = sorted(str(x) for x in s.scalars(select(Interaction.subject)))
        assert left == ["Re: Renewal", "Subject 4"]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention")).all()
        assert sum(a.after["interactions"] for a in audit if a.after) == 3
        assert s.scalar(select(func.count()).select_from(ChangeEvent).where(
            ChangeEvent.type == "interaction.deleted")) == 3
    assert counts(database)["threads"] == before["threads"] - report["threads"]
    again = run(config, "retention")
    assert again.exit_code == 0 and "pruned 0 interaction(s)" in again.stdout


def test_prune_works_in_bounded_batches_each_committed(database: Database,
                                                       tmp_path: Path) -> None:
    seed(database, tmp_path)
    with database.session() as s:  # a reminder people made about the old renewal
        old = s.scalars(select(Interaction.id).where(Interaction.subject == "Renewal")).one()
        s.add(Reminder(kind="manual", due_at=NOW, rule="manual", idempotency_key="manual:1",
                       owner=REP.email, subject="call back", interaction_id=old))
    report = prune(database, 100, batch=1)
    assert report.batches == 3 and report.removed.interactions == 3
    assert report.removed.reminders >= 1
    with database.session(write=False) as s:
        closed = s.scalars(select(Reminder).where(Reminder.idempotency_key == "manual:1")).one()
        assert (closed.status, closed.reason) == ("superseded", "retention")
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "retention")) == 3


def test_retention_is_off_by_default(database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path, days=None)
    result = run(config, "retention")
    assert result.exit_code == 0 and "retention is off" in result.stdout
    settings = Settings.model_validate(yaml.safe_load(config.read_text()))
    run_retention(database, lambda: settings)  # the daemon's job: nothing to do
    assert counts(database)["interactions"] == 5


def test_the_daemon_job_prunes(database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path, days=100)
    settings = Settings.model_validate(yaml.safe_load(config.read_text()))
    run_retention(database, lambda: settings)
    assert counts(database)["interactions"] == 2
