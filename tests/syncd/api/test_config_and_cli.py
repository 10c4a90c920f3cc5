"""The ``api:`` config section, ``syncd api`` (serve / token create / openapi) and the
API served beside the daemon by ``syncd run``."""

from __future__ import annotations

import json
import signal
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from syncd.api.app import openapi_text
from syncd.cli import cli
from syncd.config import load_settings
from syncd.config.api import ApiToken, token_sha256
from syncd.errors import ConfigError
from syncd.store.database import Database
from tests.fixtures.servers import free_port, wait_listening
from tests.syncd.api.conftest import Served, api_section, auth, spawn, stop, write_config

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- config


def test_the_api_is_off_without_its_section_and_has_defaults_with_it(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "state_dir: s\n"), env={}).api is None
    api = load_settings(write(tmp_path, "api: {}\n"), env={}).api
    assert api is not None and api.enabled and api.tokens == []
    assert (api.listen, api.host, api.port) == ("127.0.0.1:8090", "127.0.0.1", 8090)
    assert api.sharing.colleagues == "metadata"
    v6 = load_settings(write(tmp_path, "api: {listen: '[::1]:9000'}\n"), env={}).api
    assert v6 is not None and (v6.host, v6.port) == ("::1", 9000)


def test_a_token_file_is_read_and_compared_by_its_digest(tmp_path: Path) -> None:
    (tmp_path / "crm.token").write_text("a-long-enough-token-from-a-file\n")
    api = load_settings(write(tmp_path, """\
        api:
          tokens:
            - {name: crm, token_file: crm.token, viewer: Rita@OurCo.example}
        """), env={}).api
    assert api is not None
    token = api.tokens[0]
    assert token.digest() == token_sha256("a-long-enough-token-from-a-file")
    assert token.viewer == "rita@ourco.example" and token.scopes == ["read"]


def test_bad_api_config_names_every_key_path_and_hides_tokens(tmp_path: Path) -> None:
    (tmp_path / "short.token").write_text("tooshort-secret")
    path = write(tmp_path, """\
        api:
          listen: localhost
          tokens:
            - {name: a, token_sha256: nothex, viewer: rita@ourco.example}
            - {name: b, viewer: nobody, scopes: [read, delete]}
            - {name: c, token_file: short.token, viewer: admin}
            - {name: d, token_sha256: %s, token: a-long-enough-inline-token, viewer: admin}
          sharing: {colleagues: everything}
        """ % ("0" * 64))
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    issues = {i.path: i for i in info.value.issues}
    assert set(issues) >= {"api.listen", "api.tokens[0].token_sha256", "api.tokens[1].viewer",
                           "api.tokens[1].scopes[1]", "api.tokens[1].token_sha256",
                           "api.tokens[2].token", "api.tokens[3].token_sha256",
                           "api.sharing.colleagues"}
    text = str(info.value)
    assert "tooshort-secret" not in text and "a-long-enough-inline-token" not in text
    assert "exactly one of token_sha256 or token_file" in issues[
        "api.tokens[1].token_sha256"].problem
    assert "'metadata'" in issues["api.sharing.colleagues"].fix


def test_check_config_exits_2_on_a_bad_api_section(tmp_path: Path) -> None:
    path = write(tmp_path, "api: {sharing: {colleagues: all}}\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert result.exit_code == 2
    assert "api.sharing.colleagues" in result.stderr and "Traceback" not in result.output


def test_duplicate_token_names_or_tokens_are_refused(tmp_path: Path) -> None:
    digest = token_sha256("x" * 20)
    for tokens in ([{"name": "a", "token_sha256": digest, "viewer": "admin"},
                    {"name": "a", "token_sha256": "1" * 64, "viewer": "admin"}],
                   [{"name": "a", "token_sha256": digest, "viewer": "admin"},
                    {"name": "b", "token_sha256": digest, "viewer": "admin"}]):
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump({"api": {"tokens": tokens}}))
        with pytest.raises(ConfigError) as info:
            load_settings(path, env={})
        assert [i.path for i in info.value.issues] == ["api.tokens"]


def test_shipped_configs_document_the_api(tmp_path: Path) -> None:
    demo = load_settings(REPO / "config" / "demo.yaml", env={}).api
    assert demo is not None and demo.enabled and demo.listen == "127.0.0.1:8090"
    names = {t.name: t for t in demo.tokens}
    assert names["demo-admin"].digest() == token_sha256("demo-only-admin-token")
    assert names["demo-rita"].digest() == token_sha256("demo-only-rita-token")
    example = load_settings(REPO / "config" / "example.yaml", env={}).api
    assert example is not None and not example.enabled  # copying it opens no API


# ---------------------------------------------------------------------- syncd api token create


def test_token_create_prints_a_token_once_and_config_lines_with_its_digest() -> None:
    result = CliRunner().invoke(cli, ["api", "token", "create", "crm", "--viewer",
                                      "rita@ourco.example", "--scope", "read", "--scope",
                                      "write"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    token = lines[1].strip()
    assert len(token) == 64 and result.stdout.count(token) == 1
    snippet = "\n".join(lines[lines.index(next(x for x in lines if "- name:" in x)):])
    entry = yaml.safe_load(snippet)[0]
    model = ApiToken.model_validate(entry)
    assert model.digest() == token_sha256(token)
    assert (model.name, model.viewer, model.scopes) == ("crm", "rita@ourco.example",
                                                       ["read", "write"])
    again = CliRunner().invoke(cli, ["api", "token", "create", "crm", "--viewer", "admin"])
    assert again.exit_code == 0 and token not in again.stdout  # random every time


def test_token_create_refuses_a_bad_viewer() -> None:
    result = CliRunner().invoke(cli, ["api", "token", "create", "crm", "--viewer", "rita"])
    assert result.exit_code == 2 and "--viewer" in result.output


# ---------------------------------------------------------------------- OpenAPI


def test_the_committed_openapi_document_is_the_generated_one() -> None:
    committed = (REPO / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_text(), (
        "docs/openapi.json is stale: run `syncd api openapi --output docs/openapi.json`")
    result = CliRunner().invoke(cli, ["api", "openapi"])
    assert result.exit_code == 0 and result.stdout == committed


def test_the_served_openapi_document_is_the_committed_one(served: Served) -> None:
    served_doc = httpx.get(served.url + "/v1/openapi.json").json()
    committed = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served_doc == committed
    assert served_doc["openapi"] == "3.1.0"
    assert set(served_doc["paths"]) >= {
        "/v1/interactions/{interaction_id}", "/v1/timeline", "/v1/opportunities",
        "/v1/reminders", "/v1/unmatched-addresses", "/v1/accounts"}


# ---------------------------------------------------------------------- serving


def test_syncd_api_without_an_api_section_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "state_dir: s\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "api"])
    assert result.exit_code == 2 and "api" in result.stderr


def test_syncd_api_with_its_port_taken_exits_2_naming_api_listen(tmp_path: Path,
                                                                 database: Database) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, database, api=api_section(listen=f"127.0.0.1:{port}"))
        result = CliRunner().invoke(cli, ["--config", str(config), "api"])
    assert result.exit_code == 2, result.output
    assert "api.listen" in result.stderr and str(port) in result.stderr


def test_syncd_run_serves_the_api_beside_the_daemon_and_stops_cleanly(
        tmp_path: Path, database: Database) -> None:
    (tmp_path / "mail" / "cur").mkdir(parents=True)
    (tmp_path / "mail" / "new").mkdir()
    (tmp_path / "mail" / "tmp").mkdir()
    port = free_port()
    config = write_config(
        tmp_path, database, api=api_section(listen=f"127.0.0.1:{port}"),
        health={"port": 0},
        accounts=[{"id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
                   "interval": 60, "jitter": 0, "maildirs": [str(tmp_path / "mail")]}])
    log = tmp_path / "run.log"
    proc = spawn(config, ["run"], log)
    try:
        wait_listening("syncd run", port, proc, log, timeout=60)
        # the API listens before the daemon has registered its accounts: wait for that
        deadline = time.monotonic() + 30
        while True:
            doc = httpx.get(f"http://127.0.0.1:{port}/v1/accounts", headers=auth("rita")).json()
            if doc["accounts"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [a["account"] for a in doc["accounts"]] == ["rita-local"]
        assert "daemon" in doc["accounts"][0]  # the daemon's own /status document
        assert doc["daemon"]["alive"] in (True, False)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        stop(proc)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/accounts", headers=auth("rita"), timeout=2)
