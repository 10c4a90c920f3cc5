"""A realistic sales mailbox and the CRM directory that goes with it (benches, tests).

:func:`conversation_mailbox` in :mod:`tests.generate` is short plain mail from
nobody the CRM knows. Real sales mail costs more at every layer, so the IMAP
bench measures this instead:

* multipart/alternative text + HTML (quoted-printable), with the quoted
  history of the thread below each reply;
* :data:`ATTACHMENT_SHARE` with a base64 attachment (some with RFC 2231
  non-ASCII file names, which Dovecot sends as literals in BODYSTRUCTURE);
* :data:`INVITE_SHARE` meeting invites: a text/calendar part (Outlook style)
  or, Google style, the calendar part plus the same text as an
  ``invite.ics`` attachment;
* a realistic Received / DKIM-Signature / ARC / Authentication-Results block;
* :data:`ENCODED_SHARE` of messages with RFC 2047 encoded words in names
  and subjects;
* threads of 1-15 messages with up to 6 participants (contacts of one
  company, a free-mail contact now and then, colleagues on Cc);
* :data:`BULK_SHARE` bulk mail (List-Id, List-Unsubscribe, Precedence).

:func:`sales_directory` is the CRM's side: companies, contacts (some on free
mail) and internal colleagues; most correspondents are in it, some are not.
Deterministic: the same arguments always give the same bytes (only
:class:`random.Random` seeded from ``seed``, no hash-ordered iteration).
"""

from __future__ import annotations

import base64
import quopri
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr

INTERNAL_DOMAIN = "ourco.example"
REP = ("Rita Rep", f"rita@{INTERNAL_DOMAIN}")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "web.de", "gmx.de")
ATTACHMENT_SHARE = 0.09
INVITE_SHARE = 0.035
ENCODED_SHARE = 0.28
BULK_SHARE = 0.10
#: thread sizes and weights: mostly short exchanges, a few long negotiations
THREAD_SIZES = ((1, 38), (2, 20), (3, 12), (4, 9), (5, 6), (6, 5), (7, 3), (8, 2), (10, 2),
                (12, 2), (15, 1))

_MEAN_THREAD = sum(s * w for s, w in THREAD_SIZES) / sum(w for _, w in THREAD_SIZES)
#: bulk mail comes one message per "thread": this share of threads gives BULK_SHARE of mail
_BULK_THREADS = BULK_SHARE * _MEAN_THREAD / (1 - BULK_SHARE + BULK_SHARE * _MEAN_THREAD)
_FIRST = ["Ada", "Grace", "Linus", "Marie", "Alan", "Zoë", "Jürgen", "Björk", "Søren", "Chen",
          "Amélie", "François", "Łukasz", "Dvořák", "Siobhán", "José", "Ingrid", "Mateo",
          "Priya", "Noah", "Olivia", "Liam", "Emma", "Lucas", "Mia", "Yuki", "Fatima", "Omar"]
_LAST = ["Lovelace", "Hopper", "Curie", "Turing", "Müller", "Ørsted", "Nakamura", "García",
         "Smith", "Johnson", "Brown", "Schröder", "Kowalski", "Núñez", "O'Brien", "Dubois",
         "Rossi", "Jensen", "Novák", "Fischer", "Patel", "Kim", "Nguyen", "Svensson"]
_WORDS = ["pricing", "proposal", "renewal", "contract", "meeting", "quarter", "budget", "pilot",
          "rollout", "seats", "license", "discount", "onboarding", "integration", "security",
          "review", "timeline", "legal", "procurement", "invoice", "deck", "demo", "follow-up",
          "agenda", "next", "steps", "feedback", "volume", "tier", "support", "migration"]
_SUBJECTS = ["Pricing for Q{q}", "Contract renewal {y}", "Meeting notes {w}", "Quick question",
             "Über die Lieferung", "Proposal v{n}", "Invoice {n}{n}{n}", "Intro call",
             "Angebot für {w}", "Réunion de suivi", "Security questionnaire", "Pilot results",
             "Rollout plan \u2013 {w}", "PO #{n}{n}{n}{n}", "Next steps on {w}"]
_BULK_SENDERS = [("SaaS Weekly", "news"), ("Events Team", "events"), ("Product Updates", "updates"),
                 ("Webinar Bot", "noreply"), ("Billing", "billing")]


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    company_domain: str | None  # None: free mail or internal


@dataclass(frozen=True, slots=True)
class Directory:
    """The CRM's directory: ``companies`` as (name, domain), contacts, colleagues."""

    companies: tuple[tuple[str, str], ...]
    contacts: tuple[Person, ...]
    colleagues: tuple[Person, ...]
    #: correspondents the CRM does not know (new prospects), by company domain
    strangers: tuple[Person, ...]

    def companies_csv(self) -> str:
        return "name,domains\n" + "".join(f"{n},{d}\n" for n, d in self.companies)

    def contacts_csv(self) -> str:
        rows = "".join(f'"{p.name}",{p.email},{p.company_domain or ""}\n' for p in self.contacts)
        return "name,emails,company_domain\n" + rows


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(_FIRST)} {rnd.choice(_LAST)}"


def _local(name: str, n: int) -> str:
    ascii_name = name.lower().replace(" ", ".").replace("'", "")
    return f"{ascii_name.encode('ascii', 'ignore').decode()}{n}"


def sales_directory(*, seed: int = 0, companies: int = 800, contacts: int = 5000,
                    colleagues: int = 25) -> Directory:
    """``companies`` companies, ``contacts`` contacts (a twelfth on free mail), colleagues."""
    rnd = random.Random(f"directory-{seed}")
    comps = tuple((f"Company {i} {rnd.choice(_LAST)}", f"c{i}.example") for i in range(companies))
    people: list[Person] = []
    for i in range(contacts):
        name = _name(rnd)
        if rnd.random() < 1 / 12:
            people.append(Person(name, f"{_local(name, i)}@{rnd.choice(FREE_MAIL)}", None))
        else:
            domain = comps[rnd.randrange(companies)][1]
            people.append(Person(name, f"{_local(name, i)}@{domain}", domain))
    names = [_name(rnd) for _ in range(colleagues)]
    team = tuple(Person(n, f"{_local(n, i)}@{INTERNAL_DOMAIN}", None) for i, n in enumerate(names))
    strangers = []
    for i in range(max(contacts // 4, 1)):  # prospects at companies the CRM lacks
        name = _name(rnd)
        domain = f"prospect{rnd.randrange(companies * 2)}.example"
        strangers.append(Person(name, f"{_local(name, i)}@{domain}", domain))
    return Directory(comps, tuple(people), team, tuple(strangers))


def _encoded(text: str, rnd: random.Random) -> str:
    """RFC 2047 words as mail clients write them: B or Q, sometimes split."""
    return Header(text, "utf-8" if rnd.random() < 0.8 else "iso-8859-1"
                  if all(ord(c) < 256 for c in text) else "utf-8",
                  maxlinelen=rnd.choice((40, 76))).encode(linesep="\r\n")


def _address(person: tuple[str, str], encode: bool, rnd: random.Random) -> str:
    name, email = person
    if encode and not name.isascii():
        return f"{_encoded(name, rnd)} <{email}>"
    if not name.isascii() or "'" in name or rnd.random() < 0.3:
        return f'"{name}" <{email}>'
    return formataddr((name, email))


def _trace(rnd: random.Random, when: datetime, domain: str, mid: str) -> list[str]:
    """Received, DKIM, ARC and authentication headers: ~2-3 KB, as real mail has."""
    def b64(n: int) -> str:
        return base64.b64encode(rnd.randbytes(n)).decode()

    def folded(prefix: str, value: str, width: int = 72) -> str:
        chunks = [value[i:i + width] for i in range(0, len(value), width)]
        return prefix + "\r\n\t".join(chunks)

    out = []
    for hop in range(rnd.randint(2, 5)):
        stamp = format_datetime(when + timedelta(seconds=hop * rnd.randint(1, 5)))
        out.append(f"Received: from mail{hop}.{domain} (mail{hop}.{domain} "
                   f"[10.{hop}.{rnd.randrange(256)}.{rnd.randrange(256)}])\r\n"
                   f"\tby mx.{INTERNAL_DOMAIN} (Postfix) with ESMTPS id "
                   f"{b64(6)}\r\n\tfor <{REP[1]}>; {stamp}")
    out.append(f"Authentication-Results: mx.{INTERNAL_DOMAIN};\r\n\tdkim=pass header.d={domain} "
               f"header.s=s1 header.b={b64(6)};\r\n\tspf=pass smtp.mailfrom={domain};\r\n\t"
               f"dmarc=pass (p=REJECT) header.from={domain}")
    out.append(folded(f"ARC-Seal: i=1; a=rsa-sha256; t={int(when.timestamp())}; cv=none; "
                      f"d={domain}; s=arc; b=", b64(192)))
    out.append(folded(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1; "
                      f"h=from:to:subject:date:message-id; bh={b64(32)}; b=", b64(256)))
    out.append(f"X-MS-Exchange-Organization-Network-Message-Id: {b64(12)}")
    out.append(f"X-Original-Message-ID: <{mid}>")
    return out


def _paragraphs(rnd: random.Random, count: int) -> list[str]:
    return [" ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(12, 40))).capitalize() + "."
            for _ in range(count)]


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")


def _alternative(rnd: random.Random, boundary: str, plain: str, extra: list[str]) -> list[str]:
    html = "<html><body>" + "".join(f"<p>{p}</p>" for p in plain.split("\n\n")) + \
           "<div style=\"color:#888\">Sent from my CRM</div></body></html>"
    lines = [f'Content-Type: multipart/alternative; boundary="{boundary}"', "",
             f"--{boundary}", 'Content-Type: text/plain; charset="utf-8"',
             "Content-Transfer-Encoding: quoted-printable", "", _qp(plain),
             f"--{boundary}", 'Content-Type: text/html; charset="utf-8"',
             "Content-Transfer-Encoding: quoted-printable", "", _qp(html)]
    return [*lines, *extra, f"--{boundary}--", ""]


def _invite(rnd: random.Random, uid: str, title: str, organizer: tuple[str, str],
            attendees: list[tuple[str, str]], start: datetime) -> str:
    """An Outlook/Google-like REQUEST: Europe/Berlin VTIMEZONE, organizer, attendees."""
    local = start + timedelta(hours=1)
    fmt = "%Y%m%dT%H%M%S"
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
             "CALSCALE:GREGORIAN", "METHOD:REQUEST", "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
             "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST",
             "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
             "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET",
             "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
             "END:STANDARD", "END:VTIMEZONE", "BEGIN:VEVENT",
             f"DTSTART;TZID=Europe/Berlin:{local.strftime(fmt)}",
             "DTEND;TZID=Europe/Berlin:"
             f"{(local + timedelta(minutes=30 * rnd.randint(1, 4))):{fmt}}",
             f"DTSTAMP:{start.strftime(fmt)}Z",
             f"ORGANIZER;CN={organizer[0]}:mailto:{organizer[1]}", f"UID:{uid}"]
    if rnd.random() < 0.2:
        lines.append(f"RRULE:FREQ=WEEKLY;COUNT={rnd.randint(2, 12)}")
    for name, email in attendees:
        lines.append(f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;"
                     f"RSVP=TRUE;CN={name};X-NUM-GUESTS=0:mailto:{email}")
    lines += [f"CREATED:{start.strftime(fmt)}Z", "DESCRIPTION:" + _paragraphs(rnd, 1)[0],
              f"LAST-MODIFIED:{start.strftime(fmt)}Z", "LOCATION:Video call", "SEQUENCE:0",
              "STATUS:CONFIRMED", f"SUMMARY:{title}", "TRANSP:OPAQUE", "END:VEVENT",
              "END:VCALENDAR"]
    # content lines longer than 75 octets are folded (RFC 5545 3.1)
    out = []
    for line in lines:
        while len(line) > 75:
            out.append(line[:75])
            line = " " + line[75:]
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def _b64_lines(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def sales_mailbox(count: int, *, now: datetime, seed: int = 0,
                  directory: Directory | None = None, days: float = 730) -> list[bytes]:
    """``count`` messages of a sales rep's INBOX (see the module docstring), oldest first."""
    rnd = random.Random(f"mailbox-{seed}")
    people = directory or sales_directory(seed=seed)
    by_domain: dict[str, list[Person]] = {}
    for person in people.contacts:
        if person.company_domain:
            by_domain.setdefault(person.company_domain, []).append(person)
    domains = sorted(by_domain)
    sizes = [s for s, _ in THREAD_SIZES]
    weights = [w for _, w in THREAD_SIZES]
    out: list[tuple[datetime, bytes]] = []
    thread = 0
    while len(out) < count:
        thread += 1
        when = now - timedelta(days=rnd.uniform(0, days))
        if rnd.random() < _BULK_THREADS:
            out.append((when, _bulk(rnd, thread, when, seed)))
            continue
        if rnd.random() < 0.2:  # a new prospect the CRM does not know yet
            lead = rnd.choice(people.strangers)
            team = [lead]
        else:
            domain = rnd.choice(domains)
            team = rnd.sample(by_domain[domain], min(len(by_domain[domain]), rnd.randint(1, 4)))
            if rnd.random() < 0.1:
                team.append(rnd.choice(people.contacts))  # often a free-mail address
        colleagues = rnd.sample(people.colleagues, rnd.randint(0, 2))
        participants = [(p.name, p.email) for p in [*team, *colleagues]][:5]  # + the rep: 6
        encode = rnd.random() < ENCODED_SHARE
        subject = rnd.choice(_SUBJECTS).format(q=rnd.randint(1, 4), y=rnd.randint(2024, 2027),
                                               n=rnd.randint(1, 9), w=rnd.choice(_WORDS))
        if encode and subject.isascii():
            subject += " \u2013 " + rnd.choice(["Übersicht", "résumé", "Angebot für Zoë", "Ørsted"])
        ids: list[str] = []
        history: list[str] = []
        for reply in range(min(rnd.choices(sizes, weights)[0], count - len(out))):
            sender = rnd.choice(participants)
            others = [p for p in participants if p != sender]
            to = [REP, *others[:1]]
            cc = others[1:]
            mid = f"{rnd.randbytes(8).hex()}.t{thread}.m{reply}@{sender[1].partition('@')[2]}"
            raw = _message(rnd, sender=sender, to=to, cc=cc, subject=subject, when=when,
                           mid=mid, ids=ids, history=history, encode=encode, thread=thread)
            out.append((when, raw))
            ids.append(mid)
            when += timedelta(hours=rnd.uniform(0.2, 72))
    out.sort(key=lambda pair: pair[0])
    return [raw for _, raw in out]


def _message(rnd: random.Random, *, sender: tuple[str, str], to: list[tuple[str, str]],
             cc: list[tuple[str, str]], subject: str, when: datetime, mid: str, ids: list[str],
             history: list[str], encode: bool, thread: int) -> bytes:
    domain = sender[1].partition("@")[2]
    full_subject = ("Re: " if ids else "") + subject
    head = _trace(rnd, when, domain, mid)
    head += [f"From: {_address(sender, encode, rnd)}",
             "To: " + ",\r\n\t".join(_address(p, encode, rnd) for p in to)]
    if cc:
        head.append("Cc: " + ",\r\n\t".join(_address(p, encode, rnd) for p in cc))
    head += [f"Subject: {_encoded(full_subject, rnd) if encode else full_subject}",
             f"Date: {format_datetime(when)}", f"Message-ID: <{mid}>"]
    if ids:
        head += [f"In-Reply-To: <{ids[-1]}>",
                 "References: " + "\r\n\t".join(f"<{i}>" for i in ids[-12:])]
    head += ["MIME-Version: 1.0", "X-Mailer: Microsoft Outlook 16.0" if rnd.random() < 0.5
             else "User-Agent: Mozilla Thunderbird"]
    text = f"Hi {to[0][0].split()[0] if to else 'all'},\n\n" + "\n\n".join(
        _paragraphs(rnd, rnd.randint(1, 4))) + f"\n\nBest,\n{sender[0]}\n"
    plain = text + "".join(f"\n> {line}" for old in history[-3:] for line in old.splitlines())
    history.append(text)
    outer, inner = f"=_outer_{rnd.randbytes(6).hex()}", f"=_alt_{rnd.randbytes(6).hex()}"
    roll = rnd.random()
    if roll < INVITE_SHARE:
        attendees = [p for p in [*to, *cc] if p != sender]
        ics = _invite(rnd, f"{rnd.randbytes(10).hex()}@{domain}", subject, sender, attendees, when
                      + timedelta(days=rnd.randint(1, 14)))
        calendar = ['--' + inner, 'Content-Type: text/calendar; charset="utf-8"; method=REQUEST',
                    "Content-Transfer-Encoding: 7bit", "", ics]
        if rnd.random() < 0.5:  # Outlook: the calendar part inside the alternative
            body = _alternative(rnd, inner, plain, calendar)
        else:  # Google: and the same text again as an invite.ics attachment
            body = [f'Content-Type: multipart/mixed; boundary="{outer}"', "", f"--{outer}",
                    *_alternative(rnd, inner, plain, calendar), f"--{outer}",
                    'Content-Type: application/ics; name="invite.ics"',
                    'Content-Disposition: attachment; filename="invite.ics"',
                    "Content-Transfer-Encoding: base64", "", _b64_lines(ics.encode()),
                    f"--{outer}--", ""]
    elif roll < INVITE_SHARE + ATTACHMENT_SHARE:
        name = rnd.choice(["Proposal.pdf", "Angebot_Über.pdf", "pricing-2027.xlsx",
                           "Vertragsentwurf (Änderungen).docx", "deck.pptx"])
        disposition = (f'attachment; filename="{name}"' if name.isascii() else
                       "attachment; filename*=utf-8''" + "".join(
                           c if c.isalnum() and c.isascii() else
                           "".join(f"%{b:02X}" for b in c.encode()) for c in name))
        body = [f'Content-Type: multipart/mixed; boundary="{outer}"', "", f"--{outer}",
                *_alternative(rnd, inner, plain, []), f"--{outer}",
                "Content-Type: application/octet-stream; name="
                f'"{name if name.isascii() else "file"}"',
                f"Content-Disposition: {disposition}", "Content-Transfer-Encoding: base64", "",
                _b64_lines(rnd.randbytes(rnd.randint(8_000, 60_000))), f"--{outer}--", ""]
    else:
        body = _alternative(rnd, inner, plain, [])
    return "\r\n".join([*head, *body]).encode("utf-8")


def _bulk(rnd: random.Random, thread: int, when: datetime, seed: int) -> bytes:
    label, local = rnd.choice(_BULK_SENDERS)
    domain = f"mail.vendor{rnd.randrange(40)}.example"
    mid = f"{rnd.randbytes(10).hex()}.b{thread}.{seed}@{domain}"
    head = _trace(rnd, when, domain, mid)
    head += [f"From: {label} <{local}@{domain}>", f"To: {REP[1]}",
             "Subject: " + rnd.choice(["Your weekly digest", "Webinar: " + rnd.choice(_WORDS),
                                       "Invoice available",
                                       "New features in " + rnd.choice(_WORDS)]),
             f"Date: {format_datetime(when)}", f"Message-ID: <{mid}>",
             f"List-Id: {label} <list{rnd.randrange(40)}.{domain}>",
             f"List-Unsubscribe: <https://{domain}/u/{rnd.randbytes(8).hex()}>, "
             f"<mailto:unsubscribe@{domain}>", "Precedence: bulk", "MIME-Version: 1.0"]
    plain = "\n\n".join(_paragraphs(rnd, rnd.randint(3, 8)))
    body = _alternative(rnd, f"=_bulk_{rnd.randbytes(6).hex()}", plain, [])
    return "\r\n".join([*head, *body]).encode("utf-8")
