"""``CLASS:PRIVATE`` in local .ics files and in an invite found in mail (Maildir), through
the real local provider, engine and store, both databases."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from syncd.store.database import Database
from syncd.store.schema import Interaction
from tests.generate import BASE_TIME, EventSpec, make_message, to_ics
from tests.providers.private_events import run_scenario

REP = ("Rita Rep", "rita@ourco.example")
CUSTOMER = ("Ann Acme", "ann@acme.example")


def account(root: Path) -> dict[str, object]:
    for sub in ("cur", "new", "tmp"):
        (root / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    (root / "calendars").mkdir(exist_ok=True)
    return {"id": "rita-local", "provider": "local", "owner": REP[1], "backfill_days": 0,
            "maildirs": [str(root / "Maildir")], "calendars": [str(root / "calendars")],
            "past_days": 30, "future_days": 60}


@pytest.mark.parametrize("rule", ["busy", "skip"])
def test_an_ics_meeting_marked_private_later(database: Database, tmp_path: Path,
                                             rule: str) -> None:
    stamp = [1_790_000_000]

    def put(spec: EventSpec) -> None:
        path = tmp_path / "calendars" / f"{spec.uid}.ics"
        path.write_text(to_ics(spec), encoding="utf-8")
        stamp[0] += 60  # a later mtime, as an editor saving the file gives
        os.utime(path, (stamp[0], stamp[0]))

    run_scenario(database, account(tmp_path), rule, BASE_TIME + timedelta(days=1), put,
                 lambda: BASE_TIME)


@pytest.mark.parametrize("rule", ["busy", "skip"])
def test_an_invite_update_in_mail_marking_the_meeting_private(
        database: Database, tmp_path: Path, rule: str) -> None:
    delivered = [0]

    def put(spec: EventSpec) -> None:  # each version of the invite is a new message
        delivered[0] += 1
        n = delivered[0]
        raw = make_message(n, sender=REP, to=[CUSTOMER], subject=f"Invitation: {spec.title}",
                           when=BASE_TIME + timedelta(minutes=n),
                           calendar=to_ics(spec, method="REQUEST"))
        name = f"{1790000000 + n}.M{n}P1.test"
        (tmp_path / "Maildir" / "tmp" / name).write_bytes(raw)
        os.rename(tmp_path / "Maildir" / "tmp" / name, tmp_path / "Maildir" / "new" / name)

    run_scenario(database, account(tmp_path), rule, BASE_TIME + timedelta(days=1), put,
                 lambda: BASE_TIME)
    with database.session(write=False) as s:
        mails = list(s.scalars(select(Interaction.subject).where(Interaction.kind == "email")
                               .order_by(Interaction.occurred_at)))
    # the first invite was public; the private update is busy time without content, or skipped
    assert mails == (["Invitation: Acquisition talks", None] if rule == "busy"
                     else ["Invitation: Acquisition talks"])
