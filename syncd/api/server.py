"""Serving the API: uvicorn on its own thread, stopped cleanly; ``syncd run`` and ``syncd api``.

:class:`ApiServer` binds the listening socket itself in :meth:`~ApiServer.start`
(so a port in use is a :class:`~syncd.errors.ConfigError` naming
``api.listen`` before anything else starts, as for the health listener),
then runs uvicorn on that socket in a daemon thread with its own event loop.
:meth:`~ApiServer.stop` asks uvicorn to finish the requests in flight (at
most ``GRACE_S``) and joins the thread. The thread never installs signal
handlers: the process's owner (the daemon, or :func:`serve_until_signalled`
for ``syncd api``) handles SIGTERM/SIGINT and calls ``stop``.

Logging: uvicorn keeps no logging setup of its own (``log_config=None``:
its records go through the redacting chain of :mod:`syncd.logs`) and its
access log is off; :mod:`syncd.api.access_log` writes one line per request
without headers. No ``Server`` header; proxy headers are not trusted.
"""

from __future__ import annotations

import signal
import socket
import threading
from types import FrameType

import uvicorn
from fastapi import FastAPI

from syncd.errors import ConfigError, ConfigIssue
from syncd.logs import get_logger

log = get_logger(__name__)

#: seconds in-flight requests get to finish on stop
GRACE_S = 5.0


class ApiServer:
    """uvicorn serving ``app`` on ``host:port`` from a background thread."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind, then serve in the background; a port that cannot be bound is a ConfigError."""
        self._socket = bind(self._host, self._port)
        config = uvicorn.Config(self._app, log_config=None, access_log=False,
                                server_header=False, proxy_headers=False, lifespan="off",
                                timeout_graceful_shutdown=int(GRACE_S))
        self._server = uvicorn.Server(config)
        started = threading.Event()
        server, sock = self._server, self._socket

        def run() -> None:
            try:
                server.run(sockets=[sock])
            finally:
                started.set()

        self._thread = threading.Thread(target=run, name="syncd-api", daemon=True)
        self._thread.start()
        # wait until uvicorn accepts (or died), so callers can rely on the port
        while not server.started and self._thread.is_alive():
            started.wait(0.02)
        if not server.started:
            self.stop()
            raise RuntimeError("the API server did not start (see the log)")
        log.info("API listening", url=self.url)

    @property
    def port(self) -> int:
        if self._socket is None:
            return self._port
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Finish in-flight requests (at most ``GRACE_S``) and stop serving."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(GRACE_S + 2)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._server = None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
            sock.listen(128)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ConfigError([ConfigIssue(
            "api.listen", f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "stop the other process using it, or pick another port (0 = any free port)")],
        ) from None
    return sock


def serve_until_signalled(server: ApiServer) -> None:
    """``syncd api``: serve until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping the API", signal=signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        while not stop.wait(0.2):
            if not server.running:
                raise RuntimeError("the API server stopped unexpectedly")
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
