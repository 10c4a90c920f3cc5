"""Outlook's ``private_category`` through the real engine (SQLite), via the Graph stand-in."""

from __future__ import annotations

import pytest

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.sync.engine import SyncEngine
from tests.generate import make_message
from tests.providers.microsoft.conftest import MAIL_NOW, auth_settings, fast_limits
from tests.standins.graph import GraphStandIn

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"])

ANN = ("Ann Acme", "ann@acme.example")
RITA = "rita@ourco.example"


def test_private_category_keeps_mail_out_of_the_store(database: Database,
                                                      standin: GraphStandIn) -> None:
    standin.add_message(RITA, "inbox", make_message(1, sender=ANN, subject="Deal"))
    standin.add_message(RITA, "inbox", make_message(2, sender=ANN, subject="Personal"),
                        categories=["Private"])
    later = standin.add_message(RITA, "inbox", make_message(3, sender=ANN, subject="Later"),
                                categories=["Customer"])
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-mail", "provider": "outlook_mail", "owner": RITA,
                      "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                      "limits": fast_limits(), "folders": ["inbox"],
                      "private_category": "PRIVATE"}]})
    engine = SyncEngine(database, settings, clock=lambda: MAIL_NOW)
    assert engine.sync_account(settings.accounts[0]).ok
    assert [e.subject for e in timeline(database, contact=ANN[1])] == ["Later", "Deal"]
    standin.update_message(RITA, later, categories=["Customer", "Private"])
    result = engine.sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    assert [e.subject for e in timeline(database, contact=ANN[1])] == ["Deal"]
