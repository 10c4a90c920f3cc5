"""`syncd verify` through the installed ``syncd`` script: a real Dovecot mailbox and store
(SQLite and PostgreSQL), drift injected with SQL, JSON and table output, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete

from syncd.store.database import Database
from syncd.store.schema import Account, Source
from tests.fixtures.dovecot import MailUser
from tests.generate import make_message

CUSTOMER = ("Ann Acme", "ann@acme.example")
REP = ("Rita Rep", "rita@ourco.example")


def syncd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "syncd"
    return subprocess.run([str(script), "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def config(database: Database, mail_user: MailUser, tmp_path: Path) -> Path:
    for n in (1, 2, 3):
        mail_user.deliver(make_message(n, sender=CUSTOMER, to=[REP], subject=f"Deal {n}"))
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"),
        "store": {"url": database.url.render_as_string(hide_password=False)},
        "organization": {"internal_domains": ["ourco.example"]},
        "coverage": {"max_repair": 1},
        "accounts": [{
            "id": "rita", "owner": "rita@ourco.example", "provider": "imap",
            "host": mail_user.server.host, "port": mail_user.server.port,
            "security": "plain", "username": mail_user.name, "password": mail_user.password,
            "folders": ["INBOX"], "backfill_days": 36500}]}))
    synced = syncd(path, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    return path


def remove_stored(db: Database, *uids: int) -> None:
    with db.session() as s:
        for uid in uids:
            s.execute(delete(Source).where(Source.provider_id.like(f"INBOX/%/{uid}")))


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_verify_reports_clean_repairs_drift_and_exits_by_what_remains(
        database: Database, config: Path) -> None:
    clean = syncd(config, "verify", "--account", "rita", "--format", "json")
    assert clean.returncode == 0, clean.stderr
    body = report(clean)
    assert body["clean"] and body["account"] == "rita" and body["provider"] == "imap"
    (inbox,) = body["resources"]
    assert {k: inbox[k] for k in ("resource", "present", "stored", "skipped", "missing",
                                  "vanished", "repaired")} == {
        "resource": "INBOX", "present": 3, "stored": 3, "skipped": 0, "missing": 0,
        "vanished": 0, "repaired": 0}

    remove_stored(database, 1, 2)
    looked = syncd(config, "verify", "--account", "rita", "--no-repair", "--format", "json")
    assert looked.returncode == 1  # drift, and nothing repaired
    assert (report(looked)["missing"], report(looked)["repaired"]) == (2, 0)

    partly = syncd(config, "verify", "--account", "rita")  # max_repair 1: one remains
    assert partly.returncode == 1, partly.stderr
    assert "INBOX" in partly.stdout and "drift remains: 1 item(s)" in partly.stdout

    fixed = syncd(config, "verify", "--account", "rita")
    assert fixed.returncode == 0, fixed.stderr
    assert "repaired 1" in fixed.stdout


def test_verify_unknown_account_exits_2(config: Path) -> None:
    proc = syncd(config, "verify", "--account", "nobody")
    assert proc.returncode == 2
    assert "no account 'nobody'" in proc.stderr and "rita" in proc.stderr


def test_bad_coverage_setting_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"),
                                    "coverage": {"interval_hours": 0}}))
    proc = syncd(path, "check-config")
    assert proc.returncode == 2
    assert "coverage.interval_hours" in proc.stderr


def test_verify_before_the_first_pass_has_nothing_to_compare(tmp_path: Path) -> None:
    (tmp_path / "mail" / "cur").mkdir(parents=True)
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"),
        "accounts": [{"id": "files", "provider": "local", "owner": "rita@ourco.example",
                      "maildirs": [str(tmp_path / "mail")]}]}))
    proc = syncd(path, "verify", "--account", "files", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert report(proc)["supported"] is True and report(proc)["resources"] == []
    table = syncd(path, "verify", "--account", "files")
    assert table.returncode == 0 and "nothing synced yet" in table.stdout


def stored_check(db: Database) -> tuple[datetime | None, dict[str, Any] | None]:
    with db.session(write=False) as s:
        row = s.get(Account, "rita")
        assert row is not None
        return row.coverage_checked_at, row.coverage_drift


def test_verify_with_repair_records_the_check_for_the_daemon(
        database: Database, config: Path) -> None:
    remove_stored(database, 1, 2)
    looked = syncd(config, "verify", "--account", "rita", "--no-repair")
    assert looked.returncode == 1
    assert stored_check(database) == (None, None)  # a look without repair records nothing

    started = datetime.now(UTC)
    partly = syncd(config, "verify", "--account", "rita")  # max_repair 1: one remains
    assert partly.returncode == 1, partly.stderr
    checked, drift = stored_check(database)
    assert checked is not None and checked >= started
    assert drift == {"missing": 2, "vanished": 0, "remaining": 1}

    fixed = syncd(config, "verify", "--account", "rita")
    assert fixed.returncode == 0, fixed.stderr
    later, drift = stored_check(database)
    assert later is not None and later >= checked and drift is None
