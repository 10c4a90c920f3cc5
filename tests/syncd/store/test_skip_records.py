"""Skip records: written with the page, one per (account, provider id), pruned in batches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from matching import build_policy
from providers.base import Address, Page
from syncd.store.database import Database
from syncd.store.schema import SkipRecord
from syncd.store.skip_records import prune_skip_records
from syncd.store.types import utcnow
from tests.syncd.store.builders import REP, apply, automated, meeting, message

BLOCKING = build_policy(internal_domains=["ourco.example"], blocklist=["lawyer@example.org"])


def records(db: Database) -> list[tuple[str, str, str, str, str | None]]:
    with db.session(write=False) as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(SkipRecord.account_id, SkipRecord.provider_id, SkipRecord.reason,
                   SkipRecord.detail, SkipRecord.dedupe_key).order_by(SkipRecord.provider_id))]


def page(*items: object) -> Page:
    return Page("INBOX", list(items))  # type: ignore[arg-type]


def test_each_skip_is_recorded_with_its_reason_and_detail_and_counted(
        database: Database) -> None:
    colleague = message(2, sender=REP, to=(Address("carl@ourco.example"),))
    lawyer = message(3, sender=Address("lawyer@example.org"))
    result = apply(database, page(message(1), automated(4), colleague, lawyer),
                   policy=BLOCKING)
    assert result.skipped == 3  # the pass's count is the records' count
    assert records(database) == [
        ("acc1", "INBOX/1/2", "internal_only",
         "no external participant: all participants are internal", "msg-2@mail.example"),
        ("acc1", "INBOX/1/3", "blocklisted", "participant lawyer@example.org is excluded: "
         "address lawyer@example.org is blocklisted", "msg-3@mail.example"),
        ("acc1", "INBOX/1/4", "automated",
         "automated mail: List-Id header present (<news.acme.example>)", "msg-4@mail.example"),
    ]


def test_a_retried_page_does_not_double_them(database: Database) -> None:
    for _ in range(3):
        assert apply(database, page(automated(1), automated(2))).skipped == 2
    assert [r[1] for r in records(database)] == ["INBOX/1/1", "INBOX/1/2"]


def test_each_account_has_its_own_record_of_one_message(database: Database) -> None:
    apply(database, page(automated(1)), account_id="acc1")
    apply(database, page(automated(1)), account_id="acc2")
    assert [(r[0], r[4]) for r in records(database)] == [("acc1", "msg-1@mail.example"),
                                                         ("acc2", "msg-1@mail.example")]


def test_an_item_logged_later_drops_its_record(database: Database) -> None:
    lawyer = message(1, sender=Address("lawyer@example.org"))
    apply(database, page(lawyer), policy=BLOCKING)
    assert [r[2] for r in records(database)] == ["blocklisted"]
    apply(database, page(lawyer))  # the blocklist entry was removed
    assert records(database) == []


def test_records_not_seen_for_the_retention_are_pruned_in_batches(database: Database) -> None:
    apply(database, page(*(automated(n) for n in range(1, 8))))
    assert prune_skip_records(database, retention_days=90) == 0
    later = utcnow() + timedelta(days=91)
    assert prune_skip_records(database, retention_days=90, now=later, batch=3) == 7
    with database.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(SkipRecord)) == 0


def test_seeing_an_item_again_keeps_its_record_alive(database: Database) -> None:
    apply(database, page(automated(1)))
    with database.session() as s:
        row = s.scalars(select(SkipRecord)).one()
        row.last_seen_at = row.first_seen_at = utcnow() - timedelta(days=100)
    apply(database, page(automated(1), automated(2)))
    assert prune_skip_records(database, retention_days=90) == 0
    assert len(records(database)) == 2


def test_a_reply_to_a_meeting_never_seen_is_recorded_by_the_writer(database: Database) -> None:
    result = apply(database, Page("calendar", [meeting("lost@acme.example", method="REPLY")]))
    assert result.skipped == 1
    assert [(r[2], r[4]) for r in records(database)] == [("unknown_meeting",
                                                          "lost@acme.example#")]
