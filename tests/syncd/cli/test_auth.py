"""``syncd auth``: the real CLI signs a person in against the Graph stand-in."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from syncd.cli import cli
from tests.generate import make_message
from tests.standins.graph import GraphStandIn

PUBLIC_CLIENT = "99999999-aaaa-bbbb-cccc-dddddddddddd"
MAILBOX = "rita@ourco.example"


@pytest.fixture
def standin() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        server.register_app(PUBLIC_CLIENT)
        yield server


def write_config(tmp_path: Path, standin: GraphStandIn, *, method: str = "delegated") -> Path:
    auth: dict[str, Any] = {"method": method, "tenant_id": standin.tenant,
                            "client_id": PUBLIC_CLIENT, "login_proxy": standin.url}
    if method == "app":
        auth["client_secret"] = "never-printed"
    config = {
        "state_dir": str(tmp_path / "state"),
        "organization": {"internal_domains": ["ourco.example"]},
        "privacy": {"token_key": "a-long-random-token-key"},
        "health": {"enabled": False},
        "accounts": [
            {"id": "rita-mail", "provider": "outlook_mail", "owner": MAILBOX, "auth": auth,
             "endpoints": {"graph": standin.graph_url}, "folders": ["inbox"],
             "backfill_days": 0},
            {"id": "files", "provider": "local", "owner": MAILBOX,
             "maildirs": [str(tmp_path / "Maildir")]},
        ],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def account_state(config: Path, account_id: str) -> str:
    result = run(config, "status", "--format", "json")
    doc = json.loads(result.stdout)
    rows = doc["accounts"] if isinstance(doc, dict) else doc
    (row,) = [r for r in rows if r["account"] == account_id or r.get("id") == account_id]
    return str(row["state"])


def approve_device_codes(standin: GraphStandIn, stop: threading.Event) -> None:
    """The person at the browser: approves each device code as it is issued."""
    while not stop.wait(0.05):
        for dev in list(standin.identity.devices.values()):
            if dev.state == "pending":
                standin.identity.approve_device_code(dev.user_code, MAILBOX)


def test_device_code_sign_in_clears_needs_reauth(standin: GraphStandIn, tmp_path: Path) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1, sender=("Bob", "bob@acme.example")))
    config = write_config(tmp_path, standin)

    first = run(config, "sync", "--once", "--account", "rita-mail")
    assert first.exit_code == 1
    assert account_state(config, "rita-mail") == "needs_reauth"

    stop = threading.Event()
    human = threading.Thread(target=approve_device_codes, args=(standin, stop), daemon=True)
    human.start()
    try:
        signed_in = run(config, "auth", "microsoft", "--account", "rita-mail")
    finally:
        stop.set()
        human.join()
    assert signed_in.exit_code == 0, signed_in.output
    assert "https://microsoft.com/devicelogin" in signed_in.stdout
    assert f"signed in as {MAILBOX}" in signed_in.stdout
    assert account_state(config, "rita-mail") == "idle"
    assert not any(tok in signed_in.output for tok in standin.identity.issued)
    tokens = list((tmp_path / "state" / "tokens").iterdir())
    assert tokens and all(b"RefreshToken" not in t.read_bytes() for t in tokens)

    again = run(config, "sync", "--once", "--account", "rita-mail")
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(("args", "where"), [
    (["auth", "microsoft", "--account", "nobody"], "--account"),
    (["auth", "microsoft", "--account", "files"], "accounts[1].provider"),
    (["auth", "google", "--account", "rita-mail"], "accounts[0].provider"),
])
def test_wrong_account_is_a_usage_error(standin: GraphStandIn, tmp_path: Path,
                                        args: list[str], where: str) -> None:
    result = run(write_config(tmp_path, standin), *args)
    assert result.exit_code == 2
    assert where in result.stderr and "Traceback" not in result.output


def test_app_only_account_needs_no_sign_in(standin: GraphStandIn, tmp_path: Path) -> None:
    result = run(write_config(tmp_path, standin, method="app"),
                 "auth", "microsoft", "--account", "rita-mail")
    assert result.exit_code == 2
    assert "accounts[0].auth.method" in result.stderr
    assert "never-printed" not in result.output
