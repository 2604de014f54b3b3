"""Invariants of the engine on random small logs (hypothesis), checked against pandas and pm4py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pm4py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.engine import Engine
from data.filters import Filters
from data.settings import Settings

MONDAY = pd.Timestamp("2025-01-06 09:00", tz="UTC")
CASES = ["anna", "bob", "carl", "dana", "NA"]
ACTIVITIES = ["visit", "call", "buy", "=SUM(A1)", 'O\'Brien "quoted"', "résiliation"]
CHANNELS = ["web", "store", "phone", None]
REGIONS = ["north", "south", None]
PRIMITIVES = (
    "activities",
    "dfg",
    "start_activities",
    "end_activities",
    "cases",
    "case_activity_counts",
    "channel_shares",
)
PM4PY_KEYS = {"case_id_key": "case_id", "activity_key": "activity", "timestamp_key": "timestamp"}

EVENT = st.tuples(
    st.sampled_from(CASES),
    st.sampled_from(ACTIVITIES),
    st.integers(min_value=0, max_value=40),
    st.sampled_from(CHANNELS),
    st.sampled_from(REGIONS),
)
LOGS = st.lists(EVENT, min_size=1, max_size=25)
LOGS_WITH_DISTINCT_TIMES = st.lists(EVENT, min_size=1, max_size=25, unique_by=lambda event: event[2])

EVERY_JOURNEY = Filters()

random_logs = settings(max_examples=30, deadline=None)


@pytest.fixture(scope="module")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=1, duckdb_memory_limit="512MB")


def canonical(events: list[tuple]) -> pd.DataFrame:
    """A canonical frame in the given file order; minutes after Monday 09:00 UTC, so ties are common."""
    cases, activities, minutes, channels, regions = zip(*events, strict=True)
    return pd.DataFrame(
        {
            "case_id": pd.array(cases, dtype="str"),
            "activity": pd.array(activities, dtype="str"),
            "timestamp": MONDAY + pd.to_timedelta(minutes, unit="min"),
            "channel": pd.array(channels, dtype="str"),
            "source_row": np.arange(len(events)),
            "region": pd.array(regions, dtype="str"),
        }
    )


def results(engine: Engine, filters: Filters = EVERY_JOURNEY) -> dict[str, pd.DataFrame]:
    return {name: getattr(engine, name)(filters) for name in PRIMITIVES} | {"variants": engine.variants(filters)}


@st.composite
def filters_for(draw: st.DrawFn) -> Filters:
    """Random Filters over the values the random logs use; every field is left out half of the time."""

    def maybe(strategy: st.SearchStrategy) -> object:
        return draw(st.one_of(st.none(), strategy))

    def subset(values: list) -> st.SearchStrategy:
        return st.frozensets(st.sampled_from(values), max_size=3)

    window = sorted(draw(st.lists(st.integers(min_value=0, max_value=41), min_size=2, max_size=2, unique=True)))
    start, end = (MONDAY + pd.Timedelta(minutes=minute) for minute in window)
    durations = sorted(draw(st.lists(st.integers(min_value=0, max_value=40 * 60), min_size=2, max_size=2)))
    lengths = sorted(draw(st.lists(st.integers(min_value=1, max_value=10), min_size=2, max_size=2)))
    return Filters(
        start=maybe(st.just(start)),
        end=maybe(st.just(end)),
        channels=maybe(subset(CHANNELS[:-1])),
        attributes=maybe(st.builds(lambda values: {"region": values}, subset(REGIONS))),
        case_ids=maybe(subset(CASES)),
        start_activities=maybe(subset(ACTIVITIES)),
        end_activities=maybe(subset(ACTIVITIES)),
        with_activities=maybe(subset(ACTIVITIES)),
        without_activities=maybe(subset(ACTIVITIES)),
        with_steps=maybe(
            st.frozensets(st.tuples(st.sampled_from(ACTIVITIES), st.sampled_from(ACTIVITIES)), max_size=2)
        ),
        min_duration_seconds=maybe(st.just(durations[0])),
        max_duration_seconds=maybe(st.just(durations[1])),
        min_events=maybe(st.just(lengths[0])),
        max_events=maybe(st.just(lengths[1])),
    )


def reference_selection(frame: pd.DataFrame, filters: Filters) -> set[str]:
    """The journeys the filters keep, computed independently with pandas from their documented meaning."""
    ordered = frame.sort_values(["case_id", "timestamp", "source_row"], kind="stable")
    journeys = ordered.groupby("case_id", sort=True)
    activity_sets = journeys["activity"].agg(set)
    keep = pd.Series(True, index=activity_sets.index)

    def any_event(mask: pd.Series) -> pd.Series:
        return mask.groupby(ordered["case_id"]).any().reindex(keep.index, fill_value=False)

    if filters.start is not None or filters.end is not None:
        after_start = ordered["timestamp"] >= filters.start if filters.start is not None else True
        before_end = ordered["timestamp"] < filters.end if filters.end is not None else True
        keep &= any_event(pd.Series(after_start & before_end, index=ordered.index))
    if filters.channels is not None:
        keep &= any_event(ordered["channel"].isin(filters.channels))
    for column, values in filters.attributes:
        present = [value for value in values if value is not None]
        keep &= any_event(ordered[column].isin(present) | (ordered[column].isna() & (None in values)))
    if filters.case_ids is not None:
        keep &= keep.index.isin(filters.case_ids)
    if filters.start_activities is not None:
        keep &= journeys["activity"].first().isin(filters.start_activities)
    if filters.end_activities is not None:
        keep &= journeys["activity"].last().isin(filters.end_activities)
    if filters.with_activities is not None:
        keep &= activity_sets.map(filters.with_activities.issubset)
    if filters.without_activities is not None:
        keep &= activity_sets.map(filters.without_activities.isdisjoint)
    if filters.with_steps is not None:
        steps = journeys["activity"].agg(lambda names: set(zip(names.iloc[:-1], names.iloc[1:], strict=True)))
        keep &= steps.map(filters.with_steps.issubset)
    seconds = (journeys["timestamp"].max() - journeys["timestamp"].min()).dt.total_seconds()
    lengths = journeys.size()
    for values, low, high in (
        (seconds, filters.min_duration_seconds, filters.max_duration_seconds),
        (lengths, filters.min_events, filters.max_events),
    ):
        keep &= values.between(-np.inf if low is None else low, np.inf if high is None else high)
    return set(keep.index[keep])


@random_logs
@given(LOGS)
def test_dfg_events_add_up_to_events_minus_cases(engine_settings: Settings, events: list[tuple]) -> None:
    with Engine.from_frame(canonical(events), engine_settings) as engine:
        summary = engine.summary()
        assert engine.dfg()["events"].sum() == summary.events - summary.cases


@random_logs
@given(LOGS)
def test_variant_counts_add_up_to_cases(engine_settings: Settings, events: list[tuple]) -> None:
    with Engine.from_frame(canonical(events), engine_settings) as engine:
        variants = engine.variants()
        assert variants["cases"].sum() == engine.summary().cases == len(engine.cases())
        assert variants["share"].sum() == pytest.approx(1.0)
        assert (variants["length"] * variants["cases"]).sum() == len(events)


@pytest.mark.slow
@random_logs
@given(LOGS_WITH_DISTINCT_TIMES, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order_when_times_are_distinct(
    engine_settings: Settings, events: list[tuple], randomness
) -> None:
    shuffled = randomness.sample(events, len(events))
    with (
        Engine.from_frame(canonical(events), engine_settings) as original,
        Engine.from_frame(canonical(shuffled), engine_settings) as reordered,
    ):
        actual = results(reordered)
        for name, expected in results(original).items():
            pd.testing.assert_frame_equal(actual[name], expected, obj=name)


@pytest.mark.slow
@random_logs
@given(LOGS, filters_for())
def test_filtered_results_equal_the_engine_on_the_pre_filtered_frame(
    engine_settings: Settings, events: list[tuple], filters: Filters
) -> None:
    frame = canonical(events)
    kept = reference_selection(frame, filters)
    with Engine.from_frame(frame, engine_settings) as engine:
        filtered = results(engine, filters)
        assert set(filtered["cases"]["case_id"]) == kept
        if not kept:
            assert all(table.empty for table in filtered.values())
            return
        with Engine.from_frame(frame[frame["case_id"].isin(kept)], engine_settings) as subset:
            for name, expected in results(subset).items():
                pd.testing.assert_frame_equal(filtered[name], expected, obj=name)
            assert engine.summary(filters) == subset.summary()


@random_logs
@given(LOGS)
def test_dfg_and_start_end_activities_equal_pm4py(engine_settings: Settings, events: list[tuple]) -> None:
    frame = canonical(events)
    # pm4py expects rows grouped by case; a stable sort keeps file order among equal timestamps.
    by_case = frame.sort_values(["case_id", "timestamp"], kind="stable")
    dfg, start_activities, end_activities = pm4py.discover_dfg(by_case, **PM4PY_KEYS)
    with Engine.from_frame(frame, engine_settings) as engine:
        ours = engine.dfg()
        assert dict(zip(zip(ours["source"], ours["target"], strict=True), ours["events"], strict=True)) == dict(dfg)
        assert dict(engine.start_activities().values.tolist()) == dict(start_activities)
        assert dict(engine.end_activities().values.tolist()) == dict(end_activities)


def test_the_reference_selection_reads_the_filters_as_documented() -> None:
    """Guard the oracle itself on a case a reader can check: carl alone is on the web and never buys."""
    frame = canonical(
        [
            ("anna", "visit", 0, "web", "north"),
            ("anna", "buy", 5, "store", None),
            ("carl", "visit", 1, "web", "south"),
            ("carl", "call", 2, None, None),
        ]
    )
    filters = Filters(channels={"web"}, without_activities={"buy"}, attributes={"region": {"south", None}})
    assert reference_selection(frame, filters) == {"carl"}
