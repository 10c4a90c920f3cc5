"""FETCH responses → :class:`providers.base.Message` via :mod:`providers.rfc5322`.

The header block from ``BODY.PEEK[HEADER.FIELDS (...)]`` is parsed as a
header-only message. When parts were fetched too (text/calendar parts for
invites; the text part at privacy ``snippet``/``full``), they are wrapped
into a synthetic ``multipart/mixed`` body under those headers, each with the
Content-Type/Transfer-Encoding that BODYSTRUCTURE reported, so the one RFC
5322 normalizer decodes them exactly as it would a full message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from providers import rfc5322
from providers.base import Message, Quarantined
from providers.errors import BadItem
from providers.imap.structure import PartInfo

HEADER_FETCH = "BODY.PEEK[HEADER.FIELDS ({})]".format(
    " ".join(f.upper() for f in rfc5322.HEADER_FIELDS))
#: what every message costs: headers, dates, size, flags, structure — never the body
FETCH_ITEMS: list[str] = [HEADER_FETCH, "INTERNALDATE", "RFC822.SIZE", "FLAGS", "BODYSTRUCTURE"]

_BOUNDARY = b"syncd-imap-part-7f3a9c1e5b"
_CONTENT_HEADERS = re.compile(rb"^(content-type|mime-version|content-transfer-encoding)\s*:",
                              re.IGNORECASE)


def header_bytes(data: Mapping[bytes, Any]) -> bytes | None:
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER.FIELDS"):
            return value if isinstance(value, bytes) else b""
    return None


def keywords(flags: Sequence[bytes | str]) -> tuple[str, ...]:
    """IMAP keywords (user flags like ``Private`` or ``$label1``), not system flags."""
    out = []
    for flag in flags:
        text = flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag)
        if text and not text.startswith("\\"):
            out.append(text)
    return tuple(out)


def internal_date(data: Mapping[bytes, Any]) -> datetime | None:
    value = data.get(b"INTERNALDATE")
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def assemble(headers: bytes, parts: Sequence[tuple[PartInfo, bytes]]) -> bytes:
    """Header-only bytes, or headers + the fetched parts as one multipart body."""
    if not parts:
        return headers
    kept = _without_content_headers(headers)
    out = [kept, b"MIME-Version: 1.0\r\n",
           b'Content-Type: multipart/mixed; boundary="' + _BOUNDARY + b'"\r\n\r\n']
    for info, body in parts:
        out += [b"--", _BOUNDARY, b"\r\n", info.mime_headers(), b"\r\n", body, b"\r\n"]
    out += [b"--", _BOUNDARY, b"--\r\n"]
    return b"".join(out)


def _without_content_headers(headers: bytes) -> bytes:
    lines = headers.replace(b"\r\n", b"\n").split(b"\n")
    kept: list[bytes] = []
    skipping = False
    for line in lines:
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(_CONTENT_HEADERS.match(line))
        if not skipping:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept)


def to_message(
    data: Mapping[bytes, Any], parts: Sequence[tuple[PartInfo, bytes]], *, provider_id: str,
    folder: str, privacy: str,
) -> Message | Quarantined:
    """One message, or a quarantine entry saying why it could not be read."""
    headers = header_bytes(data)
    if headers is None:
        return Quarantined(provider_id, "message", "server returned no header data")
    flags = data.get(b"FLAGS") or ()
    size = data.get(b"RFC822.SIZE")
    try:
        return rfc5322.parse_message(
            assemble(headers, parts), provider_id=provider_id, folder=folder, privacy=privacy,
            fallback_date=internal_date(data), tags=keywords(flags),
            size=size if isinstance(size, int) else None)
    except BadItem as exc:
        return Quarantined(provider_id, "message", exc.reason,
                           headers[:300].decode("utf-8", "replace"))
