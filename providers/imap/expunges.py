"""Which delivered messages of a folder were expunged: two ways to ask, no message data.

IMAP reports expunges only to a session that is watching; a pass that comes
back later must ask. Two ways, chosen per connection:

* **QRESYNC** (RFC 7162), when the server offers it and the account allows it:
  ``UID FETCH 1:<last_uid> (UID) (CHANGEDSINCE <modseq> VANISHED)`` answers
  ``* VANISHED (EARLIER) <uid-set>`` with every UID expunged since the
  cursor's HIGHESTMODSEQ. An expunge raises HIGHESTMODSEQ, so this runs only
  on a pass whose SELECT already showed a change: the no-change poll stays a
  bare SELECT. The FETCH answers for flag changes come back too (a few bytes
  each) and are ignored.
* **UID SEARCH comparison**, elsewhere: at most every
  ``expunge_check_interval`` seconds, ``UID SEARCH UID 1:<last_uid>`` lists
  the UIDs present; the cursor keeps the set present at the last check
  (compressed to ranges) and the UID it covered. Gone: the UIDs present
  then or delivered since that are not present now. The first check only
  records the set.

Either way the answer may name UIDs that syncd never stored (mail outside the
backfill window, mail expunged before it was fetched): a deletion of an
unknown provider id marks nothing. A message moved to another folder is
expunged here and appears there: the store keeps the interaction as long as
one copy remains (and, under ``deletions: retain``, after the last one).
"""

from __future__ import annotations

from collections.abc import Iterable

from imapclient import IMAPClient


def compress(uids: Iterable[int]) -> str:
    """An IMAP sequence set for ``uids``: ``"1:4,7,9:12"`` (``""`` for none)."""
    out: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(out)


def expand(text: str) -> set[int]:
    """The UIDs of an IMAP sequence set of numbers (``a:b`` either way round).

    Raises :class:`ValueError` on anything else (``*``, junk): a server's answer
    or a stored cursor that cannot be read is not guessed at.
    """
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition(":")
        first = int(low)
        last = int(high) if sep else first
        if first < 1 or last < 1:
            raise ValueError(f"not a UID: {part!r}")
        out.update(range(min(first, last), max(first, last) + 1))
    return out


def offers_qresync(client: IMAPClient) -> bool:
    return bool(client.has_capability("QRESYNC"))


def vanished_since(client: IMAPClient, modseq: int, last_uid: int) -> list[int]:
    """UIDs ``<= last_uid`` expunged since ``modseq`` (QRESYNC must be enabled)."""
    if last_uid < 1:
        return []
    imap = client._imap
    imap.untagged_responses.pop("VANISHED", None)  # left by earlier commands
    typ, data = imap.uid("FETCH", f"1:{last_uid}",
                         f"(UID) (CHANGEDSINCE {modseq} VANISHED)")
    if typ != "OK":
        raise ValueError(f"UID FETCH (VANISHED) refused: {data!r}")
    gone: set[int] = set()
    for raw in imap.untagged_responses.pop("VANISHED", []):
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        text = text.strip()
        if text.upper().startswith("(EARLIER)"):
            text = text[len("(EARLIER)"):]
        gone |= expand(text)
    return sorted(u for u in gone if u <= last_uid)


def present_uids(client: IMAPClient, last_uid: int) -> set[int]:
    """UIDs ``<= last_uid`` present in the selected folder (``UID SEARCH``)."""
    if last_uid < 1:
        return set()
    return {int(u) for u in client.search(["UID", f"1:{last_uid}"]) if int(u) <= last_uid}


def gone_since_check(present_then: set[int], checked_through: int, delivered_through: int,
                     present_now: set[int]) -> list[int]:
    """UIDs present at the last check, or new since it, that are not present now."""
    candidates = present_then | set(range(checked_through + 1, delivered_through + 1))
    return sorted(candidates - present_now)
