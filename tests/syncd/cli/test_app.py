"""The command line itself: help on everything, usage errors, entry points.

Store-backed commands (migrate, import, sync, status, timeline) run here on
SQLite and PostgreSQL through the ``db_url`` fixture; the full demo flow is
tests/test_end_to_end.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from syncd.cli import cli

REPO = Path(__file__).resolve().parents[3]


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[
        tuple[tuple[str, ...], click.Command]]:
    out: list[tuple[tuple[str, ...], click.Command]] = [(prefix, group)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out.extend(all_commands(command, (*prefix, name)))
        else:
            out.append(((*prefix, name), command))
    return out


def test_every_command_and_option_has_help_text() -> None:
    commands = all_commands(cli)
    names = {" ".join(path) for path, _ in commands}
    assert {"check-config", "migrate", "import companies", "import contacts", "sync", "run",
            "timeline", "status"} <= names
    for path, command in commands:
        assert command.help and len(command.help) > 40, f"{path}: no real help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert param.help, f"{' '.join(path)} {param.opts}: option without help"


@pytest.mark.parametrize("args", [[], ["check-config"], ["import"], ["import", "contacts"],
                                  ["sync"], ["run"], ["timeline"], ["status"], ["migrate"]])
def test_help_works_without_a_config(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"], env={"SYNCD_CONFIG": str(tmp_path / "x")})
    assert result.exit_code == 0, result.output
    assert "Usage: syncd" in result.stdout


def test_top_level_help_names_the_config_and_exit_statuses() -> None:
    out = CliRunner().invoke(cli, ["--help"]).stdout
    assert "--config" in out and "SYNCD_CONFIG" in out and "syncd.yaml" in out
    assert "Exit status" in out


def local_config(tmp_path: Path, store_url: str | None = None) -> Path:
    (tmp_path / "mail" / "cur").mkdir(parents=True)
    store = f"store: {{url: '{store_url}'}}\n" if store_url else ""
    path = tmp_path / "syncd.yaml"
    path.write_text(store + textwrap.dedent("""
        state_dir: state
        organization: {internal_domains: [ourco.example]}
        accounts:
          - id: rita-local
            provider: local
            owner: rita@ourco.example
            maildirs: [mail]
        """))
    return path


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_sync_without_once_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(local_config(tmp_path), "sync")
    assert result.exit_code == 2 and "--once" in result.stderr and "syncd run" in result.stderr


def test_sync_unknown_account_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(local_config(tmp_path), "sync", "--once", "--account", "nobody")
    assert result.exit_code == 2
    assert "nobody" in result.stderr and "rita-local" in result.stderr


@pytest.mark.parametrize("args", [
    ["timeline"], ["timeline", "--contact", "a@b.example", "--company", "b.example"]])
def test_timeline_needs_exactly_one_target(tmp_path: Path, args: list[str]) -> None:
    result = invoke(local_config(tmp_path), *args)
    assert result.exit_code == 2 and "exactly one of" in result.stderr


def test_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(local_config(tmp_path), "status", "--format", "xml")
    assert result.exit_code == 2 and "'xml' is not one of" in result.stderr


def test_import_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(local_config(tmp_path), "import", "companies", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_console_script() -> None:
    # `python -m syncd` is what the daemon and config tests run; this is the installed script
    script = Path(sys.executable).parent / "syncd"
    if not script.exists():
        pytest.skip("syncd is not pip-installed in this environment (make test installs it)")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and "check-config" in proc.stdout


# ------------------------------------------------------------------ store-backed commands
def test_migrate_then_status_on_an_empty_store(tmp_path: Path, db_url: str) -> None:
    config = local_config(tmp_path, db_url)
    result = invoke(config, "migrate")
    assert result.exit_code == 0, result.output
    assert "latest schema" in result.stdout
    result = invoke(config, "migrate")  # idempotent
    assert result.exit_code == 0, result.output
    result = invoke(config, "status", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["generated_at"].endswith("Z")
    assert isinstance(doc["accounts"], list)


def test_store_password_is_never_printed(tmp_path: Path) -> None:
    config = local_config(tmp_path, "postgresql+psycopg://syncd:Hunter2Secret@127.0.0.1:1/x")
    result = invoke(config, "check-config")
    assert result.exit_code == 0 and "Hunter2Secret" not in result.output
    result = invoke(config, "migrate")  # nothing listens on port 1
    assert result.exit_code == 1, result.output
    assert "Hunter2Secret" not in result.output and "Traceback" not in result.output
    assert result.stderr.startswith("error: ")


def two_accounts(tmp_path: Path) -> Path:
    from tests.generate import make_message

    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    for n in range(3):
        (tmp_path / "mail" / "cur" / f"17900000{n}.M{n}.t:2,S").write_bytes(make_message(n))
    path = tmp_path / "syncd.yaml"
    path.write_text(textwrap.dedent("""
        state_dir: state
        organization: {internal_domains: [ourco.example]}
        accounts:
          - {id: broken, provider: local, owner: rita@ourco.example, maildirs: [missing]}
          - {id: good, provider: local, owner: rita@ourco.example, maildirs: [mail],
             backfill_days: 36500}
        """))
    return path


def summary_rows(stdout: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) > 3:
            rows[cells[0]] = cells
    return rows


def test_sync_once_exits_1_when_an_account_fails_and_still_syncs_the_others(
        tmp_path: Path) -> None:
    config = two_accounts(tmp_path)
    result = invoke(config, "sync", "--once")
    assert result.exit_code == 1, result.output
    rows = summary_rows(result.stdout)
    assert "does not exist" in rows["broken"][2]
    assert rows["good"][2] == "ok" and rows["good"][4] == "3"  # created
    status = json.loads(invoke(config, "status", "--format", "json").stdout)
    by_id = {a["account"]: a for a in status["accounts"]}
    assert by_id["broken"]["last_error"]["code"] == "transient"
    assert "does not exist" in by_id["broken"]["last_error"]["message"]
    assert by_id["good"]["last_error"] is None and by_id["good"]["items_synced"] == 3
    table = invoke(config, "status").stdout
    assert "broken" in table and "transient: " in table

    # one account only: the good one alone succeeds; a second pass creates nothing
    result = invoke(config, "sync", "--once", "--account", "good", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    [good] = doc["accounts"]
    assert good["account"] == "good" and good["ok"] is True and good["error"] is None
    assert good["created"] == 0 and good["provider"] == "local"
    result = invoke(config, "sync", "--once", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    broken = next(a for a in doc["accounts"] if a["account"] == "broken")
    assert broken["ok"] is False and broken["error"].startswith("transient: ")


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    import pty
    import select

    config = two_accounts(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120", "TERM": "xterm"}
    args = [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--once",
            "--account", "good"]
    # a terminal: rich draws a bar per account on stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode("utf-8", "replace"))
    assert "sync summary" in text
    # the bar's label, its completed count out of the total, as rich draws it
    assert re.search(r"good ━+ 3/3", text), text[-2000:]
    # not a terminal: no progress bar, just the summary
    plain = invoke(config, "sync", "--once", "--account", "good")
    assert plain.exit_code == 0 and "sync summary" in plain.stdout
    assert "━" not in plain.stderr and not re.search(r"━ \d+/", plain.stdout)


def test_ctrl_c_during_sync_once_stops_after_the_current_page(tmp_path: Path) -> None:
    import signal
    import threading
    import time

    from tests.generate import make_message

    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    total = 400
    for n in range(total):
        (tmp_path / "mail" / "cur" / f"1790{n:06d}.M{n}.t:2,S").write_bytes(make_message(n))
    config = tmp_path / "syncd.yaml"
    config.write_text(textwrap.dedent("""
        state_dir: state
        organization: {internal_domains: [ourco.example]}
        accounts:
          - {id: rita, provider: local, owner: rita@ourco.example, maildirs: [mail],
             backfill_days: 36500, page_size: 4}
        """))
    assert invoke(config, "migrate").exit_code == 0
    from syncd.config import load_settings
    from syncd.store.database import Database
    from syncd.store.schema import Account, Interaction

    db = Database(load_settings(config).store_url)

    def interrupt_when_syncing() -> None:
        # once a page is committed: a stop asked before the first page ends the pass empty
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.session(write=False) as s:
                row = s.get(Account, "rita")
                if (row is not None and row.state == "syncing"
                        and s.scalar(select(Interaction.id).limit(1)) is not None):
                    os.kill(os.getpid(), signal.SIGINT)
                    return
            time.sleep(0.01)

    watcher = threading.Thread(target=interrupt_when_syncing, daemon=True)
    watcher.start()
    result = invoke(config, "sync", "--once")
    watcher.join(timeout=5)
    assert result.exit_code == 1, result.output
    assert "stopping after the current page" in result.stderr
    row = summary_rows(result.stdout)["rita"]
    assert row[2] == "stopped" and 0 < int(row[4]) < total
    with db.session(write=False) as s:
        account = s.get(Account, "rita")
        assert account is not None and account.state == "idle"  # not stuck in "syncing"
    db.dispose()
    # the next pass does exactly the rest
    result = invoke(config, "sync", "--once")
    assert result.exit_code == 0
    assert int(row[4]) + int(summary_rows(result.stdout)["rita"][4]) == total


def test_run_with_the_health_port_taken_exits_2_naming_health_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = local_config(tmp_path)
        config.write_text(config.read_text() + f"health: {{port: {port}}}\n")
        result = invoke(config, "run")
    assert result.exit_code == 2, result.output
    assert "health.port" in result.stderr and str(port) in result.stderr
    assert "Traceback" not in result.output


def test_check_config_warns_about_missing_local_paths(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    config.write_text(config.read_text().replace("maildirs: [mail]",
                                                 "maildirs: [mail, gone]"))
    result = invoke(config, "check-config")
    assert result.exit_code == 0  # a warning, not an error: a mount may come later
    assert "accounts[0].maildirs[1]" in result.stderr and "gone does not exist" in result.stderr
    assert "maildirs[0]" not in result.stderr


def test_sync_once_counts_deleted_and_restored_copies(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.generate import EventSpec, to_ics

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    spec = EventSpec(uid="weekly@test", title="Weekly", start=start, rrule="FREQ=WEEKLY;COUNT=4",
                     attendees=[("Bob", "bob@acme.example", "ACCEPTED")])
    ics = tmp_path / "work.ics"
    config = tmp_path / "syncd.yaml"
    config.write_text(textwrap.dedent("""
        state_dir: state
        organization: {internal_domains: [ourco.example]}
        accounts:
          - {id: rita-cal, provider: local, owner: rita@ourco.example, calendars: [work.ics]}
        """))

    def sync(count: int, *args: str) -> Result:
        spec.rrule = f"FREQ=WEEKLY;COUNT={count}"
        ics.write_text(to_ics(spec), encoding="utf-8")
        result = invoke(config, "sync", "--once", *args)
        assert result.exit_code == 0, result.output
        return result

    [first] = json.loads(sync(4, "--format", "json").stdout)["accounts"]
    assert (first["created"], first["deleted"], first["restored"]) == (4, 0, 0)
    [cut] = json.loads(sync(2, "--format", "json").stdout)["accounts"]  # two instances leave
    assert (cut["created"], cut["deleted"], cut["restored"]) == (0, 2, 0)
    table = sync(4).stdout  # ... and come back
    assert re.search(r"items\W+created\W+updated\W+deleted\W+restored\W+skipped", table)
    # items (only the instances that came back), created, updated, deleted, restored, skipped
    assert summary_rows(table)["rita-cal"][3:9] == ["2", "0", "0", "0", "2", "0"]
