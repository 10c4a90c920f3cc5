"""DNS, TCP and TLS checks against real sockets: a local TLS server per certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.netprobe import handshake, reachable


def _certificate(root: Path, *, days: int, names: list[str]) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = root / "cert.pem", root / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextmanager
def tls_server(cert_file: Path, key_file: Path) -> Iterator[int]:
    """Accepts connections and completes TLS handshakes until closed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def test_certificate_expiring_soon_is_a_warning(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, days=5, names=["127.0.0.1"])
    with tls_server(cert, key) as port:
        check = handshake("127.0.0.1", port, timeout=5, ca_file=str(cert), untrusted_fix="x")
    assert check.status == "warning" and "expires in" in check.detail
    assert "renew" in check.fix


def test_certificate_for_another_name_fails(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, days=90, names=["mail.elsewhere.example"])
    with tls_server(cert, key) as port:
        check = handshake("127.0.0.1", port, timeout=5, ca_file=str(cert), untrusted_fix="x")
    assert check.failed and "not for 127.0.0.1" in check.detail


def test_valid_certificate_and_the_chain_stops_at_the_first_failure(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, days=90, names=["127.0.0.1"])
    with tls_server(cert, key) as port:
        checks = reachable("127.0.0.1", port, key="host", timeout=5, port_hint="p", tls=True,
                           ca_file=str(cert))
        untrusted = reachable("127.0.0.1", port, key="host", timeout=5, port_hint="p",
                              tls=True, untrusted_fix="set ca_file")
    assert [(c.name, c.status) for c in checks] == [("dns", "ok"), ("tcp", "ok"), ("tls", "ok")]
    assert "valid until" in checks[-1].detail
    assert untrusted[-1].failed and untrusted[-1].fix == "set ca_file"
    dns = reachable("nothing.invalid", 443, key="accounts[x].host", timeout=5, port_hint="p",
                    tls=True)
    assert [(c.name, c.status) for c in dns] == [("dns", "failed")]
