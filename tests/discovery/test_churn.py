"""Journey outcomes, churn points and where non-converters went, on a hand-made log; planted churn points found."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import (
    ChurnRule,
    JourneyDefinition,
    StageModel,
    churn_points,
    journey_map,
    journey_outcomes,
    outcome_counts,
    outcome_sentence,
    suggest_definition,
    where_they_went,
)
from tests.discovery import demo_frame, journeys

DAY = 24 * 60

MODEL = StageModel(
    stage_of={
        "visit": "discovery",
        "quote": "consideration",
        "buy": "purchase",
        "bill": "post-purchase",
        "dispute": "post-purchase",
        "cancel": "post-purchase",
    }
)
DEFINITION = JourneyDefinition(goal=("buy",), stages=MODEL, churn=ChurnRule(("cancel",), inactivity_days=60))


def days(case: str, *steps: tuple[str, float]) -> list[tuple]:
    return [(case, activity, day * DAY) for activity, day in steps]


# The log ends on day 200 (finn's cancel). With 60 days of silence:
# anna buys then cancels after a dispute (converted, then churned), bob leaves after a quote on day 1 (churned),
# carl buys (converted), dana was last seen on day 160 (censored), eve on day 140, exactly 60 days before the end
# (churned), finn cancels after a bill, long after his dispute (converted, then churned), gina only cancels
# (churned, at no step).
LOG = journeys(
    *days("anna", ("visit", 0), ("quote", 1), ("buy", 2), ("bill", 30), ("dispute", 31), ("cancel", 32)),
    *days("bob", ("visit", 0), ("quote", 1)),
    *days("carl", ("visit", 0), ("buy", 3), ("bill", 40)),
    *days("dana", ("visit", 150), ("quote", 160)),
    *days("eve", ("visit", 140)),
    *days("finn", ("visit", 0), ("buy", 1), ("bill", 10), ("dispute", 20), ("bill", 50), ("cancel", 200)),
    *days("gina", ("cancel", 100)),
)


@pytest.fixture
def log(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


# --- outcomes ----------------------------------------------------------------------------------------------------


def test_each_rule_gives_its_outcome(log: Engine) -> None:
    assert journey_outcomes(log, DEFINITION).to_dict() == {
        "anna": "converted_then_churned",  # a churn touchpoint after her last goal step
        "bob": "churned",  # silent for 199 days without converting
        "carl": "converted",
        "dana": "censored",  # last seen 40 days before the log's end
        "eve": "churned",  # silent for exactly 60 days
        "finn": "converted_then_churned",
        "gina": "churned",  # a churn touchpoint, never converted
    }


def test_the_headline_rates_leave_censored_journeys_out_of_churn_only(log: Engine) -> None:
    counted = outcome_counts(log, DEFINITION)
    assert (counted.converted, counted.converted_then_churned, counted.churned, counted.censored) == (1, 2, 3, 1)
    assert counted.conversion_rate == 3 / 7  # of every journey: censored ones have not converted
    assert counted.churn_rate == 5 / 6  # of the decided journeys


def test_coming_back_after_a_churn_touchpoint_is_converting(settings: Settings) -> None:
    came_back = journeys(("kim", "cancel", 0), ("kim", "buy", DAY), ("lea", "buy", 0), ("lea", "cancel", DAY))
    with Engine.from_frame(came_back, settings) as engine:
        assert journey_outcomes(engine, DEFINITION).to_dict() == {"kim": "converted", "lea": "converted_then_churned"}


def test_journeys_inside_the_window_are_censored_not_churned(log: Engine) -> None:
    longer_silence = JourneyDefinition(goal=("buy",), stages=MODEL, churn=ChurnRule(("cancel",), 61))
    assert journey_outcomes(log, longer_silence)[["bob", "dana", "eve"]].tolist() == [
        "churned",
        "censored",
        "censored",
    ]


def test_without_a_silence_rule_undecided_journeys_stay_censored(log: Engine) -> None:
    no_silence = JourneyDefinition(goal=("buy",), stages=MODEL, churn=ChurnRule(("cancel",)))
    outcomes = journey_outcomes(log, no_silence)
    assert outcomes[["bob", "dana", "eve", "gina"]].tolist() == ["censored", "censored", "censored", "churned"]


def test_only_the_goal_converts_not_a_later_stage(settings: Settings) -> None:
    billed_only = journeys(
        ("ivan", "bill", 0), ("jo", "visit", 0), ("jo", "visit", 200 * DAY), ("kim", "buy", 0), ("kim", "cancel", 1)
    )
    with Engine.from_frame(billed_only, settings) as engine:
        assert journey_outcomes(engine, DEFINITION)["ivan"] == "churned"  # silent 200 days, never bought


def test_without_a_goal_nobody_converts_and_neither_rate_is_a_number(log: Engine) -> None:
    no_goal = JourneyDefinition(stages=MODEL, churn=ChurnRule(("cancel",), 60))
    counted = outcome_counts(log, no_goal)
    assert counted.converted_total == 0
    assert counted.conversion_rate != counted.conversion_rate  # NaN
    # anna, bob, eve, finn and gina churned, dana is open and carl (silent 160 days) too: every decided journey is a
    # churn, so a churn rate would read 100 % whatever the customers did.
    assert (counted.churned_total, counted.decided, counted.censored) == (6, 6, 1)
    assert counted.churn_estimable
    assert counted.churn_rate != counted.churn_rate  # NaN
    assert outcome_sentence(counted) == (
        "No goal: nobody converts. 6 journeys churned; without a goal there is no churn rate. "
        "1 journeys are still open (censored)."
    )
    assert no_goal.rules_in_words().endswith("no churn rate is given without a goal, as it would read 100 %.")


def test_without_a_goal_churn_points_keep_where_journeys_ended_but_no_lift_against_everyone(log: Engine) -> None:
    points = churn_points(log, JourneyDefinition(stages=MODEL, churn=ChurnRule(("cancel",), 60)))
    quote = points.activities.set_index("activity").loc["quote"]
    # anna and bob passed it with their outcome decided (dana is still open); bob left right after it
    assert (quote["customers"], quote["churned"]) == (2, 1)
    assert quote["churn_rate"] == 0.5
    assert points.activities["lift_overall"].isna().all()
    # …but a map draws no churn point: every ended journey is "churned" then, its usual last step the worst of all.
    assert points.by_activity == {}
    assert not journey_map(log, churn=points.by_activity).nodes["churn_point"].any()


def test_churn_is_not_estimated_while_most_journeys_are_open(log: Engine) -> None:
    one_year = JourneyDefinition(goal=("buy",), stages=MODEL, churn=ChurnRule((), 365))
    counted = outcome_counts(log, one_year)
    assert counted.censored == 4  # bob, dana, eve, gina: no one is silent for a year
    assert not counted.churn_estimable
    assert counted.churn_rate != counted.churn_rate  # NaN


def test_filters_keep_the_end_of_the_whole_log(log: Engine) -> None:
    # Alone, dana's journey would end the log on day 160; the window is still measured from day 200.
    assert journey_outcomes(log, DEFINITION, filters=Filters(case_ids={"dana", "bob"})).to_dict() == {
        "bob": "churned",
        "dana": "censored",
    }


def test_a_bad_definition_lists_every_problem(log: Engine) -> None:
    unknown = JourneyDefinition(goal=("buying",), stages=MODEL, churn=ChurnRule(("cancelled", "quit")))
    with pytest.raises(LogError) as caught:
        journey_outcomes(log, unknown)
    assert [problem.value for problem in caught.value.problems] == ["buying", "cancelled", "quit"]
    for days_of_silence in (-1, 0, float("nan"), True):
        with pytest.raises(LogError):
            ChurnRule(inactivity_days=days_of_silence)
    with pytest.raises(LogError):
        JourneyDefinition(goal=("buy",), churn=ChurnRule(("buy",)))


# --- churn points ------------------------------------------------------------------------------------------------


def test_churn_points_count_the_step_churners_left_after(log: Engine) -> None:
    points = churn_points(log, DEFINITION)
    table = points.activities.set_index("activity")
    # dana is censored and counts nowhere; gina churned at no step; cancel is churn, not a step.
    assert table["customers"].to_dict() == {"visit": 5, "quote": 2, "buy": 3, "bill": 3, "dispute": 2}
    assert table["churned"].to_dict() == {"visit": 1, "quote": 1, "buy": 0, "bill": 1, "dispute": 1}
    assert points.outcomes == outcome_counts(log, DEFINITION)
    assert points.base_churn_rate == 5 / 6


def test_a_customer_who_converts_then_churns_churns_after_the_step_before_the_churn(settings: Settings) -> None:
    # Both cancel once before buying and once after: the churn step is the one before the cancel after the buy.
    log = journeys(
        ("mo", "cancel", 0), ("mo", "buy", DAY), ("mo", "bill", 2 * DAY), ("mo", "cancel", 3 * DAY),
        ("mo", "dispute", 4 * DAY), ("mo", "cancel", 5 * DAY),
    )  # fmt: skip
    with Engine.from_frame(log, settings) as engine:
        table = churn_points(engine, DEFINITION).activities.set_index("activity")
    assert table["churned"].to_dict() == {"buy": 0, "bill": 1, "dispute": 0}


def test_lift_against_everyone_is_against_every_decided_journey(log: Engine) -> None:
    table = churn_points(log, DEFINITION).activities.set_index("activity")
    assert table.loc["quote", "lift_overall"] == pytest.approx((1 / 2) / (5 / 6))
    assert table.loc["visit", "lift_overall"] == pytest.approx((1 / 5) / (5 / 6))


def test_lift_is_against_the_churn_of_the_same_stage(log: Engine) -> None:
    table = churn_points(log, DEFINITION).activities.set_index("activity")
    # post-purchase pools bill (1 of 3) and dispute (1 of 2): 2 churned of 5.
    assert table.loc["dispute", "base_rate"] == 2 / 5
    assert table.loc["dispute", "lift"] == pytest.approx((1 / 2) / (2 / 5))
    assert table.loc["bill", "lift"] == pytest.approx((1 / 3) / (2 / 5))
    assert table.loc["visit", "lift"] == 1.0  # the only discovery step
    assert table.loc["buy", "score"] == 0.0


def test_rates_carry_a_wilson_interval(log: Engine) -> None:
    table = churn_points(log, DEFINITION).activities.set_index("activity")
    assert table.loc["quote", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.0945, 0.9055], abs=1e-4)
    assert table.loc["buy", "ci_low"] == 0.0


def test_points_are_sorted_by_the_low_end_of_their_lift(log: Engine) -> None:
    table = churn_points(log, DEFINITION).activities
    assert table["score"].is_monotonic_decreasing
    assert table["score"].tolist() == pytest.approx((table["ci_low"] / table["base_rate"]).fillna(0).tolist())


def test_transitions_count_the_step_before_the_churn_step(log: Engine) -> None:
    table = churn_points(log, DEFINITION).transitions.set_index(["source", "target"])
    assert table.loc[("bill", "dispute"), ["customers", "churned"]].tolist() == [2, 1]  # anna churned, finn went on
    assert table.loc[("dispute", "bill"), ["customers", "churned"]].tolist() == [1, 1]  # finn
    assert table.loc[("visit", "quote"), ["customers", "churned"]].tolist() == [2, 1]  # bob
    assert not table.index.get_level_values("target").isin(["cancel"]).any()


def test_churn_per_activity_is_a_mapping_for_the_journey_map(log: Engine) -> None:
    dispute = churn_points(log, DEFINITION).by_activity["dispute"]
    assert (dispute.churned, dispute.churn_rate) == (1, 0.5)


def test_churn_points_are_json_safe(log: Engine) -> None:
    assert json.loads(json.dumps(churn_points(log, DEFINITION).to_dict()))["outcomes"]["censored"] == 1


# --- where they went ---------------------------------------------------------------------------------------------


def test_where_they_went_after_an_activity_by_how_their_journey_ended(log: Engine) -> None:
    # After their last visit: carl bought (converted); anna asked for a quote and finn bought (both converted,
    # then churned); bob asked for a quote and eve stopped (churned); dana asked for a quote (still open).
    went = where_they_went(log, "visit", DEFINITION, top=1)
    assert went.groups.set_index("outcome")[["customers", "stopped", "others"]].to_dict("index") == {
        "converted": {"customers": 1, "stopped": 0, "others": 0},
        "converted_then_churned": {"customers": 2, "stopped": 0, "others": 1},
        "churned": {"customers": 2, "stopped": 1, "others": 0},
        "censored": {"customers": 1, "stopped": 0, "others": 0},
    }
    assert went.next_steps.to_dict("records") == [
        {"outcome": "converted", "activity": "buy", "customers": 1, "share": 1.0},
        {"outcome": "converted_then_churned", "activity": "buy", "customers": 1, "share": 0.5},
        {"outcome": "churned", "activity": "quote", "customers": 1, "share": 0.5},
        {"outcome": "censored", "activity": "quote", "customers": 1, "share": 1.0},
    ]
    assert went.customers == 6


def test_where_they_went_rejects_unknown_activities(log: Engine) -> None:
    with pytest.raises(LogError) as caught:
        where_they_went(log, "visits", DEFINITION, top=0)
    assert len(caught.value.problems) == 2


# --- the demo logs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["telecom", "shop"])
def test_the_planted_churn_points_top_the_table(scenario: str, settings: Settings) -> None:
    demo = generate_demo(2000, scenario=scenario, seed=0)
    with Engine.from_frame(demo_frame(demo), settings) as engine:
        points = churn_points(engine, suggest_definition(engine))
    assert points.churn_touchpoints == demo.churn_activities
    planted = set(demo.churn_points.index)
    assert set(points.activities["activity"].head(len(planted))) == planted


def test_where_they_went_after_a_last_step_is_only_stopping(log: Engine) -> None:
    went = where_they_went(log, "cancel", DEFINITION)
    assert went.next_steps.empty
    assert went.groups["stopped"].tolist() == went.groups["customers"].tolist() == [0, 2, 1, 0]
