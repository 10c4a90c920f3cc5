"""`syncd explain` through the real CLI on the synced demo, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.demo import DEMO, run, write_demo_config
from tests.syncd.explain.demo import BLOCKED, EVENTS, MESSAGES, explain_json, prepare


@pytest.fixture
def demo(demo_config: Path) -> Path:
    return prepare(demo_config)


def test_every_demo_message_and_meeting_says_whether_it_was_logged_and_why(demo: Path) -> None:
    for selector, expected in (("--message-id", MESSAGES), ("--event", EVENTS)):
        for value, (logged, reason) in expected.items():
            status, doc = explain_json(demo, selector, value)
            assert status == 0, (value, doc)
            # a message is one item; a recurring meeting one per instance
            assert len(doc["items"]) == 1 or (selector == "--event" and doc["items"])
            for item in doc["items"]:
                _check(item, logged, reason)


def _check(item: dict[str, Any], logged: bool, reason: str | None) -> None:
    assert item["logged"] is logged, (item["key"], item["verdict"])
    (seen,) = item["seen_by"]
    assert seen["account"] == "rita-local"
    assert seen["privacy_level"] == "subject"
    assert seen["provider_id"] and seen["first_seen_at"].endswith("Z")
    if logged:
        assert seen["outcome"] == "logged" and item["verdict"].startswith("logged")
        assert item["participants"] and all(p["reason"] for p in item["participants"])
        assert item["thread"] is not None or item["kind"] == "meeting"
    else:
        assert (seen["outcome"], seen["reason"]) == ("skipped", reason)
        assert item["verdict"] == f"not logged: {reason}: {seen['detail']}"
        assert item["participants"] == [] and item["thread"] is None


def test_a_skipped_message_names_what_decided_it(demo: Path) -> None:
    details = {}
    for message_id in ("demo-005@gmail.com", "demo-008@updates.saasweekly.example",
                       "demo-009@ourco.example"):
        details[message_id] = explain_json(demo, "--message-id", message_id)[1][
            "items"][0]["seen_by"][0]["detail"]
    assert details == {
        "demo-005@gmail.com": "participant petergibbons@gmail.com is excluded: "
                              "address petergibbons@gmail.com is blocklisted",
        "demo-008@updates.saasweekly.example":
            "automated mail: List-Id header present (SaaS Weekly <weekly.saasweekly.example>)",
        "demo-009@ourco.example": "no external participant: all participants are internal",
    }


def test_a_logged_message_explains_matches_thread_deal_and_reminders(demo: Path) -> None:
    status, doc = explain_json(demo, "--message-id", "<demo-010@ourco.example>")
    assert status == 0
    (item,) = doc["items"]
    assert item["subject"] == "Agenda for our discovery call"
    hank = item["participants"][1]
    assert (hank["match"], hank["contact"], hank["company"]) == (
        "contact", "Hank Scorpio", "Globex")
    assert hank["reason"] == "address matches contact 2; company 2 from the contact"
    assert item["thread"]["reason"].startswith("it started the thread")
    assert item["opportunity"]["name"] == "Globex onboarding"
    assert item["opportunity"]["reason"] == "opportunity 1 is the company's only open one"
    (reminder,) = item["reminders"]
    assert (reminder["kind"], reminder["relation"], reminder["status"]) == (
        "follow_up", "opened", "open")
    reply = explain_json(demo, "--message-id", "demo-003@acme-corp.example")[1]["items"][0]
    assert reply["thread"]["key"] == "demo-001@acme.example"
    assert reply["thread"]["reason"] == ("it replies to demo-002@ourco.example, "
                                         "which is in this thread")


def test_addresses_say_whom_they_resolve_to_and_why(demo: Path) -> None:
    status, wile = explain_json(demo, "--address", "Wile E. Coyote <WILE@acme.example>")
    assert status == 0
    assert wile["canonical"] == "wile@acme.example"
    assert wile["resolution"]["kind"] == "contact"
    assert wile["resolution"]["company"] == "Acme Corporation"
    assert wile["interactions"] >= 3 and wile["last_seen_at"].endswith("Z")
    assert wile["blocklisted"] == [] and wile["role_address"] is None
    status, peter = explain_json(demo, "--address", BLOCKED)
    assert status == 0
    assert peter["blocklisted"] == [{
        "scope": "global",
        "reason": "address petergibbons@gmail.com is blocklisted (matching.blocklist)"}]
    assert peter["interactions"] == 0  # blocked mail is never stored
    status, info = explain_json(demo, "--address", "info@globex.example")
    assert status == 0  # nobody wrote from it, but the domain is Globex's
    assert info["resolution"]["kind"] == "company" and info["role_address"]
    status, sam = explain_json(demo, "--address", "sam@ourco.example")
    assert status == 0 and sam["resolution"]["kind"] == "internal"


def test_tables_for_people(demo: Path) -> None:
    result = run(demo, "explain", "--message-id", "demo-008@updates.saasweekly.example")
    assert result.exit_code == 0
    assert "not logged: automated: automated mail: List-Id header present" in result.stdout
    result = run(demo, "explain", "--address", "hank@globex.example")
    assert result.exit_code == 0
    assert "Hank Scorpio" in result.stdout and "address matches contact" in result.stdout


def test_nothing_found_says_what_was_searched(demo: Path) -> None:
    result = run(demo, "explain", "--message-id", "never-sent@nowhere.example")
    assert result.exit_code == 1
    assert "not found: nothing in the store for Message-ID never-sent@nowhere.example" \
        in result.stdout
    assert "skip records in every account" in result.stdout
    status, doc = explain_json(demo, "--message-id", "demo-001@acme.example",
                               "--account", "someone-else")
    assert status == 1 and doc["found"] is False and doc["items"] == []
    assert "logged interactions with Message-ID demo-001@acme.example for account " \
           "someone-else" in doc["searched"]
    status, doc = explain_json(demo, "--address", "nobody@nowhere.example")
    assert status == 1 and doc["found"] is False
    assert run(demo, "explain", "--address", "not an address").exit_code == 1


@pytest.mark.parametrize("args", [(), ("--message-id", "a", "--event", "b"),
                                  ("--address", "a@b.example", "--account", "x")])
def test_exactly_one_selector_or_usage_error(demo_config: Path, args: tuple[str, ...]) -> None:
    result = run(demo_config, "explain", *args)
    assert result.exit_code == 2
    assert "--message-id" in result.output or "--account narrows" in result.output


def test_a_reply_says_which_reminder_it_resolved(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "demo"
    shutil.copytree(DEMO, data)
    config = write_demo_config(tmp_path, db_url, data_dir=data)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["accounts"][0].update(backfill_days=36500, past_days=3650, future_days=3650)
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    prepare(config)
    agenda = explain_json(config, "--message-id", "demo-010@ourco.example")[1]["items"][0]
    (opened,) = agenda["reminders"]
    (data / "Maildir" / "cur" / "1794300000.M9P1000Q9.demo:2,S").write_text(
        "From: Hank Scorpio <hank@globex.example>\nTo: Rita Rep <rita@ourco.example>\n"
        "Subject: Re: Agenda for our discovery call\nDate: Tue, 10 Nov 2026 09:00:00 +0000\n"
        "Message-ID: <demo-011@globex.example>\nIn-Reply-To: <demo-010@ourco.example>\n"
        "References: <demo-010@ourco.example>\n\nLooks good.\n", encoding="utf-8")
    assert run(config, "sync", "--once").exit_code == 0
    status, doc = explain_json(config, "--message-id", "demo-011@globex.example")
    assert status == 0
    (reply,) = doc["items"]
    assert reply["thread"]["reason"] == ("it replies to demo-010@ourco.example, "
                                         "which is in this thread")
    resolved = [r for r in reply["reminders"] if r["relation"] == "resolved"]
    assert [(r["id"], r["kind"], r["status"]) for r in resolved] == [
        (opened["id"], "follow_up", "done")]
    again = explain_json(config, "--message-id", "demo-010@ourco.example")[1]["items"][0]
    assert [(r["id"], r["relation"], r["status"]) for r in again["reminders"]] == [
        (opened["id"], "opened", "done")]
