"""Outlook accounts through the real engine and store (SQLite), via the real factory."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.queries import account_statuses, timeline
from syncd.store.schema import Interaction, Source
from syncd.sync.engine import SyncEngine
from tests.generate import make_message
from tests.providers.microsoft.conftest import CLIENT_ID, MAIL_NOW, auth_settings, fast_limits
from tests.standins.graph import GraphStandIn

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"])

CUSTOMER = ("Ann Acme", "ann@acme.example")
RITA = ("Rita Rep", "rita@ourco.example")
SAM = ("Sam Sales", "sam@ourco.example")


def settings(standin: GraphStandIn, *, folders: tuple[str, ...] = ("inbox",),
             deletions: str = "retain") -> Settings:
    def account(ident: str, owner: str) -> dict[str, Any]:
        return {"id": ident, "provider": "outlook_mail", "owner": owner,
                "auth": auth_settings(standin), "endpoints": {"graph": standin.graph_url},
                "limits": fast_limits(), "folders": list(folders)}

    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]}, "deletions": deletions,
        "accounts": [account("rita-mail", RITA[1]), account("sam-mail", SAM[1])],
    })


def count(db: Database, model: Any) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_same_message_in_two_mailboxes_is_one_interaction_with_two_sources(
        database: Database, standin: GraphStandIn) -> None:
    raw = make_message(21, sender=CUSTOMER, to=[RITA, SAM], subject="Pricing for both of you")
    standin.add_message(RITA[1], "inbox", raw)
    standin.add_message(SAM[1], "inbox", raw)
    config = settings(standin)
    engine = SyncEngine(database, config, clock=lambda: MAIL_NOW)
    for account in config.accounts:
        result = engine.sync_account(account)
        assert result.ok, result.to_dict()
    assert count(database, Interaction) == 1
    assert count(database, Source) == 2
    (entry,) = timeline(database, contact=CUSTOMER[1])
    assert sorted(entry.sources) == ["rita-mail", "sam-mail"]
    assert entry.subject == "Pricing for both of you"

    # removed from one mailbox: recorded, history kept
    standin.remove_message(RITA[1], standin.message_id_of(RITA[1], "msg-0000021@mail.example"))
    assert engine.sync_account(config.accounts[0]).ok
    assert count(database, Interaction) == 1
    with database.session(write=False) as session:
        deleted = {src.account_id: src.deleted_at is not None
                   for src in session.scalars(select(Source))}
    assert deleted == {"rita-mail": True, "sam-mail": False}


@pytest.mark.parametrize("deletions", ["retain", "mirror"])
def test_a_move_between_synced_folders_is_not_a_deletion(
        database: Database, standin: GraphStandIn, deletions: str) -> None:
    graph_id = standin.add_message(RITA[1], "inbox", make_message(
        31, sender=CUSTOMER, to=[RITA], subject="Filed away"))
    config = settings(standin, folders=("inbox", "archive"), deletions=deletions)
    engine = SyncEngine(database, config, clock=lambda: MAIL_NOW)
    rita = config.accounts[0]
    assert engine.sync_account(rita).items == 1
    standin.move_message(RITA[1], graph_id, "archive")
    assert engine.sync_account(rita).ok
    with database.session(write=False) as session:
        copies = sorted((src.provider_id.split("/")[0], src.deleted_at is not None)
                        for src in session.scalars(select(Source)))
        (interaction,) = session.scalars(select(Interaction))
        assert not interaction.deleted  # the archive's copy keeps it, whatever the policy
    assert copies == [("archive", False), ("inbox", True)]
    assert [e.subject for e in timeline(database, contact=CUSTOMER[1])] == ["Filed away"]


def test_expired_delta_is_resynced_by_the_engine_without_duplicates(
        database: Database, standin: GraphStandIn) -> None:
    for n in range(1, 15):
        standin.add_message(RITA[1], "inbox", make_message(n, sender=CUSTOMER, to=[RITA]))
    config = settings(standin)
    engine = SyncEngine(database, config, clock=lambda: MAIL_NOW)
    assert engine.sync_account(config.accounts[0]).ok
    standin.add_message(RITA[1], "inbox", make_message(15, sender=CUSTOMER, to=[RITA]))
    standin.expire_delta(RITA[1])
    result = engine.sync_account(config.accounts[0])
    assert result.ok, result.to_dict()
    assert count(database, Interaction) == 15


def test_revoked_consent_marks_the_account_for_reauth(
        database: Database, standin: GraphStandIn) -> None:
    standin.add_message(RITA[1], "inbox", make_message(1, sender=CUSTOMER, to=[RITA]))
    config = settings(standin)
    engine = SyncEngine(database, config, clock=lambda: MAIL_NOW)
    assert engine.sync_account(config.accounts[0]).ok
    standin.revoke_consent(CLIENT_ID)
    assert not engine.sync_account(config.accounts[0]).ok
    status = {s.account: s for s in account_statuses(database)}["rita-mail"]
    assert status.state == "needs_reauth"
    assert status.last_error_code == "auth"
    assert "AADSTS65001" in (status.last_error_message or "")
