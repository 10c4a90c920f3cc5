"""``syncd resync`` through the real CLI and real providers (local Maildir files, the
Dovecot IMAP fixture), passes run by the real engine, on SQLite and PostgreSQL; and
a removed blocklist entry re-reading the affected account (scripted provider)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from providers.base import Address, Page
from syncd.cli import cli
from syncd.config.model import Settings
from syncd.daemon.housekeeping import on_start
from syncd.store.database import Database
from syncd.store.schema import AuditEntry, Interaction, Source, SyncCursor
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.generate import make_message
from tests.syncd.sync.test_privacy import REP, SAM, engine_for, mail

NOW = datetime.now(UTC)
ADA = ("Ada", "ada@acme.example")


def write(tmp_path: Path, database: Database, accounts: list[dict[str, Any]],
          **top: Any) -> tuple[Path, Settings]:
    config = {"state_dir": str(tmp_path),
              "store": {"url": database.url.render_as_string(hide_password=False)},
              "organization": {"internal_domains": ["ourco.example"]},
              "accounts": accounts, **top}
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, Settings.model_validate(config)


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def count(database: Database, model: Any) -> int:
    with database.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def cursors(database: Database) -> dict[str, dict[str, Any]]:
    with database.session(write=False) as s:
        return {r: dict(c) for r, c in s.execute(select(SyncCursor.resource, SyncCursor.cursor))}


# ---------------------------------------------------------------------- local files


def maildir_with_old_and_new(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n, days in ((1, 60), (2, 10)):
        raw = make_message(n, sender=ADA, to=[("Rita", REP.email)],
                           when=NOW - timedelta(days=days))
        (root / "cur" / f"{n}.local:2,S").write_bytes(raw)
    return root


def test_forgetting_local_cursors_rereads_a_wider_configured_window_without_duplicates(
        database: Database, tmp_path: Path) -> None:
    maildir = maildir_with_old_and_new(tmp_path / "Maildir")
    account = {"provider": "local", "id": "files", "owner": REP.email,
               "maildirs": [str(maildir)], "backfill_days": 30}
    _, settings = write(tmp_path, database, [account])
    assert SyncEngine(database, settings).sync_account(settings.accounts[0]).items == 1
    # the rep raises backfill_days: the old message was remembered as seen
    config, wider = write(tmp_path, database, [{**account, "backfill_days": 90}])
    assert SyncEngine(database, wider).sync_account(wider.accounts[0]).items == 0

    refused = run(config, "resync", "--account", "files", "--backfill-days", "120")
    assert refused.exit_code == 2 and "raise backfill_days" in refused.output
    dry = run(config, "resync", "--account", "files", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert [r["action"] for r in json.loads(dry.stdout)["resources"]] == ["forget"]
    assert len(cursors(database)) == 1
    real = run(config, "resync", "--account", "files")
    assert real.exit_code == 0 and "forget" in real.stdout
    assert cursors(database) == {}
    assert SyncEngine(database, wider).sync_account(wider.accounts[0]).ok
    assert count(database, Interaction) == 2 and count(database, Source) == 2
    with database.session(write=False) as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["resync"]


def test_bad_accounts_resources_and_conflicting_flags_exit_2(database: Database,
                                                             tmp_path: Path) -> None:
    maildir = maildir_with_old_and_new(tmp_path / "Maildir")
    config, settings = write(tmp_path, database, [
        {"provider": "local", "id": "files", "owner": REP.email, "maildirs": [str(maildir)]}])
    assert SyncEngine(database, settings).sync_account(settings.accounts[0]).ok
    cases = {
        ("resync",): "give --account",
        ("resync", "--account", "nobody"): "no account 'nobody'",
        ("resync", "--account", "files", "--resource", "nope"): "no cursor for resource",
        ("resync", "--unblocked", "--account", "files"): "--unblocked takes no",
        ("resync", "--account", "files", "--backfill-days", "0"): "0",
    }
    for args, message in cases.items():
        result = run(config, *args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert len(cursors(database)) == 1


# ---------------------------------------------------------------------- IMAP (Dovecot)


def test_imap_backfill_widens_below_what_is_stored_without_rereading_it(
        database: Database, tmp_path: Path, mail_user: MailUser) -> None:
    mail_user.deliver(make_message(1, sender=ADA, when=NOW - timedelta(days=60)))
    mail_user.deliver(make_message(2, sender=ADA, when=NOW - timedelta(days=10)))
    account = {"provider": "imap", "id": "imap", "owner": REP.email,
               "host": mail_user.server.host, "port": mail_user.server.port,
               "security": "plain", "username": mail_user.name,
               "password": mail_user.password, "folders": ["INBOX"], "backfill_days": 30}
    config, settings = write(tmp_path, database, [account])
    engine = SyncEngine(database, settings, fetch_process="never")
    assert engine.sync_account(settings.accounts[0]).items == 1
    before = cursors(database)["INBOX"]
    assert before["backfill_below"] is None

    dry = run(config, "resync", "--account", "imap", "--backfill-days", "90", "--dry-run",
              "--format", "json")
    assert dry.exit_code == 0, dry.output
    [planned] = json.loads(dry.stdout)["resources"]
    assert planned["action"] == "widen" and "below UID 2" in planned["detail"]
    assert cursors(database)["INBOX"] == before

    assert run(config, "resync", "--account", "imap", "--backfill-days", "90").exit_code == 0
    widened = cursors(database)["INBOX"]
    assert widened["backfill_below"] == 2 and widened["since"] < before["since"]
    result = engine.sync_account(settings.accounts[0])
    assert result.items == 1, result.to_dict()  # only the older message: UID 2 not re-read
    assert count(database, Interaction) == 2
    assert engine.sync_account(settings.accounts[0]).items == 0
    same = run(config, "resync", "--account", "imap", "--backfill-days", "60",
               "--format", "json")
    assert json.loads(same.stdout)["resources"][0]["action"] == "unchanged"


def test_imap_forgetting_the_cursor_rereads_without_duplicates(
        database: Database, tmp_path: Path, mail_user: MailUser) -> None:
    for n in (1, 2, 3):
        mail_user.deliver(make_message(n, sender=ADA, when=NOW - timedelta(days=n)))
    account = {"provider": "imap", "id": "imap", "owner": REP.email,
               "host": mail_user.server.host, "port": mail_user.server.port,
               "security": "plain", "username": mail_user.name,
               "password": mail_user.password, "folders": ["INBOX"]}
    config, settings = write(tmp_path, database, [account])
    engine = SyncEngine(database, settings, fetch_process="never")
    assert engine.sync_account(settings.accounts[0]).items == 3
    result = run(config, "resync", "--account", "imap", "--resource", "INBOX")
    assert result.exit_code == 0, result.output
    assert engine.sync_account(settings.accounts[0]).items == 3  # read again
    assert count(database, Interaction) == 3 and count(database, Source) == 3


# ---------------------------------------------------------------------- blocklist removed


def test_a_removed_blocklist_entry_rereads_the_affected_accounts_only(
        database: Database, tmp_path: Path) -> None:
    zed = Address("zed@zeta.example")
    accounts: list[dict[str, Any]] = [{"provider": "local", "id": "rita", "owner": REP.email,
                 "blocklist": ["zeta.example"]},
                {"provider": "local", "id": "sam", "owner": SAM.email}]
    config, blocked = write(tmp_path, database, accounts)
    script = {"rita": [Page("INBOX", [mail(1, sender=zed), mail(2)], cursor={"n": 1})],
              "sam": [Page("INBOX", [mail(3, to=(SAM,))], cursor={"n": 1})]}
    engine = engine_for(database, blocked, script)
    assert all(engine.sync_account(a).ok for a in blocked.accounts)
    on_start(database, blocked)  # the first start records the blocklists
    assert count(database, Interaction) == 2 and count(database, SyncCursor) == 2

    config, unblocked = write(tmp_path, database, [{**accounts[0], "blocklist": []},
                                                   accounts[1]])
    dry = run(config, "resync", "--unblocked", "--dry-run")
    assert dry.exit_code == 0 and "rita would re-read its window" in dry.stdout
    assert "sam" not in dry.stdout
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(SyncCursor)) == 2
    on_start(database, unblocked)  # the next start: rita's cursor is forgotten
    with database.session(write=False) as s:
        assert set(s.scalars(select(SyncCursor.account_id))) == {"sam"}
    engine = engine_for(database, unblocked, script)
    assert engine.sync_account(unblocked.accounts[0]).ok
    with database.session(write=False) as s:
        assert sorted(str(x) for x in s.scalars(select(Interaction.subject))) == \
            ["Subject 1", "Subject 2", "Subject 3"]
    assert count(database, Source) == 3
    again = run(config, "resync", "--unblocked", "--dry-run")
    assert "nothing to re-read" in again.stdout
