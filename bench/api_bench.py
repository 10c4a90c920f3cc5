"""HTTP API under load: a company's timeline and a contact with rollups, 50 concurrent clients.

The target: with 1,000,000 contacts, 200,000 companies and 5,000,000
interactions in PostgreSQL (and a smaller SQLite store), a company timeline
page and a contact with rollups each answer in **p99 <= 50 ms under 50
concurrent clients**, and the p99 at 5M interactions is **within 2x** of
the same at 50k.

Stores (``--stores``; ``--scale`` multiplies all but the two baselines):

============  ==========  ============  =========  =========  ==================
store         database    interactions  contacts   companies  p99 compared with
============  ==========  ============  =========  =========  ==================
small         PostgreSQL  50,000        10,000     2,000      (baseline)
large         PostgreSQL  5,000,000     1,000,000  200,000    small
sqlite-small  SQLite      50,000        10,000     2,000      (baseline)
sqlite        SQLite      500,000       100,000    20,000     sqlite-small
============  ==========  ============  =========  =========  ==================

**Data** (:class:`Layout`, :class:`Generator`; deterministic for a seed).
Companies with one domain (a tenth with a second one), an owner rep, an open
opportunity for the top 5 %. Activity is skewed: the company of rank k
(ranks shuffled over the ids) has weight ``1 / (k + 10)``, so at 200k
companies the busiest has ~0.9 % of all history (~46k interactions at 5M),
the top 1 % about half, the top 20 % about 84 %, and the median company ~5
interactions. 90 % of the contacts belong to a company (at least one each,
the rest spread by the square root of the weight; within a company the
first contacts are the busiest), the others write from free mail. One rep
per 1,000 companies (at least 20), each with a mail and a calendar
account. 85 % of the interactions are emails in threads of 1-12 messages
over the two years before the seed (replies alternate direction, so
two-way exchanges occur), 15 % meetings (a few upcoming, 5 % cancelled);
2-6 participants each (the rep, one to four people of the company, some
unknown people at its domain, a colleague on cc for a fifth: a second
source); 1 % of emails deleted by their mailbox; 40 % of the threads of
companies with a deal linked to it; open ``reply_needed`` reminders on
recent threads waiting for the rep. 3 % of the conversations are with
unmatched people, 5 % with free-mail contacts. Unmatched addresses and the
relationship rollups are filled after the load.

**Seeding** writes straight into the schema of ``Database(url).migrate()``.
PostgreSQL: secondary indexes, unique and foreign-key constraints are
dropped, rows streamed with ``COPY`` (a connection per table) while Python
generates them, then indexes and constraints are rebuilt (foreign keys
validated), sequences moved past the ids, rollups computed in SQL (the
definitions of :mod:`syncd.store.rollup_facts`; a sample of contacts and
companies, the busiest included, is checked against
:func:`syncd.store.rollups.refresh_rollups`) and ``VACUUM ANALYZE`` run
(this server runs no autovacuum; syncd itself analyzes as it writes).
SQLite: ``executemany`` with the secondary indexes dropped, rollups by the
project's own :func:`~syncd.store.rollups.rebuild_rollups`; no ``ANALYZE``
(syncd never runs it on SQLite). A store is seeded under a temporary name
and renamed when complete; ``--keep`` keeps it for later runs (which reuse
any kept store of the same shape and ``SEED_VERSION``), otherwise it is
dropped at the end. On the shared 2-core VM (2026-12-07) the large store
took 6-9 minutes (136-175 s rows, 157-160 s indexes and constraints,
138-170 s rollups; 7.5 GB), the SQLite store 1-1.5 minutes, the small ones
seconds.

**Load.** Each store is served by the real ``syncd api`` process (a
generated config: the store, an admin token and a rep token). First the
stores are read into the OS page cache (PostgreSQL: ``pg_prewarm(...,
'read')`` of the tables the endpoints read and their indexes, 8.5 GB for
the large store, ~30 s; SQLite: the file), the steady state of a
long-running server on a machine with the RAM for it; ``--cold`` skips
that (on a freshly seeded large store the first touch of each company's
rows is then a disk read: tens to thousands of ms). For each
endpoint, after a warm-up, 50 clients (one ``httpx.AsyncClient``, one
connection each; closed loop: no think time unless ``--think``, then each
client pauses an exponentially distributed time of that mean between its
requests, and throughput counts up to the last answer, not the last pause)
send requests for ``--duration`` seconds, in ``--rounds`` rounds that alternate
the stores; ids are picked with the same skew as the activity (people look
at busy accounts). Endpoints, all with the rep's token:

* ``timeline first``: ``GET /v1/timeline?company=ID`` (50 items);
* ``timeline later``: the same with a ``cursor`` of page 2-4 (``--cursors``
  of them, collected before the warm-up by following ``next_cursor``);
* ``contact``: ``GET /v1/contacts/ID`` (with rollups).

Printed per endpoint and store: requests, throughput, p50/p95/p99 seen by
the clients and the target (``OK``/``MISSED``), p99 inside the server (its
access log's ``duration_ms``), CPU per request of the server process and of
the clients, how busy both cores were, p50/p99 of a single client
(``--solo`` seconds: the latency without queueing), and the large/baseline
p99 ratios (under load, and of the single client). With closed-loop
clients, latency = clients / throughput once the server is saturated
(Little's law): p99 <= 50 ms at 50 clients needs >= 1,000 requests/s.

``--explain`` adds, for the companies of rank 0 (the busiest), 120 (just
past the ~100 most common values PostgreSQL keeps statistics of, so its
row estimate is an average) and the median, pages 1 and 2 of the timeline,
and for a contact of the busiest company: each store query's time and the
plan of the slow ones (PostgreSQL ``EXPLAIN (ANALYZE, BUFFERS)``, SQLite
``EXPLAIN QUERY PLAN``). The statements are captured from the store
functions the routes call (:func:`~syncd.store.timeline_pages.timeline_page`,
:func:`~syncd.store.directory_queries.contact_view`), so they stay the real ones.

Usage::

    .venv/bin/python bench/api_bench.py                    # full scale, ~15 min + seeding
    .venv/bin/python bench/api_bench.py --scale 0.1        # quick: 500k / 50k interactions
    .venv/bin/python bench/api_bench.py --keep             # keep the seeded stores for next time
    .venv/bin/python bench/api_bench.py --seed-only        # seed and keep, measure nothing
    .venv/bin/python bench/api_bench.py --stores small,large --explain
    .venv/bin/python bench/api_bench.py --think 2          # clients pause ~2 s between requests
    .venv/bin/python bench/api_bench.py --cold             # no page-cache warm-up first
    .venv/bin/python bench/api_bench.py --drop-kept        # drop kept stores and exit

PostgreSQL: ``--pg`` (default ``postgresql://root@127.0.0.1:5432/test``, an
admin database on a trust-auth server); the bench creates and drops its own
``syncd_api_bench_*`` databases. SQLite stores live in ``--cache``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg
import yaml
from psycopg import sql
from sqlalchemy import Connection, event, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncd.config.api import token_sha256
from syncd.store.database import Database
from syncd.store.directory_queries import contact_view
from syncd.store.rollup_facts import EPOCH, HALF_LIFE, HORIZON
from syncd.store.rollups import rebuild_rollups, refresh_rollups
from syncd.store.schema import (
    CompanyRepRollup,
    CompanyRollup,
    ContactRepRollup,
    ContactRollup,
)
from syncd.store.sql import table_of
from syncd.store.timeline_pages import (
    TimelineFilters,
    TimelineKey,
    TimelineSubject,
    timeline_key,
    timeline_page,
)

#: bump when the generated data changes: kept stores of another version are not reused
SEED_VERSION = 2
TARGET_P99_MS = 50.0
TARGET_RATIO = 2.0
PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
DB_PREFIX = "syncd_api_bench_"
INTERNAL = "ourco.example"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
REP_TOKEN = "bench-rep-token-0123456789abcdef"
#: the rep whose token the clients use (their own mail shows in full, colleagues' as metadata)
REP = 0
#: activity weight of the company of rank k: 1 / (k + SKEW_OFFSET)
SKEW_OFFSET = 10
DAY = 86_400

FIRST = ("Ann", "Bob", "Carla", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivan", "Jun", "Kofi",
         "Lena", "Mats", "Nina", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara", "Uma",
         "Vik", "Wen", "Xia", "Yara", "Zeke", "Ada", "Ben", "Cleo", "Dan", "Eva", "Finn",
         "Gia", "Hugo", "Iris", "Jon", "Kai", "Lia", "Max", "Noor")
LAST = ("Smith", "Garcia", "Mueller", "Rossi", "Kowalski", "Nakamura", "Okafor", "Silva",
        "Jensen", "Dubois", "Novak", "Kim", "Haddad", "Larsen", "Moreau", "Schmidt",
        "Yilmaz", "Costa", "Berg", "Ivanova", "Patel", "Chen", "Lopez", "Horvat", "Fischer",
        "Meyer", "Bauer", "Ahmed", "Santos", "Olsen", "Weber", "Kaya", "Ito", "Nguyen",
        "Popescu", "Varga", "Murphy", "Walsh", "Brennan", "Quist")
WORDS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "soylent",
         "wonka", "cyberdyne", "aperture", "massive", "vandelay", "dunder", "gringotts",
         "oscorp", "nakatomi", "monarch", "pied", "virtucon", "zorg", "duff", "krusty")
SUFFIXES = ("Inc", "GmbH", "Ltd", "SA", "AB", "BV", "Corp")
TOPICS = ("Renewal pricing", "Onboarding plan", "Security questionnaire", "Invoice question",
          "Integration kickoff", "Quarterly review", "Contract redlines", "Support escalation",
          "Feature request", "Usage report", "Procurement forms", "Pilot results")
SNIPPETS = ("Thanks for the call earlier, following up on the points we discussed",
            "Please find attached the updated proposal with the revised numbers",
            "Could you confirm the timeline for the next phase of the rollout",
            "We reviewed the draft internally and have a few comments",
            "Happy to set up a short call next week to go through the details",
            "Just checking in on the open items from our last meeting")
MEETINGS = ("Weekly sync", "Demo", "QBR", "Kickoff", "Roadmap review", "Pricing call")
TIMEZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "Asia/Singapore")
THREAD_LENGTHS = (1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12)


# ---------------------------------------------------------------------- stores


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    backend: str  # "postgresql" | "sqlite"
    interactions: int
    contacts: int
    companies: int
    #: the store whose p99 this one's is compared with
    baseline: str | None = None

    def scaled(self, scale: float) -> Spec:
        if self.baseline is None or scale == 1.0:
            return self
        return replace(self, interactions=max(1_000, round(self.interactions * scale)),
                       contacts=max(200, round(self.contacts * scale)),
                       companies=max(40, round(self.companies * scale)))

    @property
    def tag(self) -> str:
        return f"{self.interactions}_{self.contacts}_{self.companies}_v{SEED_VERSION}"

    @property
    def db_name(self) -> str:
        return f"{DB_PREFIX}{self.name.replace('-', '_')}_{self.tag}"


SPECS = {s.name: s for s in (
    Spec("small", "postgresql", 50_000, 10_000, 2_000),
    Spec("large", "postgresql", 5_000_000, 1_000_000, 200_000, baseline="small"),
    Spec("sqlite-small", "sqlite", 50_000, 10_000, 2_000),
    Spec("sqlite", "sqlite", 500_000, 100_000, 20_000, baseline="sqlite-small"),
)}


def domain_of(company: int) -> str:
    return f"{WORDS[company % len(WORDS)]}{company}.example"


def second_domain_of(company: int) -> str | None:
    return f"{WORDS[company % len(WORDS)]}{company}-group.example" if company % 10 == 3 else None


def rep_address(rep: int) -> str:
    return f"rep{rep}@{INTERNAL}"


def names_of(n: int) -> tuple[str, str]:
    return FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]


class Layout:
    """Who exists and how busy they are, from the spec and the seed alone (so a kept
    store is picked from without reading it back). Ranks order companies by activity."""

    def __init__(self, spec: Spec, seed: int) -> None:
        rng = random.Random(f"layout:{seed}:{spec.tag}")
        n = spec.companies
        self.spec = spec
        self.reps = max(20, n // 1_000)
        #: rank -> company id (shuffled: busy companies are not the first ids)
        self.company_ids = list(range(1, n + 1))
        rng.shuffle(self.company_ids)
        weights = [1.0 / (k + SKEW_OFFSET) for k in range(n)]
        self.cum = list(itertools.accumulate(weights))
        in_companies = max(n, int(spec.contacts * 0.9))
        counts = [1] * n
        for rank in rng.choices(range(n), weights=[math.sqrt(w) for w in weights],
                                k=in_companies - n):
            counts[rank] += 1
        people = list(range(1, max(spec.contacts, in_companies) + 1))
        rng.shuffle(people)
        #: rank -> offset of its people in ``members``
        self.start = list(itertools.accumulate(counts, initial=0))
        self.members = people[:in_companies]
        self.loners = people[in_companies:]
        self.contacts = len(people)
        #: contact id -> company id (0: none)
        self.company_of = [0] * (self.contacts + 1)
        for rank in range(n):
            company = self.company_ids[rank]
            for person in self.members[self.start[rank]:self.start[rank + 1]]:
                self.company_of[person] = company
        #: rank -> owning rep
        self.owner = [rng.randrange(self.reps) for _ in range(n)]
        #: ranks below this have an open opportunity (id = rank + 1)
        self.deals = max(1, n // 20)

    def pick_rank(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cum, rng.random() * self.cum[-1]), len(self.cum) - 1)

    def pick_member(self, rank: int, rng: random.Random) -> int:
        start, end = self.start[rank], self.start[rank + 1]
        return self.members[start + int((end - start) * rng.random() ** 2)]

    def pick_contact(self, rng: random.Random) -> int:
        if self.loners and rng.random() < 0.05:
            return rng.choice(self.loners)
        return self.pick_member(self.pick_rank(rng), rng)


# ---------------------------------------------------------------------- generated rows


#: a participant: address, display name, contact id, company id, match, reason, domain
Person = tuple[str, str, int | None, int | None, str, str, str | None]

COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "provider", "owner", "state", "items_synced", "last_pass_items",
                 "updated_at", "last_success_at"),
    "companies": ("id", "name", "tier", "tags", "owner", "created_at", "updated_at"),
    "company_domains": ("id", "company_id", "domain"),
    "contacts": ("id", "name", "title", "company_id", "tags", "created_at", "updated_at"),
    "contact_emails": ("id", "contact_id", "address", "original"),
    "opportunities": ("id", "company_id", "name", "stage", "owner", "is_open", "created_at",
                      "updated_at"),
    "threads": ("id", "key", "subject", "first_message_at", "last_message_at",
                "last_inbound_at", "last_outbound_at", "message_count", "updated_at"),
    "interactions": ("id", "kind", "dedupe_key", "occurred_at", "ends_at", "all_day",
                     "timezone", "subject", "snippet", "location", "thread_id", "in_reply_to",
                     "thread_hint", "status", "sequence", "provider_updated_at", "direction",
                     "opportunity_id", "opportunity_reason", "deleted", "deleted_at",
                     "created_at", "updated_at"),
    "participants": ("id", "interaction_id", "position", "role", "address", "domain",
                     "display_name", "contact_id", "company_id", "match", "match_reason",
                     "response_status", "occurred_at"),
    "sources": ("id", "interaction_id", "account_id", "provider_id", "resource", "folder",
                "first_seen_at", "deleted_at"),
    "reminders": ("id", "kind", "due_at", "priority", "owner", "subject", "contact_id",
                  "company_id", "opportunity_id", "thread_id", "interaction_id", "rule",
                  "status", "idempotency_key", "reason", "created_at", "updated_at"),
}
DIRECTORY = ("accounts", "companies", "company_domains", "contacts", "contact_emails",
             "opportunities")
#: tables written while history is generated
STREAMED = ("threads", "interactions", "participants", "sources")


class Sink(Protocol):
    def add(self, row: tuple[Any, ...]) -> None: ...


class TimeText:
    """Epoch seconds -> the text each database stores for an aware UTC time."""

    def __init__(self, backend: str) -> None:
        self.suffix = "+00" if backend == "postgresql" else ".000000"
        self.clock = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60)
                      for s in range(60)]
        self.days: dict[int, str] = {}

    def __call__(self, t: int) -> str:
        d, s = divmod(t, DAY)
        day = self.days.get(d)
        if day is None:
            day = self.days[d] = date.fromordinal(d + 719_163).isoformat()
        return f"{day} {self.clock[s]}{self.suffix}"


@dataclass
class Counts:
    interactions: int = 0
    participants: int = 0
    sources: int = 0
    threads: int = 0
    reminders: int = 0


class Generator:
    """Writes the directory and the history of :class:`Layout` into sinks (module doc)."""

    def __init__(self, lay: Layout, now: datetime, seed: int, ts: TimeText,
                 sinks: dict[str, Sink]) -> None:
        self.lay = lay
        self.now = int(now.timestamp())
        self.rng = random.Random(f"history:{seed}:{lay.spec.tag}")
        self.ts = ts
        self.sinks = sinks
        self.created = ts(self.now)
        self.counts = Counts()
        self.ids = {"interaction": 0, "participant": 0, "source": 0, "thread": 0}

    # ------------------------------------------------------------------ directory

    def directory(self) -> None:
        lay, created = self.lay, self.created
        for rep in range(lay.reps):
            for suffix, provider in (("mail", "gmail"), ("cal", "google_calendar")):
                self.sinks["accounts"].add((f"rep{rep}-{suffix}", provider, rep_address(rep),
                                            "idle", 0, 0, created, created))
        domain_id = 0
        for rank, company in enumerate(lay.company_ids):
            word = WORDS[company % len(WORDS)]
            tier = "strategic" if rank < lay.deals and company % 3 == 0 else None
            self.sinks["companies"].add((
                company, f"{word.title()} {SUFFIXES[company % len(SUFFIXES)]} {company}", tier,
                "[]", rep_address(lay.owner[rank]), created, created))
            for domain in (domain_of(company), second_domain_of(company)):
                if domain is not None:
                    domain_id += 1
                    self.sinks["company_domains"].add((domain_id, company, domain))
            if rank < lay.deals:
                self.sinks["opportunities"].add((
                    rank + 1, company, f"Renewal {company}", "proposal",
                    rep_address(lay.owner[rank]), True, created, created))
        email_id = 0
        for contact in range(1, lay.contacts + 1):
            company = lay.company_of[contact]
            first, last = names_of(contact)
            self.sinks["contacts"].add((contact, f"{first} {last}",
                                        "Buyer" if contact % 4 == 0 else None,
                                        company or None, "[]", created, created))
            person = self.contact_person(contact)
            email_id += 1
            self.sinks["contact_emails"].add((email_id, contact, person[0], person[0]))
            if company and contact % 12 == 5:  # a private address too
                email_id += 1
                private = f"{first}{last}{contact}@gmail.com".lower()
                self.sinks["contact_emails"].add((email_id, contact, private, private))

    def contact_person(self, contact: int) -> Person:
        company = self.lay.company_of[contact]
        first, last = names_of(contact)
        if company:
            domain = domain_of(company)
            return (f"{first}.{last}.{contact}@{domain}".lower(), f"{first} {last}", contact,
                    company, "contact",
                    f"address matches contact {contact}; company {company} from the contact",
                    domain)
        return (f"{first}{last}{contact}@gmail.com".lower(), f"{first} {last}", contact, None,
                "contact",
                f"address matches contact {contact}; no company: gmail.com is a free-mail "
                "domain", None)

    @staticmethod
    def unknown_person(company: int, n: int) -> Person:
        first, last = names_of(n)
        domain = domain_of(company)
        return (f"{first}.{last}@{domain}".lower(), f"{first} {last}", None, company, "company",
                f"domain {domain} belongs to company {company}", domain)

    @staticmethod
    def unmatched_person(n: int) -> Person:
        first, last = names_of(n)
        domain = f"{WORDS[n % len(WORDS)]}-{n}.example"
        return (f"{first}.{last}@{domain}".lower(), f"{first} {last}", None, None, "unmatched",
                f"no contact has this address and no company owns {domain}", domain)

    @staticmethod
    def rep_person(rep: int) -> Person:
        return (rep_address(rep), f"Rep {rep}", None, None, "internal",
                f"{INTERNAL} is an internal domain", INTERNAL)

    # ------------------------------------------------------------------ history

    def history(self) -> Counts:
        lay, rng = self.lay, self.rng
        mean_thread = sum(THREAD_LENGTHS) / len(THREAD_LENGTHS)
        # a step is a meeting with this probability, else a thread: 15 % meetings overall
        p_meeting = 0.15 * mean_thread / (0.85 + 0.15 * mean_thread)
        total = lay.spec.interactions
        while self.ids["interaction"] < total:
            rank = -1
            pick = rng.random()
            if pick < 0.92:
                rank = lay.pick_rank(rng)
                company = lay.company_ids[rank]
                people: dict[str, Person] = {}
                wanted = 1 + (rng.random() < 0.45) + (rng.random() < 0.17) + (rng.random() < 0.05)
                for _ in range(wanted):
                    if rng.random() < 0.15:
                        person = self.unknown_person(company, rng.randrange(2_000))
                    else:
                        person = self.contact_person(lay.pick_member(rank, rng))
                    people.setdefault(person[0], person)
                externals = list(people.values())
                rep = lay.owner[rank] if rng.random() < 0.7 else rng.randrange(lay.reps)
            elif pick < 0.97 and lay.loners:
                externals = [self.contact_person(rng.choice(lay.loners))]
                rep = rng.randrange(lay.reps)
            else:
                externals = [self.unmatched_person(rng.randrange(50_000))]
                rep = rng.randrange(lay.reps)
            colleague = rng.randrange(lay.reps) if rng.random() < 0.2 else None
            if colleague == rep:
                colleague = None
            deal = rank + 1 if 0 <= rank < lay.deals and rng.random() < 0.4 else None
            if rng.random() < p_meeting:
                self.meeting(rep, externals, colleague, deal)
            else:
                self.thread(rep, externals, colleague, deal, rank)
        return self.counts

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def _participants(self, interaction: int, at: str,
                      rows: Sequence[tuple[str, Person, str | None]]) -> None:
        add = self.sinks["participants"].add
        for position, (role, p, response) in enumerate(rows):
            add((self._next("participant"), interaction, position, role, p[0], p[6], p[1], p[2],
                 p[3], p[4], p[5], response, at))
        self.counts.participants += len(rows)

    def _source(self, interaction: int, account: str, provider_id: str, folder: str,
                deleted_at: str | None) -> None:
        self.sinks["sources"].add((self._next("source"), interaction, account, provider_id,
                                   folder, folder, self.created, deleted_at))
        self.counts.sources += 1

    def thread(self, rep: int, externals: list[Person], colleague: int | None,
               deal: int | None, rank: int) -> None:
        rng, ts = self.rng, self.ts
        thread = self._next("thread")
        subject = f"{TOPICS[thread % len(TOPICS)]} ({thread})"
        root = f"<t{thread}.m0@mail.bench.example>"
        me = self.rep_person(rep)
        cc_colleague = [self.rep_person(colleague)] if colleague is not None else []
        t = self.now - rng.randrange(60, 730 * DAY)
        outbound = rng.random() < 0.55
        length = rng.choice(THREAD_LENGTHS)
        first_t = last_t = t
        last_in: int | None = None
        last_out: int | None = None
        previous: str | None = None
        last_id = 0
        count = 0
        for m in range(length):
            if t > self.now - 60 or self.ids["interaction"] >= self.lay.spec.interactions:
                break
            interaction = self._next("interaction")
            key = root if m == 0 else f"<t{thread}.m{m}@mail.bench.example>"
            if outbound:
                roles = [("from", me, None), ("to", externals[0], None)]
                roles += [("cc", p, None) for p in externals[1:] + cc_colleague]
                last_out = t
            else:
                sender = externals[0] if len(externals) == 1 or rng.random() < 0.8 \
                    else rng.choice(externals[1:])
                roles = [("from", sender, None), ("to", me, None)]
                roles += [("cc", p, None) for p in externals + cc_colleague if p is not sender]
                last_in = t
            deleted_at = ts(min(t + 30 * DAY, self.now)) if rng.random() < 0.01 else None
            self.sinks["interactions"].add((
                interaction, "email", key, ts(t), None, False, None,
                subject if m == 0 else f"Re: {subject}", SNIPPETS[(thread + m) % len(SNIPPETS)],
                None, thread, previous, f"{thread:x}", None, None, None,
                "outbound" if outbound else "inbound", deal,
                "the company's only open opportunity" if deal else None,
                deleted_at is not None, deleted_at, self.created, self.created))
            self._participants(interaction, ts(t), roles)
            folder = "Sent" if outbound else "INBOX"
            self._source(interaction, f"rep{rep}-mail", f"{folder}/{interaction}", folder,
                         deleted_at)
            if colleague is not None:
                self._source(interaction, f"rep{colleague}-mail", f"INBOX/{interaction}", "INBOX",
                             deleted_at)
            previous, last_id, last_t = key, interaction, t
            count += 1
            t += 60 + int(rng.expovariate(1 / (8 * 3600)))
            if rng.random() < 0.7:
                outbound = not outbound
        self.counts.interactions += count
        self.counts.threads += 1
        self.sinks["threads"].add((
            thread, root, subject, ts(first_t), ts(last_t),
            ts(last_in) if last_in is not None else None,
            ts(last_out) if last_out is not None else None, count, self.created))
        waiting = last_in is not None and last_in == last_t
        if rank >= 0 and waiting and last_t > self.now - 45 * DAY and rng.random() < 0.6:
            contact = externals[0][2]
            self.counts.reminders += 1
            self.sinks["reminders"].add((
                self.counts.reminders, "reply_needed", ts(last_t + 2 * DAY), "normal",
                rep_address(rep), subject, contact, self.lay.company_ids[rank], deal, thread,
                last_id, "reply_needed", "open",
                f"reply_needed:default:thread:{thread}:{last_id}",
                "the customer wrote last and is waiting for a reply", self.created,
                self.created))

    def meeting(self, rep: int, externals: list[Person], colleague: int | None,
                deal: int | None) -> None:
        rng, ts = self.rng, self.ts
        interaction = self._next("interaction")
        start = self.now - rng.randrange(-60 * DAY, 730 * DAY)
        start -= start % 900
        me = self.rep_person(rep)
        theirs = rng.random() < 0.25 and externals[0][4] != "unmatched"
        organizer = externals[0] if theirs else me
        attendees: list[tuple[str, Person, str | None]] = []
        if theirs or rng.random() < 0.5:
            attendees.append(("attendee", me, "accepted"))
        for p in externals:
            answer = rng.random()
            attendees.append(("attendee", p, "accepted" if answer < 0.7
                              else "tentative" if answer < 0.85 else "needsAction"))
        if colleague is not None:
            attendees.append(("attendee", self.rep_person(colleague), "accepted"))
        roles = [("organizer", organizer, None), *attendees][:6]
        status = "cancelled" if rng.random() < 0.05 else "confirmed"
        title = MEETINGS[interaction % len(MEETINGS)]
        self.sinks["interactions"].add((
            interaction, "meeting", f"ev{interaction}@cal.bench.example#", ts(start),
            ts(start + (1800 if interaction % 2 else 3600)), False,
            TIMEZONES[interaction % len(TIMEZONES)], title, None,
            "Video call" if interaction % 3 else "Their office", None, None, None, status, 0,
            self.created, "inbound" if theirs else "outbound", deal,
            "the company's only open opportunity" if deal else None, False, None,
            self.created, self.created))
        self._participants(interaction, ts(start), roles)
        self._source(interaction, f"rep{rep}-cal", f"ev{interaction}", "primary", None)
        if colleague is not None:
            self._source(interaction, f"rep{colleague}-cal", f"ev{interaction}", "primary", None)
        self.counts.interactions += 1


# ---------------------------------------------------------------------- PostgreSQL seeding


def pg_conninfo(admin: str, database: str) -> str:
    return make_url(admin).set(drivername="postgresql", database=database).render_as_string(
        hide_password=False)


def pg_store_url(admin: str, database: str) -> str:
    return make_url(admin).set(drivername="postgresql+psycopg", database=database) \
        .render_as_string(hide_password=False)


def pg_admin(admin: str) -> psycopg.Connection[Any]:
    return psycopg.connect(pg_conninfo(admin, make_url(admin).database or "postgres"),
                           autocommit=True)


#: what the measured endpoints read (``--cold`` skips reading them in first)
WARMED = ("interactions", "participants", "sources", "threads", "accounts", "contacts",
          "contact_emails", "companies", "opportunities", "overrides", "notes", "reminders",
          "contact_rollups", "company_rollups", "contact_rep_rollups", "company_rep_rollups")


def prewarm(admin: str, spec: Spec, cache: Path) -> float:
    """Reads a store into the OS page cache (a long-running server's steady state);
    megabytes read. PostgreSQL: ``pg_prewarm(..., 'read')`` of :data:`WARMED` and their
    indexes; SQLite: the database file."""
    if spec.backend != "postgresql":
        path, read = sqlite_path(cache, spec), 0
        with path.open("rb") as f:
            while chunk := f.read(1 << 22):
                read += len(chunk)
        return read / 1e6
    with psycopg.connect(pg_conninfo(admin, spec.db_name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = [r for r, in conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c LEFT JOIN pg_index i "
            "ON i.indexrelid = c.oid WHERE c.relname = ANY(%s) "
            "OR i.indrelid::regclass::text = ANY(%s)", (list(WARMED), list(WARMED)))]
        blocks = sum(conn.execute("SELECT pg_prewarm(%s::regclass, 'read')",
                                  (r,)).fetchone()[0] for r in relations)  # type: ignore[index]
    return blocks * 8192 / 1e6


def pg_exists(admin: str, name: str) -> bool:
    with pg_admin(admin) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def pg_drop(admin: str, name: str) -> None:
    with pg_admin(admin) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


class PgCopy:
    """One table's ``COPY ... FROM STDIN`` in text format, fed in batches."""

    def __init__(self, stack: contextlib.ExitStack, conn: psycopg.Connection[Any],
                 table: str) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table])))
        self.copy = stack.enter_context(conn.cursor().copy(statement))
        self.lines: list[str] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self.lines.append("\t".join(["\\N" if v is None else str(v) for v in row]))
        if len(self.lines) >= 4_000:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.lines.clear()


@dataclass
class Saved:
    """Secondary indexes and constraints dropped for the load, to rebuild after it."""

    indexes: list[str] = field(default_factory=list)
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, def


def pg_strip(conn: psycopg.Connection[Any]) -> Saved:
    saved = Saved()
    rows = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype IN ('f', 'u')
        ORDER BY c.contype = 'u', c.conname""").fetchall()
    for table, name, definition, _kind in rows:  # foreign keys first
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)))
        saved.constraints.append((table, name, definition))
    for name, definition in conn.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1""").fetchall():
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        saved.indexes.append(definition)
    saved.constraints.reverse()  # unique constraints back before the foreign keys
    return saved


def pg_restore(conn: psycopg.Connection[Any], saved: Saved, say: Callable[[str], None]) -> None:
    """Indexes, then unique constraints, then foreign keys (validated); slow ones are named."""
    for definition in saved.indexes:
        started = time.perf_counter()
        conn.execute(definition.encode())
        if (took := time.perf_counter() - started) >= 5:
            say(f"    {definition.split(' ON ')[0].removeprefix('CREATE ')}: {took:.0f} s")
    for table, name, definition in saved.constraints:
        started = time.perf_counter()
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))
        if (took := time.perf_counter() - started) >= 5:
            say(f"    {name}: {took:.0f} s")


def rollup_sql(party: str, key: str) -> list[str]:
    """The rollups of every contact or company in SQL: the definitions of
    :func:`syncd.store.rollup_facts.summarize` and :func:`~syncd.store.rollup_facts.rep_facts`
    (``%(now)s``, ``%(horizon)s``, ``%(cutoff)s`` = start of the horizon's UTC day)."""
    half = HALF_LIFE.total_seconds()
    return [
        "DROP TABLE IF EXISTS bench_seen, bench_exchange",
        f"""CREATE TEMP TABLE bench_seen AS
        SELECT h.party, i.id, i.kind, i.occurred_at AS t, i.thread_id,
               CASE WHEN i.kind = 'email' AND i.direction = 'inbound' AND h.sent THEN 'in'
                    WHEN i.kind = 'email' AND i.direction = 'outbound' AND h.received
                    THEN 'out' END AS flow,
               (i.kind <> 'meeting' OR (i.status IS DISTINCT FROM 'cancelled'
                                        AND NOT i.deleted)) AS counted
        FROM (SELECT {key} AS party, interaction_id, bool_or(role = 'from') AS sent,
                     bool_or(role IN ('to', 'cc', 'bcc')) AS received
              FROM participants WHERE {key} IS NOT NULL
              GROUP BY {key}, interaction_id) h
        JOIN interactions i ON i.id = h.interaction_id""",
        """CREATE TEMP TABLE bench_exchange AS
        SELECT party, id, t FROM (
            SELECT party, id, t,
                   min(t) FILTER (WHERE flow = 'in') OVER w AS first_in,
                   min(t) FILTER (WHERE flow = 'out') OVER w AS first_out
            FROM bench_seen WHERE flow IS NOT NULL AND thread_id IS NOT NULL
            WINDOW w AS (PARTITION BY party, thread_id)) x
        WHERE first_in IS NOT NULL AND first_out IS NOT NULL
          AND t >= GREATEST(first_in, first_out)""",
        f"""INSERT INTO {party}_rollups ({key}, interactions, first_at, last_at,
            last_inbound_at, last_outbound_at, last_exchange_at, meetings, first_meeting_at,
            earlier_meeting_at, day_counts, meeting_starts, updated_at)
        SELECT a.party, a.dated + a.meetings, a.first_at, a.last_at, a.last_in, a.last_out,
               e.last_exchange, a.meetings, a.first_meeting, a.earlier_meeting,
               COALESCE(d.days, '{{}}'), '[' || COALESCE(a.starts, '') || ']', %(now)s
        FROM (SELECT party,
                     count(*) FILTER (WHERE kind <> 'meeting') AS dated,
                     count(*) FILTER (WHERE kind = 'meeting' AND counted) AS meetings,
                     min(t) FILTER (WHERE kind <> 'meeting') AS first_at,
                     max(t) FILTER (WHERE kind <> 'meeting') AS last_at,
                     max(t) FILTER (WHERE flow = 'in') AS last_in,
                     max(t) FILTER (WHERE flow = 'out') AS last_out,
                     min(t) FILTER (WHERE kind = 'meeting' AND counted) AS first_meeting,
                     max(t) FILTER (WHERE kind = 'meeting' AND counted
                                    AND t < %(horizon)s) AS earlier_meeting,
                     string_agg('"' || to_char(t AT TIME ZONE 'UTC',
                                               'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00"', ','
                                ORDER BY t) FILTER (WHERE kind = 'meeting' AND counted
                                                    AND t >= %(horizon)s) AS starts
              FROM bench_seen GROUP BY party) a
        LEFT JOIN (SELECT party, max(t) AS last_exchange FROM bench_exchange
                   GROUP BY party) e ON e.party = a.party
        LEFT JOIN (SELECT party, '{{' || string_agg('"' || day || '":' || n, ','
                                                    ORDER BY day) || '}}' AS days
                   FROM (SELECT party, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                                count(*) AS n
                         FROM bench_seen WHERE kind <> 'meeting' AND t >= %(cutoff)s
                         GROUP BY 1, 2) x
                   GROUP BY party) d ON d.party = a.party
        WHERE a.dated + a.meetings > 0""",
        f"""INSERT INTO {party}_rep_rollups ({key}, rep, exchanges, last_exchange_at,
                                               exchange_score)
        SELECT party, rep, count(*), max(t),
               top + ln(sum(power(2::float8, x - top))) / ln(2::float8)
        FROM (SELECT e.party, r.owner AS rep, e.t, e.x,
                     max(e.x) OVER (PARTITION BY e.party, r.owner) AS top
              FROM (SELECT party, id, t,
                           extract(epoch FROM t - %(epoch)s)::float8 / {half} AS x
                    FROM bench_exchange) e
              JOIN (SELECT DISTINCT s.interaction_id, a.owner
                    FROM sources s JOIN accounts a ON a.id = s.account_id
                    WHERE a.owner IS NOT NULL AND a.owner <> '') r
                ON r.interaction_id = e.id) y
        GROUP BY party, rep, top""",
        "DROP TABLE bench_seen, bench_exchange",
    ]


UNMATCHED_SQL = """
    INSERT INTO unmatched_addresses (address, domain, first_seen, last_seen, interaction_count)
    SELECT p.address, min(p.domain), min(i.occurred_at), max(i.occurred_at),
           count(DISTINCT p.interaction_id)
    FROM participants p JOIN interactions i ON i.id = p.interaction_id
    WHERE p.contact_id IS NULL AND p.match IN ('unmatched', 'company')
    GROUP BY p.address"""


def seed_postgres(spec: Spec, admin: str, seed: int, now: datetime,
                  say: Callable[[str], None]) -> None:
    """Seed ``spec.db_name`` (see the module doc); it exists only once complete."""
    temp = spec.db_name[:55] + "_seeding"
    pg_drop(admin, temp)
    try:
        _seed_postgres(spec, admin, temp, seed, now, say)
    except BaseException:
        pg_drop(admin, temp)
        raise


def _seed_postgres(spec: Spec, admin: str, temp: str, seed: int, now: datetime,
                   say: Callable[[str], None]) -> None:
    with pg_admin(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(temp)))
    started = time.perf_counter()
    db = Database(pg_store_url(admin, temp))
    db.migrate()
    db.dispose()
    info = pg_conninfo(admin, temp)
    lay = Layout(spec, seed)
    with psycopg.connect(info, autocommit=True) as conn:
        saved = pg_strip(conn)
    say(f"  schema, {len(saved.indexes)} indexes and {len(saved.constraints)} constraints "
        f"dropped: {time.perf_counter() - started:.1f} s")
    step = time.perf_counter()
    ts = TimeText("postgresql")
    with contextlib.ExitStack() as stack:
        # one COPY per connection: a connection per table
        directory = {name: PgCopy(stack, stack.enter_context(psycopg.connect(info)), name)
                     for name in DIRECTORY}
        generator = Generator(lay, now, seed, ts, dict(directory))
        generator.directory()
        for sink in directory.values():
            sink.flush()
        streams = {name: PgCopy(stack, stack.enter_context(psycopg.connect(info)), name)
                   for name in STREAMED}
        reminders: list[tuple[Any, ...]] = []

        class Collect:
            def add(self, row: tuple[Any, ...]) -> None:
                reminders.append(row)

        generator.sinks = {**streams, "reminders": Collect()}
        counts = generator.history()
        for sink in streams.values():
            sink.flush()
        stack.close()  # ends every COPY and commits
    copy_reminders = sql.SQL("COPY reminders ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS["reminders"])))
    with psycopg.connect(info) as conn, conn.cursor() as cur, cur.copy(copy_reminders) as copy:
        for row in reminders:
            copy.write_row(row)
    say(f"  rows: {counts.interactions:,} interactions, {counts.participants:,} participants, "
        f"{counts.sources:,} sources, {counts.threads:,} threads, {counts.reminders:,} "
        f"reminders, {lay.contacts:,} contacts, {spec.companies:,} companies: "
        f"{time.perf_counter() - step:.1f} s")
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET temp_buffers = '512MB'")
        step = time.perf_counter()
        pg_restore(conn, saved, say)
        say(f"  indexes and constraints rebuilt: {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        for table, in conn.execute("""
                SELECT table_name FROM information_schema.columns
                WHERE table_schema = 'public' AND column_name = 'id'
                  AND (column_default LIKE 'nextval%%' OR is_identity = 'YES')""").fetchall():
            conn.execute(sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                "(SELECT COALESCE(max(id), 0) + 1 FROM {i}), false)").format(
                    t=sql.Literal(table), i=sql.Identifier(table)))
        conn.execute(UNMATCHED_SQL)
        horizon = now - HORIZON
        params = {"now": now, "horizon": horizon, "epoch": EPOCH,
                  "cutoff": datetime.combine(horizon.date(), datetime.min.time(), UTC)}
        with conn.transaction():
            for party, key in (("contact", "contact_id"), ("company", "company_id")):
                for statement in rollup_sql(party, key):
                    conn.execute(statement.encode(), params if "%(" in statement else None)
        say(f"  unmatched addresses and rollups: {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        say(f"  VACUUM ANALYZE: {time.perf_counter() - step:.1f} s")
    db = Database(pg_store_url(admin, temp))
    try:
        step = time.perf_counter()
        checked = verify_rollups(db, lay, now)
        say(f"  rollups of {checked} parties (the busiest included) equal refresh_rollups: "
            f"{time.perf_counter() - step:.1f} s")
    finally:
        db.dispose()
    with pg_admin(admin) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(temp), sql.Identifier(spec.db_name)))
    say(f"  seeded {spec.name} in {time.perf_counter() - started:.0f} s")


def verify_rollups(db: Database, lay: Layout, now: datetime) -> int:
    """Rollups of a sample of parties (the 20 busiest companies and their busiest
    contacts, plus skewed picks) recomputed by the project's ``refresh_rollups``
    in a transaction that is rolled back; they must equal the stored ones."""
    rng = random.Random(7)
    companies = {lay.company_ids[r] for r in range(min(20, len(lay.company_ids)))}
    companies |= {lay.company_ids[lay.pick_rank(rng)] for _ in range(60)}
    contacts = {lay.pick_member(r, rng) for r in range(min(20, len(lay.company_ids)))}
    contacts |= {lay.pick_contact(rng) for _ in range(200)}
    tables = [(table_of(ContactRollup), "contact_id", contacts),
              (table_of(CompanyRollup), "company_id", companies),
              (table_of(ContactRepRollup), "contact_id", contacts),
              (table_of(CompanyRepRollup), "company_id", companies)]

    def snapshot(conn: Connection) -> list[dict[Any, tuple[Any, ...]]]:
        out: list[dict[Any, tuple[Any, ...]]] = []
        for table, key, ids in tables:
            rows: dict[Any, tuple[Any, ...]] = {}
            for row in conn.execute(select(table).where(table.c[key].in_(sorted(ids)))):
                values = row._asdict()
                values.pop("updated_at", None)
                ident = (values[key], values.get("rep"))
                rows[ident] = tuple(sorted(values.items()))
            out.append(rows)
        return out

    with db.session() as s:
        before = snapshot(s.connection())
        refresh_rollups(s, contacts, companies, now=now)
        after = snapshot(s.connection())
        s.rollback()
    for old, new in zip(before, after, strict=True):
        if old.keys() != new.keys():
            raise SystemExit(f"rollup rows differ from refresh_rollups: "
                             f"{sorted(set(old) ^ set(new))[:5]}")
        for ident, row in old.items():
            for (name, value), (_, fresh) in zip(row, new[ident], strict=True):
                same = (math.isclose(value, fresh, rel_tol=1e-12)
                        if isinstance(value, float) else value == fresh)
                if not same:
                    raise SystemExit(f"rollup {ident} {name}: seeded {value!r}, "
                                     f"refresh_rollups {fresh!r}")
    return len(contacts) + len(companies)


# ---------------------------------------------------------------------- SQLite seeding


class SqliteRows:
    def __init__(self, conn: sqlite3.Connection, table: str) -> None:
        columns = COLUMNS[table]
        self.conn = conn
        self.statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                          f"VALUES ({', '.join('?' * len(columns))})")
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= 10_000:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.conn.executemany(self.statement, self.rows)
            self.rows.clear()


def sqlite_path(cache: Path, spec: Spec) -> Path:
    return cache / f"{spec.db_name}.db"


def seed_sqlite(spec: Spec, path: Path, seed: int, now: datetime,
                say: Callable[[str], None]) -> None:
    started = time.perf_counter()
    temp = path.with_suffix(".seeding")
    for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
        leftover.unlink(missing_ok=True)
    db = Database(f"sqlite:///{temp}")
    db.migrate()
    db.dispose()
    lay = Layout(spec, seed)
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        indexes = [(name, ddl) for name, ddl in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("BEGIN")
        sinks = {name: SqliteRows(conn, name) for name in COLUMNS}
        generator = Generator(lay, now, seed, TimeText("sqlite"), dict(sinks))
        generator.directory()
        counts = generator.history()
        for sink in sinks.values():
            sink.flush()
        conn.execute("COMMIT")
        say(f"  rows: {counts.interactions:,} interactions, {counts.participants:,} "
            f"participants, {counts.sources:,} sources: {time.perf_counter() - started:.1f} s")
        step = time.perf_counter()
        for _, ddl in indexes:
            conn.execute(ddl)
        conn.execute(UNMATCHED_SQL)
        say(f"  indexes, unmatched addresses: {time.perf_counter() - step:.1f} s")
    finally:
        conn.close()
    step = time.perf_counter()
    db = Database(f"sqlite:///{temp}")
    try:
        with db.session() as s:
            parties = rebuild_rollups(s, now=now)
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    say(f"  rollups of {parties:,} parties (rebuild_rollups): {time.perf_counter() - step:.1f} s")
    temp.rename(path)
    say(f"  seeded {spec.name} in {time.perf_counter() - started:.0f} s")


# ---------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(name: str, store_url: str, directory: Path) -> Server:
    port = free_port()
    config = {
        "state_dir": str(directory / "state"),
        "store": {"url": store_url},
        "logging": {"level": "info", "format": "json"},
        "organization": {"internal_domains": [INTERNAL]},
        "api": {"listen": f"127.0.0.1:{port}", "sharing": {"colleagues": "metadata"},
                "tokens": [
                    {"name": "bench-admin", "token_sha256": token_sha256(ADMIN_TOKEN),
                     "viewer": "admin", "scopes": ["read"]},
                    {"name": "bench-rep", "token_sha256": token_sha256(REP_TOKEN),
                     "viewer": rep_address(REP), "scopes": ["read"]}]},
    }
    path = directory / "syncd.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = directory / "syncd.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "syncd", "--config", str(path), "api"],
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=Path(__file__).resolve().parents[1])
    server = Server(name, proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"syncd api for {name} exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(f"{server.url}/v1/accounts", headers=auth(ADMIN_TOKEN), timeout=10)
            if r.status_code == 200:
                return server
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"syncd api for {name} did not answer in 120 s:\n{log.read_text()[-3000:]}")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_durations(log: Path, start: int, end: int) -> list[float]:
    """``duration_ms`` of the access-log lines between two offsets of the log."""
    with log.open("rb") as f:
        f.seek(start)
        chunk = f.read(end - start)
    out: list[float] = []
    for line in chunk.splitlines():
        if b'"duration_ms"' in line:
            with contextlib.suppress(ValueError, KeyError):
                out.append(float(json.loads(line)["duration_ms"]))
    return out


# ---------------------------------------------------------------------- load


#: picks one request (path, query) with a client's random generator
Picker = Callable[[random.Random], tuple[str, dict[str, str]]]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds, 200 answers
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    busy: float = 0.0  # machine CPU busy fraction

    def merge(self, other: Sample) -> None:
        self.latencies += other.latencies
        for k, v in other.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        total = self.seconds + other.seconds
        if total:
            self.busy = (self.busy * self.seconds + other.busy * other.seconds) / total
        self.seconds = total
        self.server_ms += other.server_ms
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def drive(url: str, token: str, pick: Picker, clients: int, seconds: float,
                seed: int, think: float) -> Sample:
    """``clients`` closed-loop clients sending ``pick``'s requests for ``seconds``, each
    pausing ``think`` seconds on average (exponentially distributed) between requests."""
    sample = Sample()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=auth(token), limits=limits,
                                 timeout=60) as client:
        deadline = time.perf_counter() + seconds
        last_answer = [0.0]

        async def worker(n: int) -> None:
            rng = random.Random(seed * 1_000 + n)
            if think > 0:  # clients with think time arrive spread out, not in one burst
                await asyncio.sleep(rng.expovariate(1 / think))
            while time.perf_counter() < deadline:
                path, params = pick(rng)
                sent = time.perf_counter()
                try:
                    response = await client.get(path, params=params)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    sample.errors[key] = sample.errors.get(key, 0) + 1
                    continue
                last_answer[0] = answered = time.perf_counter()
                if response.status_code == 200:
                    sample.latencies.append(answered - sent)
                else:
                    key = str(response.status_code)
                    sample.errors[key] = sample.errors.get(key, 0) + 1
                if think > 0:
                    await asyncio.sleep(min(rng.expovariate(1 / think),
                                            max(deadline - time.perf_counter(), 0.0)))

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        # until the last answer: a client's last pause (think time) is not load
        sample.seconds = max(last_answer[0], deadline) - started
    return sample


def measure(server: Server, pick: Picker, clients: int, seconds: float, seed: int,
            think: float = 0.0) -> Sample:
    cpu0, own0 = cpu_of(server.proc.pid), _own_cpu()
    busy0, total0 = machine_busy()
    offset = server.log.stat().st_size
    sample = asyncio.run(drive(server.url, REP_TOKEN, pick, clients, seconds, seed, think))
    busy1, total1 = machine_busy()
    time.sleep(0.05)  # the last access-log lines
    sample.server_ms = server_durations(server.log, offset, server.log.stat().st_size)
    sample.server_cpu = cpu_of(server.proc.pid) - cpu0
    sample.client_cpu = _own_cpu() - own0
    sample.busy = (busy1 - busy0) / max(1, total1 - total0)
    return sample


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timeline_first(lay: Layout) -> Picker:
    def pick(rng: random.Random) -> tuple[str, dict[str, str]]:
        return "/v1/timeline", {"company": str(lay.company_ids[lay.pick_rank(rng)])}
    return pick


def contact_pick(lay: Layout) -> Picker:
    def pick(rng: random.Random) -> tuple[str, dict[str, str]]:
        return f"/v1/contacts/{lay.pick_contact(rng)}", {}
    return pick


def later_pages(server: Server, lay: Layout, wanted: int, seed: int) -> Picker:
    """Cursors of pages 2-4 of skew-picked companies' timelines (those with that many),
    collected by 8 clients following ``next_cursor``."""
    rng = random.Random(seed)
    walks = [(str(lay.company_ids[lay.pick_rank(rng)]), rng.choice((1, 1, 2, 3)))
             for _ in range(wanted * 20)]
    pool: list[tuple[str, str]] = []

    async def collect() -> None:
        async with httpx.AsyncClient(base_url=server.url, headers=auth(REP_TOKEN),
                                     timeout=120) as client:
            async def walker() -> None:
                while walks and len(pool) < wanted:
                    company, depth = walks.pop()
                    params = {"company": company}
                    for _ in range(depth):
                        r = await client.get("/v1/timeline", params=params)
                        r.raise_for_status()
                        cursor = r.json().get("next_cursor")
                        if not cursor:
                            break
                        pool.append((company, cursor))
                        params = {"company": company, "cursor": cursor}

            await asyncio.gather(*(walker() for _ in range(8)))

    asyncio.run(collect())
    if not pool:
        raise SystemExit(f"{server.name}: no timeline has a second page")

    def pick(rng: random.Random) -> tuple[str, dict[str, str]]:
        company, cursor = rng.choice(pool)
        return "/v1/timeline", {"company": company, "cursor": cursor}
    return pick


# ---------------------------------------------------------------------- explain


def explain(name: str, url: str, lay: Layout, now: datetime, say: Callable[[str], None]
            ) -> None:
    """Each store query behind the measured requests, timed, and the plans of the slow ones."""
    db = Database(url)
    captured: list[tuple[str, Any, float]] = []
    starts: list[float] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        starts.append(time.perf_counter())

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        captured.append((statement, parameters, time.perf_counter() - starts.pop()))

    cases: list[tuple[str, Callable[[], object]]] = []

    def page(subject: TimelineSubject, after: TimelineKey | None) -> Callable[[], object]:
        return lambda: timeline_page(db, subject, TimelineFilters(), after=after, limit=51)

    # the busiest; one just below the ~100 most common values PostgreSQL keeps statistics
    # of (estimated from the average, so the plan is a guess); the median company
    for rank in (0, 120, len(lay.company_ids) // 2):
        company = lay.company_ids[min(rank, len(lay.company_ids) - 1)]
        label = f"rank {rank}"
        subject = TimelineSubject("company", company)
        cases.append((f"timeline company {company} ({label}) page 1", page(subject, None)))
        first = timeline_page(db, subject, TimelineFilters(), after=None, limit=51) or []
        if len(first) > 50:
            cases.append((f"timeline company {company} ({label}) page 2",
                          page(subject, timeline_key(first[49]))))
    busy_contact = lay.pick_member(0, random.Random(1))
    cases.append((f"contact {busy_contact} (of the busiest company)",
                  lambda: contact_view(db, busy_contact, now=now)))
    try:
        for label, call in cases:
            call()  # warm
            captured.clear()
            started = time.perf_counter()
            call()
            total = (time.perf_counter() - started) * 1000
            in_db = sum(c[2] for c in captured) * 1000
            say(f"  {name}: {label}: {total:.1f} ms, {len(captured)} queries {in_db:.1f} ms")
            for statement, _params, secs in captured:
                say(f"      {secs * 1000:7.2f} ms  {' '.join(statement.split())[:110]}")
            slow = [c for c in captured if c[2] * 1000 >= max(2.0, 0.25 * in_db)]
            with db.engine.connect() as conn:
                for statement, params, _ in slow:
                    prefix = ("EXPLAIN (ANALYZE, BUFFERS) " if db.dialect == "postgresql"
                              else "EXPLAIN QUERY PLAN ")
                    plan = conn.exec_driver_sql(prefix + statement, params).fetchall()
                    say(f"    plan of: {' '.join(statement.split())[:300]}")
                    for row in plan:
                        say(f"      {row[-1]}")
    finally:
        db.dispose()


# ---------------------------------------------------------------------- main


@dataclass
class Result:
    store: Spec
    endpoint: str
    load: Sample = field(default_factory=Sample)
    solo: Sample = field(default_factory=Sample)
    note: str = ""


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def report(results: dict[tuple[str, str], Result], endpoints: Sequence[str],
           say: Callable[[str], None]) -> None:
    say("")
    say(f"{'endpoint':<16}{'store':<13}{'requests':>9}{'req/s':>7}{'p50':>8}{'p95':>8}"
        f"{'p99':>8}  {'target':<13}{'srv p99':>8}{'srv CPU':>8}{'cli CPU':>8}{'busy':>5}"
        f"{'solo p50':>9}{'solo p99':>9}")
    for endpoint in endpoints:
        for (_, e), r in results.items():
            if e != endpoint:
                continue
            store, lat, solo, load = r.store.name, r.load.latencies, r.solo.latencies, r.load
            if r.note:
                say(f"{endpoint:<16}{store:<13}  {r.note}   MISSED")
                continue
            p99 = percentile(lat, 99)
            verdict = "OK" if p99 * 1000 <= TARGET_P99_MS and not load.errors else "MISSED"
            per = 1000 / max(1, load.requests)
            say(f"{endpoint:<16}{store:<13}{load.requests:>9,}"
                f"{load.requests / max(load.seconds, 1e-9):>7.0f}{ms(percentile(lat, 50)):>8}"
                f"{ms(percentile(lat, 95)):>8}{ms(p99):>8}  {'<= 50 ' + verdict:<13}"
                f"{percentile(load.server_ms, 99):>8.1f}{load.server_cpu * per:>8.1f}"
                f"{load.client_cpu * per:>8.1f}{load.busy:>5.0%}"
                f"{ms(percentile(solo, 50)):>9}{ms(percentile(solo, 99)):>9}")
            if load.errors:
                say(f"{'':<29}errors: {load.errors}")
    say("(ms. p50-p99: as the clients saw them; srv p99: inside the app, from its access "
        "log; srv CPU / cli CPU: CPU ms per request of the server process / of the clients; "
        "busy: both cores; solo: one client, no queueing)")
    for spec, endpoint in [(r.store, r.endpoint) for r in results.values() if r.store.baseline]:
        base = results.get((spec.baseline or "", endpoint))
        mine = results[(spec.name, endpoint)]
        if base is None or mine.note or base.note:
            continue
        ratio = percentile(mine.load.latencies, 99) / percentile(base.load.latencies, 99)
        alone = percentile(mine.solo.latencies, 99) / percentile(base.solo.latencies, 99)
        say(f"p99 ratio {spec.name}/{spec.baseline} {endpoint:<15} {ratio:5.2f}   "
            f"<= {TARGET_RATIO:.0f} {'OK' if ratio <= TARGET_RATIO else 'MISSED':<7}"
            + ("" if math.isnan(alone) else f"(one client: {alone:.2f})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stores", default=",".join(SPECS),
                        help=f"comma-separated, of {', '.join(SPECS)}")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the sizes of large and sqlite (not the baselines)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per endpoint, store and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds alternating the stores")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--solo", type=float, default=5.0,
                        help="seconds of a single client per endpoint and store (0: none)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a client waits between its requests (0: closed loop)")
    parser.add_argument("--endpoints", default="timeline first,timeline later,contact")
    parser.add_argument("--cursors", type=int, default=200,
                        help="later-page cursors to collect per store")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed (and keep) the stores, measure nothing")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded stores (and reuse kept ones)")
    parser.add_argument("--drop-kept", action="store_true", help="drop kept stores and exit")
    parser.add_argument("--cold", action="store_true",
                        help="do not read the stores into the page cache before measuring")
    parser.add_argument("--explain", action="store_true",
                        help="time the store queries behind each endpoint; plans of slow ones")
    parser.add_argument("--pg", default=PG_ADMIN, help="PostgreSQL admin URL")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "syncd-api-bench",
                        help="directory of the SQLite stores")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: servers stopped, unkept stores dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def say(line: str) -> None:
        print(line, flush=True)

    if args.drop_kept:
        with pg_admin(args.pg) as conn:
            names = [n for n, in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",))]
        for name in names:
            pg_drop(args.pg, name)
        shutil.rmtree(args.cache, ignore_errors=True)
        say(f"dropped {len(names)} databases and {args.cache}")
        return
    names = [n.strip() for n in args.stores.split(",") if n.strip()]
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        parser.error(f"unknown stores {unknown}; known: {', '.join(SPECS)}")
    specs = [SPECS[n].scaled(args.scale) for n in names]
    endpoints = [e.strip() for e in args.endpoints.split(",")]
    now = datetime.now(UTC).replace(microsecond=0)
    say(f"api_bench {now:%Y-%m-%d %H:%M} UTC, scale {args.scale}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs, "
        f"{args.clients} clients"
        + (f" (think {args.think:g} s)" if args.think else " (closed loop)")
        + f", {args.rounds} x {args.duration:.0f} s per endpoint and store")
    args.cache.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    seeded_now: list[Spec] = []
    workdir = Path(tempfile.mkdtemp(prefix="syncd-api-bench-"))
    servers: dict[str, Server] = {}
    try:
        for spec in specs:
            if spec.backend == "postgresql":
                urls[spec.name] = pg_store_url(args.pg, spec.db_name)
                if pg_exists(args.pg, spec.db_name):
                    say(f"{spec.name}: reusing kept database {spec.db_name}")
                    continue
                say(f"{spec.name}: seeding PostgreSQL {spec.db_name}")
                seed_postgres(spec, args.pg, args.seed, now, say)
            else:
                path = sqlite_path(args.cache, spec)
                urls[spec.name] = f"sqlite:///{path}"
                if path.exists():
                    say(f"{spec.name}: reusing kept {path}")
                    continue
                say(f"{spec.name}: seeding SQLite {path}")
                seed_sqlite(spec, path, args.seed, now, say)
            seeded_now.append(spec)
        if args.seed_only:
            args.keep = True
            return
        layouts = {spec.name: Layout(spec, args.seed) for spec in specs}
        if not args.cold:
            for spec in specs:
                started = time.perf_counter()
                megabytes = prewarm(args.pg, spec, args.cache)
                say(f"{spec.name}: read {megabytes:,.0f} MB into the page cache "
                    f"({time.perf_counter() - started:.0f} s)")
        for spec in specs:
            directory = workdir / spec.name
            directory.mkdir()
            servers[spec.name] = start_server(spec.name, urls[spec.name], directory)
        results: dict[tuple[str, str], Result] = {}
        pickers: dict[tuple[str, str], Picker] = {}
        for spec in specs:
            lay, server = layouts[spec.name], servers[spec.name]
            for endpoint in endpoints:
                results[(spec.name, endpoint)] = Result(spec, endpoint)
                if endpoint == "timeline first":
                    pickers[(spec.name, endpoint)] = timeline_first(lay)
                elif endpoint == "timeline later":
                    pickers[(spec.name, endpoint)] = later_pages(server, lay, args.cursors,
                                                                 args.seed)
                elif endpoint == "contact":
                    someone = lay.pick_contact(random.Random(args.seed))
                    probe = httpx.get(f"{server.url}/v1/contacts/{someone}",
                                      headers=auth(REP_TOKEN), timeout=30)
                    if probe.status_code != 200:
                        results[(spec.name, endpoint)].note = (
                            f"not served: GET /v1/contacts/ID answered {probe.status_code}")
                        continue
                    pickers[(spec.name, endpoint)] = contact_pick(lay)
                else:
                    parser.error(f"unknown endpoint {endpoint!r}")
        for round_ in range(args.rounds):
            for endpoint in endpoints:
                order = specs if round_ % 2 == 0 else list(reversed(specs))
                for spec in order:
                    key = (spec.name, endpoint)
                    if key not in pickers:
                        continue
                    server, pick = servers[spec.name], pickers[key]
                    if round_ == 0:
                        measure(server, pick, args.clients, args.warmup, args.seed + 99,
                                args.think)
                        if args.solo > 0:
                            results[key].solo = measure(server, pick, 1, args.solo, args.seed)
                    sample = measure(server, pick, args.clients, args.duration,
                                     args.seed + round_, args.think)
                    results[key].load.merge(sample)
                    say(f"  round {round_ + 1} {spec.name:<13}{endpoint:<16}"
                        f"{sample.requests / sample.seconds:7.0f} req/s  p99 "
                        f"{ms(percentile(sample.latencies, 99))} ms")
        say(f"load average after the runs: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        report(results, endpoints, say)
        if args.explain:
            say("")
            for spec in specs:
                explain(spec.name, urls[spec.name], layouts[spec.name], now, say)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            for spec in seeded_now:
                if spec.backend == "postgresql":
                    pg_drop(args.pg, spec.db_name)
                else:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{sqlite_path(args.cache, spec)}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
