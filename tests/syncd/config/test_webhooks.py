"""The ``webhooks`` key: defaults, ``secret_file``, event patterns, and bad entries
refused with exit 2 naming the key path and the fix, the secret never shown."""

from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from syncd.cli import cli
from syncd.config import load_settings
from syncd.config.webhooks import WebhookSettings

SECRET = "whsec_" + base64.b64encode(b"never-logged-webhook-key-32bytes").decode()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check(path: Path) -> Result:
    return CliRunner().invoke(cli, ["--config", str(path), "check-config"], env={},
                              catch_exceptions=True)


def test_secret_file_defaults_and_patterns(tmp_path: Path) -> None:
    (tmp_path / "hook.secret").write_text(SECRET + "\n", encoding="utf-8")
    os.chmod(tmp_path / "hook.secret", 0o600)
    settings = load_settings(write(tmp_path, """
        webhooks:
          - name: crm
            url: https://crm.example/hooks/syncd?token=abc
            secret_file: hook.secret
            events: [interaction.*, reminder.opened]
          - name: all
            url: http://127.0.0.1:9000/
            secret: THE_SECRET
            enabled: false
    """.replace("THE_SECRET", SECRET)))
    crm, everything = settings.webhooks
    assert crm.secret.get_secret_value() == SECRET and SECRET not in repr(settings)
    assert (crm.batch_size, crm.timeout_s, crm.max_lag_s, crm.enabled) == (100, 10, 600, True)
    assert crm.matches("interaction.created") and crm.matches("reminder.opened")
    assert not crm.matches("reminder.resolved") and not crm.matches("interactions.x")
    assert everything.events == ["*"] and everything.matches("company.updated")
    assert not everything.enabled


def test_bad_entries_exit_2_with_key_paths_and_no_secret(tmp_path: Path) -> None:
    result = check(write(tmp_path, """
        webhooks:
          - name: CRM hooks
            url: ftp://crm.example/x
            secret: whsec_dG9vLXNob3J0
            events: ["interaction created"]
            batch_size: 0
            timout_s: 3
          - name: other
            url: https://crm.example/
    """))
    assert result.exit_code == 2, result.output
    out = result.output
    assert "webhooks[0].name: use 1-64 lowercase letters" in out
    assert "webhooks[0].url: must be an http:// or https:// URL with a host" in out
    assert "webhooks[0].secret: is too short (9 bytes); use at least 24 random bytes" in out
    assert "webhooks[0].events: event 'interaction created' is not a type" in out
    assert "webhooks[0].batch_size:" in out
    assert "webhooks[0].timout_s: unknown key — did you mean 'timeout_s'?" in out
    assert "webhooks[1].secret: required key is missing" in out
    assert "dG9vLXNob3J0" not in out and "Traceback" not in out


def test_names_must_be_unique_and_secrets_are_base64(tmp_path: Path) -> None:
    result = check(write(tmp_path, f"""
        webhooks:
          - {{name: crm, url: "https://a.example/", secret: {SECRET}}}
          - {{name: crm, url: "https://b.example/", secret: {SECRET}}}
    """))
    assert result.exit_code == 2
    assert "webhook name 'crm' is used twice; names must be unique" in result.output
    result = check(write(tmp_path, """
        webhooks:
          - {name: crm, url: "https://a.example/", secret: "not base64 at all!!"}
    """))
    assert result.exit_code == 2
    assert "webhooks[0].secret: must start with 'whsec_'" in result.output
    assert "not base64 at all" not in result.output


def test_check_config_never_prints_the_secret(tmp_path: Path) -> None:
    result = check(write(tmp_path, f"""
        accounts:
          - {{id: rita-local, provider: local, owner: rita@ourco.example, maildirs: [mail]}}
        webhooks:
          - {{name: crm, url: "https://a.example/", secret: {SECRET}}}
    """))
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    model = WebhookSettings.model_validate({"name": "x", "url": "http://h/", "secret": SECRET})
    assert SECRET not in str(model.model_dump())


def test_check_config_lists_webhooks_by_their_receivers_origin(tmp_path: Path) -> None:
    result = check(write(tmp_path, f"""
        accounts:
          - {{id: rita-local, provider: local, owner: rita@ourco.example, maildirs: [mail]}}
        webhooks:
          - name: crm
            url: "https://hook:pw@crm.example:8443/in/t0ken-in-path?key=q5"
            secret: {SECRET}
            events: ["interaction.*", reminder.opened]
    """))
    assert result.exit_code == 0, result.output
    assert "1 webhook(s)" in result.stdout and "https://crm.example:8443" in result.stdout
    assert "interaction.*, reminder.opened" in result.stdout
    for secret in ("t0ken-in-path", "q5", "pw", SECRET):
        assert secret not in result.output
