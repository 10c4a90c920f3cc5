"""systemd's sd_notify protocol in pure Python (no libsystemd binding needed).

Under ``Type=notify`` systemd sets ``$NOTIFY_SOCKET`` to an ``AF_UNIX``
datagram socket (a path, or an abstract name written ``@name``). Each
notification is one datagram of newline-separated ``KEY=value`` lines:

* ``READY=1`` once the daemon serves (after migrations, health bound,
  scheduler started); systemd only then considers the unit started;
* ``STATUS=…`` a one-line human status shown by ``systemctl status``;
* ``WATCHDOG=1`` keep-alive; with ``WatchdogSec=`` systemd sets
  ``$WATCHDOG_USEC`` and kills the service when pings stop for that long;
* ``RELOADING=1`` … ``READY=1`` around a SIGHUP reload;
* ``STOPPING=1`` when shutdown begins.

Without ``$NOTIFY_SOCKET`` every call is a no-op, so the daemon runs the
same under systemd, in a container or in a terminal. Sending never raises:
a lost notification must not take the daemon down (it is logged once).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

from syncd.logs import get_logger

log = get_logger(__name__)


def _address(value: str) -> str | bytes:
    # abstract namespace: "@name" on the wire is a leading NUL byte
    if value.startswith("@"):
        return b"\0" + value[1:].encode("utf-8")
    return value


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds systemd waits for a WATCHDOG=1, or None when no watchdog applies to us."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (e.g. our parent shell)
    return int(usec) / 1_000_000


class Notifier:
    """Sends sd_notify datagrams to ``socket_path`` (None: do nothing)."""

    def __init__(self, socket_path: str | None) -> None:
        self.socket_path = socket_path or None
        self._warned = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.socket_path is not None

    def send(self, **fields: str | int) -> bool:
        """Send one datagram of ``KEY=value`` lines; True if it was delivered."""
        if self.socket_path is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")  # one line per field, always
            lines.append(f"{key}={text}")
        payload = "\n".join(lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(_address(self.socket_path))
                sock.sendall(payload)
        except OSError as exc:
            if not self._warned:  # once: a missing socket would otherwise flood the log
                self._warned = True
                log.warning("cannot notify systemd", socket=self.socket_path,
                            error=exc.strerror or type(exc).__name__)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        fields: dict[str, str | int] = {"READY": 1}
        if status:
            fields["STATUS"] = status
        fields["MAINPID"] = os.getpid()
        return self.send(**fields)

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets Type=notify-reload (systemd >= 253) match the reload
        return self.send(RELOADING=1, MONOTONIC_USEC=time.monotonic_ns() // 1000)

    def stopping(self, status: str | None = None) -> bool:
        fields: dict[str, str | int] = {"STOPPING": 1}
        if status:
            fields["STATUS"] = status
        return self.send(**fields)
