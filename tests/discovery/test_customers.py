"""The customers behind a map figure, and one customer's journey: hand-counted on a small log, and equal to every
box and arrow of the demo's journey map."""

from __future__ import annotations

import pandas as pd
import pytest

from data import DEMO_SAMPLES, load_log
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from discovery import (
    ChurnRule,
    JourneyDefinition,
    StageModel,
    customer_journey,
    customers_behind,
    journey_map,
    suggest_definition,
)
from tests.discovery import journeys

# anna: visit, call, buy, cancel; bob: visit, buy; carl: visit, call, visit (and no more).
LOG = journeys(
    ("anna", "visit", 0, "web"),
    ("anna", "call", 10, "phone"),
    ("anna", "buy", 70, "store"),
    ("anna", "cancel", 190, "phone"),
    ("bob", "visit", 0, "web"),
    ("bob", "buy", 30, "web"),
    ("carl", "visit", 20, "web"),
    ("carl", "call", 25),
    ("carl", "visit", 40, "web"),
    region=["north", "north", "north", "north", "south", "south", None, None, "east"],
)
DEFINITION = JourneyDefinition(
    goal=("buy",),
    stages=StageModel(stage_of={"visit": "discovery", "call": "consideration", "buy": "purchase"}),
    churn=ChurnRule(touchpoints=("cancel",), inactivity_days=None),
)


@pytest.fixture(scope="module")
def engine():
    with Engine.from_frame(LOG) as engine:
        yield engine


@pytest.mark.parametrize(
    ("target", "customers", "what"),
    [
        ({"touchpoint": "call"}, ["anna", "carl"], "did call"),
        ({"step": ("visit", "call")}, ["anna", "carl"], "went from visit directly to call"),
        ({"step": ("call", "visit")}, ["carl"], "went from call directly to visit"),
        ({"step": ("visit", "buy")}, ["bob"], "went from visit directly to buy"),
        ({"step": (None, "visit")}, ["anna", "bob", "carl"], "started with visit"),
        ({"step": ("visit", None)}, ["carl"], "ended with visit"),
        ({"step": ("buy", "visit")}, [], "went from buy directly to visit"),
        ({}, ["anna", "bob", "carl"], "are selected"),
    ],
)
def test_the_customers_behind_a_touchpoint_or_a_step_are_those_who_did_it(
    engine: Engine, target: dict, customers: list[str], what: str
) -> None:
    behind = customers_behind(engine, DEFINITION, **target)

    assert sorted(behind.customers["case_id"]) == customers
    assert (behind.total, behind.what, behind.complete) == (len(customers), what, True)


def test_each_customer_comes_with_the_outcome_the_definition_gives(engine: Engine) -> None:
    behind = customers_behind(engine, DEFINITION, touchpoint="visit")

    outcomes = dict(zip(behind.customers["case_id"], behind.customers["outcome"], strict=True))
    assert outcomes == {"anna": "converted_then_churned", "bob": "converted", "carl": "censored"}
    # Earliest first: anna and bob started at 09:00, carl at 09:20; ties by id.
    assert behind.customers["case_id"].tolist() == ["anna", "bob", "carl"]
    assert behind.customers["events"].tolist() == [4, 2, 3]


def test_a_limit_lists_the_earliest_and_still_counts_them_all(engine: Engine) -> None:
    behind = customers_behind(engine, DEFINITION, touchpoint="visit", limit=2)

    assert behind.customers["case_id"].tolist() == ["anna", "bob"]
    assert (behind.total, behind.complete) == (3, False)


def test_filters_narrow_the_customers_behind_a_figure(engine: Engine) -> None:
    north = Filters(attributes=(("region", frozenset({"north"})),))
    assert customers_behind(engine, DEFINITION, north, touchpoint="visit").customers["case_id"].tolist() == ["anna"]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ({"touchpoint": "visit", "step": ("visit", "buy")}, ValueError),
        ({"step": (None, None)}, ValueError),
        ({"step": ("visit",)}, TypeError),
        ({"touchpoint": 3}, TypeError),
        ({"touchpoint": "teleport"}, LogError),
        ({"step": ("visit", "teleport")}, LogError),
        ({"touchpoint": "visit", "limit": 0}, ValueError),
    ],
)
def test_a_figure_that_is_not_on_the_map_is_refused(engine: Engine, target: dict, error: type) -> None:
    with pytest.raises(error):
        customers_behind(engine, DEFINITION, **target)


def test_one_customers_journey_reads_as_a_timeline(engine: Engine) -> None:
    journey = customer_journey(engine, "anna", DEFINITION)

    events = journey.events
    assert events["activity"].tolist() == ["visit", "call", "buy", "cancel"]
    assert events["channel"].tolist() == ["web", "phone", "store", "phone"]
    assert events["stage"].tolist()[:3] == ["discovery", "consideration", "purchase"]
    assert pd.isna(events["stage"].iloc[3])
    assert events["is_goal"].tolist() == [False, False, True, False]
    assert events["is_churn"].tolist() == [False, False, False, True]
    assert events["seconds_since_previous"].tolist()[1:] == [600.0, 3600.0, 7200.0]
    assert events["seconds_since_start"].tolist() == [0.0, 600.0, 4200.0, 11400.0]
    assert events["region"].tolist() == ["north"] * 4
    assert (journey.outcome, journey.stages_done) == (
        "converted_then_churned",
        ("discovery", "consideration", "purchase"),
    )
    assert (journey.duration_seconds, journey.longest_gap_seconds) == (11400.0, 7200.0)


def test_an_unknown_customer_is_a_typed_error(engine: Engine) -> None:
    with pytest.raises(LogError, match="no customer of this id"):
        customer_journey(engine, "zoe", DEFINITION)


@pytest.mark.slow
def test_every_box_and_arrow_of_the_demo_map_lists_exactly_its_customers() -> None:
    with Engine.from_frame(load_log(DEMO_SAMPLES["shop"]).frame) as engine:
        definition = suggest_definition(engine)
        drawn = journey_map(engine)
        for activity, cases in zip(drawn.nodes["activity"], drawn.nodes["cases"], strict=True):
            assert customers_behind(engine, definition, touchpoint=activity, limit=1).total == cases, activity
        for source, target, cases in zip(
            drawn.edges["source"], drawn.edges["target"], drawn.edges["cases"], strict=True
        ):
            step = (None if pd.isna(source) else source, None if pd.isna(target) else target)
            assert customers_behind(engine, definition, step=step, limit=1).total == cases, step
