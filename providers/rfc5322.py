"""RFC 5322 messages → :class:`providers.base.Message`, tolerant of real-world garbage.

Every mail provider that sees raw bytes (local files, IMAP) normalizes through
:func:`parse_message`; Gmail and Graph use the header helpers on their JSON.
One parser in one module: its tolerance rules (charsets, encodings, dates,
addresses, bodies, invites) lean on each other, and reading them together is
how a fix to one stays consistent with the rest, hence its length.

Invariants
----------
* :func:`parse_message` raises nothing but :class:`providers.errors.BadItem`, and
  only when the message is hopeless: no usable date and no ``fallback_date``,
  or none of From/Sender/To/Cc/Bcc/Date/Subject/Message-ID (not a message).
  A missing From, broken encodings, unknown charsets and 8-bit headers are
  tolerated: the message is logged with what could be read.
* The header helpers (:func:`decode_header_value`, :func:`parse_address_list`,
  :func:`normalize_message_id`, :func:`parse_date`) never raise.
* Message-IDs are returned without angle brackets or whitespace and keep their
  case (the left part is case-sensitive). A message without one gets
  :func:`providers.base.synthesize_message_id` over fields every copy shares,
  so the same message seen in two mailboxes dedupes.
* Text fields never contain NUL or other C0 control characters except
  newline/tab in bodies (PostgreSQL rejects NUL in text).
* Privacy: ``metadata`` → no subject, snippet or body (invite titles blanked
  too); ``subject`` → subject only; ``snippet`` → subject and the first
  :data:`SNIPPET_CHARS` characters of the text body; ``full`` → also the body.
* Works on header-only bytes (IMAP ``BODY.PEEK[HEADER.FIELDS ...]``): then
  there is simply no snippet, body or invite.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import getaddresses, parsedate_tz
from functools import lru_cache

from providers.base import Address, Automation, Event, Message, synthesize_message_id
from providers.errors import BadItem

log = logging.getLogger(__name__)

#: the header fields syncd reads; IMAP fetches ``BODY.PEEK[HEADER.FIELDS (...)]`` of these
HEADER_FIELDS: tuple[str, ...] = (
    "Message-ID", "In-Reply-To", "References", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
    "Date", "Subject", "List-Id", "List-Unsubscribe", "Auto-Submitted", "Precedence",
    "Content-Type", "X-GM-THRID", "X-Gmail-Labels",
)

#: a message must carry at least one of these to be a message at all
_IDENTIFYING = frozenset({"from", "sender", "to", "cc", "bcc", "date", "subject", "message-id"})
#: characters of body text kept at privacy level ``snippet``
SNIPPET_CHARS = 200
#: Message-IDs longer than this are treated as absent (they would not fit an index)
MAX_MESSAGE_ID = 900
#: bodies longer than this (characters) are cut at privacy level ``full``
MAX_BODY_CHARS = 1_000_000
#: a mailbox's header values repeat (the owner on every To, a thread's people and subject
#: on every reply): decoded values and address lists up to this length are cached
_CACHED_CHARS = 400

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_BRACKETED = re.compile(r"<([^<>]*)>")
_SURROGATE = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- text helpers

def _bytes_to_text(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, else UTF-8, else Latin-1 (never fails)."""
    if charset:
        name = charset.strip().strip('"').split("*", 1)[0].lower()
        try:
            codecs.lookup(name)
        except LookupError:
            name = ""
        if name:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, ValueError):
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _undo_surrogates(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; recover the text."""
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    return _bytes_to_text(value.encode("utf-8", "surrogateescape"))


def _clean_line(value: str) -> str:
    """One line of display text: no controls, single spaces, trimmed."""
    return _SPACES.sub(" ", _CONTROL_ALL.sub(" ", value)).strip()


def _decode_word(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "bB":
            cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
            cleaned += "=" * (-len(cleaned) % 4)
            return base64.b64decode(cleaned)
        raw = text.replace("_", " ").encode("latin-1", "replace")
        return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    except (binascii.Error, ValueError):
        return None


def decode_header_value(value: object) -> str:
    """A header value as display text: RFC 2047 words decoded, unfolded, cleaned.

    Accepts ``str``, ``bytes``, ``email.header.Header`` or ``None``. Unknown
    charsets and broken encodings degrade to UTF-8/Latin-1, never raise.
    Adjacent encoded words of one charset are decoded together (a multi-byte
    character may be split across them); whitespace between encoded words
    is dropped as RFC 2047 says.
    """
    if value is None:
        return ""
    if type(value) is str and len(value) <= _CACHED_CHARS:
        return _cached_header_value(value)
    return _header_value(value)


@lru_cache(maxsize=8192)
def _cached_header_value(value: str) -> str:
    return _header_value(value)


def _header_value(value: object) -> str:
    if isinstance(value, bytes):
        text = _bytes_to_text(value)
    else:
        try:
            text = str(value)
        except Exception:  # a broken Header object must not stop a pass
            return ""
    text = _undo_surrogates(text)
    if "=?" not in text:
        return _clean_line(text)
    text = _FOLD.sub("", text)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    last_word_end = -1  # where the previous decoded encoded word ended

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(_bytes_to_text(b"".join(pending), pending_charset))
            pending = []
            pending_charset = ""

    for m in _ENCODED_WORD.finditer(text):
        decoded = _decode_word(m.group(2), m.group(3))
        if decoded is None:
            continue  # a malformed word stays literal text
        between = text[pos:m.start()]
        adjacent = pos == last_word_end and (not between or between.isspace())
        if not adjacent:
            flush()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_charset:
            flush()
        pending.append(decoded)
        pending_charset = charset
        pos = last_word_end = m.end()
    flush()
    out.append(text[pos:])
    return _clean_line("".join(out))


# --------------------------------------------------------------------------- ids, dates, addresses

def normalize_message_id(value: str | None) -> str | None:
    """``<abc@x>`` → ``abc@x``; ``None`` when there is no usable id.

    Takes the first bracketed id if there is one (In-Reply-To often carries
    trailing comments), else the first whitespace-separated token. Case is
    kept. Idempotent.
    """
    if not value:
        return None
    text = _undo_surrogates(str(value))
    text = _CONTROL_ALL.sub(" ", text)
    for m in _BRACKETED.finditer(text):
        candidate = _SPACES.sub("", m.group(1))
        if candidate:
            return candidate if len(candidate) <= MAX_MESSAGE_ID else None
    tokens = text.replace("<", " ").replace(">", " ").split()
    if not tokens:
        return None
    return tokens[0] if len(tokens[0]) <= MAX_MESSAGE_ID else None


def parse_references(value: str | None) -> tuple[str, ...]:
    """All ids of a References header, in order, without duplicates."""
    if not value:
        return ()
    text = _CONTROL_ALL.sub(" ", _undo_surrogates(str(value)))
    found = [_SPACES.sub("", m.group(1)) for m in _BRACKETED.finditer(text)]
    if not any(found):
        found = text.replace("<", " ").replace(">", " ").split()
    seen: dict[str, None] = {}
    for ref in found:
        if ref and len(ref) <= MAX_MESSAGE_ID:
            seen.setdefault(ref, None)
    return tuple(seen)


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 (or ISO 8601) date as aware UTC; ``None`` when unusable.

    A date without zone (``-0000`` or none) is taken as UTC.
    """
    if not value:
        return None
    text = _clean_line(_undo_surrogates(str(value)))
    if not text:
        return None
    try:
        parts = parsedate_tz(text)
    except (ValueError, IndexError, TypeError, OverflowError):
        parts = None
    if parts is not None:
        try:
            offset = parts[9] or 0
            tz = timezone(timedelta(seconds=offset)) if abs(offset) < 86_400 else UTC
            when = datetime(*parts[:6], tzinfo=tz)
            return _sane(when.astimezone(UTC))
        except (ValueError, OverflowError, TypeError):
            pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return _sane(when.astimezone(UTC))
    except OverflowError:
        return None


def _sane(when: datetime) -> datetime | None:
    return when if 1900 <= when.year <= 9000 else None


def _clean_email(value: str) -> str:
    return _CONTROL_ALL.sub("", value).strip().strip("<>").strip()


def parse_address_list(value: str) -> tuple[Address, ...]:
    """Mailboxes of an address header; groups flattened, junk entries dropped.

    Splits before decoding RFC 2047 display names (a decoded name may contain
    a comma). Entries without an ``@`` are dropped; duplicates (same email,
    exact) keep their first occurrence. Never raises.
    """
    if not value:
        return ()
    if isinstance(value, str) and len(value) <= _CACHED_CHARS:
        return _cached_address_list(value)
    return _address_list(value)


@lru_cache(maxsize=8192)
def _cached_address_list(value: str) -> tuple[Address, ...]:
    return _address_list(value)


def _address_list(value: str) -> tuple[Address, ...]:
    text = _FOLD.sub("", _undo_surrogates(str(value)))
    text = _CONTROL.sub(" ", text).replace("\n", " ").replace("\t", " ")
    pairs = _common_addresses(text)
    if pairs is None:
        pairs = _simple_addresses(text)
    if pairs is None:
        try:
            pairs = getaddresses([text])
        except Exception:  # stdlib parser bugs on hostile input must not escape
            pairs = [("", m) for m in re.findall(r"[^\s<>,;:\"()]+@[^\s<>,;:\"()]+", text)]
    out: list[Address] = []
    seen: set[str] = set()
    for name, email in pairs:
        email = _clean_email(email)
        if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
            continue
        if email in seen:
            continue
        seen.add(email)
        display = _unquote(decode_header_value(name)) or None
        out.append(Address(email=email, name=display))
    return tuple(out)


_ENTRY = (r'\s*(?:(?:"((?:[^"\\]|\\.)*)"|([^"<>,():;\[\]\\@]*?))\s*<([^<>"\s,():;\[\]\\@]*'
          r'@?[^<>"\s,():;\[\]\\@]*)>|([^\s"<>,():;\[\]\\@]*@?[^\s"<>,():;\[\]\\@]*))\s*')
#: the common forms, a whole list at once: ``a@x``, ``Name <a@x>``, ``"Name, Q" <a@x>``
_COMMON_LIST = re.compile(rf"{_ENTRY}(?:,{_ENTRY})*")
_COMMON_ENTRY = re.compile(rf"{_ENTRY}(?:,|$)")


def _common_addresses(text: str) -> list[tuple[str, str]] | None:
    """What :func:`_simple_addresses` reads, by two regular expressions instead of a
    character loop; ``None`` for anything else (then the slower readers decide)."""
    if _COMMON_LIST.fullmatch(text) is None:
        return None
    out: list[tuple[str, str]] = []
    for quoted, plain, email, bare in _COMMON_ENTRY.findall(text):
        if email or quoted or plain:
            if quoted:
                name = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
            else:
                name = " ".join(plain.split())
            out.append((name, email))
        elif bare:
            out.append(("", bare))
    return out


_SIMPLE_ENTRY = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([^"<>]*?))\s*<([^<>"\s]*)>\s*')
_BARE_ENTRY = re.compile(r"\s*([^\s\"<>]+)\s*")
_QUOTED_PAIR = re.compile(r"\\(.)")
#: characters that make a plain split at commas unsafe
_NEEDS_TOKENIZER = re.compile(r'["\\():;\[\]]')


def _simple_addresses(text: str) -> list[tuple[str, str]] | None:
    """The common forms (``a@x``, ``Name <a@x>``, ``"Name, Q" <a@x>``) without the slow
    stdlib parser; ``None`` for anything else (groups, comments, routes, odd quoting),
    which then goes through :func:`email.utils.getaddresses`.
    """
    entries: list[str] = []
    if _NEEDS_TOKENIZER.search(text) is None:
        entries = text.split(",")
    else:
        found = _split_entries(text)
        if found is None:
            return None
        entries = found
    out: list[tuple[str, str]] = []
    for entry in entries:
        if not entry.strip():
            continue
        if "<" in entry:
            match = _SIMPLE_ENTRY.fullmatch(entry)
            if match is None:
                return None
            quoted_name, plain_name, email = match.groups()
            if quoted_name is not None:
                name = _QUOTED_PAIR.sub(r"\1", quoted_name[1:-1])
            elif "@" in plain_name:
                return None  # the stdlib reads "x@ <a@b>" as two addr-specs
            else:
                name = " ".join(plain_name.split())
            if email.count("@") > 1:
                return None
            out.append((name, email))
        else:
            match = _BARE_ENTRY.fullmatch(entry)
            if match is None or match.group(1).count("@") > 1:
                return None  # "a@@b" and the like: the stdlib's reading decides
            out.append(("", match.group(1)))
    return out


def _split_entries(text: str) -> list[str] | None:
    """Split at commas outside quotes and angle brackets; None on groups/comments/etc."""
    entries: list[str] = []
    start, quoted, escaped, angle = 0, False, False, False
    for index, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch in "():;[]":
            return None
        elif ch == "," and not angle:
            entries.append(text[start:index])
            start = index + 1
    if quoted or angle:
        return None
    entries.append(text[start:])
    return entries


def _unquote(name: str) -> str:
    """Outlook writes 'Bob Smith' <bob@x>; drop one pair of surrounding quotes."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    return name


def first_address(value: str | None) -> Address | None:
    found = parse_address_list(value or "")
    return found[0] if found else None


# --------------------------------------------------------------------------- bodies and parts

def _parts(msg: EmailMessage) -> Iterator[EmailMessage]:
    try:
        yield from msg.walk()
    except Exception:  # a broken MIME tree still gives us its headers
        return


def _payload_text(part: EmailMessage) -> str | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encodings
        return None
    if not isinstance(payload, bytes):
        return None
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _bytes_to_text(payload, charset)


def _is_attachment(part: EmailMessage) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "").lower()
    return disposition.startswith("attachment")


def body_text(msg: EmailMessage) -> str | None:
    """The message's readable text: first inline text/plain, else stripped text/html."""
    html_text: str | None = None
    for part in _parts(msg):
        if part.is_multipart() or _is_attachment(part):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            text = _payload_text(part)
            if text is not None and text.strip():
                return _CONTROL.sub("", text.replace("\r\n", "\n"))
        elif ctype == "text/html" and html_text is None:
            html_text = _payload_text(part)
    if html_text is None:
        return None
    text = html.unescape(_TAGS.sub(" ", html_text))
    return _CONTROL.sub("", text).strip() or None


def _snippet(text: str) -> str | None:
    line = _clean_line(text)
    return line[:SNIPPET_CHARS] or None


def calendar_parts(msg: EmailMessage) -> Iterator[tuple[str, str | None]]:
    """(iCalendar text, METHOD parameter) of every text/calendar or .ics part."""
    for part in _parts(msg):
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = ""
        try:
            filename = str(part.get_filename() or "")
        except Exception:
            filename = ""
        if ctype in ("text/calendar", "application/ics") or filename.lower().endswith(".ics"):
            text = _payload_text(part)
            if text and "BEGIN:VCALENDAR" in text.upper():
                method = part.get_param("method")
                yield text, (str(method).upper() if isinstance(method, str) else None)


def extract_invites(msg: EmailMessage, *, provider_id: str, privacy: str) -> tuple[Event, ...]:
    """Meetings found in the message's calendar parts; an unparseable part is skipped."""
    from providers import ical  # local import: ical imports nothing from here, keeps startup light

    found: list[Event] = []
    # Google sends the invite twice (text/calendar part and invite.ics): parse each text once
    parsed: dict[str, tuple[str, list[Event]] | None] = {}
    for index, (text, method) in enumerate(calendar_parts(msg)):
        prefix = f"{provider_id}#invite{index}"
        if text not in parsed:
            try:
                parsed[text] = (prefix, ical.parse_calendar(text, provider_id_prefix=prefix))
            except BadItem as exc:
                log.info("skipping unparseable invite part: %s", exc.reason)
                parsed[text] = None
        seen = parsed[text]
        if seen is None:
            continue
        first_prefix, events = seen
        if first_prefix != prefix:  # the same events under this part's ids
            events = [_replace(ev, {"provider_id": prefix + ev.provider_id[len(first_prefix):]})
                      for ev in events]
        for ev in events:
            changes: dict[str, object] = {}
            if ev.method is None and method:
                changes["method"] = method
            found.append(ical.clamp_event(_replace(ev, changes), privacy))
    return tuple(found)


def _replace(ev: Event, changes: dict[str, object]) -> Event:
    if not changes:
        return ev
    from dataclasses import replace

    return replace(ev, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the message

_HEADER_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):([^\n]*(?:\n[ \t][^\n]*)*)(?:\n|$)")
_NEWLINES = re.compile(r"[\r\n]")
_HEADER_BLOCK = re.compile(f"(?:{_HEADER_FIELD.pattern})*")


def split_headers(raw: bytes) -> tuple[dict[str, str], bool]:
    """(first raw value of each header by lowercased name, whether a body follows).

    A fast stand-in for the stdlib parser on the header block, with its rules:
    an mbox ``From `` first line is skipped, continuation lines are unfolded,
    and the first line that is neither a header nor a continuation ends the
    headers (it belongs to the body). 8-bit bytes become surrogate escapes,
    as with ``compat32``, for :func:`_undo_surrogates`.
    """
    end = len(raw)
    for sep in (b"\n\n", b"\n\r\n"):
        found = raw.find(sep)
        if 0 <= found < end:
            end = found + 1
    text = raw[:end].decode("ascii", "surrogateescape")
    has_body = end < len(raw) and bool(raw[end:].strip())
    headers: dict[str, str] = {}
    pos = text.find("\n") + 1 if text.startswith("From ") else 0
    # the run of consecutive fields in one match, then its fields in one findall
    block = _HEADER_BLOCK.match(text, pos)
    end_of_fields = block.end() if block is not None else pos
    for name, value in _HEADER_FIELD.findall(text, pos, end_of_fields):
        name = name.lower()
        if name not in headers:
            headers[name] = (_NEWLINES.sub("", value) if "\n" in value or "\r" in value
                             else value).strip()
    pos = end_of_fields
    if text[pos:].strip():  # a line that is not a header: the body starts there
        has_body = True
    return headers, has_body


def read_headers(raw: bytes, names: Iterable[str]) -> dict[str, str]:
    """First raw value of each wanted header (lowercased names), from the header block only.

    For provider-specific headers parse_message does not map (Takeout's
    ``X-GM-THRID`` and ``X-Gmail-Labels``). Never raises.
    """
    wanted = {n.lower() for n in names}
    headers, _ = split_headers(raw)
    return {k: _undo_surrogates(v) for k, v in headers.items() if k in wanted}


def parse_message(
    raw: bytes,
    *,
    provider_id: str,
    folder: str | None = None,
    privacy: str = "subject",
    fallback_date: datetime | None = None,
    tags: Iterable[str] = (),
    thread_hint: str | None = None,
    size: int | None = None,
) -> Message:
    """Normalize one message (full or header-only bytes).

    ``fallback_date`` (INTERNALDATE, file mtime) is used when the Date header
    is missing or unparseable; without either the message is a
    :class:`BadItem`. ``size`` (RFC822.SIZE, file size) is passed through as
    given: header-only bytes say nothing about the message's size.
    """
    try:
        return _parse(raw, provider_id=provider_id, folder=folder, privacy=privacy,
                      fallback_date=fallback_date, tags=tuple(tags), thread_hint=thread_hint,
                      size=size)
    except BadItem:
        raise
    except Exception as exc:  # the invariant: only BadItem escapes
        log.debug("unexpected parse failure", exc_info=True)
        raise BadItem(provider_id, f"unparseable message ({type(exc).__name__})") from exc


def _parse(raw: bytes, *, provider_id: str, folder: str | None, privacy: str,
           fallback_date: datetime | None, tags: tuple[str, ...], thread_hint: str | None,
           size: int | None) -> Message:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise BadItem(provider_id, "message is not bytes")
    raw = bytes(raw)
    headers, has_body = split_headers(raw)
    if not headers.keys() & _IDENTIFYING:
        raise BadItem(provider_id, "not an email message: none of From, To, Date, Subject, "
                                   "Message-ID")
    get = headers.get

    sent_at = parse_date(get("date"))
    if sent_at is None and fallback_date is not None:
        sent_at = (fallback_date.replace(tzinfo=UTC) if fallback_date.tzinfo is None
                   else fallback_date.astimezone(UTC))
    if sent_at is None:
        raise BadItem(provider_id, "no usable Date header and no receive time")

    sender = first_address(get("from")) or first_address(get("sender"))
    to = parse_address_list(get("to") or "")
    cc = parse_address_list(get("cc") or "")
    bcc = parse_address_list(get("bcc") or "")
    subject = decode_header_value(get("subject"))

    message_id = normalize_message_id(get("message-id"))
    if message_id is None:
        message_id = synthesize_message_id(
            sender.email if sender else None,
            sent_at.isoformat(),
            subject,
            ",".join(a.email for a in to),
            ",".join(a.email for a in cc),
        )

    automation = Automation(
        list_id=decode_header_value(get("list-id")) or None,
        list_unsubscribe=decode_header_value(get("list-unsubscribe")) or None,
        auto_submitted=decode_header_value(get("auto-submitted")) or None,
        precedence=decode_header_value(get("precedence")) or None,
    )

    # the MIME tree is parsed only when something in the body is wanted
    snippet: str | None = None
    body: str | None = None
    invites: tuple[Event, ...] = ()
    content_type = (get("content-type") or "").strip().lower()
    may_have_invite = content_type.startswith(("multipart/", "text/calendar", "application/ics"))
    if has_body and (privacy in ("snippet", "full") or may_have_invite):
        msg = message_from_bytes(raw, policy=compat32)
        if privacy in ("snippet", "full"):
            text = body_text(msg)
            if text:
                snippet = _snippet(text)
                if privacy == "full":
                    body = text[:MAX_BODY_CHARS]
        if may_have_invite:
            invites = extract_invites(msg, provider_id=provider_id, privacy=privacy)

    return Message(
        provider_id=provider_id,
        message_id=message_id,
        sent_at=sent_at,
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=None if privacy == "metadata" else subject,
        folder=folder,
        tags=tuple(_clean_line(t) for t in tags if t and _clean_line(t)),
        thread_hint=thread_hint,
        in_reply_to=normalize_message_id(get("in-reply-to")),
        references=parse_references(get("references")),
        automation=automation,
        size=size,
        snippet=snippet,
        body=body,
        invites=invites,
    )
