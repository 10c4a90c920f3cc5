"""End to end on the bundled demo through the real CLI: import → sync --once →
``syncd reminders`` shows what the demo's story implies on its "today"
(Sunday 2026-11-22), with the default rules and Mon-Fri 09:00-17:00 UTC.

The story (config/demo/): Wile (Acme) wrote again after Rita's answer and
waits; Hank (Globex) asked about onboarding, unanswered; Rita answered
Peter and wrote to Hank (agenda) and Bill (proposal) without replies; the
Globex discovery call (10 Nov) had no follow-up mail; the Acme renewal
review (3 Dec) is within the 14-day prep horizon, the weekly Globex
onboarding (from 7 Dec) is not — until the clock moves on. Dana
(Umbrella, not a contact) asked Rita for a demo on 19 Nov: a lead, with
its ``lead`` reminder (and the thread's ``reply_needed``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
import time_machine

from tests.fixtures.demo import DEMO, run

TODAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

EXPECTED_OPEN = [  # (due_at, kind, subject), soonest first
    ("2026-11-05T16:40:00Z", "reply_needed",
     "Reply to Wile E. Coyote (Acme Corporation): Re: Renewal pricing for 2027"),
    ("2026-11-05T17:00:00Z", "reply_needed",
     "Reply to Hank Scorpio (Globex): Question about onboarding"),
    ("2026-11-11T14:20:00Z", "follow_up",
     "Follow up with Peter Gibbons (Initech): Re: TPS report integration"),
    ("2026-11-11T15:30:00Z", "meeting_follow_up",
     "Follow up on Globex discovery call with Hank Scorpio (Globex)"),
    ("2026-11-12T09:00:00Z", "follow_up",
     "Follow up with Hank Scorpio (Globex): Agenda for our discovery call"),
    ("2026-11-12T13:00:00Z", "follow_up", "Follow up with Bill Lumbergh (Initech): Proposal v2"),
    ("2026-11-20T10:00:00Z", "lead", "New lead: Dana Scully: Interested in a demo"),
    ("2026-11-20T14:00:00Z", "reply_needed", "Reply to Dana Scully: Interested in a demo"),
    ("2026-12-03T11:00:00Z", "meeting_prep",
     "Prepare for Acme renewal review with Wile E. Coyote (Acme Corporation)"),
]


def listed(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run(config, "reminders", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["reminders"]
    return rows


def test_demo_reminders_after_sync_once(demo_config: Path) -> None:
    with time_machine.travel(TODAY, tick=True):
        for what in ("companies", "contacts"):
            assert run(demo_config, "import", what, str(DEMO / f"{what}.csv")).exit_code == 0
        assert run(demo_config, "sync", "--once").exit_code == 0

        open_now = listed(demo_config)
        assert [(r["due_at"], r["kind"], r["subject"]) for r in open_now] == EXPECTED_OPEN
        assert {r["owner"] for r in open_now} == {"rita@ourco.example"}
        assert {r["rule"] for r in open_now} == {r["kind"] for r in open_now}  # default rules
        wile = open_now[0]
        assert (wile["contact"]["name"], wile["company"]["name"]) == ("Wile E. Coyote",
                                                                      "Acme Corporation")
        assert wile["thread"] == "demo-001@acme.example"
        assert [r["waiting_on"] for r in open_now] == ["rep", "rep", "contact", None, "contact",
                                                        "contact", None, "rep", None]
        # history: the first Acme question and Peter's question were answered during the pass
        done = listed(demo_config, "--status", "done")
        assert sorted(r["reason"] for r in done) == ["replied 2026-11-03 10:00 UTC",
                                                     "replied 2026-11-06 14:20 UTC"]

        # a second pass changes nothing
        before = listed(demo_config, "--status", "all")
        assert run(demo_config, "sync", "--once").exit_code == 0
        assert listed(demo_config, "--status", "all") == before

        # filters
        assert len(listed(demo_config, "--due-before", "2026-11-11")) == 4  # end of 11 Nov UTC
        assert listed(demo_config, "--owner", "nobody@ourco.example") == []
        bad = run(demo_config, "reminders", "--due-before", "someday")
        assert bad.exit_code == 2 and "--due-before" in bad.output

        # done / dismiss through the CLI
        ok = run(demo_config, "reminders", "done", str(wile["id"]))
        assert ok.exit_code == 0 and f"reminder {wile['id']} is done" in ok.stdout
        prep = open_now[-1]
        assert run(demo_config, "reminders", "dismiss", str(prep["id"])).exit_code == 0
        assert run(demo_config, "reminders", "done", "999999").exit_code == 2
        assert len(listed(demo_config)) == len(EXPECTED_OPEN) - 2

        # reminders in the timeline (JSON and table)
        result = run(demo_config, "timeline", "--company", "globex.example", "--format", "json")
        doc = json.loads(result.stdout)
        assert [r["kind"] for r in doc["reminders"]] == ["reply_needed", "meeting_follow_up",
                                                         "follow_up"]
        table = run(demo_config, "timeline", "--contact", "hank@globex.example").stdout
        assert "3 open reminder(s)" in table and "Question about onboarding" in table

        # the ICS feed a rep subscribes to
        ics = run(demo_config, "reminders", "--format", "ics", "--owner", "rita@ourco.example")
        events = icalendar.Calendar.from_ical(ics.stdout).walk("VEVENT")
        assert [str(e["SUMMARY"]) for e in events] == [s for _, _, s in EXPECTED_OPEN[1:-1]]

    # two days later the clock job brings the first Globex onboarding within its horizon
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, tzinfo=UTC), tick=True):
        assert run(demo_config, "reminders", "derive").exit_code == 0
        preps = [r for r in listed(demo_config) if r["kind"] == "meeting_prep"]
        assert [(r["due_at"], r["subject"]) for r in preps] == [
            ("2026-12-07T10:00:00Z", "Prepare for Globex onboarding weekly with Hank Scorpio "
                                     "(Globex)")]
