"""Config loading through the real CLI: every error names its key path, exits 2, no traceback.

Also: ``${ENV}`` and ``*_file`` secrets work, secrets never reach the
output, the shipped example and demo configs are valid, and example.yaml
documents every key the models accept.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from pydantic import BaseModel

from syncd.cli import cli
from syncd.config import load_settings
from syncd.config.model import Settings
from syncd.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-Hunter2-value"

LOCAL_ACCOUNT = """
accounts:
  - id: rita-local
    provider: local
    owner: rita@ourco.example
    maildirs: [mail]
"""


def write(tmp_path: Path, text: str, name: str = "syncd.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check(path: Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(path), "check-config"], env=env or {},
                              catch_exceptions=True)


def assert_config_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert result.stdout == ""


def test_valid_config_prints_account_summary(tmp_path: Path) -> None:
    path = write(tmp_path, """
        organization: {internal_domains: [ourco.example]}
        accounts:
          - id: rita-local
            provider: local
            owner: rita@ourco.example
            interval: 120
            privacy: metadata
            maildirs: [mail]
          - id: rita-imap
            provider: imap
            owner: rita@ourco.example
            host: imap.example
            username: rita
            password: ${RITA_PW}
            enabled: false
        """)
    result = check(path, env={"RITA_PW": SECRET})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "configuration OK" in out
    for expected in ("rita-local", "local", "2m", "metadata", "rita-imap", "imap", "5m",
                     "subject", "rita@ourco.example", "ourco.example"):
        assert expected in out
    assert SECRET not in result.output


def test_unknown_key_names_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT + "    intervall: 60\n")
    assert_config_error(check(path), "accounts[0].intervall", "unknown key", str(path))


def test_unknown_key_suggests_the_close_spelling_at_its_level(tmp_path: Path) -> None:
    path = write(tmp_path, """
        loging: {level: info}
        health: {prot: 1}
        accounts:
          - {id: a, provider: imap, owner: x@y.example, host: h, username: u, pasword: x}
          - {id: b, provider: local, owner: x@y.example, maildir: [x]}
        """)
    assert_config_error(check(path), "loging: unknown key — did you mean 'logging'?",
                        "health.prot: unknown key — did you mean 'port'?",
                        "accounts[0].pasword: unknown key — did you mean 'password'?",
                        "accounts[1].maildir: unknown key — did you mean 'maildirs'?")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "storage: {url: x}\n")
    assert_config_error(check(path), "storage: unknown key")


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
        accounts:
          - id: rita-imap
            provider: imap
            owner: rita@ourco.example
            username: rita
        """)
    assert_config_error(check(path), "accounts[0].host", "required key is missing")


def test_bad_enum_value_lists_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "logging: {level: verbose}\n")
    assert_config_error(check(path), "logging.level", "'verbose'", "'debug'", "'error'")


def test_a_deletion_policy_other_than_retain_or_mirror_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "deletions: erase\n")
    assert_config_error(check(path), "deletions", "'erase'", "'retain'", "'mirror'")


def test_unknown_provider(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT.replace("provider: local", "provider: exchange2003"))
    assert_config_error(check(path), "accounts[0].provider", "exchange2003", "imap")


def test_out_of_range_number(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT + "    interval: -5\n")
    assert_config_error(check(path), "accounts[0].interval", "-5")


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "logging: {level: loud}\nhealth: {port: 70000}\nextra: 1\n")
    assert_config_error(check(path), "logging.level", "health.port", "extra: unknown key")


def test_duplicate_account_ids(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT + LOCAL_ACCOUNT.replace("accounts:\n", ""))
    assert_config_error(check(path), "accounts", "'rita-local' is used twice")


def test_missing_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "store: {url: 'postgresql+psycopg://syncd:${DB_PW}@db/crm'}\n")
    assert_config_error(check(path), "store.url", "environment variable DB_PW is not set")


def test_environment_default_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "logging: {level: '${LOG_LEVEL:-warning}'}\n"
                           "organization: {name: '${ORG}'}\n")
    settings = load_settings(path, env={"ORG": "OurCo"})
    assert settings.logging.level == "warning" and settings.organization.name == "OurCo"


def test_secret_file_is_read_and_never_printed(tmp_path: Path) -> None:
    (tmp_path / "imap.pw").write_text(SECRET + "\n")
    path = write(tmp_path, """
        accounts:
          - id: rita-imap
            provider: imap
            owner: rita@ourco.example
            host: imap.example
            username: rita
            password_file: imap.pw
        """)
    account = load_settings(path).accounts[0]
    assert account.password.get_secret_value() == SECRET  # type: ignore[union-attr]
    assert SECRET not in repr(account)
    result = check(path)
    assert result.exit_code == 0 and SECRET not in result.output


def test_secret_file_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, """
        accounts:
          - id: rita-imap
            provider: imap
            owner: rita@ourco.example
            host: imap.example
            username: rita
            password_file: /nonexistent/imap.pw
        """)
    assert_config_error(check(path), "accounts[0].password_file", "cannot read secret file")


def test_secret_and_secret_file_both_given(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET)
    path = write(tmp_path, """
        accounts:
          - id: rita-imap
            provider: imap
            owner: rita@ourco.example
            host: imap.example
            username: rita
            password: other-secret-value
            password_file: pw
        """)
    result = check(path)
    assert_config_error(result, "accounts[0].password_file", "both password and password_file")
    assert "other-secret-value" not in result.output and SECRET not in result.output


def test_invalid_secret_value_is_hidden_in_the_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"privacy: {{token_key: [{SECRET}]}}\n")
    result = check(path)
    assert_config_error(result, "privacy.token_key")
    assert SECRET not in result.output


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "logging:\n  level: info\n   format: json\n")
    assert_config_error(check(path), "YAML syntax error", "line 3")


def test_config_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    assert_config_error(check(path), "(top level)", "must be a mapping")


def test_missing_config_file(tmp_path: Path) -> None:
    assert_config_error(check(tmp_path / "nope.yaml"), "nope.yaml", "cannot read file")


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT, name="elsewhere.yaml")
    result = CliRunner().invoke(cli, ["check-config"], env={"SYNCD_CONFIG": str(path)})
    assert result.exit_code == 0 and "rita-local" in result.stdout


def test_every_command_reports_config_errors_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path, "bogus: 1\n")
    csv = tmp_path / "c.csv"
    csv.write_text("name,domains\n")
    for args in (["migrate"], ["sync", "--once"], ["run"], ["status"],
                 ["timeline", "--company", "acme.example"], ["import", "companies", str(csv)]):
        result = CliRunner().invoke(cli, ["--config", str(path), *args])
        assert_config_error(result, "bogus: unknown key")


def test_state_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, "state_dir: var/state\n")
    settings = load_settings(path)
    assert settings.state_dir == tmp_path.resolve() / "var/state"
    assert settings.store_url == f"sqlite:///{tmp_path.resolve() / 'var/state/syncd.db'}"


def test_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, LOCAL_ACCOUNT + "    privacy: everything\n")
    proc = subprocess.run([sys.executable, "-m", "syncd", "--config", str(path), "check-config"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "accounts[0].privacy" in proc.stderr and "'everything'" in proc.stderr


@pytest.mark.parametrize("name", ["example.yaml", "demo.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    settings = load_settings(REPO / "config" / name, env={})
    assert settings.accounts


def test_load_settings_raises_config_error_with_issues(tmp_path: Path) -> None:
    path = write(tmp_path, "health: {port: -1}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert [i.path for i in info.value.issues] == ["health.port"]


# ---------------------------------------------------------------- example.yaml completeness
def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_classes(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        return [m for arg in typing.get_args(annotation) for m in _model_classes(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _key_paths(model: type[BaseModel], prefix: str) -> set[str]:
    """Every key path the model accepts; ``*`` stands for a user-chosen mapping key."""
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        annotation = field.annotation
        if typing.get_origin(annotation) is dict:  # e.g. rules: {<name>: Rule}
            annotation, path = typing.get_args(annotation)[1], f"{path}.*"
        for sub in _model_classes(annotation):
            paths |= _key_paths(sub, f"{path}.")
    return paths


def _yaml_paths(node: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            paths.add(f"{prefix}{key}")
            paths |= _yaml_paths(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for value in node:
            paths |= _yaml_paths(value, prefix)
    return paths


def test_example_yaml_documents_every_key() -> None:
    example = yaml.safe_load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))
    found = _yaml_paths(example)
    # a secret may be documented through its *_file form
    documented = found | {p.removesuffix("_file") for p in found}
    missing = []
    for wanted in sorted(_key_paths(Settings, "")):
        pattern = re.compile("^" + re.escape(wanted).replace(r"\*", r".+") + "$")
        if not any(pattern.match(p) for p in documented):
            missing.append(wanted)
    assert not missing, f"config/example.yaml does not document: {missing}"


@pytest.mark.parametrize("text", ["", "\n", "# accounts come later\n"])
def test_an_empty_file_is_refused_not_ok(tmp_path: Path, text: str) -> None:
    assert_config_error(check(write(tmp_path, text)), "(top level)", "the file is empty",
                        "config/example.yaml")


def test_a_config_without_accounts_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        organization:
          internal_domains: [ourco.example]
        """)
    assert_config_error(check(path), "accounts: no account is configured", "add a mailbox")


def test_an_api_only_config_without_accounts_is_valid_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        api:
          listen: 127.0.0.1:8090
        """)
    result = check(path)
    assert result.exit_code == 0, result.output
    assert "serves the API only" in result.stderr
