"""End to end: real mail through the local provider (mbox + .ics) and Dovecot (IMAP),
the real engine, matching and store on SQLite and PostgreSQL.

The company timeline must show exactly the expected interactions — none of
the internal, bulk, no-reply, blocklisted (global or the rep's own) or
private ones — then late matching and purge must work on what was stored.
"""

from __future__ import annotations

import mailbox
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.config.model import Settings
from syncd.directory.contacts import import_companies, import_contacts
from syncd.lifecycle.purge import purge
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.sync.engine import SyncEngine
from tests.fixtures.dovecot import MailUser
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics

REP = ("Rita Rep", "rita@ourco.example")
ANN = ("Ann Acme", "ann@acme.example")
BO = ("Bo Subsidiary", "bo@eu.acme.example")
BEA = ("Bea Beta", "bea@beta.example")

MAIL: list[tuple[bytes, bool]] = [  # (message, marked private)
    (make_message(1, sender=ANN, to=[REP], subject="Pricing"), False),
    (make_message(2, sender=REP, to=[ANN], subject="Re: Pricing",
                  in_reply_to=message_id(1), references=[message_id(1)]), False),
    (make_message(3, sender=REP, to=[("Carl", "carl@ourco.example")], subject="Lunch"), False),
    (make_message(4, sender=("Acme News", "news@acme.example"), to=[REP], subject="Digest",
                  headers={"List-Id": "<news.acme.example>",
                           "List-Unsubscribe": "<mailto:u@acme.example>"}), False),
    (make_message(5, sender=ANN, to=[REP], cc=[("Lawyer", "lawyer@example.org")],
                  subject="Contract dispute"), False),                     # global blocklist
    (make_message(6, sender=BO, to=[REP], subject="Subsidiary order"), False),
    (make_message(7, sender=ANN, to=[REP], subject="Personal matter"), True),  # private
    (make_message(8, sender=("Billing", "no-reply@acme.example"), to=[REP],
                  subject="Your invoice"), False),                          # no-reply sender
    (make_message(9, sender=("CEO", "ceo@acme.example"), to=[REP],
                  subject="Between us"), False),                            # rita's blocklist
    (make_message(10, sender=BEA, to=[REP], subject="Beta intro"), False),
]
EXPECTED_ACME = ["Subsidiary order", "Re: Pricing", "Pricing"]


def base_settings(account: dict[str, Any]) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "matching": {"blocklist": ["lawyer@example.org"]},
        "accounts": [{"id": "rita", "owner": REP[1], "backfill_days": 36500,
                      "blocklist": ["ceo@acme.example"], **account}],
    })


def local_setup(tmp_path: Path) -> tuple[Settings, list[str]]:
    box = mailbox.mbox(str(tmp_path / "takeout.mbox"))
    for raw, private in MAIL:
        msg = mailbox.mboxMessage(raw)
        msg["X-Gmail-Labels"] = "Inbox,Private" if private else "Inbox"
        msg.set_from("sender@example", time_=(2026, 11, 2, 9, 0, 0, 0, 306, 0))
        box.add(msg)
    box.flush()
    box.close()
    (tmp_path / "cal.ics").write_text(to_ics(EventSpec(
        uid="kickoff@acme", title="Kickoff", start=BASE_TIME + timedelta(days=2),
        organizer=REP, attendees=[(*ANN, "ACCEPTED"), ("Carl", "carl@ourco.example", "ACCEPTED")])))
    settings = base_settings({"provider": "local", "private_label": "private",
                              "mboxes": [str(tmp_path / "takeout.mbox")],
                              "calendars": [str(tmp_path / "cal.ics")], "past_days": 3650,
                              "future_days": 3650})
    return settings, ["Kickoff", *EXPECTED_ACME]


def dovecot_setup(user: MailUser) -> tuple[Settings, list[str]]:
    for raw, _ in MAIL:
        user.deliver(raw)
    client: Any = user.client()
    client.select_folder("INBOX")
    private = [n for n, (_, p) in enumerate(MAIL, 1) if p]
    for n in private:
        uids = client.search(["HEADER", "Message-ID", message_id(n)])
        client.add_flags(uids, [b"$Private"])
    client.logout()
    settings = base_settings({
        "provider": "imap", "host": user.server.host, "port": user.server.port,
        "security": "plain", "username": user.name, "password": user.password,
        "folders": ["INBOX"], "private_keyword": "$private", "connect_timeout": 5,
        "read_timeout": 10})
    return settings, EXPECTED_ACME


@pytest.mark.parametrize("provider", ["local", "dovecot"])
def test_company_timeline_shows_exactly_the_expected_interactions(
        database: Database, tmp_path: Path, provider: str,
        request: pytest.FixtureRequest) -> None:
    if provider == "local":
        settings, expected = local_setup(tmp_path)
    else:
        settings, expected = dovecot_setup(request.getfixturevalue("mail_user"))
    (tmp_path / "companies.csv").write_text("name,domains,tier\nAcme,acme.example,strategic\n")
    import_companies(database, tmp_path / "companies.csv")
    engine = SyncEngine(database, settings, clock=lambda: BASE_TIME + timedelta(days=1))
    result = engine.sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()

    acme = timeline(database, company="acme.example")
    assert [e.subject for e in acme] == expected
    assert all(e.sources == ("rita",) for e in acme)
    # nothing of the skipped mail is stored anywhere, not even unmatched
    assert timeline(database, contact="lawyer@example.org") == []
    assert timeline(database, contact="ceo@acme.example") == []
    assert timeline(database, contact="carl@ourco.example") == (
        [] if provider == "dovecot" else [acme[0]])  # carl only on the external meeting

    # late matching: Beta and Bea arrive after their mail was synced
    assert [e.participants[0].company_id for e in timeline(database, contact=BEA[1])] == [None]
    (tmp_path / "beta.csv").write_text("name,domains\nBeta,beta.example\n")
    (tmp_path / "bea.csv").write_text("name,emails,company_domain\nBea,bea@beta.example,"
                                      "beta.example\n")
    import_companies(database, tmp_path / "beta.csv")
    import_contacts(database, tmp_path / "bea.csv")
    [beta] = timeline(database, company="beta.example")
    assert beta.subject == "Beta intro" and beta.participants[0].contact_id is not None

    # purge the subsidiary's subdomain: only its mail goes
    with database.session() as s:
        report = purge(s, domains=["eu.acme.example"])
    assert report.removed.interactions == 1
    assert [e.subject for e in timeline(database, company="acme.example")] == [
        s for s in expected if s != "Subsidiary order"]

    # a second pass changes nothing
    again = engine.sync_account(settings.accounts[0])
    assert again.ok and again.created == 0


def test_dovecot_mail_marked_private_later_is_dropped(database: Database,
                                                      mail_user: MailUser) -> None:
    settings, _ = dovecot_setup(mail_user)
    engine = SyncEngine(database, settings)
    assert engine.sync_account(settings.accounts[0]).ok
    assert "Pricing" in [e.subject for e in timeline(database, contact=ANN[1])]
    client: Any = mail_user.client()
    client.select_folder("INBOX")
    client.add_flags(client.search(["HEADER", "Message-ID", message_id(1)]), [b"$Private"])
    client.logout()
    result = engine.sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    assert [e.subject for e in timeline(database, contact=ANN[1])] == ["Re: Pricing"]
