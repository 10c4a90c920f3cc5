"""``syncd leads`` through the real CLI over the bundled demo (SQLite and PostgreSQL):
the demo's lead (Dana, who asked Rita for a demo) appears after import and
``sync --once``; qualify, disqualify and their usage errors (exit 2); a
contact import converts a lead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine

from tests.fixtures.demo import DEMO, run

TODAY = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def synced(config: Path) -> None:
    for what in ("companies", "contacts"):
        assert run(config, "import", what, str(DEMO / f"{what}.csv")).exit_code == 0
    assert run(config, "sync", "--once").exit_code == 0


def listed(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run(config, "leads", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["leads"]
    return rows


def test_the_demo_lead_is_listed_qualified_and_errors_exit_2(demo_config: Path) -> None:
    with time_machine.travel(TODAY, tick=True):
        synced(demo_config)
        [lead] = listed(demo_config)
        assert {k: lead[k] for k in ("address", "name", "domain", "status", "owner", "inbox",
                                     "source_account", "received_at", "contact_id")} == {
            "address": "dana@umbrella.example", "name": "Dana Scully",
            "domain": "umbrella.example", "status": "new", "owner": "rita@ourco.example",
            "inbox": "rita@ourco.example", "source_account": "rita-local",
            "received_at": "2026-11-19T14:00:00Z", "contact_id": None}
        assert listed(demo_config, "--status", "qualified") == []
        table = run(demo_config, "leads").stdout
        assert "1 lead(s)" in table and "dana@umbrella.example" in table

        ok = run(demo_config, "leads", "qualify", str(lead["id"]), "--note", "demo booked")
        assert ok.exit_code == 0, ok.output
        assert f"lead {lead['id']} (dana@umbrella.example) is qualified: demo booked" in ok.stdout
        assert [x["status"] for x in listed(demo_config, "--status", "qualified")] == [
            "qualified"]
        reminders = json.loads(run(demo_config, "reminders", "--format", "json", "--status",
                                   "done").stdout)["reminders"]
        assert [r["reason"] for r in reminders if r["kind"] == "lead"] == ["lead demo booked"]

        again = run(demo_config, "leads", "qualify", str(lead["id"]))
        assert again.exit_code == 2 and "is qualified; it cannot become qualified" in again.output
        unknown = run(demo_config, "leads", "disqualify", "999999")
        assert unknown.exit_code == 2 and "no lead with id 999999" in unknown.output

        assert run(demo_config, "leads", "disqualify", str(lead["id"])).exit_code == 0
        final = run(demo_config, "leads", "qualify", str(lead["id"]))
        assert final.exit_code == 2 and "disqualified is final" in final.output
        # a second pass changes nothing
        before = listed(demo_config)
        assert run(demo_config, "sync", "--once").exit_code == 0
        assert listed(demo_config) == before


def test_importing_the_lead_as_a_contact_converts_it(demo_config: Path,
                                                     tmp_path: Path) -> None:
    with time_machine.travel(TODAY, tick=True):
        synced(demo_config)
        contacts = tmp_path / "more-contacts.csv"
        contacts.write_text("name,emails\nDana Scully,Dana@Umbrella.example\n",
                            encoding="utf-8")
        assert run(demo_config, "import", "contacts", str(contacts)).exit_code == 0
        [lead] = listed(demo_config)
        assert lead["status"] == "converted" and lead["contact_id"] is not None
        assert lead["reason"] == f"converted: contact {lead['contact_id']}"
        out = run(demo_config, "changes", "--format", "json").stdout
        feed = [json.loads(line) for line in out.splitlines()]
        assert [(e["type"], e["state"]["status"]) for e in feed if e["entity"] == "lead"] == [
            ("lead.created", "new"), ("lead.status_changed", "converted")]


def test_after_make_run_s_steps_the_demo_lead_is_there(fresh_demo_config: Path) -> None:
    """The demo laid out around the real today (as `make run` does) shows its lead."""
    synced(fresh_demo_config)
    [lead] = listed(fresh_demo_config, "--status", "new")
    assert (lead["address"], lead["owner"]) == ("dana@umbrella.example", "rita@ourco.example")
    reminders = json.loads(run(fresh_demo_config, "reminders", "--format", "json").stdout)
    assert [r["subject"] for r in reminders["reminders"] if r["kind"] == "lead"] == [
        "New lead: Dana Scully: Interested in a demo"]
