"""An HTTP stand-in in front of Radicale that can misbehave on purpose.

It forwards every request to the real server and, on demand, rewrites
response bodies (a server handing out a corrupt calendar object) or answers
with a 5xx itself (an overloaded server). The wire protocol stays real: the
caldav client talks HTTP/WebDAV to it exactly as to Radicale.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# accept-encoding: bodies must come back uncompressed to be rewritten
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
        "accept-encoding"}


class RewritingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        #: byte replacements applied to every response body
        self.replacements: dict[bytes, bytes] = {}
        #: answer this many upcoming requests with ``fail_status`` instead of forwarding
        self.failures = 0
        self.fail_status = 503
        self.fail_headers: dict[str, str] = {}
        self.requests = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return self.forward
                raise AttributeError(name)

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    proxy.requests += 1
                    fail = proxy.failures > 0
                    if fail:
                        proxy.failures -= 1
                if fail:
                    self.send_response(proxy.fail_status)
                    for key, value in proxy.fail_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port,
                                                      timeout=10)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    for old, new in proxy.replacements.items():
                        data = data.replace(old, new)
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    upstream.close()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def rewriting_proxy(upstream_port: int) -> Iterator[RewritingProxy]:
    proxy = RewritingProxy(upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
