"""systemd/syncd.service: Type=notify, watchdog, sandboxing and privilege hardening, and
``systemd-analyze security`` exposure <= 2.0 (run where systemd-analyze exists)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[3] / "systemd" / "syncd.service"
ENV_EXAMPLE = UNIT.with_name("syncd.env.example")


def directives(path: Path) -> dict[str, list[str]]:
    """``[Section]Key`` -> every value given (repeatable keys such as SystemCallFilter)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def test_unit_is_notify_with_watchdog_reload_and_bounded_stop() -> None:
    d = directives(UNIT)
    assert d["Service.Type"] == ["notify"]
    assert d["Service.NotifyAccess"] == ["main"]
    watchdog = d["Service.WatchdogSec"][0]
    assert watchdog.endswith("s") and 10 <= int(watchdog[:-1]) <= 120
    assert d["Service.ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert d["Service.KillSignal"] == ["SIGTERM"]
    # the daemon's stop grace (45 s) must fit inside the stop timeout
    from syncd.daemon.service import STOP_GRACE_SECONDS

    assert int(d["Service.TimeoutStopSec"][0].rstrip("s")) > STOP_GRACE_SECONDS
    assert d["Service.RestartPreventExitStatus"] == ["2"]
    assert d["Service.ExecStart"] == ["/opt/syncd/bin/syncd run"]


def test_unit_has_the_sandboxing_directives() -> None:
    d = directives(UNIT)
    expected = {
        "DynamicUser": "yes", "StateDirectory": "syncd", "ProtectSystem": "strict",
        "ProtectHome": "yes", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "CapabilityBoundingSet": "", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }
    for key, value in expected.items():
        assert d.get(f"Service.{key}") == [value], key
    assert d["Service.SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    # logs: journald only (stdout/stderr), never a log file to rotate
    assert d["Service.StandardOutput"] == ["journal"]
    assert d["Service.StandardError"] == ["journal"]
    assert not any("LogsDirectory" in k for k in d)


def test_env_example_sets_the_config_path_and_no_real_secret() -> None:
    lines = [ln for ln in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines == ["SYNCD_CONFIG=/etc/syncd/syncd.yaml"]
    assert "EnvironmentFile=-/etc/syncd/syncd.env" in UNIT.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_security_exposure_is_at_most_2() -> None:
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=60, check=False)
    output = proc.stdout + proc.stderr
    match = re.search(r"Overall exposure level for syncd\.service:\s*([0-9.]+)", output)
    assert match is not None, output
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure <= 2.0, output
