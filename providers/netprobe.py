"""Checks a newcomer's account needs before any protocol: DNS, TCP, TLS.

Used by the per-provider probes (``providers/<kind>/probe.py``) behind
``syncd doctor``. Every check returns a :class:`Check`: a name, a status
(``ok``, ``warning``, ``failed``), what was found and, unless ok, how to
fix it. Probes never raise for what they find; a check that failed means
the ones depending on it are not run (no login without a TCP connection).

The TLS check verifies the certificate chain and host name exactly as the
providers do (``ssl.create_default_context`` with the configured CA file)
and warns when the certificate expires within :data:`EXPIRY_WARNING_DAYS`.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

Status = Literal["ok", "warning", "failed"]

#: a certificate expiring sooner than this is a warning
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fix`` says what to change when the status is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warning(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warning", detail, fix)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "failed", detail, fix)


def any_failed(checks: list[Check]) -> bool:
    return any(c.failed for c in checks)


def resolve(host: str, port: int, *, key: str) -> Check:
    """DNS: does ``host`` resolve? ``key`` is the config key naming it (for the fix)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        return failed("dns", f"{host} does not resolve ({reason})",
                      f"check the spelling of {key} ({host!r}) and this machine's DNS")
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    shown = ", ".join(addresses[:3]) + (" …" if len(addresses) > 3 else "")
    return ok("dns", f"{host} → {shown}")


def connect(host: str, port: int, *, timeout: float, port_hint: str) -> Check:
    """TCP: does ``host:port`` accept a connection within ``timeout`` seconds?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return failed("tcp", f"{host}:{port} refused the connection (nothing listens there)",
                      port_hint)
    except TimeoutError:
        return failed("tcp", f"{host}:{port} did not answer within {timeout:g} s",
                      f"a firewall may drop the traffic, or the port is wrong; {port_hint}")
    except OSError as exc:
        return failed("tcp", f"cannot reach {host}:{port} ({exc.strerror or exc})", port_hint)
    return ok("tcp", f"{host}:{port} accepts connections")


#: turns a connected plain socket into one ready for the TLS handshake (STARTTLS)
Upgrade = Callable[[socket.socket], None]


def handshake(host: str, port: int, *, timeout: float, ca_file: str | None,
              untrusted_fix: str, upgrade: Upgrade | None = None) -> Check:
    """TLS handshake with certificate and host-name verification, then expiry."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        return failed("tls", f"cannot read the CA file {ca_file} ({exc})",
                      "point ca_file at a readable PEM file with the server's CA certificate")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if upgrade is not None:
                upgrade(raw)
            with context.wrap_socket(raw, server_hostname=host) as tls:
                version = tls.version() or "TLS"
                cert = tls.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return _untrusted(host, port, exc, untrusted_fix)
    except ssl.SSLError as exc:
        return failed("tls", f"TLS handshake with {host}:{port} failed ({exc.reason or exc})",
                      "the port may not speak TLS: check the port and the security setting")
    except (OSError, ValueError) as exc:  # ValueError: a STARTTLS refusal (see upgrade)
        return failed("tls", f"TLS with {host}:{port} failed ({exc})",
                      "check the port and the security setting")
    return _expiry(host, version, cert)


def _untrusted(host: str, port: int, exc: ssl.SSLCertVerificationError, fix: str) -> Check:
    reason = exc.verify_message or exc.reason or str(exc)
    code = exc.verify_code
    if code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
        return failed("tls", f"the certificate of {host}:{port} has expired",
                      "renew the server's certificate")
    if code == 62 or "hostname" in str(reason).lower() or "mismatch" in str(reason).lower():
        return failed("tls", f"the certificate of {host}:{port} is not for {host} ({reason})",
                      "connect with a host name the certificate names")
    return failed("tls", f"the certificate of {host}:{port} is not trusted ({reason})", fix)


def _expiry(host: str, version: str, cert: Mapping[str, object] | None) -> Check:
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):
        return ok("tls", f"{version}, certificate verified for {host}")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    days = (expires - datetime.now(UTC)).days
    if days < EXPIRY_WARNING_DAYS:
        return warning("tls", f"{version}, certificate of {host} expires in {days} days "
                              f"({expires:%Y-%m-%d})", "renew the server's certificate soon")
    return ok("tls", f"{version}, certificate verified for {host}, valid until "
                     f"{expires:%Y-%m-%d}")


def reachable(host: str, port: int, *, key: str, timeout: float, port_hint: str,
              tls: bool, ca_file: str | None = None, untrusted_fix: str = "",
              upgrade: Upgrade | None = None) -> list[Check]:
    """DNS, then TCP, then (if ``tls``) the handshake; stops at the first failure."""
    checks = [resolve(host, port, key=key)]
    if checks[-1].failed:
        return checks
    checks.append(connect(host, port, timeout=timeout, port_hint=port_hint))
    if checks[-1].failed or not tls:
        return checks
    checks.append(handshake(host, port, timeout=timeout, ca_file=ca_file,
                            untrusted_fix=untrusted_fix, upgrade=upgrade))
    return checks
