"""Purge: remove logged interactions involving blocked addresses or domains.

Who triggers it:

* ``syncd purge --address X --domain D [--account ID] [--dry-run]`` (the
  CLI command in :mod:`syncd.cli.purge`).
* The blocklists themselves: :class:`BlocklistPurger` runs before the first
  pass after the daemon starts and after every config reload that changed a
  blocklist (the engine calls :meth:`BlocklistPurger.ensure` at the start of
  each pass; it only works when the blocklists' fingerprint changed), so an
  entry added to ``matching.blocklist`` or ``accounts[].blocklist`` purges
  what was already logged before anything new is written. Re-running finds
  nothing: purging is idempotent.

Leads of the purged addresses and domains are disqualified
(:func:`syncd.store.leads.disqualify_leads`; per rep: only the leads that
rep's mailbox saw), in the same transaction.

Scope:

* **Global** (``matching.blocklist``, or the CLI without ``--account``): every
  interaction with a matching participant is deleted, with its
  participants and sources.
* **Per rep** (``accounts[].blocklist``, or ``--account``): only that
  account's sources of such interactions are removed; an interaction is
  deleted when no source is left (another rep who saw it keeps it — the
  other rep's policy does not block that person).

People's corrections (``syncd.store.overrides``) and purge: a blocklist
is a privacy rule, so it removes what it covers whatever a person said
about it — an interaction someone assigned to a contact, or marked "not a
customer interaction", goes like any other, and its overrides go with it
(``ON DELETE CASCADE``); a note or call about a blocked address or domain
goes too. Only the blocked people's interactions are touched: a corrected
interaction without them keeps its correction, and a per-rep purge that
leaves another rep's copy keeps it as well. "Not a customer interaction"
itself never deletes anything: it hides the interaction from timelines,
rollups and reminders and can be undone.

A domain matches itself and every subdomain (``acme.com`` covers
``eu.mail.acme.com``); addresses compare canonically. Look-ups use the
indexed ``participants.address`` / ``participants.domain`` columns; a
free-mail domain (stored with ``domain`` NULL) falls back to a suffix scan.

This module only decides WHAT to remove; the removal itself (participants,
sources, reminders closed with a reason that says purged, thread totals and
``unmatched_addresses`` recomputed) is :mod:`syncd.store.removal`, the same
path the engine uses for mail a rep marked private.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, is_free_mail, registrable_domain
from matching.types import Policy
from syncd.config.model import Settings
from syncd.config.policies import global_policy
from syncd.store.database import Database
from syncd.store.leads import disqualify_leads
from syncd.store.removal import (
    RemovalCounts,
    delete_interactions,
    record_removal,
    remove_account_sources,
)
from syncd.store.schema import Participant, Source
from syncd.store.sql import chunks

log = structlog.get_logger(__name__)


@dataclass
class PurgeReport:
    addresses: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    account: str | None = None
    dry_run: bool = False
    #: interactions involving the blocked people (before deciding what to remove)
    matched: int = 0
    #: their leads, disqualified (syncd.store.leads)
    leads_disqualified: int = 0
    removed: RemovalCounts = field(default_factory=RemovalCounts)

    def to_dict(self) -> dict[str, Any]:
        return {"addresses": self.addresses, "domains": self.domains, "account": self.account,
                "dry_run": self.dry_run, "matched": self.matched,
                "leads_disqualified": self.leads_disqualified, **asdict(self.removed)}


# ---------------------------------------------------------------------- targets


def parse_targets(addresses: Iterable[str], domains: Iterable[str],
                  policy: Policy | None = None) -> tuple[list[str], list[str]]:
    """Canonical addresses and domains; ValueError naming a bad entry."""
    out_a: list[str] = []
    for raw in addresses:
        address = canonical_address(raw, policy) if policy else canonical_address(raw)
        if address is None:
            raise ValueError(f"{raw!r} is not an email address")
        out_a.append(address)
    out_d: list[str] = []
    for raw in domains:
        domain = canonical_domain(raw.strip().lstrip("*.").lstrip("@"))
        if domain is None or "." not in domain:
            raise ValueError(f"{raw!r} is not a domain")
        # stored addresses are canonical: googlemail.com mail is stored as gmail.com
        probe = canonical_address(f"probe@{domain}", policy) if policy else None
        out_d.append(probe.rpartition("@")[2] if probe is not None else domain)
    return sorted(set(out_a)), sorted(set(out_d))


def matching_interactions(session: Session, addresses: Sequence[str],
                          domains: Sequence[str], *, account_id: str | None = None,
                          policy: Policy | None = None) -> list[int]:
    """Ids of interactions with a participant at these addresses/domains (subdomains too)."""
    ids: set[int] = set()
    for batch in chunks(sorted(set(addresses))):
        ids.update(session.scalars(select(Participant.interaction_id)
                                   .where(Participant.address.in_(batch))))
    for domain in domains:
        if is_free_mail(domain, policy or Policy()):
            # free mail is stored with domain NULL (never a company): suffix scan
            stmt = select(Participant.interaction_id, Participant.address).where(
                or_(Participant.address.like(f"%@{domain}"),
                    Participant.address.like(f"%.{domain}")))
        else:  # indexed registrable domain, then the exact suffix in Python
            stmt = select(Participant.interaction_id, Participant.address).where(
                Participant.domain == (registrable_domain(domain) or domain))
        ids.update(i for i, address in session.execute(stmt) if _under(address, domain))
    if account_id is not None and ids:
        scoped: set[int] = set()
        for id_batch in chunks(sorted(ids)):
            scoped.update(session.scalars(
                select(Source.interaction_id).where(Source.interaction_id.in_(id_batch),
                                                    Source.account_id == account_id)))
        ids = scoped
    return sorted(ids)


def _under(address: str, domain: str) -> bool:
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


def purge(session: Session, *, addresses: Sequence[str] = (), domains: Sequence[str] = (),
          account_id: str | None = None, dry_run: bool = False,
          reason: str = "purged", policy: Policy | None = None) -> PurgeReport:
    """Remove what is logged for canonical ``addresses``/``domains`` (see module doc)."""
    report = PurgeReport(addresses=list(addresses), domains=list(domains),
                         account=account_id, dry_run=dry_run)
    ids = matching_interactions(session, addresses, domains, account_id=account_id,
                                policy=policy)
    report.matched = len(ids)
    # a dry run does the real work inside a savepoint and rolls it back: exact counts
    savepoint = session.begin_nested() if dry_run else None
    try:
        # first: the lead's reminder closes saying why, before the removal closes it
        report.leads_disqualified = len(disqualify_leads(
            session, addresses=addresses, domains=domains, account_id=account_id,
            reason=reason))
        if account_id is None:
            report.removed = delete_interactions(session, ids, reason=reason)
        else:
            report.removed = remove_account_sources(session, account_id, ids, reason=reason)
        if not report.removed.empty:
            record_removal(session, "purge", reason=reason, counts=report.removed,
                           scope={"addresses": list(addresses), "domains": list(domains),
                                  "account": account_id})
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


# ---------------------------------------------------------------------- blocklists


def blocklist_fingerprint(settings: Settings) -> str:
    data = {"global": sorted(settings.matching.blocklist),
            "accounts": {a.id: sorted(a.blocklist) for a in settings.accounts}}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def purge_blocklisted(db: Database, settings: Settings) -> list[PurgeReport]:
    """Apply every configured blocklist to what is already stored."""
    policy = global_policy(settings)
    reports: list[PurgeReport] = []
    scopes: list[tuple[str | None, list[str]]] = [(None, list(settings.matching.blocklist))]
    scopes += [(a.id, list(a.blocklist)) for a in settings.accounts if a.blocklist]
    for account_id, entries in scopes:
        if not entries:
            continue
        addresses, domains = parse_targets([e for e in entries if "@" in e],
                                           [e for e in entries if "@" not in e], policy)
        with db.session() as s:
            report = purge(s, addresses=addresses, domains=domains, account_id=account_id,
                           reason="purged: blocklisted", policy=policy)
        if report.removed.interactions or report.removed.sources:
            log.info("blocklist purge", **report.to_dict())
        reports.append(report)
    return reports


class BlocklistPurger:
    """Runs :func:`purge_blocklisted` once per distinct set of blocklists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: str | None = None

    def ensure(self, db: Database, settings: Settings) -> list[PurgeReport]:
        fingerprint = blocklist_fingerprint(settings)
        if fingerprint == self._done:
            return []
        with self._lock:
            if fingerprint == self._done:
                return []
            reports = purge_blocklisted(db, settings)
            self._done = fingerprint
            return reports
