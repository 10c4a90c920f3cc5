"""``syncd doctor``: what a newcomer gets wrong, checked one line at a time.

The config was loaded before this runs (an invalid one never gets here:
the command line reports it and exits 2). Then, each check a
:class:`~providers.netprobe.Check` (ok, warning or failed plus the fix):

* the store: reachable, and migrated to the schema this code expects
  (Alembic's current revision against the migrations' head);
* each account, through its provider's own probe
  (``providers/<kind>/probe.py``: DNS, TCP, TLS, login or token and
  scopes, what it will sync, how much the backfill window covers, the
  private marker). Accounts are probed in parallel threads, each bounded
  by a timeout; an account whose probe hangs or crashes is one failed line
  and never stops the others;
* the health port: free to bind (or already served by a running syncd).

Nothing is written: a SQLite store that does not exist yet is reported,
not created. Details and fixes pass through :func:`syncd.logs.redact_text`.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from sqlalchemy.engine import make_url

from providers.base import ProviderContext, TokenVault
from providers.netprobe import Check, failed, ok, warning
from syncd.config import Settings
from syncd.config.model import Account
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger, redact_text

log = get_logger("syncd.doctor")

#: seconds one account's probes may take in all before it is reported as hanging
DEFAULT_TIMEOUT = 60.0

#: provider kind → the module holding its ``probe(account, context)``
PROBES = {
    "local": "providers.local.probe",
    "imap": "providers.imap.probe",
    "caldav": "providers.caldav.probe",
    "gmail": "providers.google.probe",
    "google_calendar": "providers.google.probe",
    "outlook_mail": "providers.microsoft.probe",
    "outlook_calendar": "providers.microsoft.probe",
}


class _ProbeModule(Protocol):
    def probe(self, account: Account, context: ProviderContext) -> list[Check]: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """A check and what it is about: ``config``, ``store``, ``health`` or an account id."""

    scope: str
    check: Check

    def to_dict(self) -> dict[str, str]:
        return {"scope": self.scope, **self.check.to_dict()}


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.check.failed for f in self.findings)

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "warning": 0, "failed": 0}
        for finding in self.findings:
            out[finding.check.status] += 1
        return out


def run_doctor(settings: Settings, *, config_path: Path, accounts: Sequence[Account],
               vault: TokenVault | None, timeout: float = DEFAULT_TIMEOUT,
               on_finding: Callable[[Finding], None] | None = None) -> Report:
    """Run every check; ``on_finding`` sees each finding as soon as it is known."""
    findings: list[Finding] = []

    def add(scope: str, check: Check) -> None:
        finding = Finding(scope, _redacted(check))
        findings.append(finding)
        if on_finding is not None:
            on_finding(finding)

    add("config", ok("config", f"{config_path} is valid: {len(settings.accounts)} account(s)"))
    add("store", store_check(settings.store_url))
    context = ProviderContext(vault=vault)
    for account, checks in probe_accounts(accounts, context, timeout=timeout):
        for check in checks:
            add(account.id, check)
    if settings.health.enabled:
        add("health", port_check(settings.health.host, settings.health.port))
    return Report(tuple(findings))


def _redacted(check: Check) -> Check:
    return Check(check.name, check.status, redact_text(check.detail), redact_text(check.fix))


# ---------------------------------------------------------------------- store

def store_check(url: str) -> Check:
    """Reachable and migrated to head; never creates anything."""
    from alembic.script import ScriptDirectory

    from syncd.store.database import Database, alembic_config

    parsed = make_url(url)
    safe = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "").expanduser()
        if not path.exists():
            return failed("store", f"no store yet at {path}",
                          "run `syncd migrate` (or `syncd run`, which migrates on start)")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    database = Database(url)
    try:
        current = database.current_revision()
    except SyncdError as exc:
        return failed("store", f"cannot reach the store {safe}: {describe(exc)}",
                      "check store.url and that the database server runs and lets this user in")
    finally:
        database.dispose()
    if current is None:
        return failed("store", f"the store {safe} has no tables", "run `syncd migrate`")
    if current != head:
        return failed("store", f"the store {safe} is at schema {current}, this syncd needs "
                               f"{head}", "run `syncd migrate`")
    return ok("store", f"{safe} reachable, schema {current} (latest)")


# ---------------------------------------------------------------------- accounts

def probe_accounts(accounts: Sequence[Account], context: ProviderContext, *,
                   timeout: float) -> list[tuple[Account, list[Check]]]:
    """Each account's checks, probed in parallel; in the order given."""
    results: dict[str, list[Check]] = {}
    threads: list[tuple[Account, threading.Thread]] = []
    for account in accounts:
        def work(acc: Account = account) -> None:
            results[acc.id] = probe_account(acc, context)

        # daemon: a probe stuck in a socket call must not keep the process alive
        thread = threading.Thread(target=work, name=f"doctor-{account.id}", daemon=True)
        thread.start()
        threads.append((account, thread))
    deadline = time.monotonic() + timeout
    out: list[tuple[Account, list[Check]]] = []
    for account, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        checks = results.get(account.id)
        if checks is None:
            checks = [failed("probe", f"no answer within {timeout:g} s",
                             "a server or firewall swallows the connection; check the host "
                             "and port, or run `syncd doctor --timeout` with more seconds")]
        out.append((account, checks))
    return out


def probe_account(account: Account, context: ProviderContext) -> list[Check]:
    """The provider's probe for one account; a crash is one failed check."""
    if not account.enabled:
        return [warning("enabled", "the account is disabled: it is not synced",
                        f"set accounts[{account.id}].enabled: true to sync it")]
    name = PROBES.get(account.provider)
    if name is None:
        return [ok("probe", f"no checks for provider {account.provider}")]
    try:
        module = cast(_ProbeModule, importlib.import_module(name))
        return module.probe(account, context)
    except SyncdError as exc:
        return [failed("probe", describe(exc), "fix what the message names")]
    except Exception as exc:  # a bug or an unexpected library error: one line, logged
        log.exception("doctor probe crashed", account=account.id)
        return [failed("probe", f"the check itself failed: {type(exc).__name__}: {exc}",
                       "run with logging.level debug and report the traceback")]


# ---------------------------------------------------------------------- health port

def port_check(host: str, port: int) -> Check:
    """Can the daemon bind its health port? If not, is it a running syncd?"""
    if port == 0:
        return ok("port", "health.port is 0: any free port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if _is_syncd(host, port):
                return warning("port", f"{host}:{port} is served by a running syncd",
                               "fine if that daemon is this config's; otherwise stop it or "
                               "set health.port")
            return failed("port", f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                          "stop what listens there (`ss -ltnp` names it) or set health.port "
                          "to a free port")
    return ok("port", f"{host}:{port} is free for the health endpoint")


def _is_syncd(host: str, port: int) -> bool:
    shown = f"[{host}]" if ":" in host else host
    try:
        with urllib.request.urlopen(f"http://{shown}:{port}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False
