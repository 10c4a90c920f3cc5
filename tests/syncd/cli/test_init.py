"""``syncd init``: a starter config that passes check-config, for every provider."""

from __future__ import annotations

import os
import pty
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncd.cli import cli
from syncd.config.loader import load_settings
from tests.fixtures.demo import DEMO

BASE = ["--no-input", "--organization", "OurCo", "--owner", "Rita@OurCo.example"]
BY_PROVIDER: dict[str, list[str]] = {
    "imap": ["--host", "imap.ourco.example"],
    "caldav": ["--url", "https://dav.ourco.example/rita/"],
    "local": ["--path", str(DEMO / "Maildir"), "--path", str(DEMO / "calendar.ics")],
    "gmail": ["--service-account-file", "/etc/syncd/google.json"],
    "google_calendar": ["--service-account-file", "/etc/syncd/google.json"],
    "outlook_mail": ["--tenant-id", "t-1", "--client-id", "c-1"],
    "outlook_calendar": ["--tenant-id", "t-1", "--client-id", "c-1"],
}


def init(path: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(path), "init", *args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("provider", sorted(BY_PROVIDER))
def test_each_provider_gets_a_config_that_passes_check_config(tmp_path: Path,
                                                              provider: str) -> None:
    path = tmp_path / "syncd.yaml"
    result = init(path, *BASE, "--provider", provider, *BY_PROVIDER[provider])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the token key
    settings = load_settings(path, env={})
    (account,) = settings.accounts
    assert (account.provider, account.owner, account.id) == (
        provider, "rita@ourco.example", f"rita-{provider.replace('_', '-')}")
    assert settings.organization.internal_domains == ["ourco.example"]
    token_key = settings.privacy.token_key
    assert token_key is not None and len(token_key.get_secret_value()) >= 40
    assert token_key.get_secret_value() not in result.output  # written, never printed
    checked = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert checked.exit_code == 0, checked.output


def test_local_paths_are_sorted_into_maildirs_and_calendars_and_sync(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    assert init(path, *BASE, "--provider", "local", *BY_PROVIDER["local"]).exit_code == 0
    account = load_settings(path, env={}).accounts[0].model_dump()
    assert [str(p) for p in account["maildirs"]] == [str(DEMO / "Maildir")]
    assert [str(p) for p in account["calendars"]] == [str(DEMO / "calendar.ics")]
    synced = CliRunner().invoke(cli, ["--config", str(path), "sync", "--once"])
    assert synced.exit_code == 0, synced.output


def test_secrets_are_named_environment_variables_never_asked(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    result = init(path, *BASE, "--provider", "imap", *BY_PROVIDER["imap"])
    assert "${RITA_IMAP_PASSWORD:-}" in path.read_text(encoding="utf-8")
    assert "export RITA_IMAP_PASSWORD=" in result.output
    account = load_settings(path, env={"RITA_IMAP_PASSWORD": "s3cret"}).accounts[0]
    assert account.model_dump()["password"].get_secret_value() == "s3cret"


@pytest.mark.parametrize(("args", "words"), [
    (["--no-input", "--provider", "imap", "--host", "h.example"], "--owner is required"),
    (["--no-input", "--owner", "rita@ourco.example"], "--provider is required"),
    (["--no-input", "--owner", "rita@ourco.example", "--provider", "imap"],
     "--host is required"),
    (["--no-input", "--owner", "not-an-address", "--provider", "imap"], "not an email"),
    (["--no-input", "--owner", "r@ourco.example", "--provider", "caldav", "--url", "dav"],
     "not an http(s) URL"),
    (["--no-input", "--owner", "r@ourco.example", "--provider", "exchange"], "exchange"),
])
def test_a_missing_or_bad_answer_exits_2_naming_its_flag(tmp_path: Path, args: list[str],
                                                         words: str) -> None:
    path = tmp_path / "syncd.yaml"
    result = init(path, *args)
    assert result.exit_code == 2 and words in result.output, result.output
    assert not path.exists()


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "syncd.yaml"
    path.write_text("mine\n", encoding="utf-8")
    args = [*BASE, "--provider", "imap", *BY_PROVIDER["imap"]]
    result = init(path, *args)
    assert result.exit_code == 2 and "--force" in result.output
    assert path.read_text(encoding="utf-8") == "mine\n"
    assert init(path, *args, "--force").exit_code == 0
    assert load_settings(path, env={}).accounts


def test_on_a_terminal_missing_answers_are_asked(tmp_path: Path) -> None:
    """The real command on a pseudo-terminal: prompts, a wrong answer asked again."""
    path = tmp_path / "syncd.yaml"
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    proc = subprocess.Popen([sys.executable, "-m", "syncd", "init", "--output", str(path)],
                            stdin=follower, stdout=follower, stderr=follower, env=env,
                            cwd=tmp_path)
    os.close(follower)
    seen = b""

    def answer_after(prompt: bytes, text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while prompt not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            seen += os.read(leader, 4096)
        seen = seen[seen.index(prompt) + len(prompt):]
        os.write(leader, text.encode() + b"\n")

    try:
        answer_after(b"email address", "rita")                  # not an address: asked again
        answer_after(b"email address", "rita@ourco.example")
        answer_after(b"Organization name", "")                  # the default: Ourco
        answer_after(b"Account kind", "imap")
        answer_after(b"IMAP server host", "imap.ourco.example")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    settings = load_settings(path, env={})
    assert settings.organization.name == "Ourco"
    assert settings.accounts[0].model_dump()["host"] == "imap.ourco.example"
