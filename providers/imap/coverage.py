"""An IMAP folder's inventory for coverage checks: UIDs by ``UID SEARCH``, no message data.

Object keys are UIDs (as text) of the cursor's UIDVALIDITY. For a folder
whose cursor says every UID up to ``last_uid`` was dealt with:

* ``present`` = ``UID SEARCH UID 1:<last_uid>``: what is still there; a
  stored copy whose UID is not in it was expunged;
* ``expected`` = ``UID SEARCH SINCE <since> UID 1:<last_uid>`` (the window
  of the initial sync), minus UIDs a running backfill still owes (below
  ``backfill_below``): what the store should hold. Without a window
  (``backfill_days: 0``) nothing is expected: the mail that was there before
  the first pass was never meant to be read, so only expunges are checked.

Stored ids of another UIDVALIDITY, of another folder, above ``last_uid`` or
derived from a message (``...#invite#...``) are not compared. Two SEARCH
commands per folder: Dovecot answers them from its index.
"""

from __future__ import annotations

from collections.abc import Callable

from imapclient import IMAPClient

from providers.base import Inventory
from providers.imap.cursor import FolderCursor

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _imap_date(day: str) -> str:
    year, month, mday = (int(x) for x in day.split("-"))
    return f"{mday}-{_MONTHS[month - 1]}-{year}"


def key_parser(folder: str, uidvalidity: int, last_uid: int) -> Callable[[str], str | None]:
    """Stored provider id (``folder/uidvalidity/uid``) -> UID text, if compared."""
    prefix = f"{folder}/{uidvalidity}/"

    def key_of(provider_id: str) -> str | None:
        if "#" in provider_id or not provider_id.startswith(prefix):
            return None
        tail = provider_id[len(prefix):]
        if not tail.isdigit() or not 0 < int(tail) <= last_uid:
            return None
        return str(int(tail))

    return key_of


def folder_inventory(client: IMAPClient, folder: str, uidvalidity: int,
                     cursor: FolderCursor | None) -> Inventory | None:
    """The folder's inventory (see module docstring); the folder must be selected.

    ``None`` when there is nothing to compare: no cursor yet, or a changed
    UIDVALIDITY (the next pass resyncs the folder anyway).
    """
    if cursor is None or cursor.uidvalidity != uidvalidity:
        return None
    top = cursor.last_uid
    key_of = key_parser(folder, uidvalidity, top)
    if top < 1:
        return Inventory(expected=frozenset(), present=frozenset(), key_of=key_of)
    present = {int(u) for u in client.search(["UID", f"1:{top}"]) if int(u) <= top}
    expected: set[int] = set()
    if cursor.since is not None:
        found = client.search(["SINCE", _imap_date(cursor.since), "UID", f"1:{top}"])
        below = cursor.backfill_below
        expected = {int(u) for u in found
                    if int(u) <= top and (below is None or int(u) >= below)}
    return Inventory(expected=frozenset(str(u) for u in expected),
                     present=frozenset(str(u) for u in present), key_of=key_of)
