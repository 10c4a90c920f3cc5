"""Realistic test data shared by every provider test and benchmark.

``make_message`` builds RFC 5322 bytes; :class:`EventSpec` describes a
meeting neutrally so each backend renders it in its own format (``to_ics``
for files and CalDAV; the Google and Graph stand-ins convert it to JSON).
Deterministic: the same arguments always give the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage
from email.utils import format_datetime

import icalendar

BASE_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

FIRST = ["Ada", "Grace", "Linus", "Marie", "Alan", "Zoë", "Jürgen", "Björk", "Søren", "Chen"]
LAST = ["Lovelace", "Hopper", "Curie", "Turing", "Müller", "Ørsted", "Nakamura", "García"]
DOMAINS = ["acme.example", "globex.example", "initech.example", "umbrella.example"]
SUBJECTS = ["Pricing for Q1", "Re: contract renewal", "Meeting notes", "Quick question",
            "Über die Lieferung", "Proposal v2", "Invoice 4411", "Intro call"]


def message_id(n: int, domain: str = "mail.example") -> str:
    return f"msg-{n:07d}@{domain}"


def make_message(
    n: int,
    *,
    sender: tuple[str, str] | None = None,
    to: list[tuple[str, str]] | None = None,
    cc: list[tuple[str, str]] | None = None,
    subject: str | None = None,
    when: datetime | None = None,
    msgid: str | None = "default",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    calendar: str | None = None,
) -> bytes:
    """Message number ``n``: plausible names, addresses, subject and body.

    ``msgid=None`` leaves the Message-ID out; ``"default"`` gives
    :func:`message_id`(n). ``calendar`` adds a text/calendar part (an invite).
    """
    rnd = random.Random(n)
    if sender is None:
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        sender = (f"{first} {last}", f"{first.lower()}.{n}@{rnd.choice(DOMAINS)}".encode(
            "ascii", "ignore").decode())
    if to is None:
        to = [("Rita Rep", "rita@ourco.example")]
    msg = EmailMessage()
    msg["From"] = _addr(*sender)
    msg["To"] = ", ".join(str(_addr(*a)) for a in to)
    if cc:
        msg["Cc"] = ", ".join(str(_addr(*a)) for a in cc)
    msg["Subject"] = subject if subject is not None else rnd.choice(SUBJECTS)
    msg["Date"] = format_datetime(when or BASE_TIME + timedelta(minutes=7 * n))
    if msgid == "default":
        msgid = message_id(n)
    if msgid is not None:
        msg["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body if body is not None else f"Hello,\n\nThis is message {n}.\n\nBest\n")
    if calendar is not None:
        msg.add_alternative(calendar, subtype="calendar", params={"method": _method(calendar)})
    return bytes(msg)


def _method(ics: str) -> str:
    for line in ics.splitlines():
        if line.startswith("METHOD:"):
            return line.split(":", 1)[1].strip()
    return "PUBLISH"


def _addr(name: str, email: str) -> EmailAddress:
    local, _, domain = email.partition("@")
    return EmailAddress(display_name=name, username=local, domain=domain)


@dataclass
class EventSpec:
    """A meeting, described once for every backend.

    ``rrule`` like ``"FREQ=WEEKLY;COUNT=4"``; ``cancelled_instances`` are
    original starts of instances that were cancelled; ``moved_instances``
    maps an original start to its new start (same duration).
    ``classification`` is the iCalendar CLASS (PUBLIC, PRIVATE, CONFIDENTIAL);
    each backend renders it its own way (Google ``visibility``, Graph ``sensitivity``).
    """

    uid: str
    title: str
    start: datetime
    duration: timedelta = timedelta(hours=1)
    organizer: tuple[str, str] = ("Rita Rep", "rita@ourco.example")
    attendees: list[tuple[str, str, str]] = field(default_factory=list)  # name, email, PARTSTAT
    location: str | None = None
    status: str = "CONFIRMED"
    sequence: int = 0
    rrule: str | None = None
    cancelled_instances: list[datetime] = field(default_factory=list)
    moved_instances: dict[datetime, datetime] = field(default_factory=dict)
    tzid: str = "Europe/Berlin"
    classification: str = "PUBLIC"


def to_ics(spec: EventSpec, method: str | None = None) -> str:
    """Render a spec as an iCalendar object (with exceptions as overrides)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(spec.tzid)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//syncd tests//EN")
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)

    def base_event(start: datetime) -> icalendar.Event:
        ev = icalendar.Event()
        ev.add("uid", spec.uid)
        ev.add("summary", spec.title)
        ev.add("dtstamp", BASE_TIME)
        ev.add("dtstart", start.astimezone(tz))
        ev.add("dtend", (start + spec.duration).astimezone(tz))
        ev.add("sequence", spec.sequence)
        ev.add("status", spec.status)
        org = icalendar.vCalAddress(f"mailto:{spec.organizer[1]}")
        org.params["CN"] = spec.organizer[0]
        ev.add("organizer", org)
        for name, email, partstat in spec.attendees:
            att = icalendar.vCalAddress(f"mailto:{email}")
            att.params["CN"] = name
            att.params["PARTSTAT"] = partstat
            att.params["ROLE"] = "REQ-PARTICIPANT"
            ev.add("attendee", att)
        if spec.location:
            ev.add("location", spec.location)
        if spec.classification.upper() != "PUBLIC":
            ev.add("class", spec.classification.upper())
        return ev

    master = base_event(spec.start)
    if spec.rrule:
        master.add("rrule", icalendar.vRecur.from_ical(spec.rrule))
        for original in spec.cancelled_instances:
            master.add("exdate", original.astimezone(tz))
    cal.add_component(master)
    for original, new_start in spec.moved_instances.items():
        ov = base_event(new_start)
        ov.add("recurrence-id", original.astimezone(tz))
        ov["sequence"] = spec.sequence + 1
        cal.add_component(ov)
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical.decode("utf-8")


#: thread sizes of :func:`conversation_mailbox` and their weights: most mail
#: is a lone message or a short exchange, a few threads run long
THREAD_SIZES = ((1, 50), (2, 20), (3, 12), (4, 7), (5, 4), (6, 3), (8, 2), (12, 1), (20, 1))


def conversation_mailbox(
    count: int, *, now: datetime, days: float = 730, seed: int = 0, companies: int = 2000
) -> list[bytes]:
    """``count`` inbound messages shaped like a real inbox, oldest first.

    Conversations (sizes drawn from :data:`THREAD_SIZES`) with one external
    correspondent each at one of ``companies`` domains (a tenth on free
    mail, some with non-ASCII names as RFC 2047 encoded words), replies
    carrying In-Reply-To and References, a colleague on Cc now and then;
    thread starts spread evenly over the ``days`` before ``now``, replies
    hours to days apart. Built from strings, not ``EmailMessage`` (100k
    messages in about a second); deterministic for a given ``seed``.
    """
    from email.utils import formataddr

    rnd = random.Random(seed)
    sizes = [s for s, _ in THREAD_SIZES]
    weights = [w for _, w in THREAD_SIZES]
    out: list[tuple[datetime, bytes]] = []
    thread = 0
    while len(out) < count:
        thread += 1
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        domain = "gmail.com" if thread % 10 == 0 else f"co{rnd.randrange(companies)}.example"
        local = f"{first}.{last}.{thread}".lower().encode("ascii", "ignore").decode()
        sender = formataddr((f"{first} {last}", f"{local}@{domain}"), "utf-8")
        subject = f"{rnd.choice(SUBJECTS)} #{thread}"
        when = now - timedelta(days=rnd.uniform(0, days))
        ids: list[str] = []
        for reply in range(min(rnd.choices(sizes, weights)[0], count - len(out))):
            mid = f"t{thread}.m{reply}.{seed}@mail.example"
            lines = [f"From: {sender}", "To: Rita Rep <rita@ourco.example>"]
            if rnd.random() < 0.2:
                lines.append("Cc: Carl Colleague <carl@ourco.example>")
            lines += [f"Subject: {'Re: ' if ids else ''}{subject}",
                      f"Date: {format_datetime(when)}", f"Message-ID: <{mid}>"]
            if ids:
                lines += [f"In-Reply-To: <{ids[-1]}>",
                          "References: " + " ".join(f"<{i}>" for i in ids[-10:])]
            lines += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"',
                      "Content-Transfer-Encoding: 7bit", "",
                      f"Hello Rita,\r\n\r\nmessage {reply + 1} about {subject}.\r\n\r\n"
                      f"Best,\r\n{first}\r\n"]
            out.append((when, "\r\n".join(lines).encode("utf-8")))
            ids.append(mid)
            when += timedelta(hours=rnd.uniform(1, 72))
    out.sort(key=lambda pair: pair[0])
    return [raw for _, raw in out]
