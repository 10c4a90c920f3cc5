"""The rollup rules as pure functions: what counts, two-way exchanges, windows, decay,
and that a stored rollup stays right as the clock moves."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.store.rollup_facts import (
    HALF_LIFE,
    HORIZON,
    RepFacts,
    Seen,
    exchange_emails,
    rep_facts,
    score,
    seen,
    strength,
    summarize,
    view,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return NOW + timedelta(days=n)


def mail(i: int, when: datetime, flow: str | None, thread: int | None = 1) -> Seen:
    return Seen(i, "email", when, thread, flow, True)


def test_how_an_interaction_counts_for_a_party() -> None:
    inbound = seen(1, True, False, "email", NOW, "inbound", 7, None, False)
    assert (inbound.flow, inbound.counted) == ("in", True)
    assert seen(2, False, True, "email", NOW, "inbound", 7, None, False).flow is None  # cc'd
    assert seen(3, False, True, "email", NOW, "outbound", 7, None, False).flow == "out"
    deleted_mail = seen(4, True, False, "email", NOW, "inbound", 7, None, True)
    assert deleted_mail.counted  # a rep deleting a mail does not undo it
    assert not seen(5, False, False, "meeting", NOW, "outbound", None, "cancelled",
                    False).counted
    assert not seen(6, False, False, "meeting", NOW, "outbound", None, "confirmed",
                    True).counted
    call = seen(7, False, False, "call", NOW, "outbound", None, None, False)
    assert (call.flow, call.counted) == (None, True)


def test_an_exchange_needs_both_directions_in_one_thread() -> None:
    outreach = [mail(1, day(-10), "out"), mail(2, day(-9), "out")]
    assert exchange_emails(outreach) == []  # nobody answered
    answered = [*outreach, mail(3, day(-5), "in"), mail(4, day(-4), "out"),
                mail(5, day(-3), "in", thread=2)]  # thread 2: only their side
    assert [s.id for s in exchange_emails(answered)] == [3, 4]
    stored, exchanges = summarize(answered, horizon=NOW - HORIZON)
    assert stored.last_exchange_at == day(-4)
    assert stored.last_inbound_at == day(-3) and stored.last_outbound_at == day(-4)
    assert [s.id for s in exchanges] == [3, 4]


def test_windows_meetings_and_first_last_at_read_time() -> None:
    history = [mail(1, day(-400), "in"), mail(2, day(-100), "in"), mail(3, day(-20), "out"),
               Seen(10, "meeting", day(-60), None, None, True),
               Seen(11, "meeting", day(2), None, None, True),
               Seen(12, "meeting", day(1), None, None, False),  # cancelled
               Seen(13, "note", day(-1), None, None, True)]
    stored, _ = summarize(history, horizon=NOW - HORIZON)
    rollup = view(stored, {}, now=NOW, open_reminders=2)
    assert rollup.first_interaction_at == day(-400)
    assert rollup.last_interaction_at == day(-1)
    assert rollup.next_meeting_at == day(2)
    assert (rollup.interactions_30d, rollup.interactions_90d, rollup.interactions_365d) == (
        2, 3, 4)
    assert (rollup.interactions_total, rollup.upcoming_meetings) == (5, 1)
    assert rollup.open_reminders == 2
    later = view(stored, {}, now=day(3))  # the meeting happened: no longer "next"
    assert later.next_meeting_at is None and later.last_interaction_at == day(2)
    assert later.interactions_30d == 3 and later.interactions_total == 6


def test_only_future_meetings_are_not_yet_a_first_interaction() -> None:
    stored, _ = summarize([Seen(1, "meeting", day(5), None, None, True)], horizon=NOW - HORIZON)
    assert view(stored, {}, now=NOW).first_interaction_at is None
    assert view(stored, {}, now=day(6)).first_interaction_at == day(5)


def test_strength_halves_every_half_life_and_the_order_of_reps_never_changes() -> None:
    one = score([NOW])
    assert math.isclose(strength(one, NOW), 1.0)
    assert math.isclose(strength(one, NOW + HALF_LIFE), 0.5)
    assert math.isclose(strength(score([NOW, NOW - HALF_LIFE]), NOW), 1.5)
    exchanges = [mail(1, day(-2), "in"), mail(2, day(-1), "out"), mail(3, day(-300), "in"),
                 mail(4, day(-299), "out")]
    reps = rep_facts(exchange_emails(exchanges),
                     {1: {"a@o"}, 2: {"a@o"}, 3: {"b@o"}, 4: {"b@o", "a@o"}})
    assert reps["b@o"].exchanges == 1 and reps["a@o"].exchanges == 3
    for when in (NOW, day(100), day(1000)):
        assert [r.rep for r in view(None, reps, now=when).top_reps] == ["a@o", "b@o"]


def test_scores_do_not_overflow_far_from_the_epoch() -> None:
    far = datetime(2200, 1, 1, tzinfo=UTC)
    assert math.isclose(strength(score([far] * 4), far), 4.0)


moments = st.integers(-900, 120).map(lambda d: day(d) + timedelta(minutes=d * 7 % 1440))
histories = st.lists(st.tuples(st.sampled_from(["email", "meeting", "call"]), moments,
                               st.sampled_from(["in", "out", None]), st.integers(0, 3),
                               st.booleans()), max_size=30)


@settings(max_examples=300, deadline=None)
@given(histories, st.integers(0, 60), st.integers(0, 400))
def test_a_stored_rollup_stays_right_as_the_clock_moves(
        raw: list[tuple[str, datetime, str | None, int, bool]], age: int, later: int) -> None:
    """Stored at ``now - age`` and read at ``now + later``: the same as stored at the read."""
    history = [Seen(i, kind, when, thread if kind == "email" else None,
                    flow if kind == "email" else None, counted or kind != "meeting")
               for i, (kind, when, flow, thread, counted) in enumerate(raw)]
    stored_then, _ = summarize(history, horizon=day(-age) - HORIZON)
    read_at = day(later)
    fresh, _ = summarize(history, horizon=read_at - HORIZON)
    assert view(stored_then, {}, now=read_at) == view(fresh, {}, now=read_at)


def test_rep_facts_are_deterministic_whatever_the_order() -> None:
    exchanges = [mail(i, day(-i), "in" if i % 2 else "out") for i in range(1, 9)]
    reps_of = {i: {"a@o"} for i in range(1, 9)}
    forward = rep_facts(exchange_emails(exchanges), reps_of)
    backward = rep_facts(exchange_emails(list(reversed(exchanges))), reps_of)
    assert forward == backward
    assert isinstance(forward["a@o"], RepFacts)
