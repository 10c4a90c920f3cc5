"""Coverage checks of local accounts through the real engine and both stores: a Maildir
folder is listed (no file read), an mbox split into content keys (no message parsed), an
.ics file compared per UID; a stored copy removed with SQL is read again, a file, mbox
message or event removed with no pass since is marked gone, an internal message
(skipped) is not missing, nor is one a skipped Takeout label leaves out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from providers.local.common import SeenSet
from providers.local.mbox import keyed_messages
from syncd.config.model import Settings
from syncd.store.cursors import load_cursors
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, EventSpec, make_message, to_ics

CUSTOMER = ("Ada", "ada@acme.example")
REP = ("Rita Rep", "rita@ourco.example")
BOB = [("Bob", "bob@acme.example", "ACCEPTED")]


def settings_for(**paths: Any) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-local", "provider": "local", "owner": REP[1],
                      "backfill_days": 0, "past_days": 30, "future_days": 60, **paths}]})


def sources(db: Database) -> dict[str, bool]:
    """provider id -> deleted?"""
    with db.session(write=False) as s:
        return {pid: gone is not None for pid, gone in s.execute(
            select(Source.provider_id, Source.deleted_at))}


def synced(database: Database, settings: Settings) -> CoverageChecker:
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME, fetch_process="never")
    try:
        assert engine.sync_account(settings.accounts[0]).ok
    finally:
        engine.close()
    return CoverageChecker(database, settings, clock=lambda: BASE_TIME)


def test_maildir_drift_is_found_by_listing_and_repaired(tmp_path: Path,
                                                        database: Database) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    files = {}
    for n in (1, 2, 3):
        files[n] = maildir / "cur" / f"{1790000000 + n}.M{n}P1.test:2,S"
        files[n].write_bytes(make_message(n, sender=CUSTOMER, to=[REP]))
    (maildir / "new" / "1790000004.M4P1.test").write_bytes(
        make_message(4, sender=REP, to=[("Carl", "carl@ourco.example")]))  # internal
    settings = settings_for(maildirs=[str(maildir)])
    account = settings.accounts[0]
    checker = synced(database, settings)
    clean = checker.check(account)
    (inbox,) = clean.resources
    assert clean.supported and clean.clean
    assert (inbox.present, inbox.stored, inbox.skipped) == (4, 3, 1)

    resource = str(maildir)
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == f"{resource}#1790000001.M1P1.test"))
    files[2].unlink()  # no pass since
    with database.session(write=False) as s:
        before = load_cursors(s, account.id)
    report = checker.check(account)
    (inbox,) = report.resources
    assert (inbox.missing, inbox.vanished, inbox.repaired, inbox.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert stored[f"{resource}#1790000001.M1P1.test"] is False
    assert stored[f"{resource}#1790000002.M2P1.test"] is True
    with database.session(write=False) as s:
        assert load_cursors(s, account.id) == before  # a repair moves no cursor
    assert checker.check(account).clean


def test_ics_drift_is_compared_per_uid_and_repaired(tmp_path: Path,
                                                    database: Database) -> None:
    specs = [
        EventSpec(uid="kickoff@test", title="Kickoff", attendees=BOB,
                  start=BASE_TIME + timedelta(days=1)),
        EventSpec(uid="weekly@test", title="Weekly", attendees=BOB,
                  start=BASE_TIME + timedelta(hours=5), rrule="FREQ=WEEKLY;COUNT=3"),
        EventSpec(uid="review@test", title="Review", attendees=BOB,
                  start=BASE_TIME + timedelta(days=2)),
    ]
    path = tmp_path / "work.ics"
    path.write_text("".join(to_ics(spec) for spec in specs))
    settings = settings_for(calendars=[str(path)])
    account = settings.accounts[0]
    checker = synced(database, settings)
    clean = checker.check(account)
    (calendar,) = clean.resources
    assert clean.clean and (calendar.present, calendar.stored) == (3, 3)

    weekly = f"{path}#weekly@test#"
    with database.session() as s:  # every instance of the series, gone from the store
        s.execute(delete(Source).where(Source.provider_id.like(weekly + "%")))
    path.write_text("".join(to_ics(spec) for spec in specs[:2]))  # review removed, no pass
    report = checker.check(account)
    (calendar,) = report.resources
    assert (calendar.missing, calendar.vanished, calendar.repaired, calendar.remaining) \
        == (1, 1, 2, 0)
    stored = sources(database)
    assert [gone for pid, gone in stored.items() if pid.startswith(weekly)] == [False] * 3
    assert stored[f"{path}#review@test"] is True
    assert checker.check(account).clean


def test_mbox_drift_is_found_by_content_keys_and_repaired(tmp_path: Path,
                                                          database: Database) -> None:
    def entry(n: int, sender: tuple[str, str] = CUSTOMER, to: tuple[str, str] = REP,
              labels: str = "Inbox") -> bytes:
        raw = make_message(n, sender=sender, to=[to], headers={"X-Gmail-Labels": labels})
        return (b"From ada@acme.example Mon Nov  2 09:00:00 2026\n"
                + raw.replace(b"\r\n", b"\n") + b"\n")

    path = tmp_path / "export.mbox"
    entries = [entry(1), entry(2), entry(3),
               entry(4, sender=REP, to=("Carl", "carl@ourco.example")),  # internal
               entry(5, labels="Spam")]  # left out by the provider: not compared
    path.write_bytes(b"".join(entries))
    settings = settings_for(mboxes=[str(path)])
    account = settings.accounts[0]
    checker = synced(database, settings)
    clean = checker.check(account)
    (box,) = clean.resources
    assert clean.supported and clean.clean and box.compared
    assert (box.present, box.stored, box.skipped) == (4, 3, 1)

    resource = str(path)
    with path.open("rb") as fh:  # the ids of messages 1..5, by the provider's key scheme
        first, second, *_ = (f"{resource}#{key}" for *_, key in keyed_messages(fh, 0, SeenSet()))
    with database.session(write=False) as s:
        before = load_cursors(s, account.id)
    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == first))
    path.write_bytes(b"".join(entries[:1] + entries[2:]))  # message 2 expunged, no pass since
    report = checker.check(account)
    (box,) = report.resources
    assert (box.missing, box.vanished, box.repaired, box.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert (stored[first], stored[second]) == (False, True)
    with database.session(write=False) as s:
        assert load_cursors(s, account.id) == before  # a repair moves no cursor
    assert checker.check(account).clean
