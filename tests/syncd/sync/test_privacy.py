"""Privacy through the real engine, matching and store, on SQLite and PostgreSQL.

A scripted provider (tests/scripted.py; test data: it yields the pages
given) stands in for the protocol so every rule is driven with exactly the
fields it needs; the real providers' tags are covered in
tests/syncd/sync/test_matching_e2e.py (Dovecot keyword, mbox label) and
tests/providers/{google,microsoft}.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from providers.base import Address, Attendee, Event, Message, Page
from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.queries import timeline
from syncd.store.schema import Interaction, Participant, Source
from syncd.sync.engine import SyncEngine
from tests.generate import BASE_TIME
from tests.scripted import Script, ScriptedFactory

NOW = BASE_TIME + timedelta(days=1)
REP = Address("rita@ourco.example", "Rita Rep")
SAM = Address("sam@ourco.example", "Sam Sales")
ANN = Address("ann@acme.example", "Ann Acme")


def engine_for(db: Database, settings: Settings, script: dict[str, list[Page]]) -> SyncEngine:
    """An engine whose accounts' servers hold ``script[account id]`` (read at every pass,
    so a test may replace an account's pages between passes)."""
    factory = ScriptedFactory(lambda account_id: Script(script.get(account_id, [])))
    return SyncEngine(db, settings, provider_factory=factory, clock=lambda: NOW)


def settings_for(*accounts: dict[str, Any], **top: Any) -> Settings:
    base = {"provider": "imap", "host": "imap.invalid", "username": "u", "password": "p",
            "owner": REP.email}
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        **top,
        "accounts": [{**base, **a} for a in accounts],
    })


def mail(n: int, *, sender: Address = ANN, to: tuple[Address, ...] = (REP,),
         tags: tuple[str, ...] = (), pid: str | None = None, **kw: Any) -> Message:
    return Message(provider_id=pid or f"INBOX/1/{n}", message_id=f"m{n}@mail.example",
                   sent_at=BASE_TIME + timedelta(minutes=n), sender=sender, to=to,
                   subject=kw.pop("subject", f"Subject {n}"), folder="INBOX", tags=tags, **kw)


def count(db: Database, model: Any) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def subjects(db: Database) -> list[str | None]:
    with db.session(write=False) as s:
        return list(s.scalars(select(Interaction.subject).order_by(Interaction.occurred_at)))


# ---------------------------------------------------------------------- 1. privacy level

FULL_MAIL: dict[str, Any] = {"subject": "Pricing", "snippet": "Our offer is 42",
                             "body": "Our offer is 42. Full text"}
INVITE = Event(provider_id="cal/1", uid="kick@acme", recurrence_id=None, start=BASE_TIME,
               end=BASE_TIME + timedelta(hours=1), title="Kickoff", location="Room 1",
               organizer=REP, attendees=(Attendee(ANN, "accepted"),))


@pytest.mark.parametrize(("level", "stored_mail", "stored_meeting"), [
    ("metadata", (None, None, None), (None, None)),
    ("subject", ("Pricing", None, None), ("Kickoff", "Room 1")),
    ("snippet", ("Pricing", "Our offer is 42", None), ("Kickoff", "Room 1")),
    ("full", ("Pricing", "Our offer is 42", "Our offer is 42. Full text"), ("Kickoff", "Room 1")),
])
def test_nothing_beyond_the_privacy_level_is_stored_even_if_the_provider_sent_it(
        database: Database, level: str, stored_mail: tuple[str | None, ...],
        stored_meeting: tuple[str | None, ...]) -> None:
    # the account overrides a global default that would allow everything
    settings = settings_for({"id": "rita", "privacy": level}, privacy={"level": "full"})
    page = Page("INBOX", [mail(1, **FULL_MAIL), INVITE])
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    with database.session(write=False) as s:
        email = s.scalars(select(Interaction).where(Interaction.kind == "email")).one()
        meeting = s.scalars(select(Interaction).where(Interaction.kind == "meeting")).one()
        assert (email.subject, email.snippet, email.body) == stored_mail
        assert (meeting.subject, meeting.location) == stored_meeting


def test_global_privacy_level_applies_when_the_account_sets_none(database: Database) -> None:
    settings = settings_for({"id": "rita"}, privacy={"level": "metadata"})
    engine = engine_for(database, settings, {"rita": [Page("INBOX", [mail(1, **FULL_MAIL)])]})
    assert engine.sync_account(settings.accounts[0]).ok
    assert subjects(database) == [None]


# ---------------------------------------------------------------------- 3. marked private


IMAP = {"provider": "imap", "host": "imap.invalid", "username": "u", "password": "p"}
GMAIL = {"provider": "gmail", "auth": {"service_account_file": "key.json"}}
OUTLOOK = {"provider": "outlook_mail", "auth": {"tenant_id": "t", "client_id": "c"}}


@pytest.mark.parametrize(("account", "tags", "logged"), [
    ({**IMAP, "private_keyword": "$Private"}, ("$private",), False),  # keywords: any case
    ({**IMAP, "private_keyword": "$Private"}, ("\\Seen", "Work"), True),
    (IMAP, ("$Private",), True),  # no keyword configured: nothing is private
    ({**GMAIL, "private_label": "Private"}, ("INBOX", "Private"), False),
    ({**GMAIL, "private_label": "Private"}, ("INBOX", "Privately"), True),
    ({**OUTLOOK, "private_category": "Private"}, ("Customer", "PRIVATE"), False),
    ({"provider": "local", "private_label": "Private"}, ("Private",), False),
])
def test_a_message_the_rep_marked_private_is_not_logged(
        database: Database, account: dict[str, Any], tags: tuple[str, ...],
        logged: bool) -> None:
    settings = Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita", "owner": REP.email, **account}]})
    page = Page("INBOX", [mail(1, tags=tags), mail(2)], cursor={"n": 2})
    result = engine_for(database, settings, {"rita": [page]}).sync_account(settings.accounts[0])
    assert result.ok, result.to_dict()
    assert subjects(database) == (["Subject 1", "Subject 2"] if logged else ["Subject 2"])
    assert result.skipped == (0 if logged else 1)
    with database.session(write=False) as s:  # the cursor still moved
        from syncd.store.schema import SyncCursor

        assert s.scalar(select(SyncCursor.cursor)) == {"n": 2}


def test_marked_private_later_forgets_this_reps_copy_only(database: Database) -> None:
    settings = settings_for({"id": "rita", "private_keyword": "$Private"},
                            {"id": "sam", "owner": SAM.email})
    shared = mail(1, to=(REP, SAM))
    script: dict[str, list[Page]] = {"rita": [Page("INBOX", [shared, mail(2)])],
                                     "sam": [Page("INBOX", [shared])]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    assert count(database, Interaction) == 2 and count(database, Source) == 3
    # rita marks both private afterwards (IMAP CONDSTORE re-sends them with the keyword)
    script["rita"] = [Page("INBOX", [mail(1, to=(REP, SAM), tags=("$Private",)),
                                     mail(2, tags=("$Private",))])]
    assert engine.sync_account(settings.accounts[0]).ok
    # m2 only rita saw: gone with its participants; m1 stays, seen by sam only
    assert subjects(database) == ["Subject 1"]
    with database.session(write=False) as s:
        assert list(s.scalars(select(Source.account_id))) == ["sam"]
        assert s.scalar(select(func.count()).select_from(Participant)
                        .where(Participant.address == ANN.email)) == 1
    [entry] = timeline(database, contact=ANN.email)
    assert entry.sources == ("sam",)


# ---------------------------------------------------------------------- 2. blocklists


@pytest.mark.parametrize(("global_list", "rep_list", "logged"), [
    ([], [], ["Subject 1", "Subject 2", "Subject 3"]),
    (["acme.example"], [], ["Subject 3"]),                 # domain: subdomains too
    (["ANN@Acme.example"], [], ["Subject 2", "Subject 3"]),  # address, canonical
    ([], ["mail.acme.example"], ["Subject 1", "Subject 3"]),  # rep's own, a subdomain only
])
def test_blocklisted_participants_are_never_logged(
        database: Database, global_list: list[str], rep_list: list[str],
        logged: list[str]) -> None:
    settings = settings_for({"id": "rita", "blocklist": rep_list},
                            matching={"blocklist": global_list})
    page = Page("INBOX", [mail(1), mail(2, sender=Address("bo@eu.mail.acme.example")),
                          mail(3, sender=Address("zed@zeta.example"))])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    assert subjects(database) == logged
    with database.session(write=False) as s:
        stored = set(s.scalars(select(Participant.address)))
    assert not any(a.endswith(d.lower()) for a in stored for d in global_list + rep_list)


def test_blocking_googlemail_blocks_gmail_too(database: Database) -> None:
    # addresses are compared canonically, so are blocklisted domains
    settings = settings_for({"id": "rita", "blocklist": ["GoogleMail.com"]})
    page = Page("INBOX", [mail(1, sender=Address("Jo.E+x@gmail.com")),
                          mail(2, sender=Address("joe@googlemail.com")), mail(3)])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    assert subjects(database) == ["Subject 3"]


def test_a_blocklisted_cc_keeps_the_whole_interaction_out(database: Database) -> None:
    # matching.gate: nothing a blocked person took part in is logged (subject included)
    settings = settings_for({"id": "rita"}, matching={"blocklist": ["lawyer@example.org"]})
    page = Page("INBOX", [mail(1, cc=(Address("Lawyer@Example.org"),)), mail(2)])
    assert engine_for(database, settings, {"rita": [page]}).sync_account(
        settings.accounts[0]).ok
    assert subjects(database) == ["Subject 2"]


def test_adding_a_blocklist_entry_purges_what_was_logged_on_the_next_pass(
        database: Database) -> None:
    settings = settings_for({"id": "rita"}, {"id": "sam", "owner": SAM.email})
    shared = mail(1, to=(REP, SAM))
    script = {"rita": [Page("INBOX", [shared, mail(2, sender=Address("x@eu.acme.example")),
                                      mail(3, sender=Address("zed@zeta.example"))])],
              "sam": [Page("INBOX", [shared])]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    assert count(database, Interaction) == 3
    # a config reload: the engine gets new settings (as syncd.daemon.service does)
    engine.settings = settings_for({"id": "rita", "blocklist": ["zeta.example"]},
                                   {"id": "sam", "owner": SAM.email},
                                   matching={"blocklist": ["acme.example"]})
    script["rita"] = []
    assert engine.sync_account(engine.settings.accounts[0]).ok
    assert subjects(database) == []
    assert count(database, Source) == 0 and count(database, Participant) == 0
    # purging is idempotent: the next pass finds nothing more to do
    assert engine.blocklists.ensure(database, engine.settings) == []


def test_a_reps_blocklist_purges_only_that_reps_copies(database: Database) -> None:
    settings = settings_for({"id": "rita"}, {"id": "sam", "owner": SAM.email})
    shared = mail(1, to=(REP, SAM))
    script = {"rita": [Page("INBOX", [shared, mail(2)])], "sam": [Page("INBOX", [shared])]}
    engine = engine_for(database, settings, script)
    assert all(engine.sync_account(a).ok for a in settings.accounts)
    engine.settings = settings_for({"id": "rita", "blocklist": ["ann@acme.example"]},
                                   {"id": "sam", "owner": SAM.email})
    assert engine.sync_account(engine.settings.accounts[1]).ok
    assert subjects(database) == ["Subject 1"]  # sam's copy keeps m1; m2 was rita's alone
    with database.session(write=False) as s:
        assert list(s.scalars(select(Source.account_id))) == ["sam"]
