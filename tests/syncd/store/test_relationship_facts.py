"""Reply times and strength as pure functions: medians within threads, decay with
silence, one-way mail counting for little, and the stored decayed sums read at any
later time equalling the formula applied to every interaction (property-tested)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from syncd.store.relationship_facts import (
    StrengthParams,
    Weights,
    current_activity,
    current_strength,
    facts,
    replies,
)
from syncd.store.rollup_facts import Seen

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
HALF = timedelta(days=30)


def mail(i: int, flow: str, at: datetime, thread: int = 1) -> Seen:
    return Seen(i, "email", at, thread, flow, True)


def meeting(i: int, at: datetime, counted: bool = True) -> Seen:
    return Seen(i, "meeting", at, None, None, counted)


def test_reply_times_are_medians_from_the_first_unanswered_mail() -> None:
    history = [mail(1, "in", T0), mail(2, "in", T0 + H),      # two asks, one answer: 3 h
               mail(3, "out", T0 + 3 * H),
               mail(4, "in", T0 + 5 * H),                       # they answered in 2 h
               mail(5, "out", T0 + 6 * H),                      # we answered in 1 h
               mail(6, "out", T0 + D, thread=2),                # unanswered outreach
               mail(7, "in", T0, thread=3), mail(8, "out", T0 + 5 * H, thread=3)]  # 5 h
    r = replies(history)
    assert (r.ours, r.ours_median) == (3, 3 * 3600.0)
    assert (r.theirs, r.theirs_median) == (1, 2 * 3600.0)


def test_strength_rises_with_exchanges_and_meetings_and_decays_with_silence() -> None:
    history = [mail(1, "in", T0), mail(2, "out", T0 + H), meeting(3, T0 + 2 * D),
               mail(4, "out", T0 + 3 * D, thread=2)]  # one-way
    reps = {1: ["rita"], 2: ["rita"], 3: ["rita", "sam"], 4: ["sam"]}
    f = facts(history, reps, HALF)
    rita, sam = f.reps["rita"], f.reps["sam"]
    assert (rita.two_way_count, rita.meeting_count, rita.one_way_count) == (1, 1, 1)
    assert (sam.two_way_count, sam.meeting_count, sam.one_way_count) == (0, 1, 1)
    params = StrengthParams()
    at = T0 + 3 * D
    assert current_strength(rita, params, at) > current_strength(sam, params, at) > 0
    later = [current_strength(rita, params, at + n * HALF) for n in range(4)]
    assert later == sorted(later, reverse=True) and later[-1] < later[0] / 4
    # a half-life of silence halves the activity
    assert math.isclose(current_activity(rita, params.weights, at + HALF),
                        current_activity(rita, params.weights, at) / 2)
    # exchange days: the answer is the exchange
    assert f.exchange_days == {(T0 + H).date(): 1}


def test_one_way_mail_counts_for_little() -> None:
    newsletter = [mail(i, "out", T0 + i * H, thread=i) for i in range(1, 21)]
    talk = [mail(100, "in", T0), mail(101, "out", T0 + H),
             mail(102, "in", T0 + 2 * H), mail(103, "out", T0 + 3 * H)]
    params = StrengthParams()
    at = T0 + D
    twenty_unanswered = facts(newsletter, {s.id: ["rita"] for s in newsletter}, HALF)
    one_conversation = facts(talk, {s.id: ["rita"] for s in talk}, HALF)
    assert (current_strength(twenty_unanswered.reps["rita"], params, at)
            < current_strength(one_conversation.reps["rita"], params, at))
    assert current_strength(twenty_unanswered.reps["rita"], params, at) < 20


def test_weights_and_saturation_apply_at_read() -> None:
    f = facts([meeting(1, T0)], {1: ["rita"]}, HALF)
    row = f.reps["rita"]
    assert math.isclose(current_strength(row, StrengthParams(saturation=2.0), T0), 50.0)
    assert current_strength(row, StrengthParams(weights=Weights(meeting=0.0)), T0) == 0.0
    # a scheduled meeting counts as of its start until then (no growth before it)
    assert current_strength(row, StrengthParams(), T0 - D) == current_strength(
        row, StrengthParams(), T0)


moments = st.lists(st.tuples(st.sampled_from(["in", "out", "meeting"]), st.integers(0, 3),
                             st.integers(0, 400 * 24)), min_size=1, max_size=25)


@given(moments, st.integers(0, 800), st.sampled_from([7.0, 30.0, 90.0]))
def test_stored_sums_read_later_equal_the_formula(
        script: list[tuple[str, int, int]], read_days: int, half_days: float) -> None:
    history = [meeting(i, T0 + k * H) if kind == "meeting" else mail(i, kind, T0 + k * H, t)
               for i, (kind, t, k) in enumerate(script)]
    half = timedelta(days=half_days)
    f = facts(history, {s.id: ["rita"] for s in history}, half)
    if "rita" not in f.reps:
        return
    row = f.reps["rita"]
    weights = Weights()
    two_way = {s.id for s in history if s.flow} - {
        s.id for s in history if s.flow and not _is_exchange(s, history)}
    now = max(s.occurred_at for s in history) + timedelta(days=read_days)
    expected = math.fsum(
        (weights.meeting if s.kind == "meeting" else
         weights.two_way if s.id in two_way else weights.one_way)
        * 2.0 ** (-(now - s.occurred_at) / half) for s in history)
    assert math.isclose(current_activity(row, weights, now), expected, rel_tol=1e-9,
                        abs_tol=1e-300)
    # recomputing from the same rows gives the same row, bit for bit
    assert facts(list(reversed(history)), {s.id: ["rita"] for s in history}, half) == f


def _is_exchange(s: Seen, history: list[Seen]) -> bool:
    same = [m for m in history if m.thread_id == s.thread_id and m.flow]
    first_in = min((m.occurred_at for m in same if m.flow == "in"), default=None)
    first_out = min((m.occurred_at for m in same if m.flow == "out"), default=None)
    return (first_in is not None and first_out is not None
            and s.occurred_at >= max(first_in, first_out))
