"""The Outlook (Graph) probe of `syncd doctor`, against the stand-in via real msal."""

from __future__ import annotations

from datetime import timedelta

from providers.microsoft.probe import admin_consent_url, probe
from providers.netprobe import Check
from tests.generate import EventSpec, make_message
from tests.providers.microsoft.conftest import (
    CLIENT_ID,
    MAIL_NOW,
    MAILBOX,
    SECRET,
    auth_settings,
    calendar_account,
    context,
    mail_account,
)
from tests.standins.graph import GraphStandIn


def _named(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_mail_good_counts_the_window_and_finds_the_category(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1), received=MAIL_NOW - timedelta(days=3))
    standin.add_message(MAILBOX, "inbox", make_message(2), received=MAIL_NOW - timedelta(days=200))
    standin.add_message(MAILBOX, "sentitems", make_message(3),
                        received=MAIL_NOW - timedelta(days=1))
    standin.add_category(MAILBOX, "Private")
    checks = probe(mail_account(standin, private_category="private"), context())
    assert [c.name for c in checks] == ["dns", "tcp", "token", "permission", "folders",
                                        "backfill", "private category"]
    assert all(c.status == "ok" for c in checks), checks
    assert _named(checks)["backfill"].detail.startswith("inbox: 1, sentitems: 1 messages since")
    other = probe(mail_account(standin, private_category="Secret"), context())
    assert _named(other)["private category"].status == "warning"


def test_missing_mail_permission_names_it_and_the_admin_consent_url(
        standin: GraphStandIn) -> None:
    standin.deny_permission(CLIENT_ID, "Mail.Read")
    account = mail_account(standin)
    checks = probe(account, context())
    last = checks[-1]
    assert last.name == "permission" and last.failed, checks
    assert "403" in last.detail
    assert "Mail.Read" in last.fix and admin_consent_url(account) in last.fix
    assert admin_consent_url(account).endswith(f"/{standin.tenant}/adminconsent?client_id="
                                               f"{CLIENT_ID}")
    # the calendar permission is separate
    assert all(c.status == "ok" for c in probe(calendar_account(standin), context()))


def test_revoked_consent_and_bad_secret(standin: GraphStandIn) -> None:
    bad = mail_account(standin, auth=auth_settings(standin, client_secret="nope-wrong"))
    token = probe(bad, context())[-1]
    assert token.name == "token" and token.failed and "invalid_client" in token.detail
    assert "client_secret" in token.fix and "nope-wrong" not in repr(token)
    standin.revoke_consent(CLIENT_ID)
    token = probe(mail_account(standin), context())[-1]
    assert token.failed and "adminconsent" in token.fix
    assert SECRET not in repr(token)


def test_calendar_counts_instances_in_the_window(standin: GraphStandIn) -> None:
    standin.add_event(MAILBOX, EventSpec("weekly", "Weekly", MAIL_NOW + timedelta(days=1),
                                         rrule="FREQ=WEEKLY;COUNT=4"))
    standin.add_event(MAILBOX, EventSpec("old", "Old", MAIL_NOW - timedelta(days=300)))
    checks = probe(calendar_account(standin), context())
    assert all(c.status == "ok" for c in checks), checks
    assert _named(checks)["window"].detail.startswith("4 events from ")
    standin.deny_permission(CLIENT_ID, "Calendars.Read")
    last = probe(calendar_account(standin), context())[-1]
    assert last.failed and "Calendars.Read" in last.fix
