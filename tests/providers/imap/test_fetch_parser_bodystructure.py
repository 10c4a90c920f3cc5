"""providers.imap.fetch_parser on BODYSTRUCTURE: what imapclient reads, without its lexer.

Differential, as ``test_fetch_parser.py``: multipart structures as Dovecot
writes them for real mail (alternative text + HTML, mixed with attachments,
invites, RFC 2231 file names sent as literals, nesting), built by hypothesis
with hostile strings in every slot; parse_fetch must equal imapclient's
``parse_fetch_response`` (BodyData included) and answer for every
well-formed one; ill-formed ones are left to imapclient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.imap.fetch_parser import parse_fetch
from providers.imap.structure import leaf_parts
from tests.providers.imap.test_fetch_parser import agree, imapclient_reads

#: a piece of a structure: bytes, or a literal (which ends the record it is in)
Piece = bytes | tuple[str, bytes]

QUOTED_TEXT = st.text(st.sampled_from(list('ab =_.-/"\\é(){}[]%*')), max_size=10).map(
    lambda t: b'"' + t.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
STRINGS = st.one_of(QUOTED_TEXT, st.just(b"NIL"),
                    st.binary(min_size=0, max_size=8).map(lambda b: ("literal", b)))
NUMBERS = st.sampled_from([b"0", b"12", b"4051", b"012", b"NIL"])


def params(pairs: Sequence[tuple[Piece, Piece]]) -> list[Piece]:
    if not pairs:
        return [b"NIL"]
    out: list[Piece] = [b"("]
    for i, (key, value) in enumerate(pairs):
        out += [b" " if i else b"", key, b" ", value]
    return [*out, b")"]


@st.composite
def leaf(draw: st.DrawFn) -> list[Piece]:
    kind = draw(st.sampled_from([(b'"text"', b'"plain"'), (b'"text"', b'"html"'),
                                 (b'"text"', b'"calendar"'), (b'"application"', b'"pdf"'),
                                 (b'"application"', b'"ics"'), (b'"IMAGE"', b'"png"')]))
    pairs = draw(st.lists(st.tuples(st.sampled_from([b'"charset"', b'"name"', b'"method"']),
                                    STRINGS), max_size=2))
    out: list[Piece] = [b"(", kind[0], b" ", kind[1], b" ", *params(pairs), b" NIL NIL ",
                        draw(st.sampled_from([b'"7bit"', b'"base64"', b'"quoted-printable"'])),
                        b" ", draw(NUMBERS)]
    if kind[0] == b'"text"':
        out += [b" ", draw(NUMBERS)]
    out += [b" NIL "]
    if draw(st.booleans()):
        disposition = draw(st.lists(st.tuples(st.just(b'"filename"'), STRINGS), max_size=1))
        out += [b'("attachment" ', *params(disposition), b")"]
    else:
        out += [b"NIL"]
    return [*out, b" NIL NIL)"]


def multipart(children: list[list[Piece]], subtype: bytes, boundary: bytes) -> list[Piece]:
    out: list[Piece] = [b"("]
    for child in children:
        out += child
    return [*out, b" ", subtype, b' ("boundary" ', boundary, b") NIL NIL NIL)"]


STRUCTURES = st.recursive(
    leaf(),
    lambda inner: st.builds(multipart, st.lists(inner, min_size=1, max_size=3),
                            st.sampled_from([b'"alternative"', b'"mixed"', b'"related"']),
                            QUOTED_TEXT),
    max_leaves=6)


def records_of(pieces: list[Piece], uid: int) -> list[Any]:
    """imaplib's records: text up to each literal as (text {n}, literal), then the rest."""
    records: list[Any] = []
    text = f"{uid} (UID {uid} BODYSTRUCTURE ".encode()
    for piece in pieces:
        if isinstance(piece, tuple):
            records.append((text + b"{%d}" % len(piece[1]), piece[1]))
            text = b""
        else:
            text += piece
    records.append(text + b")")
    return records


@given(st.lists(STRUCTURES, min_size=1, max_size=3))
@settings(max_examples=400, deadline=None)
def test_well_formed_structures_are_read_by_the_fast_path_as_imapclient(
        structures: list[list[Piece]]) -> None:
    records = [r for uid, s in enumerate(structures, start=1) for r in records_of(s, uid)]
    reference = imapclient_reads(records, False)
    fast = parse_fetch(records, False)
    if isinstance(reference, Exception):
        assert fast is None
        return
    assert fast is not None, records
    assert dict(fast) == reference
    for uid, data in fast.items():  # and the provider reads the same parts from either
        assert leaf_parts(data[b"BODYSTRUCTURE"]) == leaf_parts(reference[uid][b"BODYSTRUCTURE"])


@given(STRUCTURES, st.integers(0, 200), st.sampled_from([b"", b")", b"(", b'"', b"[", b" {3}"]))
@settings(max_examples=300, deadline=None)
def test_damaged_structures_agree_or_step_aside(structure: list[Piece], cut: int,
                                                junk: bytes) -> None:
    records = records_of(structure, 1)
    last = records[-1]
    records[-1] = last[:cut] + junk + last[cut:]
    agree(records)
    agree(records, normalise=True)
