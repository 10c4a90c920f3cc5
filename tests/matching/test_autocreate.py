"""matching.autocreate: the auto-creation policy table for mail and meetings."""

from __future__ import annotations

import pytest

from matching import (
    AutoCreatePolicy,
    ContactRef,
    Decision,
    Direction,
    DirectorySnapshot,
    auto_create,
    build_policy,
    direction_of,
    resolve,
)

POLICY = build_policy(internal_domains=["ourco.com"], blocklist=["blocked.example"])
SNAPSHOT = DirectorySnapshot(
    contacts={"anna@acme.com": (ContactRef(1, 2),), "solo@initech.io": (ContactRef(3, None),)},
    companies={"acme.com": 2},
)
D = {k: resolve([k], SNAPSHOT, POLICY)[k] for k in [
    "new@initech.io",      # unknown person, unknown work domain
    "new@acme.com",        # unknown person, known company
    "anna@acme.com",       # known contact with company
    "solo@initech.io",     # known contact without company
    "new@gmail.com",       # unknown person, free mail
    "rep@ourco.com",       # internal
    "x@blocked.example",   # blocklisted
    "noreply@initech.io",  # machine
    "garbage",             # not an address
]}
SENT, RECEIVED = Direction.SENT, Direction.RECEIVED
NONE = AutoCreatePolicy()
SENT_ONLY = AutoCreatePolicy(contacts="sent", companies=True)
BOTH = AutoCreatePolicy(contacts="sent_and_received", companies=True)
ORGANIZER = AutoCreatePolicy(meeting_contacts="organizer", companies=True)
PARTICIPANT = AutoCreatePolicy(meeting_contacts="participant")
COMPANIES_ONLY = AutoCreatePolicy(companies=True)


@pytest.mark.parametrize(
    ("kind", "direction", "role", "address", "policy", "contact", "company"),
    [
        # contacts: none
        ("email", SENT, "to", "new@initech.io", NONE, False, False),
        # contacts: sent -> recipients of a rep's mail only
        ("email", SENT, "to", "new@initech.io", SENT_ONLY, True, True),
        ("email", SENT, "cc", "new@initech.io", SENT_ONLY, True, True),
        ("email", SENT, "bcc", "new@initech.io", SENT_ONLY, True, True),
        ("email", RECEIVED, "from", "new@initech.io", SENT_ONLY, False, False),
        ("email", RECEIVED, "cc", "new@initech.io", SENT_ONLY, False, False),
        # contacts: sent_and_received -> also whoever wrote to a rep, not the other recipients
        ("email", RECEIVED, "from", "new@initech.io", BOTH, True, True),
        ("email", RECEIVED, "cc", "new@initech.io", BOTH, False, False),
        ("email", SENT, "to", "new@initech.io", BOTH, True, True),
        # known company: contact yes, company already there
        ("email", SENT, "to", "new@acme.com", SENT_ONLY, True, False),
        # existing contacts: never a second one; a company for the one lacking it
        ("email", SENT, "to", "anna@acme.com", BOTH, False, False),
        ("email", SENT, "to", "solo@initech.io", BOTH, False, True),
        ("email", RECEIVED, "from", "solo@initech.io", SENT_ONLY, False, False),
        # free mail: contact yes, company never
        ("email", SENT, "to", "new@gmail.com", SENT_ONLY, True, False),
        # companies only: from deliberate engagement, never from received mail alone
        ("email", SENT, "to", "new@initech.io", COMPANIES_ONLY, False, True),
        ("email", RECEIVED, "from", "new@initech.io", COMPANIES_ONLY, False, False),
        ("meeting", RECEIVED, "attendee", "new@initech.io", COMPANIES_ONLY, False, True),
        # never: internal, blocked, machines, garbage
        ("email", SENT, "to", "rep@ourco.com", BOTH, False, False),
        ("email", SENT, "to", "x@blocked.example", BOTH, False, False),
        ("email", SENT, "to", "noreply@initech.io", BOTH, False, False),
        ("email", SENT, "to", "garbage", BOTH, False, False),
        # meetings
        ("meeting", RECEIVED, "organizer", "new@initech.io", NONE, False, False),
        ("meeting", RECEIVED, "organizer", "new@initech.io", ORGANIZER, True, True),
        ("meeting", SENT, "attendee", "new@initech.io", ORGANIZER, False, True),
        ("meeting", SENT, "attendee", "new@initech.io", PARTICIPANT, True, False),
        ("meeting", SENT, "ATTENDEE", "new@initech.io", PARTICIPANT, True, False),
        ("meeting", RECEIVED, "organizer", "new@initech.io", PARTICIPANT, True, False),
        ("meeting", SENT, "attendee", "rep@ourco.com", PARTICIPANT, False, False),
    ],
)
def test_auto_create_table(kind: str, direction: Direction, role: str, address: str,
                           policy: AutoCreatePolicy, contact: bool, company: bool) -> None:
    result = auto_create(kind=kind, direction=direction, role=role, decision=D[address],
                         policy=policy)
    assert (result.contact, result.company) == (contact, company), result.reason
    assert result.reason


def test_reasons_say_which_rule_fired() -> None:
    made = auto_create(kind="email", direction="sent", role="to", decision=D["new@initech.io"],
                       policy=SENT_ONLY)
    assert made.reason == ("create contact: a rep wrote to them (to) and auto_create.contacts is "
                           "'sent'; create company for initech.io: a rep wrote to them (to) and "
                           "auto_create.contacts is 'sent'")
    free = auto_create(kind="email", direction="sent", role="to", decision=D["new@gmail.com"],
                       policy=SENT_ONLY)
    assert free.reason.endswith("no company: gmail.com is a free-mail domain")
    internal = auto_create(kind="email", direction="sent", role="to",
                           decision=D["rep@ourco.com"], policy=BOTH)
    assert internal.reason.startswith("never created: internal people are not contacts")


def test_automated_mail_never_creates_anything() -> None:
    result = auto_create(kind="email", direction=RECEIVED, role="from",
                         decision=D["new@initech.io"], policy=BOTH,
                         automated_reason="List-Id header present (x)")
    assert (result.contact, result.company) == (False, False)
    assert result.reason == "never created from automated mail (List-Id header present (x))"


def test_direction_comes_from_the_sender() -> None:
    assert direction_of(D["rep@ourco.com"]) is SENT
    assert direction_of(D["new@initech.io"]) is RECEIVED
    assert direction_of(None) is RECEIVED


def test_unknown_kind_is_a_programming_error() -> None:
    decision: Decision = D["new@initech.io"]
    with pytest.raises(ValueError, match="kind"):
        auto_create(kind="sms", direction=SENT, role="to", decision=decision, policy=BOTH)


def test_invariants_over_every_combination() -> None:
    """Exhaustive over kinds, directions, roles, levels and participant kinds."""
    import itertools

    roles = {"email": ["from", "to", "cc", "bcc", "reply-to"], "meeting": ["organizer", "attendee"]}
    policies = [AutoCreatePolicy(c, m, comp) for c, m, comp in itertools.product(
        ["none", "sent", "sent_and_received"], ["none", "organizer", "participant"], [False, True])]
    for kind, direction, policy, (address, decision) in itertools.product(
        ["email", "meeting"], [SENT, RECEIVED], policies, D.items()
    ):
        for role in roles[kind]:
            result = auto_create(kind=kind, direction=direction, role=role, decision=decision,
                                 policy=policy)
            label = (kind, direction, role, address, policy)
            assert result.reason, label
            if decision.kind.value in ("internal", "excluded") or decision.domain is None:
                assert not result.contact and not result.company, label
            if address.startswith("noreply@"):
                assert not result.contact and not result.company, label
            if decision.kind.value == "contact":
                assert not result.contact, label
            if decision.free_mail or decision.company_id is not None or not policy.companies:
                assert not result.company, label
            if kind == "email" and policy.contacts == "none":
                assert not result.contact, label
            if kind == "meeting" and policy.meeting_contacts == "none":
                assert not result.contact, label
            if kind == "email" and direction is RECEIVED and role != "from":
                assert not result.contact and not result.company, label
