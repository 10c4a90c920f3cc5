"""matching.leads: which inbound message makes a lead, and the reason for each refusal."""

from __future__ import annotations

import pytest

from matching import ContactRef, Decision, DirectorySnapshot, build_policy, resolve
from matching.leads import lead_decision

POLICY = build_policy(internal_domains=["ourco.com"], blocklist=["blocked.example"])
SNAPSHOT = DirectorySnapshot(contacts={"anna@acme.com": (ContactRef(1, 2),)},
                             companies={"acme.com": 2})
D = {k: resolve([k], SNAPSHOT, POLICY)[k] for k in [
    "nina@newco.io", "new@acme.com", "anna@acme.com", "joe@gmail.com", "rita@ourco.com",
    "carl@ourco.com", "sales@ourco.com", "x@blocked.example", "noreply@newco.io",
    "info@newco.io", "sales-emea@newco.io", "garbage",
]}
REPS = frozenset({"rita@ourco.com"})
INBOXES = frozenset({"sales@ourco.com"})


def decide(sender: str, *to: str, cc: tuple[str, ...] = (), automated: str | None = None,
           reply: bool = False, free_mail: bool = False,
           patterns: tuple[str, ...] = ()) -> tuple[bool, str, str | None]:
    recipients: list[tuple[str, Decision]] = [("to", D[a]) for a in to]
    recipients += [("cc", D[a]) for a in cc]
    got = lead_decision(sender=D[sender], recipients=recipients, automated_reason=automated,
                        is_reply=reply, reps=REPS, inboxes=INBOXES, allow_free_mail=free_mail,
                        role_patterns=patterns)
    return got.lead, got.reason, got.inbox


def test_a_new_person_writing_to_a_rep_or_a_lead_inbox_is_a_lead() -> None:
    assert decide("nina@newco.io", "rita@ourco.com") == (
        True, "lead: nina@newco.io wrote to the rep rita@ourco.com", "rita@ourco.com")
    # an unknown person at a known company's domain is not a contact yet: a lead
    assert decide("new@acme.com", "carl@ourco.com", cc=("sales@ourco.com",))[::2] == (
        True, "sales@ourco.com")
    # to before cc; an inbox before a rep in the same role
    assert decide("nina@newco.io", "carl@ourco.com", "rita@ourco.com", "sales@ourco.com",
                  cc=("rita@ourco.com",))[2] == "sales@ourco.com"


@pytest.mark.parametrize(("sender", "kwargs", "reason"), [
    ("garbage", {}, "no lead: no sender address"),
    ("rita@ourco.com", {}, "no lead: sent by one of our people"),
    ("x@blocked.example", {}, "no lead: blocklisted"),
    ("anna@acme.com", {}, "no lead: already contact 1"),
    ("nina@newco.io", {"automated": "List-Id header"}, "no lead: automated mail (List-Id"),
    ("noreply@newco.io", {}, "no lead: noreply@newco.io is a no-reply style address"),
    ("info@newco.io", {}, "no lead: info@ is a role address (default list)"),
    ("sales-emea@newco.io", {"patterns": ("sales-*",)},
     "no lead: sales-emea@ is a role address (matching.role_addresses)"),
    ("joe@gmail.com", {}, "no lead: gmail.com is a free-mail domain"),
    ("nina@newco.io", {"reply": True}, "no lead: a reply, not a new request"),
])
def test_refusals_say_why(sender: str, kwargs: dict[str, object], reason: str) -> None:
    lead, why, inbox = decide(sender, "rita@ourco.com", **kwargs)  # type: ignore[arg-type]
    assert not lead and inbox is None and why.startswith(reason), why


def test_free_mail_when_allowed_and_recipients_that_are_nobody() -> None:
    assert decide("joe@gmail.com", "rita@ourco.com", free_mail=True)[0]
    assert decide("nina@newco.io", "carl@ourco.com", "anna@acme.com") == (
        False, "no lead: not addressed to a rep or a lead inbox", None)
