"""The headline figures of a journey definition against an independent pandas computation, on every shared real
log, both demos and the e-commerce and marketplace logs.

The oracle walks each journey's events in order (timestamp, then file order) with plain pandas and applies the
definition's rules as written in `discovery._relations`: the outcome of each journey, who did each stage and who
got at least that far, and where the customers of a touchpoint went next, by outcome. Nothing of the library's SQL
is reused.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.settings import Settings
from discovery import (
    OUTCOMES,
    ChurnRule,
    JourneyDefinition,
    churn_points,
    outcome_counts,
    stage_kpis,
    suggest_definition,
    where_they_went,
)
from tests.discovery import demo_frame
from tests.journey_logs import ecommerce_sessions, marketplace_visits
from tests.oracle import ORACLES, QUICK_LOG_EVENTS, load_oracle_frame

MICROSECONDS_PER_DAY = 86_400_000_000

LOGS = {
    **{oracle.name: oracle for oracle in ORACLES},
    "demo/telecom": "telecom",
    "demo/shop": "shop",
    "synthetic/ecommerce": ecommerce_sessions,
    "synthetic/marketplace": marketplace_visits,
}


def _frame(source: object) -> pd.DataFrame:
    if isinstance(source, str):
        return demo_frame(generate_demo(3000, scenario=source, seed=1))
    if callable(source):
        return source()
    return load_oracle_frame(source)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.slow] if getattr(source, "events", 0) > QUICK_LOG_EVENTS else [],
        )
        for name, source in LOGS.items()
    ],
)
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    frame = _frame(LOGS[request.param])
    settings = Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=2, duckdb_memory_limit="2GB")
    with Engine.from_frame(frame, settings) as engine:
        yield frame, engine, _tested_definition(engine, frame)


def _tested_definition(engine: Engine, frame: pd.DataFrame) -> JourneyDefinition:
    """The suggested definition; where no name gives a goal, the touchpoint that most often ends a journey (so that
    every log tests conversion), and a churn touchpoint taken from the log when none is named (so that every log
    tests churning after converting)."""
    suggested = suggest_definition(engine)
    goal = suggested.goal
    if not goal:
        ends = frame.sort_values(["case_id", "timestamp", "source_row"]).groupby("case_id")["activity"].last()
        goal = (ends.value_counts().index[0],)
    churn = suggested.churn.touchpoints
    if not churn:
        counts = frame["activity"].value_counts()
        churn = tuple(name for name in counts.index[1:3] if name not in goal)[:1]
    stages = suggested.stages.with_overrides(dict.fromkeys(goal, suggested.stages.stages[2]))
    return JourneyDefinition(goal, stages, ChurnRule(churn, suggested.churn.inactivity_days))


# --- the oracle ----------------------------------------------------------------------------------------------------


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    events = frame.sort_values(["case_id", "timestamp", "source_row"], kind="stable").reset_index(drop=True)
    return events.assign(pos=events.groupby("case_id").cumcount())


def pandas_outcomes(frame: pd.DataFrame, definition: JourneyDefinition) -> pd.Series:
    """Each journey's outcome by the rules in words: churn after the last goal event, else converted, else a churn
    touchpoint or a long enough silence before the log's end, else still open."""
    events = _ordered(frame)
    last_goal = events[events["activity"].isin(definition.goal)].groupby("case_id")["pos"].max()
    last_churn = events[events["activity"].isin(definition.churn.touchpoints)].groupby("case_id")["pos"].max()
    end = events.groupby("case_id")["timestamp"].max()
    silence_us = (events["timestamp"].max() - end).dt.total_seconds() * 1e6
    outcomes = {}
    for case in end.index:
        goal_pos, churn_pos = last_goal.get(case), last_churn.get(case)
        if goal_pos is not None and churn_pos is not None and churn_pos > goal_pos:
            outcomes[case] = "converted_then_churned"
        elif goal_pos is not None:
            outcomes[case] = "converted"
        elif churn_pos is not None or (
            definition.churn.inactivity_days is not None
            and round(silence_us[case]) >= definition.churn.inactivity_days * MICROSECONDS_PER_DAY
        ):
            outcomes[case] = "churned"
        else:
            outcomes[case] = "censored"
    return pd.Series(outcomes)


def pandas_stage_reach(frame: pd.DataFrame, definition: JourneyDefinition) -> pd.DataFrame:
    """Per stage: journeys with an event of the stage, and journeys with one of it or a later stage (nobody for a
    stage without touchpoints) that, from the goal stage on, did a goal touchpoint."""
    model = definition.stages
    index = {stage: position for position, stage in enumerate(model.stages)}
    goal_stage = index.get(definition.goal_stage)
    converted = set(frame.loc[frame["activity"].isin(definition.goal), "case_id"])
    staged = frame.assign(stage=frame["activity"].map(lambda name: index.get(model.stage_of.get(name))))
    per_journey = staged.dropna(subset=["stage"]).groupby("case_id")["stage"].agg([set, "max"])
    per_journey["converted"] = per_journey.index.isin(converted)
    rows = []
    for position, stage in enumerate(model.stages):
        did = int(per_journey["set"].map(lambda stages, p=position: p in stages).sum())
        far = per_journey["max"] >= position
        if goal_stage is not None and position >= goal_stage:
            far &= per_journey["converted"]
        farthest = int(far.sum()) if model.activities_in(stage) else 0
        rows.append((stage, did, farthest))
    return pd.DataFrame(rows, columns=["stage", "did_stage", "customers"])


def pandas_where_they_went(frame: pd.DataFrame, activity: str, outcomes: pd.Series) -> pd.DataFrame:
    """Per outcome, the customers who did `activity`, and those who did nothing after their last time there."""
    events = _ordered(frame)
    last = events[events["activity"] == activity].groupby("case_id")["pos"].max()
    length = events.groupby("case_id").size()
    stopped = last == length[last.index] - 1
    grouped = pd.DataFrame({"outcome": outcomes[last.index], "stopped": stopped})
    counted = grouped.groupby("outcome").agg(customers=("stopped", "size"), stopped=("stopped", "sum"))
    return counted.reindex(list(OUTCOMES), fill_value=0).astype(np.int64)


# --- the comparisons -----------------------------------------------------------------------------------------------


def test_outcomes_equal_the_pandas_rules(log: tuple) -> None:
    frame, engine, definition = log
    expected = pandas_outcomes(frame, definition).value_counts()
    counted = outcome_counts(engine, definition)
    assert {outcome: getattr(counted, outcome) for outcome in OUTCOMES} == {
        outcome: int(expected.get(outcome, 0)) for outcome in OUTCOMES
    }
    assert counted.journeys == frame["case_id"].nunique()


def test_stage_reach_equals_the_pandas_readings(log: tuple) -> None:
    frame, engine, definition = log
    table = stage_kpis(engine, definition).table[["stage", "did_stage", "customers"]]
    expected = pandas_stage_reach(frame, definition)
    pd.testing.assert_frame_equal(table.astype({"stage": object}), expected, check_dtype=False)


def test_churn_points_count_the_same_outcomes(log: tuple) -> None:
    _, engine, definition = log
    assert churn_points(engine, definition).outcomes == outcome_counts(engine, definition)


def test_where_they_went_groups_equal_the_pandas_groups(log: tuple) -> None:
    frame, engine, definition = log
    activity = frame["activity"].value_counts().index[0]
    went = where_they_went(engine, activity, definition)
    expected = pandas_where_they_went(frame, activity, pandas_outcomes(frame, definition))
    assert went.groups.set_index("outcome")[["customers", "stopped"]].to_dict("index") == expected.to_dict("index")
