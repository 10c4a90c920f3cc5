"""``syncd doctor`` checks of a CalDAV account, through the provider's own code.

DNS, TCP and (for ``https``) TLS of the account's URL; then login and
calendar discovery with :class:`providers.caldav.dav.DavSession` (the
provider's own wire layer), the calendars it will sync
(:func:`providers.caldav.provider.select_calendars`) and how many calendar
objects have an instance in the sync window (a time-range calendar-query
per calendar, hrefs only: no calendar data is fetched).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from providers.base import ProviderContext
from providers.caldav.cursor import Window
from providers.caldav.dav import DavSession, without_userinfo
from providers.caldav.provider import select_calendars
from providers.caldav.settings import CaldavAccount
from providers.errors import AuthError, ConfigError, SyncdError
from providers.netprobe import Check, failed, ok, reachable, warning


def probe(account: CaldavAccount, context: ProviderContext) -> list[Check]:
    """Every check of ``account``, in order (see the module docstring)."""
    key = f"accounts[{account.id}]"
    parts = urlsplit(account.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [failed("url", f"{without_userinfo(account.url)} is not an http(s) URL",
                       f"set {key}.url to the server's https:// address")]
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    checks = reachable(
        parts.hostname, port, key=f"{key}.url", timeout=account.timeout,
        port_hint=f"check the host and port in {key}.url", tls=secure and account.verify_tls,
        untrusted_fix=("the server's certificate is self-signed or from a private CA: give it "
                       "a certificate from a public CA, or add its CA to this machine's trust "
                       f"store (REQUESTS_CA_BUNDLE); {key}.verify_tls: false is for test "
                       "servers only"))
    if checks[-1].failed:
        return checks
    if not secure:
        checks.append(warning("tls", "the URL is http: the password travels unencrypted",
                              f"use an https:// URL in {key}.url"))
    elif not account.verify_tls:
        checks.append(warning("tls", "verify_tls is off: the certificate is not checked",
                              f"remove {key}.verify_tls: false outside tests"))
    password = account.password.get_secret_value() if account.password is not None else None
    session = DavSession(account.url, account.username, password, timeout=account.timeout,
                         retries=0, verify_tls=account.verify_tls)
    try:
        checks.extend(_session_checks(session, account, context))
    finally:
        session.close()
    return checks


def _session_checks(session: DavSession, account: CaldavAccount,
                    context: ProviderContext) -> list[Check]:
    key = f"accounts[{account.id}]"
    try:
        found = session.calendars()
    except AuthError as exc:
        return [failed("login", str(exc), f"check {key}.username and {key}.password "
                                          "(or password_file)")]
    except SyncdError as exc:
        return [failed("login", str(exc), f"check that {key}.url is the CalDAV server's or "
                                          "principal's URL")]
    checks = [ok("login", f"logged in as {account.username}; {len(found)} calendar(s) found")]
    try:
        chosen = select_calendars(account, found)
    except ConfigError as exc:
        issue = exc.issues[0]
        return [*checks, failed("calendars", issue.problem, f"fix {key}.calendars; {issue.fix}")]
    if not chosen:
        return [*checks, failed("calendars", "the principal has no calendar",
                                "create a calendar, or point the URL at the right principal")]
    checks.append(ok("calendars", "will sync " + ", ".join(c.name or c.url for c in chosen)))
    window = Window.around(context.current_time(), account.past_days, account.future_days)
    counts: list[str] = []
    for info in chosen:
        try:
            hrefs = session.hrefs_in_range(info.url, window.start, window.end)
        except SyncdError as exc:
            return [*checks, failed("window", f"{info.name or info.url}: {exc}",
                                    "check the server's log; the calendar cannot be listed")]
        counts.append(f"{info.name or info.url}: {len(hrefs)}")
    checks.append(ok("window", f"{', '.join(counts)} events from {window.start:%Y-%m-%d} to "
                               f"{window.end:%Y-%m-%d} (past_days {account.past_days}, "
                               f"future_days {account.future_days})"))
    return checks
