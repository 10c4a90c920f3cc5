"""Reading BODYSTRUCTURE: which parts are invites, which one is the body text.

Part numbers follow RFC 3501 section 6.4.5: a single-part message has part
``1``; the children of a multipart are ``1``, ``2``, ...; nested multiparts
add ``.n``. Attached messages (message/rfc822) are not descended into: an
invite forwarded inside another mail is not the mailbox owner's meeting.

Tolerant by design: a structure we cannot read yields no parts (the message
is still logged from its headers), never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One leaf part: where it is and how to decode it."""

    number: str
    mime_type: str  # lower-case "type/subtype"
    params: tuple[tuple[str, str], ...]
    encoding: str  # Content-Transfer-Encoding, lower-case
    attachment: bool
    filename: str | None

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key.lower() == name:
                return value
        return None

    @property
    def is_calendar(self) -> bool:
        name = (self.filename or "").lower()
        return self.mime_type in ("text/calendar", "application/ics") or name.endswith(".ics")

    def mime_headers(self) -> bytes:
        """Headers that let an RFC 5322 parser decode this part's raw bytes."""
        params = "".join(f'; {k}="{_quote(v)}"' for k, v in self.params)
        return (f"Content-Type: {self.mime_type}{params}\r\n"
                f"Content-Transfer-Encoding: {self.encoding or '7bit'}\r\n").encode(
                    "ascii", "replace")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return ""


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, tuple | list):
        return ()
    items = [_text(v) for v in value]
    return tuple((items[i], items[i + 1]) for i in range(0, len(items) - 1, 2))


def _disposition(part: Sequence[Any], index: int) -> tuple[bool, str | None]:
    """(is attachment, filename) from the extension field at ``index``."""
    if len(part) <= index or not isinstance(part[index], tuple | list) or not part[index]:
        return False, None
    disp = part[index]
    kind = _text(disp[0]).lower()
    params = dict((k.lower(), v) for k, v in _pairs(disp[1] if len(disp) > 1 else None))
    return kind == "attachment", params.get("filename")


def leaf_parts(structure: Any) -> list[PartInfo]:
    """Every leaf part of a BODYSTRUCTURE (imapclient ``BodyData``)."""
    try:
        return list(_walk(structure, ""))
    except (IndexError, TypeError, ValueError, AttributeError):
        return []


def _walk(node: Any, prefix: str) -> Iterator[PartInfo]:
    if not isinstance(node, tuple | list) or not node:
        return
    if isinstance(node[0], list):  # multipart: ([children], subtype, ...)
        for i, child in enumerate(node[0], start=1):
            yield from _walk(child, _child_prefix(prefix, i, child))
        return
    number = prefix.rstrip(".") or "1"
    mime_type = f"{_text(node[0]).lower()}/{_text(node[1]).lower()}"
    params = _pairs(node[2])
    encoding = _text(node[5]).lower() if len(node) > 5 else ""
    # Extension fields: text/* and message/rfc822 carry extra fields first.
    if mime_type.startswith("text/"):
        ext = 9
    elif mime_type == "message/rfc822":
        ext = 11
    else:
        ext = 8
    attachment, filename = _disposition(node, ext)
    if filename is None:
        filename = dict((k.lower(), v) for k, v in params).get("name")
    yield PartInfo(number, mime_type, params, encoding, attachment, filename)


def _child_prefix(prefix: str, index: int, child: Any) -> str:
    # A nested multipart's children are numbered "<index>.<n>"; a leaf is "<index>".
    if isinstance(child, tuple | list) and child and isinstance(child[0], list):
        return f"{prefix}{index}."
    return f"{prefix}{index}"


def calendar_parts(parts: Sequence[PartInfo]) -> list[PartInfo]:
    return [p for p in parts if p.is_calendar]


def text_part(parts: Sequence[PartInfo]) -> PartInfo | None:
    """The part holding the readable body: first inline text/plain, else text/html."""
    inline = [p for p in parts if not p.attachment]
    for wanted in ("text/plain", "text/html"):
        for part in inline:
            if part.mime_type == wanted:
                return part
    return None
