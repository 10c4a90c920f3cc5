"""Fixtures for API tests: a seeded store on SQLite and PostgreSQL, served over real HTTP.

* ``seeded`` (module scope, parametrized ``sqlite`` | ``postgresql``): a
  migrated store with the story of :mod:`tests.syncd.api.seed`, written
  through the real engine once per module and backend.
* ``served``: the real ``syncd api`` command in a subprocess on a free
  port over that store, with the tokens of :data:`TOKENS` (sharing
  ``metadata``); its JSON log lines are readable for log assertions.
* ``serve_app``: the same app factory in-process (uvicorn on a real
  socket) for a given sharing policy or store, e.g. a store that is down.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from syncd.api.app import create_app
from syncd.api.server import ApiServer
from syncd.config.api import token_sha256
from syncd.config.model import Settings
from syncd.store.database import Database
from tests.fixtures.database import _need, _pg_url
from tests.fixtures.servers import free_port, wait_listening
from tests.syncd.api.seed import Seeded, seed

#: token name -> (token, viewer, scopes)
TOKENS: dict[str, tuple[str, str, list[str]]] = {
    "admin": ("admin-token-0123456789abcdef", "admin", ["read", "write"]),
    "rita": ("rita-token-0123456789abcdef", "rita@ourco.example", ["read"]),
    "sam": ("sam-token-0123456789abcdef", "sam@ourco.example", ["read"]),
    "writer": ("writer-token-0123456789abcdef", "rita@ourco.example", ["write"]),
}


def api_section(sharing: str = "metadata", listen: str = "127.0.0.1:0") -> dict[str, Any]:
    return {
        "listen": listen,
        "tokens": [{"name": name, "token_sha256": token_sha256(token), "viewer": viewer,
                    "scopes": scopes} for name, (token, viewer, scopes) in TOKENS.items()],
        "sharing": {"colleagues": sharing},
    }


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response's RFC 9457 problem document, checked to be one with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(doc)
    assert doc["status"] == status
    return doc


@dataclass
class Served:
    url: str
    seeded: Seeded
    log: Path

    def get(self, path: str, token: str | None = "admin", **params: Any) -> httpx.Response:
        headers = auth(token) if token is not None else {}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("api-store") / "syncd.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        try:
            yield seed(db)
        finally:
            db.dispose()
        return
    pg = _need(request.getfixturevalue("_postgres"))
    name = pg.create()
    db = Database(_pg_url(name))
    try:
        db.migrate()
        yield seed(db)
    finally:
        db.dispose()
        pg.drop(name)


def store_url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def write_config(directory: Path, db: Database, *, api: dict[str, Any] | None,
                 **extra: Any) -> Path:
    data: dict[str, Any] = {"state_dir": str(directory / "state"),
                            "store": {"url": store_url(db)},
                            "logging": {"level": "info", "format": "json"},
                            "organization": {"internal_domains": ["ourco.example"]}}
    if api is not None:
        data["api"] = api
    data.update(extra)
    path = directory / "syncd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def spawn(config: Path, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "syncd", "--config", str(config), *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    return int(proc.returncode)


@pytest.fixture(scope="module")
def served(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``syncd api`` in a subprocess over the seeded store."""
    directory = tmp_path_factory.mktemp("api-served")
    port = free_port()
    config = write_config(directory, seeded.db, api=api_section(listen=f"127.0.0.1:{port}"))
    log = directory / "syncd.log"
    proc = spawn(config, ["api"], log)
    try:
        wait_listening("syncd api", port, proc, log, timeout=60)
        yield Served(f"http://127.0.0.1:{port}", seeded, log)
    finally:
        status = stop(proc)
        assert status == 0, log.read_text()


ServeApp = Callable[..., str]


@pytest.fixture
def serve_app() -> Iterator[ServeApp]:
    """``serve_app(database, sharing=..., **create_app_kwargs)`` → base URL of a live server."""
    servers: list[ApiServer] = []

    def start(database: Database, sharing: str = "metadata", **kwargs: Any) -> str:
        settings = Settings.model_validate({"api": api_section(sharing)})
        server = ApiServer(create_app(settings, database, **kwargs), "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server.url

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
