"""Spark prepares the whole layout: `build_layout_with_spark` writes the DuckDB file that `build_layout` writes.

Logs: the equality suite's tie log (timestamp ties that file order settles), its generated demo log, and the
pm4py running example (an `Activity` attribute beside the canonical `activity`). Every table of the two files
has the same columns, DuckDB types (ENUM values included) and rows, so the dashboard's views are the same on
either. A bad source raises what `build_layout` raises, and a failed build leaves the previous layout and no
temporary files behind.

One Spark session (local[2], as in the equality suite) serves the module; each log is built once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from data.engine import Engine, build_layout
from data.errors import DatasetNotFound, EmptyLog, LogError, MappingError, TimestampError, UnsupportedFormat
from data.importing import import_file
from data.settings import Settings
from discovery import churn_points, journey_map, outcome_counts, stage_kpis, suggest_definition, variant_table
from tests.data.test_spark_equality import LOGS, MISSING_PYSPARK, small_log_session, tie_log

# Slow: every test starts or drives a JVM; .ci/run runs them after the quick tests.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING_PYSPARK and not os.environ.get("CI"), reason="pip install pyspark"),
]

BUILT_LOGS = ("ties", "demo", "running-example")
# Spark prepares these as Parquet; DuckDB then derives the stats of every journey from them, as build_layout does.
PREPARED_TABLES = (
    "activities",
    "attributes",
    "case_activities",
    "case_pairs",
    "cases",
    "events",
    "layout_info",
    "variants",
)
TABLES = tuple(sorted((*PREPARED_TABLES, "activity_stats", "log_stats", "pair_stats", "variant_stats")))
EVENTS_FILE = "events.parquet"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = small_log_session()
    yield session
    session.stop()


def small_settings(folder: Path) -> Settings:
    return Settings(home=folder / "home", duckdb_threads=1, duckdb_memory_limit="1GB")


@pytest.fixture(scope="module")
def layouts_of(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """Return a function giving the files build_layout and build_layout_with_spark write for a log, built once."""
    from data.spark import build_layout_with_spark

    built: dict[str, tuple[Path, Path]] = {}

    def layouts(name: str) -> tuple[Path, Path]:
        if name not in built:
            folder = tmp_path_factory.mktemp(name)
            LOGS[name]().to_parquet(folder / EVENTS_FILE, index=False)
            duck_layout, spark_layout = folder / "duckdb.layout", folder / "spark.layout"
            build_layout(folder / EVENTS_FILE, duck_layout, small_settings(folder))
            build_layout_with_spark(folder / EVENTS_FILE, spark_layout, small_settings(folder))
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


@pytest.mark.parametrize("log", BUILT_LOGS)
def test_both_builders_write_the_same_tables(layouts_of, log: str) -> None:
    duck_layout, spark_layout = layouts_of(log)
    assert table_names(spark_layout) == table_names(duck_layout) == list(TABLES)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("log", BUILT_LOGS)
def test_every_table_has_the_same_columns_types_and_rows(layouts_of, log: str, table: str) -> None:
    duck_layout, spark_layout = layouts_of(log)
    expected_columns, expected_rows = read_table(duck_layout, table)
    columns, rows = read_table(spark_layout, table)
    assert columns == expected_columns
    pd.testing.assert_frame_equal(rows, expected_rows, check_exact=True)


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


def test_events_are_stored_in_journey_order(layouts_of) -> None:
    _duck_layout, spark_layout = layouts_of("demo")
    with duckdb.connect(str(spark_layout), read_only=True) as connection:
        stored = connection.execute("SELECT case_code, pos FROM events ORDER BY rowid").fetchall()
    assert stored == sorted(stored)


@pytest.mark.parametrize("log", BUILT_LOGS)
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


def naive_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(timestamp=frame["timestamp"].dt.tz_localize(None))


def missing_activity_and_repeated_row(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        activity=frame["activity"].where(frame.index != 0), source_row=frame["source_row"].where(frame.index != 1, 4)
    )


def no_events(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:0]


def no_channel_nor_file_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["channel", "source_row"])


def file_order_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(source_row=frame["source_row"].astype("str"))


@pytest.mark.parametrize(
    ("spoil", "error_type", "problems"),
    [
        (naive_timestamps, TimestampError, 1),
        (missing_activity_and_repeated_row, MappingError, 2),
        (no_events, EmptyLog, 1),
        (no_channel_nor_file_order, MappingError, 2),
        (file_order_as_text, MappingError, 1),
    ],
)
def test_a_bad_source_raises_what_build_layout_raises_and_leaves_nothing(
    spark: Any, tmp_path: Path, spoil: Callable, error_type: type, problems: int
) -> None:
    from data.spark import build_layout_with_spark

    spoil(tie_log()).to_parquet(tmp_path / EVENTS_FILE, index=False)
    with pytest.raises(LogError) as expected:
        build_layout(tmp_path / EVENTS_FILE, tmp_path / "duckdb.layout", small_settings(tmp_path))
    with pytest.raises(LogError) as raised:
        build_layout_with_spark(tmp_path / EVENTS_FILE, tmp_path / "spark.layout", small_settings(tmp_path))
    assert type(raised.value) is type(expected.value) is error_type
    assert raised.value.problems == expected.value.problems
    assert len(raised.value.problems) == problems
    assert os.listdir(tmp_path) == [EVENTS_FILE]


def test_a_missing_source_is_not_found_before_spark_starts(tmp_path: Path) -> None:
    from data.spark import build_layout_with_spark

    with pytest.raises(DatasetNotFound) as expected:
        build_layout(tmp_path / EVENTS_FILE, tmp_path / "duckdb.layout", small_settings(tmp_path))
    with pytest.raises(DatasetNotFound) as raised:
        build_layout_with_spark(tmp_path / EVENTS_FILE, tmp_path / "spark.layout", small_settings(tmp_path))
    assert raised.value.problems == expected.value.problems
    assert os.listdir(tmp_path) == []


def test_a_source_that_is_not_parquet_is_an_unsupported_format(spark: Any, tmp_path: Path) -> None:
    from data.spark import build_layout_with_spark

    (tmp_path / EVENTS_FILE).write_text("case_id,activity\nann,visit\n", encoding="utf-8")
    with pytest.raises(UnsupportedFormat) as expected:
        build_layout(tmp_path / EVENTS_FILE, tmp_path / "duckdb.layout", small_settings(tmp_path))
    with pytest.raises(UnsupportedFormat) as raised:
        build_layout_with_spark(tmp_path / EVENTS_FILE, tmp_path / "spark.layout", small_settings(tmp_path))
    # The reason quotes each engine's own Parquet reader; where and how to fix it are the same.
    assert [(problem.file, problem.fix) for problem in raised.value.problems] == [
        (problem.file, problem.fix) for problem in expected.value.problems
    ]
    assert os.listdir(tmp_path) == [EVENTS_FILE]


def test_a_failed_build_keeps_the_previous_layout_and_leaves_no_temporary_files(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import data.spark

    tie_log().to_parquet(tmp_path / EVENTS_FILE, index=False)
    layout = tmp_path / "journeys.layout"
    build_layout(tmp_path / EVENTS_FILE, layout, small_settings(tmp_path))
    previous = layout.read_bytes()
    prepared: list[list[str]] = []

    def disk_full(_connection: duckdb.DuckDBPyConnection, tables: Path) -> None:
        prepared.append(sorted(path.name for path in tables.iterdir()))
        raise OSError("No space left on device")

    monkeypatch.setattr(data.spark, "_load_layout", disk_full)
    with pytest.raises(OSError, match="No space left"):
        data.spark.build_layout_with_spark(tmp_path / EVENTS_FILE, layout, small_settings(tmp_path))
    assert prepared == [list(PREPARED_TABLES)]
    assert layout.read_bytes() == previous
    assert sorted(os.listdir(tmp_path)) == [EVENTS_FILE, "journeys.layout"]


def test_a_store_set_to_spark_stores_the_log_the_duckdb_store_stores(spark: Any, tmp_path: Path) -> None:
    from data.store import Store

    log = tie_log()
    log.to_parquet(tmp_path / "ties.parquet", index=False)
    mapping = {"case_id": "case_id", "activity": "activity", "timestamp": "timestamp", "channel": "channel"}
    duck = import_file(tmp_path / "ties.parquet", store=Store(small_settings(tmp_path / "duck")), **mapping)
    sparked = import_file(
        tmp_path / "ties.parquet", store=Store(replace(small_settings(tmp_path / "spark"), engine="spark")), **mapping
    )
    assert sparked.id == duck.id and sparked.quality == duck.quality
    for table in TABLES:
        assert read_table(sparked.layout_path, table)[1].equals(read_table(duck.layout_path, table)[1]), table
