"""`syncd doctor` end to end: real Dovecot and Radicale, the real CLI, text and JSON."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from syncd.cli import cli
from tests.fixtures.dovecot import MailUser
from tests.fixtures.radicale import RadicaleServer
from tests.fixtures.servers import free_port
from tests.providers.caldav.backend import RadicaleBackend


def _write_config(tmp_path: Path, accounts: list[dict[str, Any]], *,
                  health_port: int) -> Path:
    config = {"state_dir": str(tmp_path / "state"),
              "health": {"host": "127.0.0.1", "port": health_port},
              "organization": {"internal_domains": ["ourco.example"]},
              "accounts": accounts}
    path = tmp_path / "syncd.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _imap(user: MailUser, **overrides: Any) -> dict[str, Any]:
    account: dict[str, Any] = {
        "id": "rita-imap", "provider": "imap", "owner": "rita@ourco.example",
        "host": user.server.host, "port": user.server.tls_port, "security": "tls",
        "ca_file": str(user.server.ca_file), "username": user.name,
        "password": user.password, "connect_timeout": 5}
    account.update(overrides)
    return account


def _caldav(backend: RadicaleBackend, **overrides: Any) -> dict[str, Any]:
    account: dict[str, Any] = {
        "id": "rita-cal", "provider": "caldav", "owner": "rita@ourco.example",
        "url": backend.server.url, "username": backend.user, "password": backend.password,
        "retries": 0}
    account.update(overrides)
    return account


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def _migrate(config: Path) -> None:
    assert _run(config, "migrate").exit_code == 0


@pytest.fixture
def radicale_backend(radicale_server: RadicaleServer) -> Iterator[RadicaleBackend]:
    backend = RadicaleBackend(radicale_server)
    try:
        yield backend
    finally:
        backend.client.close()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_all_good_prints_one_line_per_check_and_exits_0(
        tmp_path: Path, mail_user: MailUser, radicale_backend: RadicaleBackend) -> None:
    config = _write_config(tmp_path, [_imap(mail_user), _caldav(radicale_backend)],
                           health_port=free_port())
    _migrate(config)
    result = _run(config, "doctor")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok      config · config: ")
    assert any(line.startswith("ok      store · store: ") for line in lines)
    for name in ("dns", "tcp", "tls", "login", "folders", "backfill"):
        assert any(line.startswith(f"ok      rita-imap · {name}: ") for line in lines), name
    for name in ("login", "calendars", "window"):
        assert any(line.startswith(f"ok      rita-cal · {name}: ") for line in lines), name
    assert any(line.startswith("ok      health · port: ") for line in lines)
    assert "0 failed" in lines[-1]
    assert mail_user.password not in result.output
    assert radicale_backend.password not in result.output


def test_failures_exit_1_with_fixes_and_json(
        tmp_path: Path, mail_user: MailUser, radicale_backend: RadicaleBackend,
        taken_port: int) -> None:
    accounts = [
        _imap(mail_user, id="no-ca", ca_file=None),
        _imap(mail_user, id="bad-pw", password="wrong-password-123"),
        _imap(mail_user, id="closed", port=free_port()),
        _imap(mail_user, id="nowhere", host="imap.nowhere.invalid"),
        _caldav(radicale_backend, id="cal-bad-pw", password="wrong-dav-pw-456"),
    ]
    config = _write_config(tmp_path, accounts, health_port=taken_port)
    # no migrate: the store does not exist yet
    result = _run(config, "doctor", "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is False
    failed = {(c["scope"], c["name"]): c for c in data["checks"] if c["status"] == "failed"}
    assert set(failed) == {("store", "store"), ("no-ca", "tls"), ("bad-pw", "login"),
                           ("closed", "tcp"), ("nowhere", "dns"), ("cal-bad-pw", "login"),
                           ("health", "port")}
    assert "syncd migrate" in failed["store", "store"]["fix"]
    assert "ca_file" in failed["no-ca", "tls"]["fix"]
    assert "password" in failed["bad-pw", "login"]["fix"]
    assert "health.port" in failed["health", "port"]["fix"]
    assert set(data["checks"][0]) == {"scope", "name", "status", "detail", "fix"}
    assert data["counts"]["failed"] == 7
    assert "wrong-password-123" not in result.output
    assert "wrong-dav-pw-456" not in result.output
    # the account option narrows the run; a good account then only fails on the store
    one = _run(config, "doctor", "--account", "cal-bad-pw")
    assert one.exit_code == 1
    assert "bad-pw · " not in one.stdout.replace("cal-bad-pw · ", "")
    assert "fix: check accounts[cal-bad-pw].username" in one.stdout


def test_store_behind_the_migrations_says_migrate(tmp_path: Path) -> None:
    config = _write_config(tmp_path, [], health_port=free_port())
    _migrate(config)
    assert _run(config, "doctor").exit_code == 0
    from syncd.store.database import Database

    # an older install: the schema as the previous release left it, by its revision
    database = Database(f"sqlite:///{tmp_path / 'state' / 'syncd.db'}")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0008'")
    database.dispose()
    result = _run(config, "doctor", "--format", "json")
    assert result.exit_code == 1
    store = next(c for c in json.loads(result.stdout)["checks"] if c["scope"] == "store")
    assert store["status"] == "failed" and "0008" in store["detail"]
    assert store["fix"] == "run `syncd migrate`"


def test_unknown_account_and_bad_config(tmp_path: Path) -> None:
    config = _write_config(tmp_path, [], health_port=free_port())
    assert _run(config, "doctor", "--account", "nope").exit_code == 2
    config.write_text("accounts: [{id: x, provider: imap}]\nintervall: 3\n", encoding="utf-8")
    result = _run(config, "doctor")
    assert result.exit_code == 2
    assert "intervall" in result.stderr



def test_a_hanging_account_times_out_without_stopping_the_others(
        tmp_path: Path, mail_user: MailUser, taken_port: int) -> None:
    # taken_port listens but never accepts: TCP connects, the TLS handshake hangs
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    accounts = [_imap(mail_user, id="hangs", port=taken_port, connect_timeout=30),
                {"id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
                 "maildirs": [str(maildir)]}]
    config = _write_config(tmp_path, accounts, health_port=free_port())
    _migrate(config)
    result = _run(config, "doctor", "--timeout", "2", "--format", "json")
    assert result.exit_code == 1
    checks = json.loads(result.stdout)["checks"]
    hung = [c for c in checks if c["scope"] == "hangs"]
    assert [(c["name"], c["status"]) for c in hung] == [("probe", "failed")]
    assert "no answer within 2 s" in hung[0]["detail"]
    good = [(c["name"], c["status"]) for c in checks if c["scope"] == "rita-local"]
    assert good == [("maildirs", "ok")]
    assert [c["scope"] for c in checks][-1] == "health"


def test_google_and_graph_stand_ins_missing_scope(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from providers.google.auth import GMAIL_SCOPES
    from tests.providers.google.conftest import SA_EMAIL, endpoints, write_key_file
    from tests.providers.microsoft.conftest import CLIENT_ID, SECRET
    from tests.standins.google import GoogleStandIn
    from tests.standins.graph import GraphStandIn

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with GoogleStandIn() as google, GraphStandIn() as graph:
        google.add_user("rita@ourco.example")
        google.add_service_account(SA_EMAIL, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        graph.register_app(CLIENT_ID, SECRET)
        key_file = write_key_file(tmp_path / "sa.json", key, google)
        accounts = [
            {"id": "rita-gmail", "provider": "gmail", "owner": "rita@ourco.example",
             "auth": {"service_account_file": str(key_file)}, "endpoints": endpoints(google)},
            {"id": "rita-outlook", "provider": "outlook_mail", "owner": "rita@ourco.example",
             "auth": {"tenant_id": graph.tenant, "client_id": CLIENT_ID,
                      "client_secret": SECRET, "login_proxy": graph.url},
             "endpoints": {"graph": graph.graph_url}},
        ]
        config = _write_config(tmp_path, accounts, health_port=free_port())
        _migrate(config)
        good = _run(config, "doctor")
        assert good.exit_code == 0, good.output
        assert "ok      rita-gmail · token: " in good.stdout
        assert "ok      rita-outlook · permission: Mail.Read granted" in good.stdout
        google.oauth.deny_scope(GMAIL_SCOPES[0])
        graph.deny_permission(CLIENT_ID, "Mail.Read")
        result = _run(config, "doctor", "--format", "json")
    assert result.exit_code == 1
    failed = {c["scope"]: c for c in json.loads(result.stdout)["checks"]
              if c["status"] == "failed"}
    assert set(failed) == {"rita-gmail", "rita-outlook"}
    assert "admin.google.com" in failed["rita-gmail"]["fix"]
    assert GMAIL_SCOPES[0] in failed["rita-gmail"]["fix"]
    assert "Mail.Read" in failed["rita-outlook"]["fix"]
    assert "/adminconsent?client_id=" in failed["rita-outlook"]["fix"]
    assert SECRET not in result.output
