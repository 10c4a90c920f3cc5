"""`syncd contacts show` and `syncd companies show` on the bundled demo (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.demo import DEMO, run

RITA = "rita@ourco.example"


def synced_demo(config: Path) -> None:
    for kind in ("companies", "contacts"):
        result = run(config, "import", kind, str(DEMO / f"{kind}.csv"))
        assert result.exit_code == 0, result.output
    result = run(config, "sync", "--once")
    assert result.exit_code == 0, result.output


def test_contacts_and_companies_show_their_rollups(demo_config: Path) -> None:
    synced_demo(demo_config)
    result = run(demo_config, "contacts", "show", "WILE.E@acme-corp.example", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["query"] == {"email": "WILE.E@acme-corp.example"}
    [wile] = doc["contacts"]
    assert wile["name"] == "Wile E. Coyote" and wile["company_name"] == "Acme Corporation"
    rollup = wile["rollup"]
    # the renewal thread: Wile wrote (11-02), Rita answered (11-03), Wile again (11-04)
    assert rollup["first_interaction_at"] == "2026-11-02T09:15:00Z"
    assert rollup["last_inbound_at"] == "2026-11-04T16:40:00Z"
    assert rollup["last_outbound_at"] == "2026-11-03T10:00:00Z"
    assert rollup["last_exchange_at"] == "2026-11-04T16:40:00Z"
    assert [(r["rep"], r["exchanges"]) for r in rollup["top_reps"]] == [(RITA, 2)]
    assert rollup["interactions_total"] + rollup["upcoming_meetings"] == 4
    assert "Renewal" not in result.stdout  # rollups carry no subjects
    relationship = wile["relationship"]
    # Rita answered Wile's first mail after 1 day 45 min; Wile answered her after 1 day 6:40
    assert relationship["our_median_reply_seconds"] == 24 * 3600 + 45 * 60
    assert relationship["their_median_reply_seconds"] == 24 * 3600 + 6 * 3600 + 40 * 60
    assert relationship["strongest_connection"] == RITA
    [rita] = relationship["connections"]
    assert (rita["two_way_emails"], rita["one_way_emails"]) == (2, 1)
    assert wile["open_reminders"] and wile["open_opportunities"] == []

    result = run(demo_config, "companies", "show", "acme-corp.example", "--format", "json")
    assert result.exit_code == 0, result.output
    acme = json.loads(result.stdout)["company"]
    assert acme["name"] == "Acme Corporation"
    assert acme["domains"] == ["acme-corp.example", "acme.example"]
    assert acme["rollup"]["last_exchange_at"] == rollup["last_exchange_at"]

    table = run(demo_config, "companies", "show", "acme.example")
    assert table.exit_code == 0, table.output
    assert "Acme Corporation" in table.stdout and "last two-way exchange" in table.stdout
    assert RITA in table.stdout and "2026-11-04 16:40" in table.stdout
    # Hank's question was never answered; the agenda Rita sent is another thread
    table = run(demo_config, "companies", "show", "globex.example")
    assert table.exit_code == 0, table.output
    assert "next meeting" in table.stdout and "connections by strength" in table.stdout
    assert "strongest connection" in table.stdout and RITA in table.stdout
    table = run(demo_config, "contacts", "show", "hank@globex.example")
    assert table.exit_code == 0 and "Hank Scorpio" in table.stdout


def test_nothing_matches_exits_2(demo_config: Path) -> None:
    synced_demo(demo_config)
    result = run(demo_config, "contacts", "show", "nobody@nowhere.example")
    assert result.exit_code == 2 and "no contact owns nobody@nowhere.example" in result.output
    result = run(demo_config, "companies", "show", "nowhere.example", "--format", "json")
    assert result.exit_code == 2 and "no company owns nowhere.example" in result.output
