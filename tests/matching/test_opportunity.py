"""matching.opportunity.choose_opportunity: one open, several, rep ownership."""

from __future__ import annotations

import pytest

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
