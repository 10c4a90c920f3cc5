"""A fast reader of UID FETCH responses, equal to imapclient's where it answers.

imapclient's response parser lexes byte by byte in pure Python; on an
initial sync it was half of the provider's CPU time (``bench/imap_ingest.py``).
:func:`parse_fetch` reads the same input — imaplib's FETCH records, each
``bytes`` or ``(text ending in {n}, literal)`` — with one regular expression
per record and builds exactly what ``imapclient.response_parser.
parse_fetch_response`` returns (differentially tested against it, arbitrary
input included). Where it is not sure — unbalanced parentheses, an
unterminated quote or bracket, a quote glued to an atom, a literal whose size
disagrees, ENVELOPE, anything imapclient would reject — it returns ``None``
and the caller asks imapclient, so behaviour never depends on this module.

imapclient's lexer rules mirrored here: whitespace is space, tab, CR, LF;
an atom runs over every byte except controls and ``SP ( ) % " [``, and a
``[`` swallows everything up to the next ``]``; a quoted string unescapes
``\\\\`` and ``\\"`` only; ``NIL`` is None, ``{n}`` is the record's literal,
digits without a leading zero are ints.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_types import BodyData

#: groups: a quoted string; an atom (or one control or "%" byte, which imapclient
#: reads as an atom of its own) and a quote glued to it; "(", ")" or a stray byte
_TOKEN = re.compile(rb'[ \t\r\n]+|("(?:[^"\\]|\\.)*+")'
                    rb'|((?:[^\x00-\x1f ()%"\[]|\[[^\]]*\])++|[^ \t\r\n()"\[])(")?|(.)', re.S)
_ESCAPED = re.compile(rb'\\(["\\])')
_BRACE = ord("{")


class _Unsure(Exception):
    """This input is for imapclient to judge."""


def parse_fetch(records: list[Any], normalise_times: bool) -> dict[int, dict[bytes, Any]] | None:
    """imapclient's ``parse_fetch_response(records, normalise_times, True)``, or None."""
    try:
        return _responses(_atoms(records), normalise_times)
    except _Unsure:
        return None


def _atoms(records: list[Any]) -> list[Any]:
    # findall, not finditer: one C call per record instead of a match object per token
    # (half of this function's time on multipart BODYSTRUCTUREs)
    top: list[Any] = []
    stack: list[list[Any]] = [top]
    current = top
    for record in records:
        if isinstance(record, tuple):
            text, literal = record
            if not (isinstance(text, bytes) and text.endswith(b"}")):
                raise _Unsure
        elif isinstance(record, bytes):
            text, literal = record, None
        else:
            raise _Unsure
        for quoted, atom, glued, other in _TOKEN.findall(text):
            if atom:
                if glued:
                    raise _Unsure  # a quote glued to an atom
                if atom == b"NIL":
                    current.append(None)
                elif atom.isdigit():
                    current.append(int(atom) if atom[0] != 0x30 or len(atom) == 1 else atom)
                else:
                    current.append(_atom(atom, literal) if atom[0] == _BRACE else atom)
            elif quoted:
                current.append(_ESCAPED.sub(rb"\1", quoted[1:-1]) if b"\\" in quoted
                               else quoted[1:-1])
            elif other == b"(":
                current = []
                stack.append(current)
            elif other == b")":
                if len(stack) == 1:
                    raise _Unsure
                done = tuple(stack.pop())
                current = stack[-1]
                current.append(done)
            elif other:
                raise _Unsure  # an unterminated quote, a "[" without its "]"
    if len(stack) != 1:
        raise _Unsure
    return top


def _atom(token: bytes, literal: bytes | None) -> Any:
    if token == b"NIL":
        return None
    if token[0] == _BRACE:
        if literal is None:
            raise _Unsure
        try:
            size = int(token[1:-1])
        except ValueError:
            raise _Unsure from None
        if size != len(literal):
            raise _Unsure
        return literal
    if token.isdigit() and (token[0] != 0x30 or len(token) == 1):
        return int(token)
    return token


def _responses(atoms: list[Any], normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    out: defaultdict[int, dict[bytes, Any]] = defaultdict(dict)
    if len(atoms) % 2:
        raise _Unsure
    for i in range(0, len(atoms), 2):
        seq, attributes = atoms[i], atoms[i + 1]
        if type(seq) is not int or not isinstance(attributes, tuple) or len(attributes) % 2:
            raise _Unsure
        key = seq
        data: dict[bytes, Any] = {b"SEQ": seq}
        for j in range(0, len(attributes), 2):
            name, value = attributes[j], attributes[j + 1]
            if not isinstance(name, bytes):
                raise _Unsure
            word = name.upper()
            if word == b"UID":
                if type(value) is not int:
                    raise _Unsure
                key = value
            elif word == b"INTERNALDATE":
                data[word] = _internaldate(value, normalise_times)
            elif word in (b"BODY", b"BODYSTRUCTURE"):
                if not isinstance(value, tuple):
                    raise _Unsure
                try:
                    data[word] = BodyData.create(value)
                except Exception:  # a shape it refuses: imapclient raises its own error
                    raise _Unsure from None
            elif word == b"ENVELOPE":
                raise _Unsure
            else:
                data[word] = value
        out[key].update(data)
    return out


def _internaldate(value: Any, normalise_times: bool) -> Any:
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise _Unsure
    try:
        return parse_to_datetime(value, normalise=normalise_times)
    except ValueError:
        return None
