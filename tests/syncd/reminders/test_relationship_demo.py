"""End to end on the bundled demo through the real CLI, on SQLite and PostgreSQL:
import (companies, contacts, opportunities) → sync --once → the clock job
(``syncd reminders derive``) finds the strategic account gone quiet (Stark
Industries: four two-way exchanges in September, nothing since) and the
single-threaded deal (Globex: only Hank engaged), and ``syncd companies show``
names the strongest connection, the open reminders and the open deal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import time_machine

from tests.fixtures.demo import DEMO, run

TODAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the demo story's Sunday


def test_demo_has_a_quiet_strategic_account_and_a_single_threaded_deal(
        demo_config: Path) -> None:
    with time_machine.travel(TODAY, tick=True):
        for what in ("companies", "contacts", "opportunities"):
            result = run(demo_config, "import", what, str(DEMO / f"{what}.csv"))
            assert result.exit_code == 0, result.output
        assert run(demo_config, "sync", "--once").exit_code == 0
        assert run(demo_config, "reminders", "derive").exit_code == 0
        listed = run(demo_config, "reminders", "--format", "json")
        mine = [r for r in json.loads(listed.stdout)["reminders"]
                if r["kind"] in ("gone_quiet", "single_threaded")]
        assert [(r["kind"], r["subject"], r["owner"], r["priority"]) for r in mine] == [
            ("gone_quiet", "Stark Industries has gone quiet since 2026-09-25 16:00 UTC",
             "rita@ourco.example", "high"),
            ("single_threaded", "Globex onboarding expansion: only Hank Scorpio (Globex) is "
             "engaged — find a second contact", "sam@ourco.example", "normal"),
        ]
        assert mine[0]["due_at"] == "2026-10-16T16:00:00Z"  # 15 business days later

        shown = run(demo_config, "companies", "show", "stark.example", "--format", "json")
        assert shown.exit_code == 0, shown.output
        stark = json.loads(shown.stdout)["company"]
        relationship = stark["relationship"]
        assert relationship["strongest_connection"] == "rita@ourco.example"
        assert relationship["our_replies"] == 2 and relationship["their_replies"] == 2
        rita = relationship["connections"][0]
        assert (rita["two_way_emails"], rita["one_way_emails"]) == (4, 1)
        assert 0 < rita["strength"] < 25  # two months of silence
        assert [r["kind"] for r in stark["open_reminders"]] == ["gone_quiet"]

        globex = run(demo_config, "companies", "show", "globex.example")
        assert globex.exit_code == 0, globex.output
        assert "Globex onboarding expansion" in globex.stdout
        assert "single_threaded" in globex.stdout and "strongest connection" in globex.stdout

        unknown = run(demo_config, "companies", "show", "nowhere.example")
        assert unknown.exit_code == 2 and "no company owns nowhere.example" in unknown.output
