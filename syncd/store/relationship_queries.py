"""Set-based reads behind the relationship reminder rules (one statement each).

* :func:`gone_quiet_candidates` — parties whose latest two-way exchange is
  in ``[window_start, quiet_since)`` (so none since ``quiet_since``) and
  who had at least ``min_exchanges`` exchange emails on the UTC days of
  that window (``*_exchange_days``). Reads the rollups' ``last_exchange_at``
  index range first, then each hit's exchange days by primary key: the
  cost grows with the parties in the window, never with the whole
  directory's history (bench/gone_quiet.py).
* :func:`engaged_contacts` — per open opportunity, how many distinct
  contacts of its company exchanged mail or met with us since ``since``
  (participants by their ``(company_id, occurred_at)`` index), and one of
  them (the lowest id) for naming a single thread.
* :func:`last_exchanges` — the parties' current ``last_exchange_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from syncd.store.schema import (
    Company,
    CompanyExchangeDay,
    CompanyRollup,
    Contact,
    ContactExchangeDay,
    ContactRollup,
    Interaction,
    Opportunity,
    Participant,
)
from syncd.store.sql import chunks, table_of

_ROLLUPS = {"company": (table_of(CompanyRollup), "company_id"),
            "contact": (table_of(ContactRollup), "contact_id")}
_DAYS = {"company": table_of(CompanyExchangeDay), "contact": table_of(ContactExchangeDay)}


@dataclass(frozen=True, slots=True)
class Quiet:
    party_id: int
    last_exchange_at: datetime
    #: exchange emails in the window before the silence
    exchanges: int


def gone_quiet_candidates(s: Session, kind: str, *, window_start: datetime,
                          quiet_since: datetime, min_exchanges: int,
                          tiers: Sequence[str] | None = None) -> list[Quiet]:
    """``tiers`` (lower-case), when given, keeps only parties whose company has one of
    them: the rule's ``company_tier`` segment, a necessary condition checked in SQL
    so that the caller loads the facts of few parties."""
    rollup, key = _ROLLUPS[kind]
    r, d = rollup.c, _DAYS[kind].c
    total = func.sum(d.exchanges)
    stmt = (select(r[key], r.last_exchange_at, total)
            .join(_DAYS[kind], d[key] == r[key])
            .where(r.last_exchange_at >= window_start, r.last_exchange_at < quiet_since,
                   d.day >= window_start.date(), d.day <= quiet_since.date())
            .group_by(r[key], r.last_exchange_at)
            .having(total >= min_exchanges)
            .order_by(r[key]))
    if tiers is not None:
        company = (r[key] if kind == "company" else
                   select(Contact.company_id).where(Contact.id == r[key]).scalar_subquery())
        stmt = stmt.where(company.in_(select(Company.id).where(
            func.lower(Company.tier).in_(list(tiers)))))
    return [Quiet(party_id, last, int(n)) for party_id, last, n in s.execute(stmt)]


def last_exchanges(s: Session, kind: str, ids: Iterable[int]) -> dict[int, datetime | None]:
    rollup, key = _ROLLUPS[kind]
    out: dict[int, datetime | None] = {}
    for batch in chunks(sorted(set(ids))):
        out.update({i: last for i, last in s.execute(
            select(rollup.c[key], rollup.c.last_exchange_at).where(rollup.c[key].in_(batch)))})
    return out


@dataclass(frozen=True, slots=True)
class Engagement:
    opportunity_id: int
    company_id: int
    owner: str | None
    name: str
    contacts: int
    #: the lowest engaged contact id (the single thread when ``contacts == 1``)
    contact_id: int | None


def engaged_contacts(s: Session, *, since: datetime,
                     company_ids: Sequence[int] | None = None) -> list[Engagement]:
    """Every open opportunity (of ``company_ids`` if given) with its company's engaged
    contacts since ``since``."""
    p, i, o = Participant, Interaction, Opportunity
    opportunities = select(o.company_id).where(o.is_open.is_(True))
    if company_ids is not None:
        opportunities = opportunities.where(o.company_id.in_(list(company_ids)))
    counted = or_(i.kind == "email",
                  and_(i.kind == "meeting", i.deleted.is_(False),
                       or_(i.status.is_(None), i.status != "cancelled")))
    engaged = (select(p.company_id, func.count(func.distinct(p.contact_id)).label("n"),
                      func.min(p.contact_id).label("first"))
               .join(i, i.id == p.interaction_id)
               .where(p.company_id.in_(opportunities),
                      p.occurred_at >= since, p.contact_id.is_not(None), counted)
               .group_by(p.company_id).subquery())
    stmt = (select(o.id, o.company_id, o.owner, o.name, engaged.c.n, engaged.c.first)
            .outerjoin(engaged, engaged.c.company_id == o.company_id)
            .where(o.company_id.in_(opportunities)).order_by(o.id))
    return [Engagement(oid, cid, owner, name, int(n or 0), first)
            for oid, cid, owner, name, n, first in s.execute(stmt)]
