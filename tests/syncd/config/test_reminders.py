"""The reminders config section: validation errors name the rule and key;
segment selection (first match wins, disabled per segment); owners."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.config.loader import parse_settings
from syncd.config.reminders import KINDS, RemindersSettings, Rule
from syncd.errors import ConfigError
from syncd.reminders.facts import Party
from syncd.reminders.selection import select_rule
from syncd.store.database import Database
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, World, settings


def problems(reminders: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        parse_settings({"reminders": reminders})
    return {i.path: i.problem for i in err.value.issues}


def test_errors_name_the_rule_and_the_key() -> None:
    found = problems({"rules": {
        "vip": {"kind": "follow_up", "business_days": 2, "business_hours": 3},
        "typo": {"kind": "reply_soon", "hours": 1},
        "who": {"kind": "follow_up", "hours": 1, "owner": "bob"},
        "neg": {"kind": "reply_needed", "business_hours": -1},
        "sel": {"kind": "follow_up", "hours": 1, "match": {"company_tier": [], "colour": ["x"]}},
    }})
    assert set(found) == {"reminders.rules.vip", "reminders.rules.typo.kind",
                          "reminders.rules.who.owner", "reminders.rules.neg.business_hours",
                          "reminders.rules.sel.match.company_tier",
                          "reminders.rules.sel.match.colour"}
    assert "exactly one of business_days, business_hours, hours" in found["reminders.rules.vip"]
    assert found["reminders.rules.sel.match.colour"] == "unknown key"


def test_business_hours_errors() -> None:
    found = problems({"business_hours": {"timezone": "Mars/Base", "start": "9am", "days": []},
                      "reps": {"not-an-address": {}}})
    assert set(found) == {"reminders.business_hours.timezone", "reminders.business_hours.start",
                          "reminders.reps"}
    assert "end '17:00' must be after" in problems(
        {"business_hours": {"start": "18:00"}})["reminders.business_hours"]


def test_config_error_exits_2_through_the_cli(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from syncd.cli import cli

    config = tmp_path / "syncd.yaml"
    config.write_text("reminders:\n  rules:\n    late:\n      kind: follow_up\n"
                      "      business_days: x\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "reminders"])
    assert result.exit_code == 2
    assert "reminders.rules.late.business_days" in result.output


def test_defaults_cover_every_kind() -> None:
    conf = RemindersSettings()
    assert {r.kind for r in conf.rules.values()} == set(KINDS)
    assert not conf.digest.enabled


RULES = {
    "partners_off": Rule(kind="follow_up", match={"company_tag": ["partner"]},
                         enabled=False),
    "strategic": Rule(kind="follow_up", match={"company_tier": ["strategic"]},
                      business_days=1, priority="high", owner="company_owner"),
    "vip_people": Rule(kind="follow_up", match={"contact_tag": ["vip"]},
                       business_hours=4),
    "gov": Rule(kind="follow_up", match={"domain": ["gov.example"]},
                business_days=5),
    "everyone": Rule(kind="follow_up", business_days=3),
}


@pytest.mark.parametrize(("party", "expected"), [
    (Party(company_tags=frozenset({"partner"}), company_tier="strategic"), None),
    (Party(company_tier="strategic"), "strategic"),
    (Party(contact_tags=frozenset({"vip"})), "vip_people"),
    (Party(domains={"city.gov.example"}), "gov"),
    (Party(domains={"notgov.example"}), "everyone"),
    (Party(), "everyone"),
])
def test_first_matching_rule_wins_and_disabled_means_none(party: Party,
                                                          expected: str | None) -> None:
    chosen = select_rule(RULES, "follow_up", party)
    assert (chosen[0] if chosen else None) == expected
    assert select_rule(RULES, "reply_needed", party) is None


def test_segments_against_the_directory(database: Database) -> None:
    conf = settings({"rules": {
        "partners_off": {"kind": "reply_needed", "match": {"company_tag": ["partner"]},
                         "enabled": False},
        "strategic": {"kind": "reply_needed", "match": {"company_tier": ["Strategic"]},
                      "business_hours": 1, "priority": "high", "owner": "company_owner"},
        "named": {"kind": "reply_needed", "match": {"contact_tag": ["vip"]},
                  "business_hours": 2, "owner": "desk@ourco.example"},
        "reply_needed": {"kind": "reply_needed", "business_hours": 8},
    }})
    w = World(database, conf)
    acme = w.company("Acme", "acme.example", tier="strategic", owner="sam@ourco.example")
    globex = w.company("Globex", "globex.example", tags=("partner",))
    w.contact(ANN, acme)
    w.contact(BOB, globex)
    from providers.base import Address

    vip = Address("vera@initech.example", "Vera")
    w.contact(vip, tags=("VIP",))
    w.at(MONDAY).mail(ANN, (RITA,), "A")
    w.at(MONDAY).mail(BOB, (RITA,), "B")
    w.at(MONDAY).mail(vip, (RITA,), "C")
    by_rule = {r.rule: r for r in w.open()}
    assert set(by_rule) == {"strategic", "named"}  # the partner gets none
    assert (by_rule["strategic"].owner, by_rule["strategic"].priority,
            by_rule["strategic"].company_name) == ("sam@ourco.example", "high", "Acme")
    assert by_rule["named"].owner == "desk@ourco.example"


def test_reps_own_hours_and_time_zone(database: Database) -> None:
    conf = settings({"business_hours": {"timezone": "Europe/Berlin"},
                     "reps": {"Rita@OurCo.example": {"timezone": "America/New_York"}}})
    w = World(database, conf)
    w.at(MONDAY).mail(ANN, (RITA,), "Question")  # Mon 09:00 UTC = 04:00 New York
    # 8 business hours in New York (09:00-17:00 EST = 14:00-22:00 UTC): Monday 22:00 UTC
    assert w.one("reply_needed").due_at == MONDAY.replace(hour=22)
