"""A lowered privacy level scrubs stored content at the next start, on SQLite and
PostgreSQL: the real engine stores scripted pages at ``full``, then the daemon's
start-up check runs with rita's level lowered (sam, who shares mail, stays)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from structlog.testing import capture_logs

from providers.base import Page
from syncd.config.model import Settings
from syncd.daemon.housekeeping import on_start
from syncd.lifecycle.privacy_scrub import scrub_to_privacy
from syncd.store.database import Database
from syncd.store.schema import AuditEntry, ChangeEvent, Interaction, Reminder, Thread
from syncd.store.types import utcnow
from tests.syncd.sync.test_privacy import REP, SAM, engine_for, mail

FULL: dict[str, Any] = {"snippet": "Our offer is 42", "body": "Our offer is 42. Full text"}


def settings(rita: str | None = None) -> Settings:
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"]},
        "privacy": {"level": "full"},
        "accounts": [{"provider": "local", "id": "rita", "owner": REP.email,
                      **({"privacy": rita} if rita else {})},
                     {"provider": "local", "id": "sam", "owner": SAM.email}],
    })


def seed(database: Database) -> None:
    shared = mail(1, to=(REP, SAM), **FULL)
    script = {"rita": [Page("INBOX", [shared, mail(2, **FULL)], cursor={"n": 1})],
              "sam": [Page("INBOX", [shared, mail(3, to=(SAM,), **FULL)], cursor={"n": 1})]}
    conf = settings()
    engine = engine_for(database, conf, script)
    assert all(engine.sync_account(a).ok for a in conf.accounts)


def stored(database: Database) -> dict[str | None, tuple[Any, ...]]:
    with database.session(write=False) as s:
        rows = s.execute(select(Interaction.dedupe_key, Interaction.subject,
                                Interaction.snippet, Interaction.body)).all()
    return {key.split("@")[0][-2:]: (subject, snippet, body)
            for key, subject, snippet, body in rows}


def test_lowering_a_level_scrubs_what_only_that_account_saw(database: Database) -> None:
    seed(database)
    assert stored(database)["m2"] == ("Subject 2", FULL["snippet"], FULL["body"])
    with capture_logs() as logs:
        on_start(database, settings("subject"))
    after = stored(database)
    assert after["m2"] == ("Subject 2", None, None)
    # sam saw mail 1 at full: the richest copy wins; mail 3 is sam's alone
    assert after["m1"] == ("Subject 1", FULL["snippet"], FULL["body"])
    assert after["m3"] == ("Subject 3", FULL["snippet"], FULL["body"])
    [logged] = [e for e in logs if e["event"].startswith("privacy level lowered")]
    assert logged["scrubbed"] == {"subject": 1} and logged["total"] == 1
    with database.session(write=False) as s:
        [event] = s.scalars(select(ChangeEvent).where(ChangeEvent.type == "interaction.updated")
                            .order_by(ChangeEvent.id.desc()).limit(1)).all()
        assert event.state["snippet"] is None and event.state["changed"] == ["snippet", "body"]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.scrub")).one()
        assert audit.after == {"reason": "privacy level lowered to subject", "level": "subject",
                               "accounts": ["rita"], "interactions": 1}
    assert scrub_to_privacy(database, settings("subject")).total == 0  # idempotent


def test_metadata_erases_subjects_and_both_reps_lowered_scrub_shared_mail(
        database: Database) -> None:
    seed(database)
    with database.session() as s:  # a reminder that copied the mail's subject
        m2 = s.scalars(select(Interaction.id).where(Interaction.dedupe_key.contains("m2@"))).one()
        s.add(Reminder(kind="manual", due_at=utcnow(), rule="manual", idempotency_key="r:1",
                       owner=REP.email, subject="Answer Subject 2", interaction_id=m2))
    report = scrub_to_privacy(database, settings("metadata"))
    assert report.scrubbed == {"metadata": 1}
    assert stored(database)["m2"] == (None, None, None)
    with database.session(write=False) as s:
        subjects = list(s.scalars(select(Reminder.subject)))
        assert None in subjects and not any("Subject 2" in (x or "") for x in subjects)
        assert any("Subject 1" in (x or "") for x in subjects)  # sam's copy keeps it
        events = list(s.scalars(select(ChangeEvent).where(ChangeEvent.type == "reminder.updated")))
        assert events and all(e.state["subject"] is None and e.state["changed"] == ["subject"]
                              for e in events)
    with database.session(write=False) as s:  # its thread forgets the subject too
        assert s.scalars(select(Thread.subject).join(Interaction).where(
            Interaction.dedupe_key.contains("m2@"))).all() == [None]
        assert "Subject 1" in set(s.scalars(select(Thread.subject)))
    both = Settings.model_validate({**settings().model_dump(mode="json"),
                                    "privacy": {"level": "snippet"}})
    report = scrub_to_privacy(database, both)
    assert report.scrubbed == {"snippet": 2}  # mails 1 and 3 lose their body
    assert stored(database)["m1"] == ("Subject 1", FULL["snippet"], None)


def test_nothing_changes_when_no_level_was_lowered(database: Database) -> None:
    seed(database)
    before = stored(database)
    assert scrub_to_privacy(database, settings()).total == 0
    assert stored(database) == before


