"""Offboarding a departed rep (``syncd purge --account ID``) on SQLite and PostgreSQL:
the store is filled by the real engine from scripted pages (two reps sharing mail),
then the real CLI erases one mailbox; the daemon's start-up check names leftovers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from structlog.testing import capture_logs

from providers.base import Address, Page
from syncd.cli import cli
from syncd.config.model import Settings
from syncd.daemon.housekeeping import on_start
from syncd.store.database import Database
from syncd.store.schema import (
    Account,
    AuditEntry,
    ChangeEvent,
    Interaction,
    Reminder,
    Source,
    SyncCursor,
)
from tests.syncd.sync.test_privacy import REP, SAM, engine_for, mail

ZED = Address("zed@zeta.example")


def config_of(database: Database, tmp_path: Path, accounts: list[str]) -> dict[str, Any]:
    owners = {"rita": REP.email, "sam": SAM.email}
    return {
        "state_dir": str(tmp_path),
        "store": {"url": database.url.render_as_string(hide_password=False)},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"provider": "local", "id": a, "owner": owners[a]} for a in accounts],
    }


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def seed(database: Database, tmp_path: Path) -> Path:
    """rita and sam both saw mail 1; rita alone mails 2-4 (2 awaits a reply);
    sam alone mail 5. Returns a config where rita is no longer configured."""
    settings = Settings.model_validate(config_of(database, tmp_path, ["rita", "sam"]))
    shared = mail(1, sender=Address("ann@acme.example"), to=(REP, SAM))
    script = {
        "rita": [Page("INBOX", [shared, mail(2, sender=REP, to=(Address("bo@acme.example"),)),
                                mail(3, sender=ZED), mail(4, sender=ZED)],
                      cursor={"n": 1})],
        "sam": [Page("INBOX", [shared, mail(5, sender=ZED, to=(SAM,))], cursor={"n": 1})],
    }
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    return write_config(tmp_path, config_of(database, tmp_path, ["sam"]))


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def scalar(database: Database, stmt: Any) -> Any:
    with database.session(write=False) as s:
        return s.scalar(stmt)


def test_offboarding_dry_run_then_for_real_keeps_what_another_rep_saw(
        database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    assert scalar(database, select(func.count()).select_from(Reminder)
                  .where(Reminder.status == "open", Reminder.owner == REP.email)) >= 1
    dry = run(config, "purge", "--account", "rita", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.stdout)
    assert (counted["matched"], counted["interactions"], counted["sources"]) == (4, 3, 4)
    assert counted["cursors"] == 1 and counted["reminders"] >= 1
    assert scalar(database, select(func.count()).select_from(Source)) == 6  # untouched
    assert scalar(database, select(func.count()).select_from(AuditEntry)) == 0

    real = run(config, "purge", "--account", "rita", "--format", "json")
    assert real.exit_code == 0, real.output
    assert {k: v for k, v in json.loads(real.stdout).items() if k != "dry_run"} == \
        {k: v for k, v in counted.items() if k != "dry_run"}  # the dry run was exact
    with database.session(write=False) as s:
        left = sorted(str(x) for x in s.scalars(select(Interaction.subject)))
        assert left == ["Subject 1", "Subject 5"]
        assert set(s.scalars(select(Source.account_id))) == {"sam"}
        assert s.scalar(select(func.count()).select_from(SyncCursor)
                        .where(SyncCursor.account_id == "rita")) == 0
        assert s.get(Account, "rita") is None and s.get(Account, "sam") is not None
        assert s.scalar(select(func.count()).select_from(Reminder).where(
            Reminder.status == "open", Reminder.owner == REP.email)) == 0
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "offboard")).one()
        assert audit.after is not None and audit.after["account"] == "rita"
        assert audit.after["interactions"] == 3 and audit.after["reason"].startswith("purged")
        erased = [c.state for c in s.scalars(select(ChangeEvent).where(
            ChangeEvent.type == "interaction.deleted"))]
        assert len(erased) == 3 and all(e["erased"] and e["subject"] is None for e in erased)
        assert (s.scalar(select(func.count()).select_from(ChangeEvent).where(
            ChangeEvent.type == "reminder.resolved")) or 0) >= 1
    again = run(config, "purge", "--account", "rita")
    assert again.exit_code == 2 and "no account 'rita' in the store" in again.output


def test_offboarding_refuses_bad_accounts_and_a_configured_one(
        database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    unknown = run(config, "purge", "--account", "nobody")
    assert unknown.exit_code == 2 and "no account 'nobody'" in unknown.output
    live = run(config, "purge", "--account", "sam")
    assert live.exit_code == 2 and "still enabled in the config" in live.output
    assert run(config, "purge").exit_code == 2
    assert scalar(database, select(func.count()).select_from(Source)) == 6


def test_table_output_names_the_shared_interactions_kept(database: Database,
                                                         tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    table = run(config, "purge", "--account", "rita", "--dry-run")
    assert table.exit_code == 0, table.output
    assert "offboard (dry run" in table.stdout
    assert "would remove 3 interaction(s) and 4 copies of account rita; 1 shared" \
        in table.stdout


def test_the_daemon_names_an_account_no_longer_configured_and_the_command(
        database: Database, tmp_path: Path) -> None:
    config = seed(database, tmp_path)
    settings = Settings.model_validate(yaml.safe_load(config.read_text()))
    with capture_logs() as logs:
        on_start(database, settings)
    found = [e for e in logs if e["event"].startswith("account data remains")]
    assert [(e["account"], e["command"], e["stored_copies"]) for e in found] == \
        [("rita", "syncd purge --account rita", 4)]
    assert scalar(database, select(func.count()).select_from(Source)) == 6  # nothing erased
    assert run(config, "purge", "--account", "rita").exit_code == 0
    with capture_logs() as logs:
        on_start(database, settings)
    assert not [e for e in logs if e["event"].startswith("account data remains")]
