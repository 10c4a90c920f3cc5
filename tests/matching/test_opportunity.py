"""matching.opportunity.choose_opportunity: one open, several, rep ownership."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import OpportunityChoice, OpportunityRef, choose_opportunity

Opp = OpportunityRef


@pytest.mark.parametrize(
    ("opportunities", "rep", "expected"),
    [
        ([], "rep@ourco.com", OpportunityChoice(None, "the company has no open opportunity")),
        ([Opp(1, "rep@ourco.com", open=False)], "rep@ourco.com",
         OpportunityChoice(None, "the company has no open opportunity")),
        ([Opp(7, "other@ourco.com"), Opp(2, "rep@ourco.com", open=False)], "rep@ourco.com",
         OpportunityChoice(7, "opportunity 7 is the company's only open one")),
        ([Opp(7, None)], None,
         OpportunityChoice(7, "opportunity 7 is the company's only open one")),
        ([Opp(9, "other@ourco.com"), Opp(4, "Rep@OurCo.com")], "rep@ourco.com",
         OpportunityChoice(4, "2 open opportunities (4, 9); 4 is owned by rep@ourco.com")),
        ([Opp(9, "Jane Doe"), Opp(4, "John Roe")], " jane doe ",
         OpportunityChoice(9, "2 open opportunities (4, 9); 9 is owned by jane doe")),
        ([Opp(9, "other@ourco.com"), Opp(4, None)], "rep@ourco.com",
         OpportunityChoice(None, "2 open opportunities (4, 9), none owned by rep@ourco.com")),
        ([Opp(9, "rep@ourco.com"), Opp(4, "rep@ourco.com"), Opp(5, "x@ourco.com")], "rep@ourco.com",
         OpportunityChoice(None, "3 open opportunities (4, 5, 9); rep@ourco.com owns several "
                                 "(4, 9)")),
        ([Opp(9, "rep@ourco.com"), Opp(4, "x@ourco.com")], None,
         OpportunityChoice(None, "2 open opportunities (4, 9) and no rep to choose by")),
    ],
)
def test_choose_opportunity_table(opportunities: list[OpportunityRef], rep: str | None,
                                  expected: OpportunityChoice) -> None:
    assert choose_opportunity(opportunities, rep=rep) == expected
    assert choose_opportunity(reversed(opportunities), rep=rep) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(Opp, st.integers(1, 50), st.sampled_from([None, "a@x.com", "B@X.com",
                                                                      "c@x.com", "Dana"]),
                          st.booleans()), unique_by=lambda o: o.id, max_size=6),
       st.sampled_from([None, "a@x.com", "b@x.com", "dana", "zed@x.com"]), st.randoms())
def test_choice_ignores_order_and_only_picks_open_ones(
    opportunities: list[OpportunityRef], rep: str | None, rng: random.Random
) -> None:
    shuffled = list(opportunities)
    rng.shuffle(shuffled)
    choice = choose_opportunity(opportunities, rep=rep)
    assert choose_opportunity(shuffled, rep=rep) == choice
    open_ids = {o.id for o in opportunities if o.open}
    if choice.opportunity_id is not None:
        assert choice.opportunity_id in open_ids
    if len(open_ids) == 1:
        assert choice.opportunity_id in open_ids
