"""``syncd doctor`` checks of an IMAP account, through the provider's own code.

In order, stopping at the first failure a later check depends on: DNS,
TCP, TLS (implicit or STARTTLS; certificate verified with ``ca_file`` as
the provider does), login (:func:`providers.imap.connection.connect`, the
provider's own connection and login), the folders it will sync
(:func:`providers.imap.folders.choose_folders`), how many messages the
backfill window covers (``UID SEARCH SINCE`` per folder: no message data is
fetched) and whether the ``private_keyword`` is known to the server
(FLAGS / PERMANENTFLAGS of the folders). Folders are SELECTed as the
provider does; nothing is fetched or stored.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from providers.base import ProviderContext
from providers.errors import AuthError, ConfigError
from providers.imap.connection import (
    DEFAULT_PORTS,
    ConnectionLost,
    close_quietly,
    connect,
    vault_token_supplier,
)
from providers.imap.folders import choose_folders
from providers.imap.settings import ImapAccount
from providers.netprobe import Check, failed, ok, reachable, warning

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def probe(account: ImapAccount, context: ProviderContext) -> list[Check]:
    """Every check of ``account``, in order (see the module docstring)."""
    port = account.port or DEFAULT_PORTS[account.security]
    key = f"accounts[{account.id}]"
    checks = reachable(
        account.host, port, key=f"{key}.host", timeout=account.connect_timeout,
        port_hint=(f"check {key}.port and security: IMAP with security tls is usually 993, "
                   "starttls 143"),
        tls=account.security != "plain", ca_file=account.ca_file,
        untrusted_fix=(f"the server's certificate is self-signed or from a private CA: set "
                       f"{key}.ca_file to a PEM file with its CA certificate"),
        upgrade=_starttls if account.security == "starttls" else None)
    if checks[-1].failed:
        return checks
    if account.security == "plain":
        checks.append(warning("tls", "security: plain sends the password unencrypted",
                              f"set {key}.security to tls (port 993) or starttls (143)"))
    supplier = vault_token_supplier(account, context) if account.auth == "xoauth2" else None
    try:
        client = connect(account, token_supplier=supplier)
    except AuthError as exc:
        how = ("the XOAUTH2 token stored for it (run the account's auth flow again)"
               if account.auth == "xoauth2" else f"{key}.username and {key}.password "
               "(or password_file)")
        checks.append(failed("login", str(exc), f"check {how}"))
        return checks
    except ConfigError as exc:
        checks.append(failed("login", str(exc), f"give {key}.password or password_file"))
        return checks
    except ConnectionLost as exc:
        checks.append(failed("login", str(exc), "check the host, port and security setting"))
        return checks
    try:
        checks.append(ok("login", f"logged in as {account.username}"))
        checks.extend(_mailbox_checks(client, account, context))
    except (IMAPClientError, OSError) as exc:
        checks.append(failed("folders", f"the server broke off ({type(exc).__name__})",
                             "run the doctor again; if it persists, check the server's log"))
    finally:
        close_quietly(client)
    return checks


def _mailbox_checks(client: IMAPClient, account: ImapAccount,
                    context: ProviderContext) -> list[Check]:
    key = f"accounts[{account.id}]"
    listing = client.list_folders()
    names = [str(entry[2]) for entry in listing]
    folders = choose_folders(listing, account.folders)
    missing = [f for f in folders if f not in names and f.upper() != "INBOX"]
    if missing:
        return [failed("folders", f"no folder {', '.join(map(repr, missing))} on the server",
                       f"fix {key}.folders; the server has: {', '.join(sorted(names))}")]
    checks = [ok("folders", f"will sync {', '.join(folders)}")]
    since = None
    if account.backfill_days > 0:
        since = (context.current_time() - timedelta(days=account.backfill_days)).date()
    counts: list[str] = []
    defined: set[str] = set()
    open_keywords = False
    for folder in folders:
        # SELECT as the provider does: EXAMINE answers an empty PERMANENTFLAGS
        info: dict[bytes, Any] = client.select_folder(folder)
        defined.update(_text(f) for f in info.get(b"FLAGS", ()))
        permanent = {_text(f) for f in info.get(b"PERMANENTFLAGS", ())}
        open_keywords = open_keywords or "\\*" in permanent
        defined.update(permanent)
        if since is not None:
            found = client.search(["SINCE", f"{since.day}-{_MONTHS[since.month - 1]}-{since.year}"])
            counts.append(f"{folder}: {len(found)}")
    if since is None:
        checks.append(ok("backfill", "backfill_days is 0: only mail arriving from now on"))
    else:
        checks.append(ok("backfill", f"{', '.join(counts)} messages since {since.isoformat()} "
                                     f"(backfill_days {account.backfill_days})"))
    keyword = account.private_keyword
    if keyword:
        if keyword.lower() in {d.lower() for d in defined}:
            checks.append(ok("private keyword", f"{keyword!r} is known to the server"))
        elif open_keywords:
            checks.append(warning(
                "private keyword", f"{keyword!r} is on no message yet (the server accepts it)",
                f"mark a message with {keyword!r} in the mail client, or check the spelling of "
                f"{key}.private_keyword"))
        else:
            checks.append(failed(
                "private keyword", f"{keyword!r} is unknown and the server allows no new keywords",
                f"use one of the folder's flags or keywords in {key}.private_keyword: "
                f"{', '.join(sorted(defined)) or '(none)'}"))
    return checks


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _starttls(sock: socket.socket) -> None:
    """Read the greeting, ask for STARTTLS; raises ValueError if the server refuses."""
    reader = sock.makefile("rb")
    try:
        greeting = reader.readline()
        if not greeting.startswith(b"* "):
            raise ValueError("no IMAP greeting: is this an IMAP port?")
        sock.sendall(b"d1 STARTTLS\r\n")
        while True:
            line = reader.readline()
            if not line:
                raise ValueError("the server hung up after STARTTLS")
            if line.startswith(b"d1 "):
                if not line[3:].upper().startswith(b"OK"):
                    raise ValueError("the server refused STARTTLS: use security tls or plain")
                return
    finally:
        reader.close()
