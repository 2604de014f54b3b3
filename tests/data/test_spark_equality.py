"""One contract, two engines: every primitive on Spark (local mode) equals the DuckDB engine's answer.

Logs: a hand-made log of timestamp ties (file order decides), a small generated demo log, and two real
logs from shared/datasets (the pm4py running example, and BPIC 2016 complaints whose date-only
timestamps tie constantly). Filters are derived from each log's own values, so each one selects a
non-trivial subset. Every primitive runs unfiltered and under combinations of filters (on the generated
logs two, which together use every kind), and on the tie log every filter alone is checked through the
journeys it keeps (all primitives read that same selection), as is an empty selection. Frames must be
identical, except means and interpolated quantiles, which may differ in the last bit (see
data/spark.py) and are held to 1e-12.

One Spark session (local[2], 1 GB driver) serves the module. Without pyspark the module is skipped
locally but fails under CI, which must install it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data.canonical import to_event_log
from data.demo import generate_demo
from data.engine import Engine
from data.filters import Filters
from data.mapping import detect_mapping
from data.schema import RawLog
from data.settings import Settings
from tests.oracle import ORACLES, load_oracle_frame

MISSING_PYSPARK = importlib.util.find_spec("pyspark") is None
# Slow: every test starts or drives a JVM; .ci/run runs them after the quick tests.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING_PYSPARK and not os.environ.get("CI"), reason="pip install pyspark"),
]

FLOAT_RELATIVE_TOLERANCE = 1e-12
MONDAY = pd.Timestamp("2025-01-06 09:00", tz="UTC")
REAL_LOGS = ("running-example/running_example", "bpic16-complaints/complaints_theme")


def tie_log() -> pd.DataFrame:
    """Ties everywhere: ann's call and visit share a minute in reversed file order, bo's three events one instant."""
    rows = [
        # case, activity, minutes after Monday 09:00, channel, source_row, region, basket
        ("ann", "visit", 0, "web", 4, "north", 10),
        ("ann", "call", 0, "phone", 1, "north", None),
        ("ann", "buy", 60, "store", 2, None, 30),
        ("bo", "visit", 5, "web", 3, "south", 5),
        ("bo", "call", 5, None, 0, "south", 5),
        ("bo", "visit", 5, "web", 9, "south", 5),
        ("cy", "visit", 30, "app", 5, "east", None),
        ("cy", "buy", 90, "app", 6, "east", 12),
        ("dee", "call", 30, "phone", 7, None, None),
        ("dee", "visit", 30, "web", 8, "north", 7),
        ("dee", "buy", 200, "store", 10, "north", 70),
        ("eve", "visit", 0, "web", 11, "west", 1),
    ]
    case, activity, minutes, channel, source_row, region, basket = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "case_id": pd.array(case, dtype="str"),
            "activity": pd.array(activity, dtype="str"),
            "timestamp": MONDAY + pd.to_timedelta(minutes, unit="min"),
            "channel": pd.array(channel, dtype="str"),
            "source_row": source_row,
            "region": pd.array(region, dtype="str"),
            "basket": pd.array(basket, dtype="Int64"),
        }
    )


def demo_log() -> pd.DataFrame:
    events = generate_demo(25, seed=3).events
    return to_event_log(RawLog(events, "demo", "csv", ""), detect_mapping(events).mapping).frame


def real_log(name: str) -> Callable[[], pd.DataFrame]:
    (oracle,) = (oracle for oracle in ORACLES if oracle.name == name)
    return lambda: load_oracle_frame(oracle)


LOGS: dict[str, Callable[[], pd.DataFrame]] = {
    "ties": tie_log,
    "demo": demo_log,
    **{name.split("/")[0]: real_log(name) for name in REAL_LOGS},
}

# name -> how to call it on an engine with a Filters value
PRIMITIVES: dict[str, Callable[[Any, Filters], Any]] = {
    "summary": lambda engine, filters: engine.summary(filters),
    "activities": lambda engine, filters: engine.activities(filters),
    "dfg": lambda engine, filters: engine.dfg(filters),
    "start_activities": lambda engine, filters: engine.start_activities(filters),
    "end_activities": lambda engine, filters: engine.end_activities(filters),
    "variants": lambda engine, filters: engine.variants(filters),
    "top_variants": lambda engine, filters: engine.variants(filters, limit=2),
    "cases": lambda engine, filters: engine.cases(filters),
    "case_activity_counts": lambda engine, filters: engine.case_activity_counts(filters),
    "channel_shares": lambda engine, filters: engine.channel_shares(filters),
    "events": lambda engine, filters: engine.events(filters),
    "first_events": lambda engine, filters: engine.events(filters, limit=3),
}

FILTER_NAMES = (
    "none",
    "channel",
    "time_window",
    "attribute",
    "case_ids",
    "variant",
    "start_activity",
    "end_activity",
    "with_activity",
    "without_activity",
    "duration",
    "length",
)


def filters_for(engine: Engine) -> dict[str, Filters]:
    """One Filters value per kind, built from the log's own values so that most keep some journeys but not all."""
    summary = engine.summary()
    cases = engine.cases()
    activities = list(engine.activity_names)
    channels = engine.channel_shares()["channel"]
    attribute = next(iter(engine.attribute_columns))
    top_value = engine.attribute_values(attribute, limit=1)["value"].iloc[0]
    quarter = summary.start_time + (summary.end_time - summary.start_time) / 4
    return {
        "none": Filters(),
        "channel": Filters(channels={channels.mode().iloc[0]} if len(channels) else {"web"}),
        "time_window": Filters(start=quarter, end=summary.end_time + pd.Timedelta(seconds=1)),
        "attribute": Filters(attributes={attribute: {str(top_value), None}}),
        "case_ids": Filters(case_ids=set(cases["case_id"].iloc[::2])),
        "variant": Filters(variant_ids=set(engine.variants(limit=1)["variant_id"])),
        "start_activity": Filters(start_activities={engine.start_activities()["activity"].iloc[0]}),
        "end_activity": Filters(end_activities={engine.end_activities()["activity"].iloc[-1]}),
        "with_activity": Filters(with_activities=set(activities[:2])),
        "without_activity": Filters(without_activities={activities[-1]}),
        "with_step": Filters(
            with_steps={tuple(engine.dfg().sort_values(["cases", "source", "target"]).iloc[-1][["source", "target"]])}
        ),
        "duration": Filters(min_duration_seconds=float(cases["duration_seconds"].median())),
        "length": Filters(min_events=2, max_events=int(cases["events"].max()) - 1),
    }


COMBINATIONS = ("none", "window_length_without", "channel_attribute_start_with_duration")
# Both combinations on the generated logs, the one that needs no channel on the real logs (they have none):
# the whole file must stay within minutes.
LOG_COMBINATIONS = [
    *((log, combination) for log in ("ties", "demo") for combination in COMBINATIONS),
    *((log, combination) for log in LOGS if log not in ("ties", "demo") for combination in COMBINATIONS[:2]),
]


def combinations(filters: dict[str, Filters]) -> dict[str, Filters]:
    """No filter, and two combinations that together use every kind of filter once."""
    return {
        "none": Filters(),
        "window_length_without": Filters(
            start=filters["time_window"].start,
            end=filters["time_window"].end,
            min_events=filters["length"].min_events,
            max_events=filters["length"].max_events,
            without_activities=filters["without_activity"].without_activities,
            with_steps=filters["with_step"].with_steps,
        ),
        "channel_attribute_start_with_duration": Filters(
            channels=filters["channel"].channels,
            attributes=filters["attribute"].attributes,
            start_activities=filters["start_activity"].start_activities,
            with_activities=filters["with_activity"].with_activities,
            max_duration_seconds=filters["duration"].min_duration_seconds,
        ),
    }


def small_log_session() -> Any:
    """Return a local Spark session tuned for logs of a few hundred events; fail when CI lacks pyspark."""
    if MISSING_PYSPARK:
        pytest.fail("pyspark is missing: CI must install it (pip install pyspark).")
    from data.spark import spark_session

    session = spark_session(Settings(spark_driver_memory="1g"), master="local[2]")
    # One task per stage, and no code generation, whose compile time outweighs the run.
    session.conf.set("spark.sql.shuffle.partitions", "1")
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    return session


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = small_log_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines_of(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], tuple]]:
    """Return a function giving (DuckDB engine, Spark engine, filters) for a log, each log built once."""
    from data.spark import SparkEngine

    built: dict[str, tuple] = {}

    def engines(name: str) -> tuple:
        if name not in built:
            frame = LOGS[name]()
            settings = Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=1, duckdb_memory_limit="1GB")
            duck = Engine.from_frame(frame, settings)
            built[name] = (duck, SparkEngine.from_frame(frame, spark), filters_for(duck))
        return built[name]

    yield engines
    for duck, sparked, _filters in built.values():
        duck.close()
        sparked.close()


def assert_same(expected: Any, actual: Any) -> None:
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=FLOAT_RELATIVE_TOLERANCE)
    else:
        assert actual == expected


@pytest.mark.parametrize(("log", "combination"), LOG_COMBINATIONS)
@pytest.mark.parametrize("primitive", list(PRIMITIVES))
def test_every_primitive_equals_duckdb(engines_of, log: str, primitive: str, combination: str) -> None:
    duck, sparked, filters = engines_of(log)
    chosen = combinations(filters)[combination]
    call = PRIMITIVES[primitive]
    assert_same(call(duck, chosen), call(sparked, chosen))


@pytest.mark.parametrize("primitive", list(PRIMITIVES))
def test_an_empty_selection_gives_the_same_empty_frames(engines_of, primitive: str) -> None:
    duck, sparked, _filters = engines_of("ties")
    call = PRIMITIVES[primitive]
    assert_same(call(duck, Filters(case_ids=set())), call(sparked, Filters(case_ids=set())))


@pytest.mark.parametrize("filter_name", FILTER_NAMES)
def test_every_filter_keeps_the_same_journeys(engines_of, filter_name: str) -> None:
    duck, sparked, filters = engines_of("ties")
    assert_same(duck.cases(filters[filter_name]), sparked.cases(filters[filter_name]))


@pytest.mark.parametrize("log", list(LOGS))
def test_metadata_and_attribute_values_equal_duckdb(engines_of, log: str) -> None:
    duck, sparked, _filters = engines_of(log)
    assert sparked.activity_names == duck.activity_names
    assert sparked.attribute_columns == duck.attribute_columns
    for column in duck.attribute_columns:
        assert_same(duck.attribute_values(column), sparked.attribute_values(column))
    assert_same(duck.channel_values(), sparked.channel_values())


def test_equal_timestamps_keep_file_order_on_spark(engines_of) -> None:
    _duck, sparked, _filters = engines_of("ties")
    events = sparked.events(Filters(case_ids={"ann", "bo"}))
    assert list(events["activity"]) == ["call", "visit", "buy", "call", "visit", "visit"]


def test_prepared_layout_answers_like_the_engine_that_wrote_it(spark: Any, engines_of, tmp_path: Path) -> None:
    from data.spark import SparkEngine, prepare_layout

    tie_log().to_parquet(tmp_path / "events.parquet")
    prepare_layout(tmp_path / "events.parquet", tmp_path / "layout", spark)
    duck, _sparked, filters = engines_of("ties")
    with SparkEngine.open_layout(tmp_path / "layout", spark) as opened:
        assert_same(duck.variants(filters["channel"]), opened.variants(filters["channel"]))
        assert_same(duck.events(), opened.events())
