"""The equality suite: for every shared log, every table Spark builds equals the one DuckDB builds.

Logs: a hand-made log of timestamp ties (file order decides), a small generated demo log, and every real log of
shared/datasets (each data file once, read through the mapping of its first oracle; the date-only timestamps of
BPIC 2016 and the traffic fines tie constantly). Each is written as a canonical events Parquet file; `build_layout`
and `build_layout_with_spark` (Spark's Parquet tables, copied into DuckDB by `load_parquet_layout`) each write a
layout of it. Every table of the two (`data.parquet_layout.PARQUET_TABLES`: the layout and the stats of every
journey the unfiltered pages read) must have the same columns with the same DuckDB types (ENUM values included)
and the same rows, bit for bit but for means (see MEANS), stored in the order `build_layout` stores them in; the
journey map, variants, stages, outcomes and churn points computed on either layout must be equal too.

One Spark session (local[2], 1 GB driver) serves the module. Without pyspark the module is skipped locally but
fails under CI, which must install it. Run it with `python -m pytest -m slow -n 0 tests/data/test_spark_*.py`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from data.canonical import to_event_log
from data.demo import generate_demo
from data.engine import Engine, build_layout
from data.mapping import detect_mapping
from data.parquet_layout import PARQUET_TABLES
from data.schema import RawLog
from data.settings import Settings
from discovery import churn_points, journey_map, outcome_counts, stage_kpis, suggest_definition, variant_table
from tests.oracle import ORACLES, load_oracle_frame

MISSING_PYSPARK = importlib.util.find_spec("pyspark") is None
# Slow: every test starts or drives a JVM; .ci/run runs them after the quick tests.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING_PYSPARK and not os.environ.get("CI"), reason="pip install pyspark"),
]

MONDAY = pd.Timestamp("2025-01-06 09:00", tz="UTC")
EVENTS_FILE = "events.parquet"
TABLES = tuple(sorted(PARQUET_TABLES))
# The tables build_layout stores in an order the engine relies on (case by case, events by position), by that order.
STORED_ORDER = {
    "events": "case_code, pos",
    "cases": "case_code",
    "case_activities": "case_code",
    "case_pairs": "case_code",
    "attributes": "position",
}
# Means: DuckDB adds the values in the order its threads deliver them, so its own last bit changes with its thread
# count and no other engine can match it; they are held to a relative 1e-12. Every other column is exact.
MEANS = {"pair_stats": ["mean_seconds"]}
MEAN_RELATIVE_TOLERANCE = 1e-12
# The dashboard's views are compared on the small logs; the tables they read are compared on every log.
VIEW_LOGS = ("ties", "demo", "running-example/running_example")


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


def shared_logs() -> dict[str, Callable[[], pd.DataFrame]]:
    """Every data file of shared/datasets once, read as its first oracle (smallest first) reads it."""
    first = {}
    for oracle in ORACLES:
        first.setdefault(oracle.data_file, oracle)
    return {oracle.name: (lambda oracle=oracle: load_oracle_frame(oracle)) for oracle in first.values()}


LOGS: dict[str, Callable[[], pd.DataFrame]] = {"ties": tie_log, "demo": demo_log, **shared_logs()}


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


def small_settings(folder: Path) -> Settings:
    return Settings(home=folder / "home", duckdb_threads=1, duckdb_memory_limit="1GB")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = small_log_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def layouts_of(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """Return a function giving the files build_layout and build_layout_with_spark write for a log, built once."""
    from data.spark import build_layout_with_spark

    built: dict[str, tuple[Path, Path]] = {}

    def layouts(name: str) -> tuple[Path, Path]:
        if name not in built:
            folder = tmp_path_factory.mktemp(name.replace("/", "-"))
            LOGS[name]().to_parquet(folder / EVENTS_FILE, index=False)
            duck_layout, spark_layout = folder / "duckdb.layout", folder / "spark.layout"
            build_layout(folder / EVENTS_FILE, duck_layout, small_settings(folder))
            build_layout_with_spark(folder / EVENTS_FILE, spark_layout, small_settings(folder))
            (folder / EVENTS_FILE).unlink()
            built[name] = (duck_layout, spark_layout)
        return built[name]

    return layouts


def table_names(layout: Path) -> list[str]:
    with duckdb.connect(str(layout), read_only=True) as connection:
        return [name for (name,) in connection.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]


def read_table(layout: Path, table: str) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Return the columns of a layout table with their DuckDB types, and its rows in a fixed order."""
    with duckdb.connect(str(layout), read_only=True) as connection:
        columns = [(name, data_type) for name, data_type, *_ in connection.execute(f"DESCRIBE {table}").fetchall()]
        return columns, connection.sql(f"SELECT * FROM {table} ORDER BY ALL").df()


@pytest.mark.parametrize("log", list(LOGS))
def test_both_builders_write_every_table(layouts_of, log: str) -> None:
    duck_layout, spark_layout = layouts_of(log)
    assert table_names(spark_layout) == table_names(duck_layout) == list(TABLES)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("log", list(LOGS))
def test_spark_builds_every_table_as_duckdb_does(layouts_of, log: str, table: str) -> None:
    duck_layout, spark_layout = layouts_of(log)
    expected_columns, expected_rows = read_table(duck_layout, table)
    columns, rows = read_table(spark_layout, table)
    assert columns == expected_columns
    means = MEANS.get(table, [])
    pd.testing.assert_frame_equal(rows.drop(columns=means), expected_rows.drop(columns=means), check_exact=True)
    pd.testing.assert_frame_equal(rows[means], expected_rows[means], check_exact=False, rtol=MEAN_RELATIVE_TOLERANCE)


@pytest.mark.parametrize("log", list(LOGS))
def test_spark_stores_rows_in_the_order_build_layout_does(layouts_of, log: str) -> None:
    _duck_layout, spark_layout = layouts_of(log)
    with duckdb.connect(str(spark_layout), read_only=True) as connection:
        connection.execute("SET threads = 1")
        for table, order in STORED_ORDER.items():
            stored = connection.execute(f"SELECT {order} FROM {table}").fetchall()
            assert stored == sorted(stored), table


@pytest.mark.parametrize("log", VIEW_LOGS)
def test_the_dashboard_views_are_the_same_on_either_layout(layouts_of, log: str) -> None:
    duck_layout, spark_layout = layouts_of(log)
    with Engine(duck_layout) as expected, Engine(spark_layout) as actual:
        definition = suggest_definition(expected)
        assert suggest_definition(actual) == definition
        assert (
            journey_map(actual, activity_coverage=0.8).to_dict()
            == journey_map(expected, activity_coverage=0.8).to_dict()
        )
        assert (
            variant_table(actual, definition=definition).to_dict()
            == variant_table(expected, definition=definition).to_dict()
        )
        assert stage_kpis(actual, definition).to_dict() == stage_kpis(expected, definition).to_dict()
        assert outcome_counts(actual, definition) == outcome_counts(expected, definition)
        assert churn_points(actual, definition).to_dict() == churn_points(expected, definition).to_dict()


def test_case_codes_rank_case_ids_and_ties_keep_file_order(layouts_of) -> None:
    _duck_layout, spark_layout = layouts_of("ties")
    with duckdb.connect(str(spark_layout), read_only=True) as connection:
        codes = connection.execute("SELECT case_id, case_code FROM cases ORDER BY case_code").fetchall()
        steps = connection.execute(
            "SELECT pos, activity::VARCHAR, next_activity::VARCHAR FROM events WHERE case_code = 0 ORDER BY pos"
        ).fetchall()
    assert codes == [("ann", 0), ("bo", 1), ("cy", 2), ("dee", 3), ("eve", 4)]
    # ann's call (file row 1) and visit (file row 4) share a minute: the call comes first.
    assert steps == [(0, "call", "visit"), (1, "visit", "buy"), (2, "buy", None)]
