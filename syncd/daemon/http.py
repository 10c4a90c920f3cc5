"""The health endpoint: a tiny HTTP server in a background thread.

Routes are plain callables returning a :class:`Response`; the daemon
registers them (``/healthz``, ``/readyz``, ``/status``, ``/metrics``, see
:mod:`syncd.daemon.probes`; :meth:`HealthServer.add_route` works while
serving too), so this module knows nothing about the scheduler or the
store. Only ``GET`` and ``HEAD`` are served; any other path is 404 and any
other method 405. A route that raises answers 500 with the error described
by :func:`syncd.errors.describe` (never a traceback or a secret); the
traceback goes to the log.

Binding: ``127.0.0.1:8089`` by default (``health.host``/``health.port``);
port 0 asks the kernel for a free port (tests), readable as ``.port``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from syncd.errors import ConfigError, ConfigIssue, describe
from syncd.jsontext import json_default
from syncd.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        text = json.dumps(data, sort_keys=False, indent=None, default=json_default)
        return cls(status, (text + "\n").encode("utf-8"))

    @classmethod
    def text(cls, text: str, status: int = 200,
             content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), content_type)


Route = Callable[[], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    routes: dict[str, Route]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "syncd-health"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _method_not_allowed(self) -> None:
        self._send(Response.json({"error": "method not allowed"}, 405), True,
                   extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _answer(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        route = self.server.routes.get(path)
        if route is None:
            response = Response.json({"error": "not found", "path": path}, 404)
        else:
            try:
                response = route()
            except Exception as exc:  # a broken probe must not kill the server
                log.exception("health route failed", path=path)
                response = Response.json({"error": describe(exc)}, 500)
        self._send(response, send_body)

    def _send(self, response: Response, send_body: bool,
              extra: Mapping[str, str] | None = None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("health request", request=format % args)


class HealthServer:
    """Serves the registered routes from a daemon thread until :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8089,
                 routes: Mapping[str, Route] | None = None) -> None:
        self._host = host
        self._port = port
        self._routes: dict[str, Route] = dict(routes or {})
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def add_route(self, path: str, route: Route) -> None:
        """Register (or replace) ``path``; works before and after :meth:`start`."""
        self._routes[path] = route

    def start(self) -> None:
        """Bind and serve; a port that cannot be bound is a :class:`ConfigError`."""
        try:
            server = _Server((self._host, self._port), _Handler)
        except OSError as exc:
            raise ConfigError([ConfigIssue(
                "health.port", f"cannot listen on {self._host}:{self._port}: "
                f"{exc.strerror or exc}",
                "stop the other process using it, or pick another port (0 = any free port)")],
            ) from None
        server.routes = self._routes  # shared dict: add_route after start works
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="syncd-health",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        log.info("health endpoint listening", url=self.url)

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
