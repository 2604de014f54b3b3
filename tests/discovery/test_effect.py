"""The measured effect of an action on a hand-made log whose answers are worked out below, and on a demo with a
planted action whose effect it must recover."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import replace

import pandas as pd
import pytest

from data.demo import PlantedAction, generate_demo
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import (
    Action,
    ActionTarget,
    AttributeRole,
    ChurnRule,
    DesignedJourney,
    DesignedStage,
    DesignedTouchpoint,
    JourneyDefinition,
    action_effect,
    suggest_definition,
)
from tests.discovery import demo_frame, journeys
from tests.discovery.test_churn import MODEL  # visit, quote, buy, then bill, dispute and cancel after buying

DAY = 24 * 60
GO_LIVE = dt.date(2025, 1, 16)  # day 9.6 after Monday 2025-01-06 09:00 UTC; windows of 10 days from 01-06 to 01-26

DEFINITION = JourneyDefinition(
    goal=("buy",),
    stages=MODEL,
    churn=ChurnRule(("cancel",), inactivity_days=30),
    attribute_roles={"nps": AttributeRole("score", "nps")},
)


def days(case: str, *steps: tuple[str, float]) -> list[tuple]:
    return [(case, activity, day * DAY) for activity, day in steps]


# The log ends on day 100 (z1's buy). Before the go-live: b1 buys, disputes and cancels (converted, then churned
# right after the dispute), b2 buys and disputes (converted), b3 quotes and falls silent (churned), b4 buys
# (converted), b5 is still open (censored). After it: a1 buys and disputes (converted), a2 buys, disputes and
# cancels (converted, then churned), a3 and a4 buy (converted), a5 is still open. z1 starts after both windows.
ROWS = [
    *days("b1", ("visit", 0), ("quote", 1), ("buy", 2), ("dispute", 3), ("cancel", 4)),
    *days("b2", ("visit", 1), ("buy", 2), ("dispute", 5), ("bill", 6)),
    *days("b3", ("visit", 2), ("quote", 3)),
    *days("b4", ("visit", 3), ("buy", 4)),
    *days("b5", ("visit", 8), ("quote", 80)),
    *days("a1", ("visit", 10), ("buy", 11), ("dispute", 12), ("bill", 13)),
    *days("a2", ("visit", 11), ("buy", 12), ("dispute", 13), ("cancel", 14)),
    *days("a3", ("visit", 12), ("buy", 13)),
    *days("a4", ("visit", 15), ("quote", 16), ("buy", 17), ("bill", 18)),
    *days("a5", ("visit", 18), ("quote", 90)),
    *days("z1", ("visit", 25), ("buy", 100)),
]
# NPS answers, one mean per customer: b1 10 (promoter), b2 5 (detractor), b4 8 (passive), a1 9 (promoter), a3 10
# (promoter), a4 3 and 9 (mean 6: detractor).
NPS = {("b1", "cancel"): 10, ("b2", "bill"): 5, ("b4", "buy"): 8, ("a1", "bill"): 9, ("a3", "buy"): 10}
NPS |= {("a4", "buy"): 3, ("a4", "bill"): 9}


@pytest.fixture(scope="module")
def log() -> Iterator[Engine]:
    frame = journeys(*ROWS)
    answers = [NPS.get((case, activity)) for case, activity in zip(frame["case_id"], frame["activity"], strict=True)]
    with Engine.from_frame(frame.assign(nps=pd_int(answers)), Settings()) as engine:
        yield engine


def pd_int(values: list) -> pd.arrays.IntegerArray:
    return pd.array(values, dtype="Int64")


def effect(log: Engine, target: ActionTarget, kpi: str, kpi_on: str | None = None, **options):
    action = Action("Fix it", target, kpi, kpi_on=kpi_on, go_live=GO_LIVE)
    return action_effect(log, DEFINITION, action, window_days=10, **options)


def values(result) -> list[tuple]:
    return [
        (row.group, row.period, row.customers, row.excluded, row.value) for row in result.groups.itertuples(index=False)
    ]


def test_conversion_splits_journeys_by_their_start_and_leaves_open_ones_out(log: Engine) -> None:
    result = effect(log, ActionTarget("touchpoint", "dispute"), "conversion")
    assert values(result) == [
        ("targeted", "before", 2, 0, 1.0),  # b1, b2
        ("targeted", "after", 2, 0, 1.0),  # a1, a2
        ("untargeted", "before", 2, 1, 0.5),  # b3 churned, b4 converted; b5 open
        ("untargeted", "after", 2, 1, 1.0),  # a3, a4; a5 open
    ]
    assert result.excluded == 2
    assert result.difference[0] == 0.0
    assert result.did[0] == pytest.approx(-0.5)
    assert result.did[1] < -0.5 < result.did[2]
    assert "observational" in result.caveat


def test_the_difference_of_shares_has_newcombes_interval(log: Engine) -> None:
    # 2 of 2 before and 2 of 2 after: each Wilson interval is [0.3424, 1], so the difference's is ±0.6576.
    result = effect(log, ActionTarget("touchpoint", "dispute"), "conversion")
    _, low, high = result.difference
    assert (low, high) == pytest.approx((-0.657620, 0.657620), abs=1e-6)
    assert result.figure("targeted", "before")["ci_low"] == pytest.approx(0.342380, abs=1e-6)


def test_churn_is_over_decided_journeys(log: Engine) -> None:
    result = effect(log, ActionTarget("segment", "b-and-a-ones"), "churn", segment=Filters(case_ids={"b1", "a1"}))
    assert values(result) == [
        ("targeted", "before", 1, 0, 1.0),  # b1 cancels
        ("targeted", "after", 1, 0, 0.0),
        ("untargeted", "before", 3, 1, 1 / 3),  # b3 falls silent; b2, b4 stay; b5 open
        ("untargeted", "after", 3, 1, 1 / 3),  # a2 cancels
    ]
    assert result.did[0] == pytest.approx(-1.0)


def test_churn_at_a_churn_point_is_churning_right_after_it_with_no_one_to_compare(log: Engine) -> None:
    result = effect(log, ActionTarget("churn point", "dispute"), "churn")
    assert values(result)[:2] == [("targeted", "before", 2, 0, 0.5), ("targeted", "after", 2, 0, 0.5)]
    assert [row.customers for row in result.groups.itertuples() if row.group == "untargeted"] == [0, 0]
    assert result.did is None


def test_drop_off_at_a_stage_is_the_funnels(log: Engine) -> None:
    # Of the decided journeys that got at least as far as consideration, those that never got to purchase: b3 only.
    result = effect(log, ActionTarget("stage", "consideration"), "drop-off", kpi_on="purchase")
    assert values(result) == [
        ("targeted", "before", 2, 1, 0.5),  # b1 and b3 quoted; b5 open
        ("targeted", "after", 1, 1, 0.0),  # a4; a5 open
        ("untargeted", "before", 2, 0, 0.0),  # b2, b4 bought without a quote: they got that far too
        ("untargeted", "after", 3, 0, 0.0),
    ]


def test_time_to_stage_is_a_median_with_a_bootstrap_interval(log: Engine) -> None:
    result = effect(log, ActionTarget("touchpoint", "dispute"), "time to stage", kpi_on="purchase")
    assert values(result) == [
        ("targeted", "before", 2, 0, 1.5),  # b1 2 days, b2 1 day
        ("targeted", "after", 2, 0, 1.0),
        ("untargeted", "before", 1, 0, 1.0),  # b4; b3 never bought
        ("untargeted", "after", 2, 0, 1.5),  # a3 1 day, a4 2 days
    ]
    assert result.difference[0] == -0.5 and result.did[0] == -1.0
    assert "bootstrap" in result.interval_method
    assert result.difference[1] <= -0.5 <= result.difference[2]
    again = effect(log, ActionTarget("touchpoint", "dispute"), "time to stage", kpi_on="purchase")
    assert again.groups.equals(result.groups) and again.difference == result.difference  # the bootstrap is seeded


def test_nps_counts_each_customers_mean_answer_and_leaves_nobody_out(log: Engine) -> None:
    result = effect(log, ActionTarget("touchpoint", "dispute"), "score", kpi_on="nps")
    assert values(result) == [
        ("targeted", "before", 2, 0, 0.0),  # a promoter and a detractor
        ("targeted", "after", 1, 0, 100.0),
        ("untargeted", "before", 1, 0, 0.0),
        ("untargeted", "after", 2, 0, 0.0),  # a3 promotes, a4's mean of 6 detracts
    ]
    assert result.unit == "NPS points" and "normal" in result.interval_method
    # Welch: the targeted before group's two answers ±100 have variance 20,000, the after group one answer.
    assert math.isnan(result.difference[1])


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        # CSAT, satisfied from 9: b1's 10 of b1, b2; a1's 9; nobody of b4; a3 of a3, a4.
        (AttributeRole("score", "csat", 9), [0.5, 1.0, 0.0, 0.5]),
        (AttributeRole("score", "mean"), [7.5, 9.0, 8.0, 8.0]),
    ],
)
def test_csat_and_mean_scores_follow_the_attributes_role(log: Engine, role: AttributeRole, expected: list) -> None:
    definition = replace(DEFINITION, attribute_roles={"nps": role})
    action = Action("Fix it", ActionTarget("touchpoint", "dispute"), "score", kpi_on="nps", go_live=GO_LIVE)
    result = action_effect(log, definition, action, window_days=10)
    assert result.groups["value"].tolist() == expected
    assert result.statistic == ("proportion" if role.scale == "csat" else "mean")


def test_the_weekly_chart_counts_journeys_by_the_week_they_started(log: Engine) -> None:
    weekly = effect(log, ActionTarget("touchpoint", "dispute"), "conversion").weekly
    rows = [(str(row.week.date()), row.group, row.customers, row.value) for row in weekly.itertuples()]
    assert rows == [
        ("2025-01-06", "targeted", 2, 1.0),
        ("2025-01-13", "targeted", 2, 1.0),
        ("2025-01-06", "untargeted", 2, 0.5),
        ("2025-01-13", "untargeted", 1, 1.0),
        ("2025-01-20", "untargeted", 1, 1.0),
    ]


def test_filters_narrow_every_group(log: Engine) -> None:
    result = effect(log, ActionTarget("touchpoint", "dispute"), "conversion", filters=Filters(case_ids={"b1", "a1"}))
    assert [row.customers for row in result.groups.itertuples()] == [1, 1, 0, 0]
    assert result.did is None


def test_the_result_travels_as_json(log: Engine) -> None:
    document = json.loads(json.dumps(effect(log, ActionTarget("transition", "visit → buy"), "conversion").to_dict()))
    assert document["action"]["target"] == {"kind": "transition", "value": "visit → buy"}
    assert document["groups"][1]["customers"] == 3  # a1, a2, a3 went straight from visit to buy
    assert document["excluded_censored"] == 2


@pytest.mark.parametrize(
    ("target", "kpi", "kpi_on", "says"),
    [
        (ActionTarget("touchpoint", "dispte"), "conversion", None, "Did you mean 'dispute'"),
        (ActionTarget("stage", "purchase"), "drop-off", "nowhere", "no such stage"),
        (ActionTarget("persona", "Savers"), "conversion", None, "--segment"),
        (ActionTarget("touchpoint", "buy"), "score", "visit", "score"),
        (ActionTarget("touchpoint", "buy"), "conformance", None, "designed journey"),
    ],
)
def test_what_cannot_be_measured_says_why(log: Engine, target, kpi, kpi_on, says) -> None:
    with pytest.raises(LogError, match=says):
        effect(log, target, kpi, kpi_on=kpi_on)


@pytest.mark.parametrize("kpi", ["conversion", "churn"])
def test_without_a_goal_neither_conversion_nor_churn_is_measured(log: Engine, kpi: str) -> None:
    # Nobody converts, so every ended journey is a churn: churn would read 100 % before and after the go-live (on
    # BPIC 2011, churn right after a touchpoint was measured without a goal).
    action = Action("Fix it", ActionTarget("touchpoint", "dispute"), kpi, go_live=GO_LIVE)
    with pytest.raises(LogError, match=f"No goal is chosen, so {kpi} cannot be measured"):
        action_effect(log, replace(DEFINITION, goal=()), action, window_days=10)


def test_conformance_is_the_share_of_decided_journeys_that_keep_to_the_designed_steps(log: Engine) -> None:
    # Designed: visit, then optionally quote, then buy; other touchpoints do not count against a journey. Before the
    # go-live b1, b2 and b4 keep to it and b3 (no buy) does not: 3 of 4 (b5 is still open); after it all four do.
    designed = DesignedJourney(
        (
            DesignedStage("discovery", (DesignedTouchpoint("visit"),)),
            DesignedStage("consideration", (DesignedTouchpoint("quote", required=False),)),
            DesignedStage("purchase", (DesignedTouchpoint("buy"),)),
        )
    )
    result = effect(log, ActionTarget("touchpoint", "visit"), "conformance", designed=designed)
    assert values(result)[:2] == [("targeted", "before", 4, 1, 0.75), ("targeted", "after", 4, 1, 1.0)]
    assert result.difference[0] == pytest.approx(0.25) and result.did is None
    assert result.kpi.startswith("conformance: decided journeys that keep to the designed steps")


def test_an_action_without_a_go_live_has_no_before_and_after(log: Engine) -> None:
    with pytest.raises(LogError, match="go-live"):
        action_effect(log, DEFINITION, Action("Idea", ActionTarget("touchpoint", "buy"), "conversion"))


# --- the demo: a planted action --------------------------------------------------------------------------------------

PLANTED = PlantedAction("store loyalists", "billing_dispute", churn_rate=0.05, go_live="2025-04-01")
PLANTED_BEFORE = 0.35  # the telecom scenario's churn right after a billing dispute


@pytest.mark.slow
def test_the_measured_effect_recovers_the_planted_one(settings: Settings) -> None:
    demo = generate_demo(20_000, scenario="telecom", seed=0, action=PLANTED)
    members = frozenset(demo.personas[demo.personas == PLANTED.persona].index)
    action = Action(
        "Call back after a dispute",
        ActionTarget("persona", PLANTED.persona),
        "churn",
        kpi_on=PLANTED.touchpoint,
        go_live=dt.date.fromisoformat(PLANTED.go_live),
    )
    with Engine.from_frame(demo_frame(demo), settings) as engine:
        result = action_effect(
            engine, suggest_definition(engine), action, window_days=60, segment=Filters(case_ids=members)
        )
    planted = PLANTED.churn_rate - PLANTED_BEFORE
    before, after = result.figure("targeted", "before"), result.figure("targeted", "after")
    assert before["ci_low"] <= PLANTED_BEFORE <= before["ci_high"]
    assert after["ci_low"] <= PLANTED.churn_rate <= after["ci_high"]
    assert result.difference[1] <= planted <= result.difference[2]
    assert result.did[1] <= planted <= result.did[2]
    assert result.difference[2] < 0 and result.did[2] < 0
