"""The Gmail / Google Calendar probe of `syncd doctor`, against the stand-in."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from providers.google.auth import CALENDAR_SCOPES, GMAIL_SCOPES, vault_name
from providers.google.probe import DELEGATION_URL, probe
from providers.netprobe import Check
from tests.generate import EventSpec, make_message
from tests.providers.google.conftest import (
    NOW,
    REP,
    MemoryVault,
    calendar_account,
    context,
    gmail_account,
)
from tests.standins.google import GoogleStandIn

CLIENT = {"client_id": "syncd-desktop.apps.example", "client_secret": "s3cret-client"}


def _named(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_gmail_good_counts_the_window_and_finds_the_label(standin: GoogleStandIn,
                                                          key_file: Path) -> None:
    standin.add_message(REP, make_message(1), internal_date=NOW - timedelta(days=2))
    standin.add_message(REP, make_message(2), ["Private"], internal_date=NOW - timedelta(days=5))
    standin.add_message(REP, make_message(3), internal_date=NOW - timedelta(days=60))
    checks = probe(gmail_account(standin, key_file, private_label="Private"), context())
    assert [c.name for c in checks] == ["dns", "tcp", "token", "mailbox", "backfill",
                                        "private label"]
    assert all(c.status == "ok" for c in checks), checks
    assert _named(checks)["backfill"].detail.startswith("about 2 messages since ")
    missing = probe(gmail_account(standin, key_file, private_label="Secret"), context())
    assert _named(missing)["private label"].status == "warning"


def test_service_account_missing_scope_names_scope_client_id_and_admin_url(
        standin: GoogleStandIn, key_file: Path) -> None:
    standin.oauth.deny_scope(GMAIL_SCOPES[0])
    checks = probe(gmail_account(standin, key_file), context())
    token = checks[-1]
    assert token.name == "token" and token.failed, checks
    assert GMAIL_SCOPES[0] in token.detail and "unauthorized_client" in token.detail
    assert DELEGATION_URL in token.fix and "1234567890" in token.fix
    assert GMAIL_SCOPES[0] in token.fix


def test_oauth_grant_without_the_scope_says_run_auth(standin: GoogleStandIn,
                                                     key_file: Path) -> None:
    vault = MemoryVault()
    refresh = standin.issue_refresh_token(REP, CLIENT["client_id"])
    vault.save(vault_name("gmail-rita"), json.dumps({"refresh_token": refresh}))
    account = gmail_account(standin, key_file, auth={
        "method": "oauth", "token_uri": standin.token_uri, **CLIENT})
    assert _named(probe(account, context(vault=vault)))["token"].status == "ok"
    standin.oauth.deny_scope(GMAIL_SCOPES[0])
    token = _named(probe(account, context(vault=vault)))["token"]
    assert token.failed and GMAIL_SCOPES[0] in token.detail
    assert "syncd auth google --account gmail-rita" in token.fix
    assert refresh not in repr(token)


def test_no_stored_token_says_run_auth(standin: GoogleStandIn, key_file: Path) -> None:
    account = gmail_account(standin, key_file, auth={
        "method": "oauth", "token_uri": standin.token_uri, **CLIENT})
    token = probe(account, context(vault=MemoryVault()))[-1]
    assert token.failed and "syncd auth google --account gmail-rita" in token.fix


def test_calendar_counts_instances_in_the_window(standin: GoogleStandIn,
                                                 key_file: Path) -> None:
    standin.add_event(REP, "primary", EventSpec("weekly", "Weekly sync", NOW - timedelta(days=1),
                                                rrule="FREQ=WEEKLY;COUNT=3"))
    standin.add_event(REP, "primary", EventSpec("old", "Long ago", NOW - timedelta(days=300)))
    checks = probe(calendar_account(standin, key_file), context())
    assert all(c.status == "ok" for c in checks), checks
    assert _named(checks)["window"].detail.startswith("primary: 3 events from ")
    standin.oauth.deny_scope(CALENDAR_SCOPES[0])
    assert probe(calendar_account(standin, key_file), context())[-1].failed


def test_unresolvable_endpoint_fails_dns(standin: GoogleStandIn, key_file: Path) -> None:
    account = gmail_account(standin, key_file, endpoints={
        "gmail": "https://gmail.nowhere.invalid/"})
    checks = probe(account, context())
    assert [c.name for c in checks] == ["dns"] and checks[0].failed
