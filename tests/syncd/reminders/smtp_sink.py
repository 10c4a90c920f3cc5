"""A minimal SMTP server (RFC 5321 subset) that keeps what it receives.

Speaks enough for smtplib: EHLO/HELO, optional AUTH PLAIN, MAIL, RCPT,
DATA (dot-unstuffing), RSET, NOOP, QUIT. Real sockets, real protocol."""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    auth: str | None = None


@dataclass
class Sink:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    require_auth: tuple[str, str] | None = None
    reject_rcpt: set[str] = field(default_factory=set)


class _Handler(socketserver.StreamRequestHandler):
    sink: Sink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        sink = self.server.sink  # type: ignore[attr-defined]
        self.reply("220 sink ESMTP")
        sender, auth = "", None
        recipients: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb == "EHLO":
                self.reply("250-sink")
                self.reply("250 AUTH PLAIN")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "AUTH":
                parts = arg.split(" ")
                token = base64.b64decode(parts[1]).decode() if len(parts) > 1 else ""
                _, user, password = ([*token.split("\x00"), "", "", ""])[:3]
                if sink.require_auth and (user, password) != sink.require_auth:
                    self.reply("535 5.7.8 authentication failed")
                else:
                    auth = user
                    self.reply("235 2.7.0 ok")
            elif verb == "MAIL":
                if sink.require_auth and auth is None:
                    self.reply("530 5.7.0 authentication required")
                    continue
                sender, recipients = arg.split(":", 1)[1].strip().strip("<>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpt = arg.split(":", 1)[1].strip().strip("<>")
                if rcpt in sink.reject_rcpt:
                    self.reply("550 5.1.1 no such user")
                    continue
                recipients.append(rcpt)
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines: list[bytes] = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                sink.messages.append(Received(sender, recipients, b"".join(lines), auth))
                self.reply("250 ok queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def smtp_sink(**options: object) -> Iterator[Sink]:
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    sink = Sink(str(host), int(port), **options)  # type: ignore[arg-type]
    server.sink = sink  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
