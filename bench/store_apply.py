"""Page application throughput, and whether it grows with the store's size.

Applies pages of 500 messages (real matching, real store) and prints:

* messages/second for a fresh page while the store holds ~1k interactions
  (baseline) and again while it holds ``--size`` interactions; the ratio
  should stay near 1 because every per-page lookup is an indexed IN list;
* messages/second for re-applying an already stored page (the idempotent
  redo after a crash), relative to the baseline.

Usage: ``python bench/store_apply.py [--url sqlite:///tmp/x.db] [--size 20000]``
(default: a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import build_policy, resolve
from providers.base import Address, Message, Page
from syncd.store.database import Database
from syncd.store.directory_lookup import snapshot_for
from syncd.store.page_writer import write_page
from syncd.store.schema import Account
from syncd.sync.triage import triage

PAGE = 500
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
POLICY = build_policy(internal_domains=["ourco.example"])
REP = Address("rita@ourco.example", "Rita Rep")


def page(start: int) -> Page:
    items: list[Message | object] = []
    for n in range(start, start + PAGE):
        items.append(Message(
            provider_id=f"INBOX/{n}", message_id=f"bench-{n}@mail.example",
            sent_at=BASE + timedelta(seconds=n), sender=Address(f"p{n % 5000}@co{n % 900}.example"),
            to=(REP,), subject=f"Subject {n}", folder="INBOX",
            in_reply_to=f"bench-{n - 1}@mail.example" if n % 3 else None,
        ))
    return Page("INBOX", items, cursor={"n": start + PAGE})  # type: ignore[arg-type]


def apply(db: Database, p: Page) -> float:
    started = time.perf_counter()
    with db.session() as s:
        t = triage(p, policy=POLICY)
        decisions = resolve(t.addresses, snapshot_for(s, t.addresses, POLICY), POLICY)
        applied = write_page(s, "bench", t.decide(decisions).write)
    db.note_rows_written(applied.created + applied.sources_added)  # as the engine does
    return time.perf_counter() - started


def rate(seconds: float) -> float:
    return PAGE / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--size", type=int, default=20_000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db = Database(url)
    db.migrate()
    with db.session() as s:
        s.add(Account(id="bench", provider="local", owner=REP.email))
    apply(db, page(0))  # warm caches (public suffix list, statement cache)
    n = PAGE
    while n < 1_000:
        apply(db, page(n))
        n += PAGE
    small = min(apply(db, page(n + i * PAGE)) for i in range(3))
    n += 3 * PAGE
    while n < args.size:
        apply(db, page(n))
        n += PAGE
    large = min(apply(db, page(n + i * PAGE)) for i in range(3))
    redo = min(apply(db, page(n)) for _ in range(3))
    db.dispose()
    print(f"store: {db.safe_url}")
    print(f"fresh page, ~1k interactions stored:   {rate(small):8.0f} msg/s (baseline)")
    print(f"fresh page, ~{n // 1000}k interactions stored: {rate(large):8.0f} msg/s "
          f"(time per page {large / small:.2f}x baseline)")
    print(f"re-applied page (idempotent redo):     {rate(redo):8.0f} msg/s "
          f"(time per page {redo / small:.2f}x baseline)")


if __name__ == "__main__":
    main()
