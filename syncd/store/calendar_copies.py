"""Which meetings another account's calendar also holds (the ``shared`` input of the merge).

:func:`syncd.store.merge.merge_copy` lets a calendar copy replace a meeting
whatever its SEQUENCE, unless a calendar of *another* account holds a live
copy too: then the newer LAST-MODIFIED wins. :func:`shared_meetings` answers
that question for the meetings of one page, one query per 500 ids.

A live calendar copy is a source of another account, not deleted, that is
not an invite found in mail (those have provider ids containing
``#invite#``, :func:`syncd.store.records.invite_provider_id`). The
account's own sources never compete: its calendar's current state is one
state, and a copy it reports again under another provider id (a second
calendar of the account, an instance id that changed) must not be judged
against its own older self.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from syncd.store.schema import Source
from syncd.store.sql import chunks, table_of

#: the marker of an invite's source provider id (``<message id>#invite#<key>``)
INVITE_MARK = "#invite#"


def shared_meetings(conn: Connection, account_id: str, interaction_ids: Iterable[int]
                    ) -> set[int]:
    """The ids among ``interaction_ids`` with a live calendar copy of another account."""
    table = table_of(Source)
    out: set[int] = set()
    for batch in chunks(sorted(set(interaction_ids))):
        stmt = (select(table.c.interaction_id).distinct()
                .where(table.c.interaction_id.in_(batch),
                       table.c.account_id != account_id,
                       table.c.deleted_at.is_(None),
                       table.c.provider_id.not_like(f"%{INVITE_MARK}%")))
        out.update(conn.execute(stmt).scalars())
    return out
