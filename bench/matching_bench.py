"""Matching throughput: addresses/second through ``matching.resolve`` at 10k vs 1M contacts.

Pure, in-memory part of the issue-6 benchmark (prefetching the snapshot from
the store is the store's own bench). Two directories are built in one run:

* small: 10,000 contacts, 2,000 companies
* large: 1,000,000 contacts, 200,000 companies (a superset of the small one:
  contact i and company i are the same in both)

Contacts have one or two addresses (10% on free mail), companies one or two
domains. The address stream mixes known contacts (odd case, display names),
unknown people at known companies (some on subdomains), free mail with
``+tags``, internal colleagues, blocklisted and unknown domains.

Passes, in batches of 256 addresses per ``resolve`` call (a sync page):

* cold: every address is new and every matching cache is cleared first
  (worst case: canonicalization, PSL look-up, classification each time);
* warm: a working set of 50,000 addresses seen again (the everyday case);
* both run the *same* stream (people of the small directory) against both
  directories, so the 1M/10k ratio isolates directory size;
* spread: a cold stream drawn from the whole 1M directory, so 200k distinct
  company domains are in play (what grows there is domain variety, not the
  directory);
* "page snapshots": the cold and warm passes again, but each batch is resolved against
  the page-sized snapshot the sync engine prefetches (only that page's rows)
  instead of the whole directory in one dict: the production shape, where
  a 1M-entry dict's cache misses do not arise;
* "collector off": the cold pass once more with Python's cyclic garbage
  collector disabled, to show its share (the memo tables are long-lived
  objects it keeps re-scanning).

Rates are CPU-time based (``time.process_time``): the machine is shared and
wall-clock rates swing with other people's load; wall-clock rates are
printed alongside. Target from the issue: >= 100,000 addresses/s, flat cost.

Usage: ``.venv/bin/python bench/matching_bench.py [--quick]``
"""

from __future__ import annotations

import argparse
import gc
import importlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import (
    ContactRef,
    DirectorySnapshot,
    Policy,
    build_policy,
    canonical_address,
    domain_suffixes,
    resolve,
)

# matching/__init__ re-exports the function ``resolve`` under the module's name.
_canonical_mod = importlib.import_module("matching.canonical")
_domains_mod = importlib.import_module("matching.domains")
_policy_mod = importlib.import_module("matching.policy")

BATCH = 256
TLDS = ("com", "co.uk", "de", "io", "com.au", "fr", "co.jp", "net")
FREE = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "web.de", "icloud.com")


def company_domain(i: int) -> str:
    return f"company{i}.{TLDS[i % len(TLDS)]}"


def build_directory(contacts: int, companies: int) -> tuple[DirectorySnapshot, list[str]]:
    """A snapshot keyed by canonical forms, and each contact's raw first address."""
    per_company = max(1, contacts // companies)
    people: dict[str, tuple[ContactRef, ...]] = {}
    raw_addresses: list[str] = []
    company_domains: dict[str, int] = {}
    for c in range(companies):
        company_domains[company_domain(c)] = c + 1
        if c % 3 == 0:
            company_domains[f"company{c}-group.com"] = c + 1
    for i in range(contacts):
        company = i // per_company
        if i % 10 == 0:
            raw = f"Person.{i}@{FREE[i % len(FREE)]}"
            ref = ContactRef(i + 1, company + 1 if i % 20 == 0 else None)
        else:
            raw = f"person.{i}@{company_domain(company)}"
            ref = ContactRef(i + 1, company + 1)
        raw_addresses.append(raw)
        key = canonical_address(raw, POLICY)
        assert key is not None
        people[key] = (ref,)
        if i % 4 == 0:  # a second address
            second = canonical_address(f"p{i}@company{company}-group.com", POLICY)
            assert second is not None
            people[second] = (ref,)
        if i % 5000 == 0 and i:  # a shared address: an ambiguity
            people[key] = (ref, ContactRef(i, company + 1))
    return DirectorySnapshot(contacts=people, companies=company_domains), raw_addresses


def address_stream(
    rng: random.Random, contacts: Sequence[str], companies: int, count: int, unique: bool
) -> list[str]:
    """``count`` raw addresses in a realistic mix; all distinct when ``unique``."""
    out: list[str] = []
    n = 0
    while len(out) < count:
        n += 1
        roll = rng.random()
        tag = f"u{n}" if unique else f"u{rng.randrange(2000)}"
        if roll < 0.45:
            raw = contacts[rng.randrange(len(contacts))]
            variant = rng.random()
            if variant < 0.2:
                raw = raw.upper()
            elif variant < 0.3:
                raw = f"{raw.split('@')[0]} <{raw}>"
            if unique:  # a unique spelling of a known person: a fresh cache key
                raw = f"{tag} <{raw.rpartition('<')[2].rstrip('>')}>"
        elif roll < 0.65:
            c = rng.randrange(companies)
            sub = "eu.mail." if rng.random() < 0.3 else ""
            raw = f"new.{tag}@{sub}{company_domain(c)}"
        elif roll < 0.78:
            raw = f"someone.{tag}+news@{FREE[rng.randrange(len(FREE))]}"
        elif roll < 0.9:
            raw = f"rep{rng.randrange(300)}.{tag}@ourco.com"
        elif roll < 0.92:
            raw = f"x.{tag}@mail.blocked-partner.com"
        else:
            raw = f"lead.{tag}@startup{rng.randrange(10**6)}.io"
        out.append(raw)
    return out


POLICY: Policy = build_policy(
    internal_domains=["ourco.com"],
    internal_addresses=["ceo.private@gmail.com"],
    subaddress_domains=["gmail.com", "googlemail.com", "outlook.com", "yahoo.com"],
    blocklist=["blocked-partner.com", "spouse@yahoo.com"],
)


def clear_caches() -> None:
    _canonical_mod._canonical_address.cache_clear()
    _canonical_mod._canonical_domain.cache_clear()
    _domains_mod._registrable.cache_clear()
    compiled = _policy_mod.compile_policy(POLICY)
    compiled.memos.addresses.clear()
    compiled.memos.domains.clear()


def throughput(
    snapshot: DirectorySnapshot, stream: Sequence[str], collector: bool = True
) -> tuple[float, float]:
    """(CPU, wall) addresses per second through resolve, in page-sized batches."""
    batches = [stream[i : i + BATCH] for i in range(0, len(stream), BATCH)]
    # The collector stays on, as in the daemon; the directory and streams built
    # by the bench are frozen out of it, since the daemon never holds them
    # (it prefetches a page-sized snapshot).
    gc.collect()
    gc.freeze()
    if not collector:
        gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            resolve(batch, snapshot, POLICY)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.enable()
    return len(stream) / cpu, len(stream) / wall


def page_snapshots(
    directory: DirectorySnapshot, stream: Sequence[str]
) -> list[tuple[list[str], DirectorySnapshot]]:
    """Per batch, the snapshot the engine would prefetch (only that page's rows)."""
    pages = []
    for i in range(0, len(stream), BATCH):
        batch = list(stream[i : i + BATCH])
        people: dict[str, tuple[ContactRef, ...]] = {}
        firms: dict[str, int] = {}
        for raw in batch:
            address = canonical_address(raw, POLICY)
            if address is None:
                continue
            if address in directory.contacts:
                people[address] = directory.contacts[address]
            for domain in domain_suffixes(address.rpartition("@")[2]):
                if domain in directory.companies:
                    firms[domain] = directory.companies[domain]
        pages.append((batch, DirectorySnapshot(contacts=people, companies=firms)))
    return pages


def paged_throughput(pages: Sequence[tuple[list[str], DirectorySnapshot]]) -> tuple[float, float]:
    """(CPU, wall) addresses per second, each batch against its own page snapshot."""
    count = sum(len(batch) for batch, _ in pages)
    gc.collect()
    gc.freeze()
    wall, cpu = time.perf_counter(), time.process_time()
    for batch, snapshot in pages:
        resolve(batch, snapshot, POLICY)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return count / cpu, count / wall


def best(runs: int, measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    found = [measure() for _ in range(runs)]
    return max(r[0] for r in found), max(r[1] for r in found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="matching.resolve throughput, 10k vs 1M")
    parser.add_argument("--quick", action="store_true", help="smaller streams (smoke run)")
    args = parser.parse_args(argv)
    per_run = 50_000 if args.quick else 200_000
    runs = 2 if args.quick else 3
    rng = random.Random(6)

    small_snapshot, small_raw = build_directory(10_000, 2_000)
    # The same traffic for both directories: people and companies of the small one.
    cold_streams = [address_stream(rng, small_raw, 2_000, per_run, unique=True)
                    for _ in range(runs)]
    working_set = address_stream(rng, small_raw, 2_000, 50_000, unique=False)
    warm_stream = [working_set[rng.randrange(len(working_set))] for _ in range(per_run)]

    def measure(snapshot: DirectorySnapshot) -> dict[str, tuple[float, float]]:
        streams = iter(cold_streams)

        def cold() -> tuple[float, float]:
            clear_caches()
            return throughput(snapshot, next(streams))

        def cold_no_gc() -> tuple[float, float]:
            clear_caches()
            return throughput(snapshot, cold_streams[0], collector=False)

        cold_pages = iter([page_snapshots(snapshot, stream) for stream in cold_streams])

        def cold_paged() -> tuple[float, float]:
            pages = next(cold_pages)
            clear_caches()
            return paged_throughput(pages)

        out = {"cold": best(runs, cold), "cold, page snapshots": best(runs, cold_paged),
               "cold, collector off": best(1, cold_no_gc)}
        throughput(snapshot, warm_stream)  # fill the caches with the working set
        out["warm"] = best(runs, lambda: throughput(snapshot, warm_stream))
        pages = page_snapshots(snapshot, warm_stream)
        out["warm, page snapshots"] = best(runs, lambda: paged_throughput(pages))
        return out

    results = {"10k": measure(small_snapshot)}
    t0 = time.perf_counter()
    large_snapshot, large_raw = build_directory(1_000_000, 200_000)
    print(f"built 1M directory: {len(large_snapshot.contacts):,} addresses, "
          f"{len(large_snapshot.companies):,} company domains in {time.perf_counter() - t0:.0f}s")
    results["1M"] = measure(large_snapshot)
    spread = [address_stream(rng, large_raw, 200_000, per_run, unique=True) for _ in range(runs)]
    spread_iter = iter(spread)

    def spread_cold() -> tuple[float, float]:
        clear_caches()
        return throughput(large_snapshot, next(spread_iter))

    spread_result = best(runs, spread_cold)

    target = 100_000
    print(f"{'':24}{'10k contacts':>16}{'1M contacts':>16}{'1M/10k':>9}   (CPU-time rates; wall)")
    for mode in ("cold", "cold, page snapshots", "cold, collector off", "warm",
                 "warm, page snapshots"):
        (s_cpu, s_wall), (l_cpu, l_wall) = results["10k"][mode], results["1M"][mode]
        verdict = "ok" if min(s_cpu, l_cpu) >= target else "BELOW TARGET"
        label = mode if "," in mode else f"{mode} (same traffic)"
        print(f"{label:24}{s_cpu:>14,.0f}/s{l_cpu:>14,.0f}/s{l_cpu / s_cpu:>9.2f}"
              f"   wall {s_wall:,.0f}/s vs {l_wall:,.0f}/s  [{verdict}]")
    s_cpu = results["10k"]["cold"][0]
    print(f"{'cold (spread over 1M)':24}{'':>16}{spread_result[0]:>14,.0f}/s"
          f"{spread_result[0] / s_cpu:>9.2f}   wall {spread_result[1]:,.0f}/s")
    print(f"target: >= {target:,} addresses/s per process, ratio ~1.0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
