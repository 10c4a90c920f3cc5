"""``syncd doctor`` checks of a Gmail or Google Calendar account.

DNS, TCP and (for ``https``) TLS of the API endpoint; then the token:
credentials exactly as the provider loads them
(:func:`providers.google.auth.load_credentials`), refreshed once, and the
scope the provider needs checked — a service account whose client is not
authorized for it in the Admin console's domain-wide delegation gets
``unauthorized_client`` from the token endpoint; an OAuth grant names its
scopes in the token response. Then, through the provider's own service:
Gmail's profile, how many messages the backfill window covers
(``messages.list`` with the provider's query, ``resultSizeEstimate``) and
the ``private_label`` in the labels list; Calendar's calendars and how many
event instances the window holds (``events.list``, ids only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError
from googleapiclient.errors import HttpError

from providers.base import ProviderContext
from providers.errors import AuthError, ConfigError, SyncdError
from providers.google.auth import CALENDAR_SCOPES, GMAIL_SCOPES, load_credentials
from providers.google.calendar import GoogleCalendarProvider
from providers.google.gmail import GmailProvider
from providers.google.settings import GmailAccount, GoogleAccount, GoogleCalendarAccount
from providers.google.transport import error_reason
from providers.netprobe import Check, failed, ok, reachable, warning

#: where a Workspace admin authorizes a service account's client id for scopes
DELEGATION_URL = "https://admin.google.com/ac/owl/domainwidedelegation"
#: where the scopes an OAuth client may ask for are set up
CONSENT_SCREEN_URL = "https://console.cloud.google.com/apis/credentials/consent"


def probe(account: GoogleAccount, context: ProviderContext) -> list[Check]:
    """Every check of ``account``, in order (see the module docstring)."""
    gmail = isinstance(account, GmailAccount)
    endpoint = account.endpoints.gmail if gmail else account.endpoints.calendar
    scopes = GMAIL_SCOPES if gmail else CALENDAR_SCOPES
    parts = urlsplit(endpoint)
    secure = parts.scheme == "https"
    key = f"accounts[{account.id}]"
    checks = reachable(
        parts.hostname or "", parts.port or (443 if secure else 80),
        key=f"{key}.endpoints", timeout=account.transport.timeout,
        port_hint="check the endpoint URL (the default needs no setting) and any proxy",
        tls=secure, untrusted_fix="a TLS-inspecting proxy may be in the way: add its CA to "
                                  "this machine's trust store")
    if checks[-1].failed:
        return checks
    token = _token(account, context, scopes)
    checks.append(token)
    if token.failed:
        return checks
    try:
        if isinstance(account, GmailAccount):
            checks.extend(_gmail(account, context, scopes))
        else:
            checks.extend(_calendar(account, context, scopes))
    except (SyncdError, GoogleAuthError, OSError, httplib2.HttpLib2Error) as exc:
        checks.append(failed("api", f"{type(exc).__name__}: {exc}",
                             "run the doctor again; if it persists, check the network"))
    return checks


def _token(account: GoogleAccount, context: ProviderContext, scopes: Sequence[str]) -> Check:
    key = f"accounts[{account.id}].auth"
    reauth = f"run `syncd auth google --account {account.id}`"
    try:
        creds: Any = load_credentials(account, context.vault, scopes)
        http = httplib2.Http(timeout=account.transport.timeout)
        creds.refresh(google_auth_httplib2.Request(http))
    except ConfigError as exc:
        issue = exc.issues[0]
        return failed("token", f"{issue.path}: {issue.problem}", issue.fix or f"fix {key}")
    except AuthError as exc:
        return failed("token", str(exc), reauth)
    except RefreshError as exc:
        error, _, description = str(exc.args[0] if exc.args else exc).partition(":")
        error = error.strip()
        if error == "unauthorized_client" and account.auth.method == "service_account":
            return failed(
                "token", f"scope {' '.join(scopes)} is not authorized for the service account "
                         f"(unauthorized_client)",
                f"a Workspace admin must add client ID {_client_id(account)} with scope "
                f"{','.join(scopes)} at {DELEGATION_URL} (Security > API controls > "
                "Domain-wide delegation)")
        if error == "invalid_grant":
            who = account.auth.subject or account.owner
            fix = (reauth if account.auth.method == "oauth" else
                   f"check that {who} exists in the Workspace and that the key is not revoked")
            return failed("token", f"Google refused the grant (invalid_grant:{description})", fix)
        return failed("token", f"Google refused the token request ({error})",
                      f"check {key}" + (f", or {reauth}" if account.auth.method == "oauth" else ""))
    except (GoogleAuthError, OSError, httplib2.HttpLib2Error) as exc:
        return failed("token", f"cannot reach the token endpoint ({type(exc).__name__})",
                      "check the network path to oauth2.googleapis.com")
    granted = getattr(creds, "granted_scopes", None)
    missing = [s for s in scopes if granted is not None and s not in granted]
    if missing:
        return failed("token", f"the stored grant lacks scope {' '.join(missing)}",
                      f"{reauth} and allow it; if the consent screen does not offer it, add it "
                      f"to the OAuth client's scopes at {CONSENT_SCREEN_URL}")
    return ok("token", f"access token obtained ({account.auth.method}), scope "
                       f"{' '.join(scopes)} granted")


def _client_id(account: GoogleAccount) -> str:
    """The service account's numeric client id, from its key file (nothing secret)."""
    path = account.auth.service_account_file
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))["client_id"] if path else None
    except (OSError, ValueError, KeyError, TypeError):
        value = None
    return str(value) if value else "(the client_id in the service account's key file)"


def _refused(exc: HttpError, what: str, account: GoogleAccount,
             scopes: Sequence[str]) -> Check:
    status = exc.resp.status
    reason = error_reason(exc) or ""
    if status == 403 and reason in ("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
        return failed("api", f"{what}: the token lacks scope {' '.join(scopes)}",
                      f"run `syncd auth google --account {account.id}` and allow it")
    if status == 403:
        return failed("api", f"{what}: access denied ({reason or 'HTTP 403'})",
                      f"check that {account.auth.subject or account.owner} may read it and "
                      "that the API is enabled for the project")
    if status == 404:
        return failed("api", f"{what}: not found",
                      f"check accounts[{account.id}] (calendar ids, owner)")
    return failed("api", f"{what}: HTTP {status} ({reason or 'error'})",
                  "run the doctor again; if it persists, check Google's status page")


def _gmail(account: GmailAccount, context: ProviderContext,
           scopes: Sequence[str]) -> list[Check]:
    provider = GmailProvider(account, context)
    try:
        users = provider.service.users()
        try:
            profile = users.getProfile(userId="me").execute(num_retries=0)
        except HttpError as exc:
            return [_refused(exc, "users.getProfile", account, scopes)]
        checks = [ok("mailbox", f"{profile.get('emailAddress')}: "
                                f"{profile.get('messagesTotal', '?')} messages in all")]
        since = context.current_time() - timedelta(days=account.backfill_days)
        try:
            found = users.messages().list(userId="me", q=provider.query(int(since.timestamp())),
                                          maxResults=1).execute(num_retries=0)
        except HttpError as exc:
            return [*checks, _refused(exc, "messages.list", account, scopes)]
        checks.append(ok("backfill", f"about {found.get('resultSizeEstimate', 0)} messages "
                                     f"since {since:%Y-%m-%d} (backfill_days "
                                     f"{account.backfill_days})"))
        if account.private_label:
            try:
                labels = users.labels().list(userId="me").execute(num_retries=0)
            except HttpError as exc:
                return [*checks, _refused(exc, "labels.list", account, scopes)]
            names = {str(x.get("name", "")).casefold() for x in labels.get("labels", [])}
            label = account.private_label
            if label.casefold() in names:
                checks.append(ok("private label", f"label {label!r} exists"))
            else:
                checks.append(warning(
                    "private label", f"no label {label!r} in the mailbox",
                    f"create it in Gmail, or fix accounts[{account.id}].private_label"))
        return checks
    finally:
        provider.close()


def _calendar(account: GoogleCalendarAccount, context: ProviderContext,
              scopes: Sequence[str]) -> list[Check]:
    provider = GoogleCalendarProvider(account, context)
    try:
        low, high = provider.window()
        events = provider.service.events()
        counts: list[str] = []
        for calendar in account.calendars:
            total, token = 0, None
            while True:
                try:
                    page = events.list(calendarId=calendar, singleEvents=True,
                                       timeMin=low.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                       timeMax=high.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                       maxResults=2500, pageToken=token,
                                       fields="items(id),nextPageToken").execute(num_retries=0)
                except HttpError as exc:
                    return [_refused(exc, f"calendar {calendar!r}", account, scopes)]
                total += len(page.get("items", []))
                token = page.get("nextPageToken")
                if not token:
                    break
            counts.append(f"{calendar}: {total}")
        return [ok("calendars", f"will sync {', '.join(account.calendars)}"),
                ok("window", f"{', '.join(counts)} events from {low:%Y-%m-%d} to "
                             f"{high:%Y-%m-%d} (past_days {account.past_days}, "
                             f"future_days {account.future_days})")]
    finally:
        provider.close()
