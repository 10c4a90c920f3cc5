"""Which folders of a mailbox syncd reads.

Default: INBOX and the Sent folder. The Sent folder is the one LIST marks
``\\Sent`` (RFC 6154 SPECIAL-USE); a server without SPECIAL-USE is matched
by common names. Trash, Junk and Drafts are never chosen automatically
(neither by flag nor by name); an explicit ``folders:`` list in the config is
taken as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: tried in order when no folder carries the ``\\Sent`` flag
SENT_NAMES: tuple[str, ...] = (
    "Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "INBOX.Sent", "INBOX/Sent",
    "Sent Mail",
)
#: never picked unless listed explicitly
EXCLUDED_FLAGS = frozenset({"\\trash", "\\junk", "\\drafts", "\\all", "\\flagged"})

#: one LIST entry as imapclient returns it: (flags, delimiter, name)
ListEntry = tuple[Sequence[bytes | str], bytes | str | None, str]


def _flags(entry: ListEntry) -> set[str]:
    return {(f.decode() if isinstance(f, bytes) else f).lower() for f in entry[0]}


def choose_folders(listing: Iterable[ListEntry], explicit: Sequence[str] = ()) -> list[str]:
    """Folder names to sync: ``explicit`` if given, else INBOX + the Sent folder."""
    if explicit:
        return list(dict.fromkeys(explicit))
    entries = [e for e in listing if "\\noselect" not in _flags(e)]
    names = {e[2] for e in entries}
    chosen = ["INBOX"]
    sent = next((e[2] for e in entries if "\\sent" in _flags(e)), None)
    if sent is None:
        by_lower = {n.lower(): n for n in names if not (_flags_of(entries, n) & EXCLUDED_FLAGS)}
        sent = next((by_lower[c.lower()] for c in SENT_NAMES if c.lower() in by_lower), None)
    if sent is not None and sent.upper() != "INBOX":
        chosen.append(sent)
    return chosen


def _flags_of(entries: Sequence[ListEntry], name: str) -> set[str]:
    for entry in entries:
        if entry[2] == name:
            return _flags(entry)
    return set()
