"""Delivery: the daily digest over a real SMTP conversation (a local sink
server), the iCalendar feed (parsed back with icalendar), the daemon jobs."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import icalendar
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from syncd.config.reminders import DigestSettings
from syncd.reminders.digest import build_digests, send_digests
from syncd.reminders.ics import reminders_calendar
from syncd.reminders.job import DIGEST_JOB, SWEEP_JOB, add_reminder_jobs, run_sweep
from syncd.store.database import Database
from tests.syncd.reminders.harness import ANN, BOB, MONDAY, RITA, SAM, World, settings
from tests.syncd.reminders.smtp_sink import smtp_sink

H = timedelta(hours=1)

# delivery reads through the same queries on both databases (covered by the
# scenario and end-to-end tests); SMTP and ICS need only one
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"])


def world_with_reminders(database: Database) -> World:
    w = World(database)
    w.contact(ANN)
    w.at(MONDAY - 3 * 24 * H).mail(ANN, (RITA,), "Old question")  # overdue by Monday
    w.at(MONDAY).mail(BOB, (SAM,), "For Sam", account="sam-mail")
    w.at(MONDAY).mail(RITA, (BOB,), "Offer")  # follow_up due Thursday: not today
    return w


def test_digest_per_rep_over_smtp(database: Database) -> None:
    world_with_reminders(database)
    with smtp_sink(require_auth=("syncd", "s3cret")) as sink:
        conf = settings({"digest": {"enabled": True, "smtp_host": sink.host,
                                    "smtp_port": sink.port, "security": "none",
                                    "username": "syncd", "password": "s3cret",
                                    "sender": "syncd@ourco.example"}})
        digests = build_digests(database, conf, now=MONDAY + 2 * H)
        assert [str(m["To"]) for m in digests] == [RITA.email, SAM.email]
        failed = send_digests(conf.reminders.digest, digests)
    assert failed == []
    assert [(m.sender, m.recipients, m.auth) for m in sink.messages] == [
        ("syncd@ourco.example", [RITA.email], "syncd"),
        ("syncd@ourco.example", [SAM.email], "syncd")]
    rita = email.message_from_bytes(sink.messages[0].data, policy=policy.default)
    body = rita.get_content()
    assert rita["Subject"] == "1 reminder(s) for Monday 02 November 2026 (1 overdue)"
    assert rita["Auto-Submitted"] == "auto-generated"
    assert "OVERDUE" in body and "Reply to Ann Acme: Old question" in body
    assert "Offer" not in body  # due Thursday, not today


def test_digest_failures_are_reported_per_rep_without_secrets(database: Database) -> None:
    world_with_reminders(database)
    with smtp_sink(reject_rcpt={SAM.email}) as sink:
        conf = DigestSettings(enabled=True, smtp_host=sink.host, smtp_port=sink.port,
                              security="none")
        digests = build_digests(database, settings(), now=MONDAY + 2 * H)
        failed = send_digests(conf, digests)
    assert [rep for rep, _ in failed] == [SAM.email]
    assert len(sink.messages) == 1
    wrong = DigestSettings(enabled=True, smtp_host="127.0.0.1", smtp_port=sink.port,
                           security="none", username="u", password="hunter2")
    failed = send_digests(wrong, digests)  # the sink is gone: nobody listens
    assert {rep for rep, _ in failed} == {RITA.email, SAM.email}
    assert all("hunter2" not in error and "cannot reach" in error for _, error in failed)


def test_ics_feed_round_trips(database: Database) -> None:
    w = world_with_reminders(database)
    rows = w.open()
    text = reminders_calendar(rows, name="syncd reminders", now=MONDAY)
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == len(rows) == 3
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == 3  # stable, unique UIDs
    first = events[0]
    assert first.decoded("DTSTART") == rows[0].due_at
    assert str(first["SUMMARY"]) == rows[0].subject
    assert "syncd reminders done" in str(first["DESCRIPTION"])
    assert [c.name for c in first.subcomponents] == ["VALARM"]
    # the same reminders exported again: the same UIDs (calendar apps update in place)
    again = icalendar.Calendar.from_ical(reminders_calendar(w.open(), name="x", now=MONDAY))
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == set(by_uid)


def test_daemon_jobs_are_scheduled_and_the_sweep_runs(database: Database) -> None:
    w = World(database)
    w.at(MONDAY - 24 * H).meeting("m1", MONDAY - 3 * H)  # ended 2h ago, no follow-up yet
    conf = settings({"digest": {"enabled": True, "at": "07:30"},
                     "business_hours": {"timezone": "Europe/Berlin"}})
    scheduler = BackgroundScheduler()
    add_reminder_jobs(scheduler, lambda: conf, database)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {SWEEP_JOB, DIGEST_JOB}
    assert "hour='7', minute='30'" in str(jobs[DIGEST_JOB].trigger)
    assert str(jobs[DIGEST_JOB].trigger.timezone) == "Europe/Berlin"
    off = BackgroundScheduler()
    add_reminder_jobs(off, lambda: settings({"enabled": False}), database)
    assert off.get_jobs() == []
    with w.at(MONDAY)._travel():
        run_sweep(database, lambda: conf)
    # ended 07:00 UTC, before Berlin opens (08:00 UTC in winter): 08:00 + 8h
    assert w.one("meeting_follow_up").due_at == MONDAY.replace(hour=16)
