"""Gmail through the real sync engine on SQLite, two reps' mailboxes on the stand-in.

The same message in both mailboxes is one interaction with two sources (the
store dedupes by Message-ID), and so is each instance of a meeting in both
calendars (by iCalUID + recurrence id); a revoked grant marks only that
account ``needs_reauth``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from syncd.config.model import Settings
from syncd.directory.contacts import import_contacts
from syncd.store.database import Database
from syncd.store.queries import account_statuses
from syncd.store.schema import Interaction, Source
from syncd.sync.engine import SyncEngine
from tests.generate import EventSpec, make_message, message_id
from tests.providers.google.conftest import REP, endpoints
from tests.standins.google import GoogleStandIn

BOB = "bob@ourco.example"
ZOE = "zoe@acme.example"


def test_one_interaction_with_two_sources_and_reauth_of_one_account(
        tmp_path: Path, standin: GoogleStandIn, key_file: Path) -> None:
    raw = make_message(1, sender=("Zoë Ørsted", ZOE), to=[("Rita", REP), ("Bob", BOB)])
    standin.add_message(REP, raw)
    standin.add_message(BOB, raw)
    standin.add_message(BOB, make_message(2, sender=("Zoë Ørsted", ZOE), to=[("Bob", BOB)]))
    # the same meeting in both reps' calendars (same iCalUID), one instance moved
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    meeting = EventSpec(uid="qbr@acme.example", title="QBR", start=start, organizer=("Zoë", ZOE),
                        attendees=[("Rita", REP, "ACCEPTED"), ("Bob", BOB, "TENTATIVE")],
                        rrule="FREQ=WEEKLY;COUNT=2", tzid="UTC",  # no DST week: stays exact
                        moved_instances={start + timedelta(days=7): start + timedelta(days=8)})
    standin.add_event(REP, "primary", meeting)
    standin.add_event(BOB, "primary", meeting)

    def account(ident: str, owner: str, kind: str = "gmail") -> dict[str, object]:
        return {"id": ident, "provider": kind, "owner": owner, "backfill_days": 3650,
                "auth": {"service_account_file": str(key_file)},
                "endpoints": endpoints(standin),
                "transport": {"max_retries": 2, "base_backoff": 0.02, "max_backoff": 0.1}}

    settings = Settings.model_validate({
        "state_dir": str(tmp_path),
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [account("gmail-rita", REP), account("gmail-bob", BOB),
                     account("gcal-rita", REP, "google_calendar"),
                     account("gcal-bob", BOB, "google_calendar")]})
    db = Database(f"sqlite:///{tmp_path / 'syncd.db'}")
    db.migrate()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"name,emails,company_domain\nZoë Ørsted,{ZOE},acme.example\n")
    import_contacts(db, contacts)
    engine = SyncEngine(db, settings)
    try:
        for acc in settings.accounts:
            result = engine.sync_account(acc)
            assert result.ok, result.to_dict()
        first, moved = ("qbr@acme.example#" + (start + timedelta(days=k)).astimezone(
            UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for k in (0, 7))
        assert {k: {a for a, _ in v} for k, v in stored(db).items()} == {
            message_id(1): {"gmail-rita", "gmail-bob"},
            message_id(2): {"gmail-bob"},
            first: {"gcal-rita", "gcal-bob"},
            moved: {"gcal-rita", "gcal-bob"}}
        # an incremental pass of every account adds nothing
        for acc in settings.accounts:
            assert engine.sync_account(acc).items == 0
        assert len(stored(db)) == 4
        # Bob's grant is revoked: his account needs re-auth, Rita's goes on
        standin.revoke(BOB)
        standin.add_message(REP, make_message(3, sender=("Zoë Ørsted", ZOE), to=[("R", REP)]))
        assert not engine.sync_account(settings.account("gmail-bob")).ok
        assert engine.sync_account(settings.account("gmail-rita")).items == 1
        states = {a.account: a for a in account_statuses(db)}
        assert states["gmail-bob"].state == "needs_reauth"
        assert states["gmail-bob"].last_error_code == "auth"
        assert states["gmail-rita"].state == "idle"
        assert not engine.should_poll(settings.account("gmail-bob"))
    finally:
        db.dispose()


def stored(db: Database) -> dict[str, set[tuple[str, str | None]]]:
    """Interactions by dedupe key (the Message-ID for mail), with their sources."""
    out: dict[str, set[tuple[str, str | None]]] = {}
    with db.session(write=False) as s:
        for key, account, folder in s.execute(
                select(Interaction.dedupe_key, Source.account_id, Source.folder)
                .join(Source, Source.interaction_id == Interaction.id)):
            out.setdefault(key, set()).add((account, folder))
    return out
