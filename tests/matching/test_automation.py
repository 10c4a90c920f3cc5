"""matching.automation: every machine-mail signal, the no-reply patterns, the allow rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import automation_reason, build_policy, is_no_reply

HUMAN = {"list_id": None, "list_unsubscribe": None, "auto_submitted": None, "precedence": None,
         "sender": "anna@acme.com"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, None),
        ({"list_id": "<news.acme.com>"}, "List-Id header present (<news.acme.com>)"),
        ({"list_id": "   "}, None),
        ({"list_unsubscribe": "<mailto:u@acme.com>"}, "List-Unsubscribe header present"),
        ({"precedence": "bulk"}, "Precedence: bulk"),
        ({"precedence": " List "}, "Precedence: list"),
        ({"precedence": "junk"}, "Precedence: junk"),
        ({"precedence": "first-class"}, None),
        ({"auto_submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"auto_submitted": "Auto-Generated; owner-email=x@y.com"},
         "Auto-Submitted: auto-generated"),
        ({"auto_submitted": "no"}, None),
        ({"auto_submitted": " NO "}, None),
        ({"auto_submitted": ""}, None),
        ({"sender": "noreply@acme.com"}, "sender noreply@acme.com is a no-reply style address"),
        ({"sender": None}, None),
        ({"sender": "not an address"}, None),
        # first signal wins
        ({"list_id": "l", "precedence": "bulk"}, "List-Id header present (l)"),
    ],
)
def test_automation_signals(headers: dict[str, str | None], reason: str | None) -> None:
    assert automation_reason(**{**HUMAN, **headers}) == reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("noreply@acme.com", True),
        ("no-reply@acme.com", True),
        ("No_Reply@acme.com", True),
        ("do-not-reply@acme.com", True),
        ("donotreply@acme.com", True),
        ("noreply-12345@mail.acme.com", True),
        ("noreply+abc@acme.com", True),
        ("mailer-daemon@acme.com", True),
        ("MAILER-DAEMON@acme.com", True),
        ("postmaster@acme.com", True),
        ("notifications@github.com", True),
        ("notification@acme.com", True),
        ("bounce@acme.com", True),
        ("bounces+123-abc@mail.acme.com", True),
        ("bounce-md_123.abc@mandrill.example", True),
        ("anna@acme.com", False),
        ("support@acme.com", False),
        ("info@acme.com", False),
        ("noreen@acme.com", False),
        ("replies@acme.com", False),
    ],
)
def test_no_reply_style_local_parts(address: str, expected: bool) -> None:
    assert is_no_reply(address) is expected


def test_allow_rule_overrides_every_signal_for_addresses_and_domains() -> None:
    policy = build_policy(allow_automated_from=["billing@vendor.com", "alerts.partner.io"])
    bulk = {**HUMAN, "list_id": "x", "precedence": "bulk", "auto_submitted": "auto-generated"}
    assert automation_reason(**{**bulk, "sender": "Billing@Vendor.com"}, policy=policy) is None
    assert automation_reason(**{**bulk, "sender": "noreply@alerts.partner.io"},
                             policy=policy) is None
    assert automation_reason(**{**bulk, "sender": "x@eu.alerts.partner.io"}, policy=policy) is None
    # not covered: other sender at the same domain, or a parent domain
    assert automation_reason(**{**bulk, "sender": "news@vendor.com"}, policy=policy) is not None
    assert automation_reason(**{**bulk, "sender": "x@partner.io"}, policy=policy) is not None
    # without the policy the rule cannot apply
    assert automation_reason(**{**bulk, "sender": "billing@vendor.com"}) is not None  # type: ignore[arg-type]


header = st.one_of(st.none(), st.text(max_size=30))


@settings(max_examples=150, deadline=None)
@given(header, header, header, header, header)
def test_automation_reason_never_raises(
    list_id: str | None, unsubscribe: str | None, auto: str | None, precedence: str | None,
    sender: str | None,
) -> None:
    reason = automation_reason(list_id=list_id, list_unsubscribe=unsubscribe,
                               auto_submitted=auto, precedence=precedence, sender=sender,
                               policy=build_policy(allow_automated_from=["vendor.com"]))
    assert reason is None or reason.strip()
