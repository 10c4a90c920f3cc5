"""The daily digest: one email per rep listing their open reminders due today.

"Due today" means due before the end of the rep's local day (their own
business-hours time zone, else the organization's), overdue ones included.
:func:`build_digests` makes the messages (pure reading); :func:`send_digests`
hands them to the configured SMTP server, one connection for the batch,
STARTTLS/TLS and login as configured. A rep whose email fails does not stop
the others; failures are returned (never with the password in them).

The daemon sends once a day at ``reminders.digest.at`` in the
organization's business-hours time zone (off unless ``digest.enabled``).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from syncd.config.model import Settings
from syncd.config.reminders import DigestSettings
from syncd.reminders.queries import ReminderView, list_reminders
from syncd.store.database import Database


def build_digests(db: Database, settings: Settings, *, now: datetime,
                  owner: str | None = None) -> list[EmailMessage]:
    conf = settings.reminders
    horizon = now + timedelta(days=2)  # the widest "end of today" across time zones
    rows = list_reminders(db, owner=owner, due_before=horizon)
    by_owner: dict[str, list[ReminderView]] = {}
    for r in rows:
        if r.owner:
            by_owner.setdefault(r.owner, []).append(r)
    messages: list[EmailMessage] = []
    for rep in sorted(by_owner):
        zone = ZoneInfo(conf.hours_for(rep).timezone)
        local_today = now.astimezone(zone).date()
        end = datetime.combine(local_today + timedelta(days=1), time(0), zone).astimezone(UTC)
        due = [r for r in by_owner[rep] if r.due_at < end]
        if due:
            messages.append(_message(conf.digest, rep, due, now, zone, settings))
    return messages


def _message(conf: DigestSettings, rep: str, rows: Sequence[ReminderView], now: datetime,
             zone: ZoneInfo, settings: Settings) -> EmailMessage:
    local_day = now.astimezone(zone).strftime("%A %d %B %Y")
    overdue = sum(1 for r in rows if r.due_at <= now)
    msg = EmailMessage()
    msg["From"] = conf.sender
    msg["To"] = rep
    msg["Subject"] = f"{len(rows)} reminder(s) for {local_day} ({overdue} overdue)"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=conf.sender.rsplit("@", 1)[-1])
    # a digest must never itself become a logged interaction or an auto-reply target
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    lines = [f"Your open reminders due by the end of {local_day}:", ""]
    for r in rows:
        when = r.due_at.astimezone(zone).strftime("%a %d %b %H:%M")
        flag = "OVERDUE " if r.due_at <= now else ""
        lines.append(f"- [{flag}{r.priority}] {when}  {r.subject or r.kind}  (#{r.id}, "
                     f"{r.kind})")
    lines += ["", "Mark one done with: syncd reminders done ID",
              f"-- syncd for {settings.organization.name or 'your team'}"]
    msg.set_content("\n".join(lines))
    return msg


def send_digests(conf: DigestSettings, messages: Sequence[EmailMessage]) -> list[tuple[str, str]]:
    """Send ``messages``; returns (rep, error) for each one that failed."""
    if not messages:
        return []
    failed: list[tuple[str, str]] = []
    try:
        smtp = _connect(conf)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"cannot reach SMTP server {conf.smtp_host}:{conf.smtp_port}: {_plain(exc)}"
        return [(str(m["To"]), error) for m in messages]
    try:
        for message in messages:
            try:
                smtp.send_message(message)
            except smtplib.SMTPException as exc:
                failed.append((str(message["To"]), _plain(exc)))
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    return failed


def _connect(conf: DigestSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    # EHLO with the sender's domain: smtplib's default (getfqdn) may wait on DNS
    helo = conf.sender.rsplit("@", 1)[-1] or "localhost"
    smtp: smtplib.SMTP
    if conf.security == "tls":
        smtp = smtplib.SMTP_SSL(conf.smtp_host, conf.smtp_port, timeout=conf.timeout,
                                context=context, local_hostname=helo)
    else:
        smtp = smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=conf.timeout,
                            local_hostname=helo)
        if conf.security == "starttls":
            smtp.starttls(context=context)
    if conf.username and conf.password is not None:
        smtp.login(conf.username, conf.password.get_secret_value())
    return smtp


def _plain(exc: BaseException) -> str:
    """An SMTP error as one line; SMTP replies never echo the password back."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
