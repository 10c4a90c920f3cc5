"""Suggested contacts: unmatched addresses ranked by recent two-way activity.

Every row of ``unmatched_addresses`` (external people on logged
interactions whom no contact owns) is scored over the ``window_days``
before ``now``, counting interactions that are not deleted:

* ``inbound``: mail they sent us (direction inbound, they are the sender);
* ``outbound``: mail we sent them (direction outbound, they are a recipient);
* ``meetings``: meetings they were invited to;
* ``score`` = ``min(inbound, outbound) + meetings``: a conversation going
  both ways (or a meeting) counts, a one-sided stream (a cold sender, a
  mailing we kept sending) does not.

``suggestion_page`` sorts by the key ``(score, last_seen, id)`` descending
and continues strictly after ``after`` (:mod:`syncd.store.keyset`). Scores
are computed per request from participants (one grouped query over the
window); a page boundary is stable while the scores do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, distinct, func, select

from syncd.store.database import Database
from syncd.store.keyset import after as keyset_after
from syncd.store.keyset import order
from syncd.store.schema import Interaction, Participant, UnmatchedAddress

#: the sort key of a suggestion: (score, last_seen, id), descending
SuggestionKey = tuple[int, datetime, int]

RECIPIENT_ROLES = ("to", "cc", "bcc")


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    address: str
    domain: str | None
    first_seen: datetime
    last_seen: datetime
    interaction_count: int
    inbound: int
    outbound: int
    meetings: int
    score: int

    @property
    def key(self) -> SuggestionKey:
        return (self.score, self.last_seen, self.id)


def suggestion_page(db: Database, *, now: datetime, window_days: int, domain: str | None,
                    after: SuggestionKey | None, limit: int) -> list[Suggestion]:
    """See the module docstring."""
    since = now - timedelta(days=window_days)
    p, i, u = Participant, Interaction, UnmatchedAddress
    activity = (
        select(
            p.address.label("address"),
            func.count(distinct(case((and_(i.direction == "inbound", p.role == "from"), i.id)))
                       ).label("inbound"),
            func.count(distinct(case((and_(i.direction == "outbound",
                                           p.role.in_(RECIPIENT_ROLES)), i.id)))
                       ).label("outbound"),
            func.count(distinct(case((i.kind == "meeting", i.id)))).label("meetings"),
        )
        .join(i, i.id == p.interaction_id)
        .where(i.occurred_at >= since, i.deleted.is_(False),
               p.address.in_(select(u.address)))
        .group_by(p.address)
        .subquery("activity")
    )
    inbound = func.coalesce(activity.c.inbound, 0)
    outbound = func.coalesce(activity.c.outbound, 0)
    meetings = func.coalesce(activity.c.meetings, 0)
    score = case((inbound < outbound, inbound), else_=outbound) + meetings
    conditions: list[ColumnElement[bool]] = []
    if domain is not None:
        conditions.append(u.domain == domain.strip().lstrip("@").lower())
    ranked = (
        select(u.id, u.address, u.domain, u.first_seen, u.last_seen, u.interaction_count,
               inbound.label("inbound"), outbound.label("outbound"), meetings.label("meetings"),
               score.label("score"))
        .outerjoin(activity, activity.c.address == u.address)
        .where(*conditions)
        .subquery("ranked")
    )
    columns = (ranked.c.score, ranked.c.last_seen, ranked.c.id)
    stmt = select(ranked)
    if after is not None:
        stmt = stmt.where(keyset_after(columns, after, descending=True))
    stmt = stmt.order_by(*order(columns, descending=True)).limit(limit)
    with db.session(write=False) as s:
        return [
            Suggestion(id=row.id, address=row.address, domain=row.domain,
                       first_seen=row.first_seen, last_seen=row.last_seen,
                       interaction_count=row.interaction_count, inbound=int(row.inbound),
                       outbound=int(row.outbound), meetings=int(row.meetings),
                       score=int(row.score))
            for row in s.execute(stmt)
        ]
