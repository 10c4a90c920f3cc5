"""Gmail coverage checks through the real client library against the stand-in, the real
engine and both stores: a stored copy removed with SQL is fetched again, a message
deleted with no pass since is marked gone, a skipped message is not missing, and mail
older than the window never reads as deleted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME, make_message
from tests.providers.google.conftest import NOW, REP, gmail_account
from tests.standins.google import GoogleStandIn

CUSTOMER = ("Ann Acme", "ann@acme.example")


def sources(db: Database) -> dict[str, bool]:
    with db.session(write=False) as s:
        return {pid: gone is not None for pid, gone in s.execute(
            select(Source.provider_id, Source.deleted_at))}


def test_gmail_drift_is_found_and_repaired(database: Database, standin: GoogleStandIn,
                                           key_file: Path) -> None:
    ids = [standin.add_message(REP, make_message(n, sender=CUSTOMER, to=[("Rita", REP)],
                                                 when=BASE_TIME + timedelta(days=n)))
           for n in (1, 2, 3)]
    standin.add_message(REP, make_message(4, sender=("Carl", "carl@ourco.example"),
                                          to=[("Rita", REP)], when=BASE_TIME))  # internal
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [gmail_account(standin, key_file).model_dump(mode="json",
                                                                 exclude_none=True)]})
    account = settings.accounts[0]

    engine = SyncEngine(database, settings, clock=lambda: NOW, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: NOW)
    clean = checker.check(account)
    (gmail,) = clean.resources
    assert clean.clean and (gmail.present, gmail.stored, gmail.skipped) == (4, 3, 1)

    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == ids[0]))
    standin.delete_message(REP, ids[1])
    # a month later the first messages left the window: not deleted for it
    later = CoverageChecker(database, settings, clock=lambda: NOW + timedelta(days=40))
    assert later.check(account, repair=False).vanished == 1
    report = checker.check(account)
    assert (report.missing, report.vanished, report.repaired, report.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert stored[ids[0]] is False and stored[ids[1]] is True and stored[ids[2]] is False
    assert checker.check(account).clean
