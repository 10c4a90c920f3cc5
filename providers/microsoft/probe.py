"""``syncd doctor`` checks of an Outlook mail or calendar account (Microsoft Graph).

DNS, TCP and (for ``https``) TLS of the Graph endpoint; the token from the
provider's own token source (:func:`providers.microsoft.auth.token_source`:
client credentials or the device-code sign-in stored in the vault); then,
through the provider's own :class:`~providers.microsoft.graph_http.GraphClient`,
the permission each account kind needs (Mail.Read, Calendars.Read: Graph
answers 403 without it), how many items the backfill window covers
(``$count=true`` → ``@odata.count``, ids only) and the ``private_category``
among the mailbox's master categories. A missing permission or consent
names the permission and the admin-consent URL that grants it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from providers.base import ProviderContext
from providers.errors import AuthError, ConfigError, SyncdError, TransientError
from providers.microsoft.auth import token_source
from providers.microsoft.common import graph_client, iso_z
from providers.microsoft.graph_http import GraphClient
from providers.microsoft.settings import OutlookAccount, OutlookMailAccount
from providers.netprobe import Check, failed, ok, reachable, warning


def admin_consent_url(account: OutlookAccount) -> str:
    """Where a tenant admin grants the app's permissions (admin consent)."""
    auth = account.auth
    return (f"{auth.authority_host.rstrip('/')}/{quote(auth.tenant_id)}/adminconsent"
            f"?client_id={quote(auth.client_id)}")


def probe(account: OutlookAccount, context: ProviderContext) -> list[Check]:
    """Every check of ``account``, in order (see the module docstring)."""
    parts = urlsplit(account.endpoints.graph)
    secure = parts.scheme == "https"
    key = f"accounts[{account.id}]"
    checks = reachable(
        parts.hostname or "", parts.port or (443 if secure else 80),
        key=f"{key}.endpoints.graph", timeout=account.limits.timeout,
        port_hint="check endpoints.graph (the default needs no setting) and any proxy",
        tls=secure, untrusted_fix="a TLS-inspecting proxy may be in the way: add its CA to "
                                  "this machine's trust store")
    if checks[-1].failed:
        return checks
    token = _token(account, context)
    checks.append(token)
    if token.failed:
        return checks
    client = graph_client(account, context)
    try:
        if isinstance(account, OutlookMailAccount):
            checks.extend(_mail(client, account, context))
        else:
            checks.extend(_calendar(client, account, context))
    finally:
        client.close()
    return checks


def _permission(account: OutlookAccount) -> str:
    return "Mail.Read" if isinstance(account, OutlookMailAccount) else "Calendars.Read"


def _grant_fix(account: OutlookAccount) -> str:
    permission = _permission(account)
    if account.auth.method == "app":
        return (f"in the Entra admin center (App registrations > {account.auth.client_id} > "
                f"API permissions) add the Microsoft Graph application permission "
                f"{permission} and grant admin consent, or have an admin open "
                f"{admin_consent_url(account)}")
    return (f"run `syncd auth microsoft --account {account.id}` and accept {permission}; if the "
            f"tenant needs admin consent, an admin opens {admin_consent_url(account)}")


def _token(account: OutlookAccount, context: ProviderContext) -> Check:
    key = f"accounts[{account.id}].auth"
    try:
        token_source(account, context.vault).access_token()
    except ConfigError as exc:
        issue = exc.issues[0]
        return failed("token", f"{issue.path}: {issue.problem}", issue.fix or f"fix {key}")
    except AuthError as exc:
        text = str(exc)
        if "invalid_client" in text:
            return failed("token", text, f"the client secret is wrong or expired: create a new "
                                         f"one (App registrations > {account.auth.client_id} > "
                                         f"Certificates & secrets) and set {key}.client_secret")
        if "consent_required" in text or "AADSTS65001" in text:
            return failed("token", text, _grant_fix(account))
        if account.auth.method == "delegated":
            return failed("token", text, f"run `syncd auth microsoft --account {account.id}`")
        return failed("token", text, f"check {key}.tenant_id, client_id and client_secret")
    except TransientError as exc:
        return failed("token", str(exc), f"check the network path to {account.auth.authority_host}")
    return ok("token", f"access token obtained ({account.auth.method})")


def _api_failure(exc: SyncdError, what: str, account: OutlookAccount) -> Check:
    if isinstance(exc, AuthError):
        return failed("permission", f"{what}: {exc}", _grant_fix(account))
    if isinstance(exc, ConfigError):
        issue = exc.issues[0]
        return failed(what, issue.problem, f"check accounts[{account.id}]: {issue.fix}")
    return failed(what, str(exc), "run the doctor again; if it persists, check Graph's status")


def _count(client: GraphClient, path: str, params: dict[str, str]) -> int:
    reply: dict[str, Any] = client.get(path, params={**params, "$count": "true", "$top": "1",
                                                     "$select": "id"}, resource=path)
    count = reply.get("@odata.count")
    return int(count) if count is not None else len(reply.get("value", []))


def _mail(client: GraphClient, account: OutlookMailAccount,
          context: ProviderContext) -> list[Check]:
    since = context.current_time() - timedelta(days=account.backfill_days)
    counts: list[str] = []
    for folder in account.folders:
        try:
            n = _count(client, f"{client.mailbox}/mailFolders/{quote(folder)}/messages",
                       {"$filter": f"receivedDateTime ge {iso_z(since)}"})
        except SyncdError as exc:
            return [_api_failure(exc, "folders", account)]
        counts.append(f"{folder}: {n}")
    checks = [ok("permission", f"{_permission(account)} granted"),
              ok("folders", f"will sync {', '.join(account.folders)}"),
              ok("backfill", f"{', '.join(counts)} messages since {since:%Y-%m-%d} "
                             f"(backfill_days {account.backfill_days})")]
    category = account.private_category
    if category:
        try:
            reply = client.get(f"{client.mailbox}/outlook/masterCategories",
                               resource="masterCategories")
        except SyncdError as exc:
            return [*checks, _api_failure(exc, "private category", account)]
        names = {str(c.get("displayName", "")).casefold() for c in reply.get("value", [])}
        if category.casefold() in names:
            checks.append(ok("private category", f"category {category!r} exists"))
        else:
            checks.append(warning(
                "private category", f"no category {category!r} in the mailbox",
                f"create it in Outlook, or fix accounts[{account.id}].private_category"))
    return checks


def _calendar(client: GraphClient, account: OutlookAccount,
              context: ProviderContext) -> list[Check]:
    past = getattr(account, "past_days", 0)
    future = getattr(account, "future_days", 0)
    now = context.current_time()
    low, high = now - timedelta(days=past), now + timedelta(days=future)
    try:
        n = _count(client, f"{client.mailbox}/calendarView",
                   {"startDateTime": iso_z(low), "endDateTime": iso_z(high)})
    except SyncdError as exc:
        return [_api_failure(exc, "window", account)]
    return [ok("permission", f"{_permission(account)} granted"),
            ok("window", f"{n} events from {low:%Y-%m-%d} to {high:%Y-%m-%d} "
                         f"(past_days {past}, future_days {future})")]
