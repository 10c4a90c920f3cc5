"""``gone_quiet`` and ``single_threaded``: created, resolved, superseded, segments and
business hours, through the real engine (scripted provider) and the clock job, on
SQLite and PostgreSQL, with the clock moved by time-machine.

BASE_TIME (MONDAY) is Monday 2026-11-02 09:00 UTC; business hours Mon-Fri
09:00-17:00 UTC unless a test says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from providers.base import Address
from syncd.store.database import Database
from syncd.store.schema import Company, Opportunity
from tests.syncd.reminders.harness import ANN, MONDAY, RITA, SAM, World, settings

H = timedelta(hours=1)
D = timedelta(days=1)
CARL = Address("carl@acme.example", "Carl Acme")

QUIET = {"kind": "gone_quiet", "match": {"company_tier": ["strategic"]}, "business_days": 10,
         "lookback_business_days": 20, "min_exchanges": 4, "owner": "company_owner",
         "priority": "high"}
THREADED = {"kind": "single_threaded", "window_days": 30, "match": {"company_tier":
                                                                    ["strategic"]}}


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def world(database: Database, rules: dict[str, Any], **hours: Any) -> World:
    conf: dict[str, Any] = {"rules": rules}
    if hours:
        conf["business_hours"] = hours
    return World(database, settings(conf))


def exchange(w: World, when: datetime, *, who: Address = ANN, rep: Address = RITA,
             account: str = "rita-mail", subject: str = "Plan") -> None:
    """They write, the rep answers an hour later: the answer is an exchange email (the
    thread is two-way from then on)."""
    asked = w.at(when).mail(who, (rep,), subject, account=account)
    w.at(when + H).mail(rep, (who,), f"Re: {subject}", reply_to=asked, account=account)


def regular_first_week(w: World) -> None:
    """Four exchange emails with Acme in the week of MONDAY, the last Wed 12:00."""
    for n, when in enumerate((MONDAY, MONDAY + 5 * H, MONDAY + 2 * D, MONDAY + 2 * D + 2 * H)):
        exchange(w, when, subject=f"Topic {n}")


# ---------------------------------------------------------------------- gone_quiet


def test_gone_quiet_is_created_after_the_silence_and_done_on_the_next_exchange(
        database: Database) -> None:
    w = world(database, {"quiet": QUIET})
    acme = w.company("Acme", "acme.example", tier="strategic", owner="olga@ourco.example")
    w.contact(ANN, acme)
    regular_first_week(w)
    # last exchange Wed 2026-11-04 12:00; ten business days later is Wed 2026-11-18 12:00
    w.at(utc(2026, 11, 18, 11)).sweep()
    assert not w.open("gone_quiet")
    w.at(utc(2026, 11, 18, 13)).sweep()
    r = w.one("gone_quiet")
    assert r.due_at == utc(2026, 11, 18, 12)
    assert (r.owner, r.priority, r.rule, r.company_id) == ("olga@ourco.example", "high",
                                                           "quiet", acme)
    assert r.subject == "Acme has gone quiet since 2026-11-04 12:00 UTC"
    assert "4 two-way exchange emails" in (r.reason or "")
    before = w.rows()
    w.at(utc(2026, 11, 25, 9)).sweep()  # still quiet, window moved on: nothing changes
    assert w.rows() == before
    # mail nobody answers is no exchange: still quiet
    w.at(utc(2026, 11, 26, 10)).mail(RITA, (ANN,), "Checking in")
    w.at(utc(2026, 11, 26, 12)).sweep()
    assert w.one("gone_quiet").id == r.id
    exchange(w, utc(2026, 11, 27, 10), subject="Renewal")
    done = w.one("gone_quiet", "done")  # closed by the page itself, not the next sweep
    assert done.resolved_at == utc(2026, 11, 27, 11)
    w.at(utc(2026, 11, 27, 12)).sweep()
    assert w.one("gone_quiet", "done") == done
    assert done.id == r.id and done.reason == "two-way exchange on 2026-11-27 11:00 UTC"


def test_gone_quiet_needs_regular_contact_and_the_segment(database: Database) -> None:
    rules = {"quiet": QUIET,
             "quiet_smb": {**QUIET, "match": {"company_tier": ["smb"]}, "enabled": False}}
    w = world(database, rules)
    acme = w.company("Acme", "acme.example", tier="smb", owner="olga@ourco.example")
    w.contact(ANN, acme)
    regular_first_week(w)
    w.at(utc(2026, 11, 30, 9)).sweep()
    assert not w.open("gone_quiet")  # smb's first rule is disabled: no reminder
    # one exchange only (1 email < min_exchanges 4): never "regular"
    globex = w.company("Globex", "globex.example", tier="strategic")
    bob = Address("bob@globex.example", "Bob Globex")
    w.contact(bob, globex)
    exchange(w, utc(2026, 11, 30, 10), who=bob, subject="Intro")
    w.at(utc(2026, 12, 28, 9)).sweep()
    assert not w.open("gone_quiet")


def test_gone_quiet_counts_business_days_with_holidays_and_goes_to_the_strongest(
        database: Database) -> None:
    quiet = {**QUIET, "owner": "strongest_connection", "min_exchanges": 3}
    w = world(database, {"quiet": quiet}, holidays=["2026-11-11", "2026-11-12"])
    acme = w.company("Acme", "acme.example", tier="strategic")
    w.contact(ANN, acme)
    exchange(w, MONDAY, subject="Kickoff")
    exchange(w, MONDAY + 2 * D + 2 * H, rep=SAM, account="sam-mail", subject="Rollout")
    exchange(w, MONDAY + 2 * D + 4 * H, rep=SAM, account="sam-mail", subject="Pricing")
    # last exchange Wed 11-04 14:00; ten business days skipping the two holidays: 11-20 14:00
    w.at(utc(2026, 11, 20, 13)).sweep()
    assert not w.open("gone_quiet")
    w.at(utc(2026, 11, 20, 15)).sweep()
    r = w.one("gone_quiet")
    assert r.due_at == utc(2026, 11, 20, 14) and r.owner == SAM.email


def test_gone_quiet_is_superseded_when_the_segment_no_longer_selects_them(
        database: Database) -> None:
    rules = {"quiet": QUIET, "quiet_all": {**QUIET, "match": {}, "priority": "low"}}
    w = world(database, rules)
    acme = w.company("Acme", "acme.example", tier="strategic", owner="olga@ourco.example")
    w.contact(ANN, acme)
    regular_first_week(w)
    w.at(utc(2026, 11, 19, 9)).sweep()
    first = w.one("gone_quiet")
    assert first.rule == "quiet"
    with database.session() as s:
        company = s.get(Company, acme)
        assert company is not None
        company.tier = "smb"
    w.at(utc(2026, 11, 19, 10)).sweep()
    superseded = w.one("gone_quiet", "superseded")
    assert superseded.id == first.id and superseded.reason == "rule quiet_all applies now"
    now_open = w.one("gone_quiet")
    assert now_open.rule == "quiet_all" and now_open.priority == "low"


def test_gone_quiet_watches_contacts_too(database: Database) -> None:
    w = world(database, {"quiet_people": {**QUIET, "party": "contact", "match": {
        "contact_tag": ["champion"]}, "owner": "account_rep"}})
    acme = w.company("Acme", "acme.example")
    w.contact(ANN, acme, tags=("champion",))
    regular_first_week(w)
    w.at(utc(2026, 11, 19, 9)).sweep()
    r = w.one("gone_quiet")
    assert r.contact_name == "Ann Acme" and r.owner == RITA.email
    assert r.subject == "Ann Acme (Acme) has gone quiet since 2026-11-04 12:00 UTC"


# ---------------------------------------------------------------------- single_threaded


def opportunity(database: Database, company_id: int, owner: str | None = SAM.email) -> int:
    with database.session() as s:
        row = Opportunity(company_id=company_id, name="Acme renewal", stage="proposal",
                          owner=owner, is_open=True)
        s.add(row)
        s.flush()
        return row.id


def test_single_threaded_created_then_done_when_a_second_contact_engages(
        database: Database) -> None:
    w = world(database, {"threaded": THREADED})
    acme = w.company("Acme", "acme.example", tier="strategic", owner="olga@ourco.example")
    w.contact(ANN, acme)
    w.contact(CARL, acme)
    deal = opportunity(database, acme)
    exchange(w, MONDAY)
    w.at(MONDAY + 3 * H).sweep()
    r = w.one("single_threaded")
    assert (r.owner, r.opportunity_id, r.contact_name) == (SAM.email, deal, "Ann Acme")
    assert r.subject == "Acme renewal: only Ann Acme (Acme) is engaged — find a second contact"
    before = w.rows()
    w.at(MONDAY + 4 * H).sweep()
    assert w.rows() == before
    w.at(MONDAY + D).meeting("u1", MONDAY + D + H, attendees=(CARL,))
    done = w.one("single_threaded", "done")  # closed by the calendar page
    assert done.resolved_at == MONDAY + D
    w.at(MONDAY + D + 3 * H).sweep()
    assert w.one("single_threaded", "done") == done
    assert done.id == r.id and done.reason == "2 contacts engaged in the last 30 days"


def test_single_threaded_superseded_when_the_deal_closes_and_only_in_segment(
        database: Database) -> None:
    w = world(database, {"threaded": THREADED})
    acme = w.company("Acme", "acme.example", tier="strategic", owner="olga@ourco.example")
    w.contact(ANN, acme)
    deal = opportunity(database, acme, owner=None)
    globex = w.company("Globex", "globex.example", tier="smb")
    bob = Address("bob@globex.example", "Bob Globex")
    w.contact(bob, globex)
    opportunity(database, globex)
    exchange(w, MONDAY)
    exchange(w, MONDAY + H, who=bob, subject="Globex deal")
    w.at(MONDAY + 3 * H).sweep()
    r = w.one("single_threaded")  # Globex is not in the segment
    assert r.company_id == acme and r.owner == "olga@ourco.example"  # no deal owner
    with database.session() as s:
        row = s.get(Opportunity, deal)
        assert row is not None
        row.is_open = False
    w.at(MONDAY + 4 * H).sweep()
    closed = w.one("single_threaded", "superseded")
    assert closed.id == r.id and closed.reason == "the opportunity is closed"


def test_single_threaded_ends_when_the_window_has_nobody(database: Database) -> None:
    w = world(database, {"threaded": {**THREADED, "window_days": 10}})
    acme = w.company("Acme", "acme.example", tier="strategic")
    w.contact(ANN, acme)
    opportunity(database, acme)
    exchange(w, MONDAY)
    w.at(MONDAY + 3 * H).sweep()
    assert w.one("single_threaded").status == "open"
    w.at(MONDAY + 11 * D).sweep()
    assert w.one("single_threaded", "superseded").reason == (
        "no contact engaged in the last 10 days")


def test_unknown_keys_and_wrong_owner_name_the_rule(tmp_path: Any) -> None:
    from syncd.config.loader import load_settings
    from syncd.errors import ConfigError

    path = tmp_path / "syncd.yaml"
    for body, expected in (
            ("gone_quiet\n        business_hours: 3", "reminders.rules.q"),
            ("single_threaded\n        business_days: 3", "reminders.rules.q"),
            ("gone_quiet\n        business_days: 3\n        min_exchanges: 0",
             "reminders.rules.q.min_exchanges"),
            ("follow_up\n        business_days: 3\n        owner: opportunity_owner",
             "reminders.rules.q"),
    ):
        path.write_text(f"reminders:\n  rules:\n    q:\n        kind: {body}\n",
                        encoding="utf-8")
        try:
            load_settings(path)
        except ConfigError as exc:
            assert expected in str(exc), str(exc)
        else:
            raise AssertionError(body)
    assert date(2026, 11, 2).weekday() == 0
