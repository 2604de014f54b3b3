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
from discovery import ChurnDefinition, StageModel, churn_points, journey_outcomes, suggest_stages, where_they_went
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


def days(case: str, *steps: tuple[str, float]) -> list[tuple]:
    return [(case, activity, day * DAY) for activity, day in steps]


# The log ends on day 200 (finn's cancel). With the default 60 days of silence:
# anna buys then cancels after a dispute (churned), bob leaves after a quote on day 1 (churned),
# carl buys (converted), dana was last seen on day 160 (censored), eve on day 140, exactly 60 days before the end
# (churned), finn cancels after a bill, long after his dispute (churned), gina only cancels (churned, at no step).
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
    assert journey_outcomes(log, MODEL).to_dict() == {
        "anna": "churned",  # rule 1: an explicit churn activity, even after buying
        "bob": "churned",  # rule 3: silent for 199 days before converting
        "carl": "converted",  # rule 2
        "dana": "censored",  # rule 4: last seen 40 days before the log's end
        "eve": "churned",  # rule 3: silent for exactly 60 days
        "finn": "churned",
        "gina": "churned",
    }


def test_journeys_inside_the_window_are_censored_not_churned(log: Engine) -> None:
    longer_silence = ChurnDefinition(inactivity_days=61)
    assert journey_outcomes(log, MODEL, longer_silence)[["bob", "dana", "eve"]].tolist() == [
        "churned",
        "censored",
        "censored",
    ]


def test_without_a_silence_rule_undecided_journeys_are_active(log: Engine) -> None:
    outcomes = journey_outcomes(log, MODEL, ChurnDefinition(inactivity_days=None))
    assert outcomes[["bob", "dana", "eve", "anna"]].tolist() == ["active", "active", "active", "churned"]


def test_reaching_a_stage_after_the_goal_is_converting(settings: Settings) -> None:
    billed_only = journeys(("ivan", "bill", 0), ("jo", "visit", 0), ("jo", "visit", 200 * DAY))
    with Engine.from_frame(billed_only, settings) as engine:
        assert journey_outcomes(engine, MODEL)["ivan"] == "converted"


def test_filters_keep_the_end_of_the_whole_log(log: Engine) -> None:
    # Alone, dana's journey would end the log on day 160; the window is still measured from day 200.
    assert journey_outcomes(log, MODEL, filters=Filters(case_ids={"dana", "bob"})).to_dict() == {
        "bob": "churned",
        "dana": "censored",
    }


def test_churn_activities_are_recognised_by_keyword() -> None:
    names = [
        "cancel_subscription",
        "Résiliation",
        "unsubscribe",
        "subscribe",
        "port_out_number",
        "Demande de portabilité",
        "close_account",
        "visit",
    ]
    assert ChurnDefinition().churn_activities_in(names) == (
        "cancel_subscription",
        "Résiliation",
        "unsubscribe",
        "port_out_number",
        "Demande de portabilité",
        "close_account",
    )
    assert ChurnDefinition(churn_activities="visit").churn_activities_in(names) == ("visit",)


def test_a_bad_definition_lists_every_problem(log: Engine) -> None:
    with pytest.raises(LogError) as caught:
        journey_outcomes(log, MODEL, ChurnDefinition(churn_activities=["cancelled", "quit"], goal_stage="buying"))
    assert [problem.value for problem in caught.value.problems] == ["cancelled", "quit", "buying"]
    with pytest.raises(LogError):
        ChurnDefinition(inactivity_days=-1)


# --- churn points ------------------------------------------------------------------------------------------------


def test_churn_points_count_the_step_churners_left_after(log: Engine) -> None:
    points = churn_points(log, MODEL)
    table = points.activities.set_index("activity")
    # dana is censored and counts nowhere; gina churned at no step; cancel is churn, not a step.
    assert table["customers"].to_dict() == {"visit": 5, "quote": 2, "buy": 3, "bill": 3, "dispute": 2}
    assert table["churned"].to_dict() == {"visit": 1, "quote": 1, "buy": 0, "bill": 1, "dispute": 1}
    assert (points.churned, points.converted, points.censored, points.active) == (5, 1, 1, 0)
    assert points.base_churn_rate == 5 / 6


def test_lift_is_against_the_churn_of_the_same_stage(log: Engine) -> None:
    table = churn_points(log, MODEL).activities.set_index("activity")
    # post-purchase pools bill (1 of 3) and dispute (1 of 2): 2 churned of 5.
    assert table.loc["dispute", "base_rate"] == 2 / 5
    assert table.loc["dispute", "lift"] == pytest.approx((1 / 2) / (2 / 5))
    assert table.loc["bill", "lift"] == pytest.approx((1 / 3) / (2 / 5))
    assert table.loc["visit", "lift"] == 1.0  # the only discovery step
    assert table.loc["buy", "score"] == 0.0


def test_rates_carry_a_wilson_interval(log: Engine) -> None:
    table = churn_points(log, MODEL).activities.set_index("activity")
    assert table.loc["quote", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.0945, 0.9055], abs=1e-4)
    assert table.loc["buy", "ci_low"] == 0.0


def test_points_are_sorted_by_the_low_end_of_their_lift(log: Engine) -> None:
    table = churn_points(log, MODEL).activities
    assert table["score"].is_monotonic_decreasing
    assert table["score"].tolist() == pytest.approx((table["ci_low"] / table["base_rate"]).fillna(0).tolist())


def test_transitions_count_the_step_before_the_churn_step(log: Engine) -> None:
    table = churn_points(log, MODEL).transitions.set_index(["source", "target"])
    assert table.loc[("bill", "dispute"), ["customers", "churned"]].tolist() == [2, 1]  # anna churned, finn went on
    assert table.loc[("dispute", "bill"), ["customers", "churned"]].tolist() == [1, 1]  # finn
    assert table.loc[("visit", "quote"), ["customers", "churned"]].tolist() == [2, 1]  # bob
    assert not table.index.get_level_values("target").isin(["cancel"]).any()


def test_churn_per_activity_is_a_mapping_for_the_journey_map(log: Engine) -> None:
    dispute = churn_points(log, MODEL).by_activity["dispute"]
    assert (dispute.churned, dispute.churn_rate) == (1, 0.5)


def test_churn_points_are_json_safe(log: Engine) -> None:
    assert json.loads(json.dumps(churn_points(log, MODEL).to_dict()))["censored"] == 1


# --- where they went ---------------------------------------------------------------------------------------------


def test_where_non_converters_went_after_an_activity(log: Engine) -> None:
    # After their last visit: anna, bob and dana asked for a quote, finn bought, eve stopped; carl converted.
    went = where_they_went(log, "visit", MODEL, top=1)
    assert (went.customers, went.stopped, went.others) == (5, 1, 1)
    assert went.next_activities.to_dict("records") == [{"activity": "quote", "customers": 3, "share": 0.6}]


def test_where_they_went_rejects_unknown_activities(log: Engine) -> None:
    with pytest.raises(LogError) as caught:
        where_they_went(log, "visits", MODEL, top=0)
    assert len(caught.value.problems) == 2


# --- the demo logs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["telecom", "shop"])
def test_the_planted_churn_points_top_the_table(scenario: str, settings: Settings) -> None:
    demo = generate_demo(2000, scenario=scenario, seed=0)
    with Engine.from_frame(demo_frame(demo), settings) as engine:
        model = suggest_stages(engine)
        points = churn_points(engine, model)
    assert points.churn_activities == demo.churn_activities
    planted = set(demo.churn_points.index)
    assert set(points.activities["activity"].head(len(planted))) == planted
