"""Gmail's ``private_label`` through the real engine (SQLite): a labelled message is
never logged, and one labelled after it was logged loses the rep's copy."""

from __future__ import annotations

from pathlib import Path

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.sync.engine import SyncEngine
from tests.generate import make_message
from tests.providers.google.conftest import NOW, REP, endpoints
from tests.standins.google import GoogleStandIn

ZOE = ("Zoe Acme", "zoe@acme.example")


def test_private_label_keeps_mail_out_of_the_store(tmp_path: Path, standin: GoogleStandIn,
                                                   key_file: Path) -> None:
    standin.add_message(REP, make_message(1, sender=ZOE, subject="Deal"), labels=["INBOX"])
    standin.add_message(REP, make_message(2, sender=ZOE, subject="Personal"),
                        labels=["INBOX", "Private"])
    later = standin.add_message(REP, make_message(3, sender=ZOE, subject="Later private"),
                                labels=["INBOX"])
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "gmail-rita", "provider": "gmail", "owner": REP,
                      "backfill_days": 3650, "private_label": "private",  # any case
                      "auth": {"service_account_file": str(key_file)},
                      "endpoints": endpoints(standin),
                      "transport": {"max_retries": 2, "base_backoff": 0.02,
                                    "max_backoff": 0.1}}]})
    db = Database(f"sqlite:///{tmp_path / 'syncd.db'}")
    db.migrate()
    engine = SyncEngine(db, settings, clock=lambda: NOW)
    try:
        first = engine.sync_account(settings.accounts[0])
        assert first.ok, first.to_dict()
        assert [e.subject for e in timeline(db, contact=ZOE[1])] == ["Later private", "Deal"]
        standin.modify_labels(REP, later, add=("Private",))
        second = engine.sync_account(settings.accounts[0])
        assert second.ok, second.to_dict()
        assert [e.subject for e in timeline(db, contact=ZOE[1])] == ["Deal"]
    finally:
        db.dispose()
