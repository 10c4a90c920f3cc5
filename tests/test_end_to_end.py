"""End to end on the bundled demo: import → sync --once → timeline --format json.

Runs the real CLI on the real demo files (config/demo/) against SQLite and
PostgreSQL. The expected history is written out by hand from the demo's
story (see README "The demo data"): who wrote to whom, which company and
contact each external person is, and what must NOT be logged (newsletter,
colleagues-only mail and meetings). A second pass must change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.demo import DEMO, run

ACME = "Acme Corporation"
GLOBEX = "Globex"
INITECH = "Initech"
WILE = "Wile E. Coyote"
HANK = "Hank Scorpio"
PETER = "Peter Gibbons"
BILL = "Bill Lumbergh"

# (occurred_at, kind, direction, subject), newest first
ACME_HISTORY = [
    ("2026-12-03T15:00:00Z", "meeting", "outbound", "Acme renewal review"),
    ("2026-11-04T16:40:00Z", "email", "inbound", "Re: Renewal pricing for 2027"),
    ("2026-11-03T10:00:00Z", "email", "outbound", "Re: Renewal pricing for 2027"),
    ("2026-11-02T09:15:00Z", "email", "inbound", "Renewal pricing for 2027"),
]
GLOBEX_HISTORY = [
    ("2026-12-21T14:00:00Z", "meeting", "outbound", "Globex onboarding weekly"),
    ("2026-12-14T14:00:00Z", "meeting", "outbound", "Globex onboarding weekly"),
    ("2026-12-07T14:00:00Z", "meeting", "outbound", "Globex onboarding weekly"),
    ("2026-11-10T15:00:00Z", "meeting", "outbound", "Globex discovery call"),
    ("2026-11-09T08:00:00Z", "email", "outbound", "Agenda for our discovery call"),
    ("2026-11-05T08:30:00Z", "email", "inbound", "Question about onboarding"),
]
PETER_HISTORY = [
    ("2026-11-06T14:20:00Z", "email", "outbound", "Re: TPS report integration"),
    ("2026-11-06T11:05:00Z", "email", "inbound", "TPS report integration"),
]
INITECH_HISTORY = [
    ("2026-11-09T13:00:00Z", "email", "outbound", "Proposal v2"),
    *PETER_HISTORY,
]


def timeline(config: Path, flag: str, value: str) -> list[dict[str, Any]]:
    result = run(config, "timeline", flag, value, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    key = flag.removeprefix("--")
    assert doc["query"][key] == value
    entries: list[dict[str, Any]] = doc["interactions"]
    return entries


def summary(entries: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(e["occurred_at"], e["kind"], e["direction"], e["subject"]) for e in entries]


def external(entry: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    """(address, contact name, company name) of every non-internal participant."""
    return {(p["address"], p["contact_name"], p["company_name"])
            for p in entry["participants"] if p["match"] != "internal"}


def sync_counts(config: Path) -> dict[str, str]:
    result = run(config, "sync", "--once")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "rita-local" in line)
    cells = [c.strip() for c in row.replace("┃", "│").split("│") if c.strip()]
    # account, provider, result, items, created, updated, skipped, quarantined, pages, seconds
    return dict(zip(["account", "provider", "result", "items", "created", "updated", "skipped",
                     "quarantined", "pages"], cells, strict=False))


@pytest.mark.slow
def test_demo_import_sync_timeline(demo_config: Path) -> None:
    result = run(demo_config, "import", "companies", str(DEMO / "companies.csv"))
    assert result.exit_code == 0, result.output
    assert "4 created" in result.stdout
    result = run(demo_config, "import", "contacts", str(DEMO / "contacts.csv"))
    assert result.exit_code == 0, result.output
    assert "5 created" in result.stdout

    first = sync_counts(demo_config)
    assert first["result"] == "ok"
    assert first["created"] == "19"  # 14 emails + 5 meeting instances
    assert first["quarantined"] == "0"

    # Acme by either of its domains, or Wile by either of his addresses: same history
    acme = timeline(demo_config, "--company", "acme.example")
    assert summary(acme) == ACME_HISTORY
    assert summary(timeline(demo_config, "--company", "acme-corp.example")) == ACME_HISTORY
    assert summary(timeline(demo_config, "--contact", "wile.e@acme-corp.example")) == ACME_HISTORY
    assert summary(timeline(demo_config, "--contact", "WILE@acme.example")) == ACME_HISTORY
    assert external(acme[0]) == {("wile@acme.example", WILE, ACME),
                                 ("roadrunner@acme.example", None, ACME)}
    assert external(acme[1]) == {("wile.e@acme-corp.example", WILE, ACME),
                                 ("roadrunner@acme.example", None, ACME)}
    assert external(acme[3]) == {("wile@acme.example", WILE, ACME)}
    # the renewal emails are one thread; the customer wrote last
    threads = {e["thread"] for e in acme if e["kind"] == "email"}
    assert len(threads) == 1 and None not in threads
    assert all(e["sources"] == ["rita-local"] for e in acme)

    # a person known only by company domain still has a history by address
    roadrunner = timeline(demo_config, "--contact", "roadrunner@acme.example")
    assert [e["subject"] for e in roadrunner] == ["Acme renewal review",
                                                  "Re: Renewal pricing for 2027"]

    globex = timeline(demo_config, "--company", "globex.example")
    assert summary(globex) == GLOBEX_HISTORY
    assert all(external(e) == {("hank@globex.example", HANK, GLOBEX)} for e in globex)

    # free-mail customer: matched by address, company from the contact, not from gmail.com
    peter = timeline(demo_config, "--contact", "peter.gibbons@gmail.com")
    assert summary(peter) == PETER_HISTORY
    assert all(len(external(e)) == 1 and next(iter(external(e)))[1:] == (PETER, INITECH)
               for e in peter)
    initech = timeline(demo_config, "--company", "initech.example")
    assert summary(initech) == INITECH_HISTORY
    assert external(initech[0]) == {("bill@initech.example", BILL, INITECH)}
    assert timeline(demo_config, "--company", "gmail.com") == []

    # not logged: the newsletter, colleagues-only mail and the internal meeting
    assert timeline(demo_config, "--contact", "news@updates.saasweekly.example") == []
    sam = timeline(demo_config, "--contact", "sam@ourco.example")
    assert [e["subject"] for e in sam] == ["Acme renewal review", "Proposal v2"]

    # the second pass adds nothing and changes nothing
    before = {q: timeline(demo_config, "--company", q)
              for q in ("acme.example", "globex.example", "initech.example")}
    second = sync_counts(demo_config)
    assert second["result"] == "ok"
    assert second["created"] == "0" and second["updated"] == "0"
    after = {q: timeline(demo_config, "--company", q)
             for q in ("acme.example", "globex.example", "initech.example")}
    assert after == before

    # re-importing the directory updates nothing and duplicates nothing
    result = run(demo_config, "import", "contacts", str(DEMO / "contacts.csv"))
    assert result.exit_code == 0 and "0 created, 0 updated, 5 unchanged" in result.stdout

    status = json.loads(run(demo_config, "status", "--format", "json").stdout)
    [account] = status["accounts"]
    assert account["account"] == "rita-local" and account["state"] == "idle"
    assert account["last_success_at"].endswith("Z") and account["last_error"] is None


def test_bad_import_rows_are_reported_with_line_numbers(tmp_path: Path,
                                                        demo_config: Path) -> None:
    companies = tmp_path / "companies.csv"
    companies.write_text("name,domains\nGood Co,good.example\n,nodomain-name.example\n"
                         "Free,gmail.com\nAlso Good,also.example\n", encoding="utf-8")
    result = run(demo_config, "import", "companies", str(companies))
    assert result.exit_code == 1
    assert "2 created" in result.stdout and "2 failed" in result.stdout
    assert f"{companies}:3:" in result.stderr and f"{companies}:4:" in result.stderr
    # the good rows are in: a second import finds them unchanged, errors again
    result = run(demo_config, "import", "companies", str(companies))
    assert result.exit_code == 1 and "2 unchanged" in result.stdout
