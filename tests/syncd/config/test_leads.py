"""The leads config section and the ``lead`` rule kind: defaults, and validation
errors that name the key (and, for rules, the rule)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.config.leads import LeadsSettings
from syncd.config.loader import parse_settings
from syncd.config.reminders import RemindersSettings
from syncd.errors import ConfigError


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        parse_settings(data)
    return {i.path: i.problem for i in err.value.issues}


def test_defaults_are_off_with_a_lead_rule_ready() -> None:
    conf = LeadsSettings()
    assert (conf.enabled, conf.inboxes, conf.free_mail, conf.max_age_days) == (
        False, [], False, 30)
    lead = RemindersSettings().rules["lead"]
    assert (lead.kind, lead.business_hours, lead.priority, lead.owner) == (
        "lead", 4, "high", "account_rep")


def test_inboxes_are_lower_cased_and_deduplicated() -> None:
    inboxes = ["Sales@OurCo.example", "sales@ourco.example"]
    settings = parse_settings({"leads": {"enabled": True, "inboxes": inboxes}})
    assert settings.leads.inboxes == ["sales@ourco.example"]


def test_errors_name_the_key() -> None:
    found = problems({"leads": {"inboxes": ["sales"], "max_age_days": 0, "colour": 1}})
    assert set(found) == {"leads.inboxes", "leads.max_age_days", "leads.colour"}
    assert "'sales' is not an email address" in found["leads.inboxes"]


def test_lead_rules_are_validated_like_every_rule() -> None:
    found = problems({"reminders": {"rules": {
        "hot_leads": {"kind": "lead", "match": {"company_tier": ["target"]}, "hours": 1,
                      "business_days": 1},
        "cold_leads": {"kind": "lead", "hours": 2, "priority": "asap"},
    }}})
    assert set(found) == {"reminders.rules.hot_leads", "reminders.rules.cold_leads.priority"}
    assert "exactly one of" in found["reminders.rules.hot_leads"]
