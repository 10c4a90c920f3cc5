"""Outlook mail coverage checks through real msal and requests against the Graph stand-in,
the real engine and both stores: a stored copy removed with SQL is fetched again by id,
a message removed with no pass since is marked gone, an internal message (skipped) is
not missing."""

from __future__ import annotations

from sqlalchemy import delete, select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.schema import Source
from syncd.sync.coverage import CoverageChecker
from syncd.sync.engine import SyncEngine
from tests.generate import make_message
from tests.providers.microsoft.conftest import MAIL_NOW, auth_settings, fast_limits
from tests.standins.graph import GraphStandIn

CUSTOMER = ("Ann Acme", "ann@acme.example")
RITA = ("Rita Rep", "rita@ourco.example")


def sources(db: Database) -> dict[str, bool]:
    with db.session(write=False) as s:
        return {pid: gone is not None for pid, gone in s.execute(
            select(Source.provider_id, Source.deleted_at))}


def test_outlook_mail_drift_is_found_and_repaired(database: Database,
                                                  standin: GraphStandIn) -> None:
    ids = [standin.add_message(RITA[1], "inbox", make_message(n, sender=CUSTOMER, to=[RITA]))
           for n in (1, 2, 3)]
    standin.add_message(RITA[1], "inbox", make_message(
        4, sender=RITA, to=[("Carl", "carl@ourco.example")]))  # internal: skipped
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-mail", "provider": "outlook_mail", "owner": RITA[1],
                      "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                      "limits": fast_limits(), "folders": ["inbox"], "backfill_days": 90}]})
    account = settings.accounts[0]
    engine = SyncEngine(database, settings, clock=lambda: MAIL_NOW, fetch_process="never")
    assert engine.sync_account(account).ok
    checker = CoverageChecker(database, settings, clock=lambda: MAIL_NOW)
    clean = checker.check(account)
    (inbox,) = clean.resources
    assert clean.clean and (inbox.present, inbox.stored, inbox.skipped) == (4, 3, 1)

    with database.session() as s:
        s.execute(delete(Source).where(Source.provider_id == f"inbox/{ids[0]}"))
    standin.remove_message(RITA[1], ids[1])
    report = checker.check(account)
    assert (report.missing, report.vanished, report.repaired, report.remaining) == (1, 1, 2, 0)
    stored = sources(database)
    assert stored[f"inbox/{ids[0]}"] is False and stored[f"inbox/{ids[1]}"] is True
    assert checker.check(account).clean
