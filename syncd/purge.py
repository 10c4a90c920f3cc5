"""Purge: remove logged interactions involving blocked addresses or domains.

Who triggers it:

* ``syncd purge --address X --domain D [--account ID] [--dry-run]`` (the
  CLI command :func:`purge_command`, registered in :mod:`syncd.cli`).
* The blocklists themselves: :class:`BlocklistPurger` runs before the first
  pass after the daemon starts and after every config reload that changed a
  blocklist (the engine calls :meth:`BlocklistPurger.ensure` at the start of
  each pass; it only works when the blocklists' fingerprint changed), so an
  entry added to ``matching.blocklist`` or ``accounts[].blocklist`` purges
  what was already logged before anything new is written. Re-running finds
  nothing: purging is idempotent.

Scope:

* **Global** (``matching.blocklist``, or the CLI without ``--account``): every
  interaction with a matching participant is deleted, with its
  participants and sources.
* **Per rep** (``accounts[].blocklist``, or ``--account``): only that
  account's sources of such interactions are removed; an interaction is
  deleted when no source is left (another rep who saw it keeps it — the
  other rep's policy does not block that person).

A domain matches itself and every subdomain (``acme.com`` covers
``eu.mail.acme.com``); addresses compare canonically. Open reminders on a
deleted interaction, or on a thread that lost all its messages, are closed
(``superseded``, reason says purged); thread aggregates and
``unmatched_addresses`` are recomputed. Look-ups use the indexed
``participants.address`` / ``participants.domain`` columns; a free-mail
domain (stored with ``domain`` NULL) falls back to a suffix scan.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import click
import structlog
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, is_free_mail, registrable_domain
from matching.types import Policy
from syncd.store.apply import EMPTY_THREAD, refresh_unmatched, thread_stats
from syncd.store.database import Database
from syncd.store.schema import Interaction, Participant, Reminder, Source, Thread
from syncd.store.sql import chunks
from syncd.store.types import utcnow

log = structlog.get_logger(__name__)


@dataclass
class PurgeCounts:
    """What one purge removed (or would remove, on a dry run)."""

    interactions: int = 0
    participants: int = 0
    sources: int = 0
    reminders: int = 0

    def add(self, other: PurgeCounts) -> None:
        for name in ("interactions", "participants", "sources", "reminders"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PurgeReport:
    addresses: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    account: str | None = None
    dry_run: bool = False
    #: interactions involving the blocked people (before deciding what to remove)
    matched: int = 0
    removed: PurgeCounts = field(default_factory=PurgeCounts)

    def to_dict(self) -> dict[str, Any]:
        return {"addresses": self.addresses, "domains": self.domains, "account": self.account,
                "dry_run": self.dry_run, "matched": self.matched, **asdict(self.removed)}


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


# ---------------------------------------------------------------------- deletion


def delete_interactions(session: Session, ids: Sequence[int], *,
                        reason: str = "purged") -> PurgeCounts:
    """Delete these interactions with their participants and sources (see module doc)."""
    counts = PurgeCounts()
    ids = sorted(set(ids))
    if not ids:
        return counts
    now = utcnow()
    threads: set[int] = set()
    addresses: set[str] = set()
    for batch in chunks(ids):
        threads.update(t for t in session.scalars(
            select(Interaction.thread_id).where(Interaction.id.in_(batch))) if t is not None)
        addresses.update(session.scalars(
            select(Participant.address).where(Participant.interaction_id.in_(batch))))
        counts.reminders += _affected(session,
            update(Reminder).where(Reminder.interaction_id.in_(batch), Reminder.status == "open")
            .values(status="superseded", reason=reason, resolved_at=now, updated_at=now)
        )
        counts.participants += _affected(session,
            delete(Participant).where(Participant.interaction_id.in_(batch)))
        counts.sources += _affected(session,
            delete(Source).where(Source.interaction_id.in_(batch)))
        counts.interactions += _affected(session,
            delete(Interaction).where(Interaction.id.in_(batch)))
    session.flush()
    counts.reminders += _refresh_threads(session, threads, reason, now)
    for address_batch in chunks(sorted(addresses)):
        refresh_unmatched(session, address_batch)
    return counts


def _refresh_threads(session: Session, thread_ids: set[int], reason: str, now: Any) -> int:
    """Recompute thread aggregates; close open reminders of threads left empty."""
    closed = 0
    for batch in chunks(sorted(thread_ids)):
        stats = thread_stats(session, batch)
        for thread in session.scalars(select(Thread).where(Thread.id.in_(batch))):
            first, last, last_in, last_out, count = stats.get(thread.id, EMPTY_THREAD)
            thread.first_message_at, thread.last_message_at = first, last
            thread.last_inbound_at, thread.last_outbound_at = last_in, last_out
            thread.message_count = count
            thread.updated_at = now
        empty = [t for t in batch if t not in stats]
        if empty:
            closed += _affected(session,
                update(Reminder).where(Reminder.thread_id.in_(empty), Reminder.status == "open")
                .values(status="superseded", reason=reason, resolved_at=now, updated_at=now)
            )
    return closed


def _affected(session: Session, stmt: Any) -> int:
    result = session.execute(stmt)
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def remove_account_sources(session: Session, account_id: str, ids: Sequence[int], *,
                           reason: str = "purged") -> PurgeCounts:
    """Drop ``account_id``'s sources of these interactions; delete those left sourceless."""
    counts = PurgeCounts()
    for batch in chunks(sorted(set(ids))):
        counts.sources += _affected(session,
            delete(Source).where(Source.interaction_id.in_(batch),
                                 Source.account_id == account_id))
    orphans: list[int] = []
    for batch in chunks(sorted(set(ids))):
        alive = set(session.scalars(select(Source.interaction_id)
                                    .where(Source.interaction_id.in_(batch)).distinct()))
        orphans.extend(i for i in batch if i not in alive)
    counts.add(delete_interactions(session, orphans, reason=reason))
    return counts


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
        if account_id is None:
            report.removed = delete_interactions(session, ids, reason=reason)
        else:
            report.removed = remove_account_sources(session, account_id, ids, reason=reason)
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


# ---------------------------------------------------------------------- blocklists


def blocklist_fingerprint(settings: Any) -> str:
    data = {"global": sorted(settings.matching.blocklist),
            "accounts": {a.id: sorted(a.blocklist) for a in settings.accounts}}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def purge_blocklisted(db: Database, settings: Any) -> list[PurgeReport]:
    """Apply every configured blocklist to what is already stored."""
    from syncd.policy import global_policy

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

    def ensure(self, db: Database, settings: Any) -> list[PurgeReport]:
        fingerprint = blocklist_fingerprint(settings)
        if fingerprint == self._done:
            return []
        with self._lock:
            if fingerprint == self._done:
                return []
            reports = purge_blocklisted(db, settings)
            self._done = fingerprint
            return reports


# ---------------------------------------------------------------------- CLI


@click.command("purge")
@click.option("--address", "addresses", multiple=True, metavar="EMAIL",
              help="Remove interactions with this address (repeatable).")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
              help="Remove interactions with anyone at this domain or its subdomains "
                   "(repeatable).")
@click.option("--account", "account_id", metavar="ID",
              help="Only this account's copies (a rep's own blocklist); interactions other "
                   "accounts also saw are kept.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for scripts.")
@click.pass_context
def purge_command(ctx: click.Context, addresses: tuple[str, ...], domains: tuple[str, ...],
                  account_id: str | None, dry_run: bool, fmt: str) -> None:
    """Remove logged interactions of blocked people (and their participants, sources).

    Add the entry to a blocklist as well, or new mail will be logged again.
    """
    from syncd.cli import EXIT_CONFIG, _app
    from syncd.policy import global_policy

    if not addresses and not domains:
        click.echo("error: give --address and/or --domain", err=True)
        ctx.exit(EXIT_CONFIG)
    app = _app(ctx)
    settings = app.load()
    if account_id is not None and account_id not in {a.id for a in settings.accounts}:
        click.echo(f"error: no account {account_id!r} in the config", err=True)
        ctx.exit(EXIT_CONFIG)
    try:
        found_a, found_d = parse_targets(addresses, domains, global_policy(settings))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
        return
    with app.database().session() as s:
        report = purge(s, addresses=found_a, domains=found_d, account_id=account_id,
                       dry_run=dry_run, policy=global_policy(settings))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title="purge (dry run: nothing removed)" if dry_run else "purge")
    for column in ("what", "interactions", "participants", "sources", "reminders closed"):
        table.add_column(column, justify="left" if column == "what" else "right")
    r = report.removed
    table.add_row(", ".join([*found_a, *found_d]) + (f" (account {account_id})"
                                                     if account_id else ""),
                  str(r.interactions), str(r.participants), str(r.sources), str(r.reminders))
    app.stdout.print(table)
    verb = "would remove" if dry_run else "removed"
    app.stdout.print(f"{verb} {r.interactions} interaction(s)")
