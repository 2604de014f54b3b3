"""Spark where the log is, DuckDB where the dashboard is: errors, crash safety and the ways a Spark layout is served.

A bad source raises what `build_layout` raises, and a failed build leaves the previous layout and no temporary
files behind. A store set to PARCOURS_ENGINE=spark stores what the DuckDB store stores; a layout Spark prepared
elsewhere (`python -m data prepare-layout`) is served by `python -m data import-layout` with the same tables.
The tables themselves are held to DuckDB's log by log in test_spark_equality.py.

One Spark session (local[2], as in the equality suite) serves the module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data.__main__ import main
from data.engine import build_layout
from data.errors import DatasetNotFound, EmptyLog, LogError, MappingError, TimestampError, UnsupportedFormat
from data.importing import import_file
from data.parquet_layout import PARQUET_TABLES
from data.settings import Settings
from data.store import Store
from tests.data.test_spark_equality import (
    EVENTS_FILE,
    MISSING_PYSPARK,
    TABLES,
    read_table,
    small_log_session,
    small_settings,
    tie_log,
)

# Slow: every test starts or drives a JVM; .ci/run runs them after the quick tests.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MISSING_PYSPARK and not os.environ.get("CI"), reason="pip install pyspark"),
]

MAPPING = {"case_id": "case_id", "activity": "activity", "timestamp": "timestamp", "channel": "channel"}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = small_log_session()
    yield session
    session.stop()


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

    def disk_full(tables: Path, _layout: Path, _settings: object) -> None:
        prepared.append(sorted(path.name for path in tables.iterdir()))
        raise OSError("No space left on device")

    monkeypatch.setattr(data.spark, "load_parquet_layout", disk_full)
    with pytest.raises(OSError, match="No space left"):
        data.spark.build_layout_with_spark(tmp_path / EVENTS_FILE, layout, small_settings(tmp_path))
    assert prepared == [sorted(PARQUET_TABLES)]
    assert layout.read_bytes() == previous
    assert sorted(os.listdir(tmp_path)) == [EVENTS_FILE, "journeys.layout"]


def test_a_store_set_to_spark_stores_the_log_the_duckdb_store_stores(spark: Any, tmp_path: Path) -> None:
    tie_log().to_parquet(tmp_path / "ties.parquet", index=False)
    duck = import_file(tmp_path / "ties.parquet", store=Store(small_settings(tmp_path / "duck")), **MAPPING)
    spark_settings = replace(small_settings(tmp_path / "spark"), engine="spark")
    sparked = import_file(tmp_path / "ties.parquet", store=Store(spark_settings), **MAPPING)
    assert sparked.id == duck.id and sparked.quality == duck.quality
    for table in TABLES:
        assert_same_table(sparked.layout_path, duck.layout_path, table)


def test_a_layout_prepared_elsewhere_is_served_as_the_duckdb_import(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tie_log().to_parquet(tmp_path / "ties.parquet", index=False)
    duck_store = Store(small_settings(tmp_path / "duck"))
    duck = import_file(tmp_path / "ties.parquet", store=duck_store, **MAPPING)
    duck_store.export_events(duck.id, tmp_path / EVENTS_FILE)  # the canonical events, exported from its layout
    # The CLI's Spark session is the module's (getOrCreate); stopping it is left to the fixture.
    monkeypatch.setattr(type(spark), "stop", lambda _session: None)
    assert main(["prepare-layout", str(tmp_path / EVENTS_FILE), str(tmp_path / "layout"), "--master", "local[2]"]) == 0
    assert "python -m data import-layout" in capsys.readouterr().out
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "served"))
    assert main(["import-layout", str(tmp_path / "layout"), "--name", "ties", "--json"]) == 0
    (served,) = Store(Settings.from_env()).datasets()
    assert (served.name, served.format, served.n_events, served.n_cases) == ("ties", "layout", 12, 5)
    assert served.quality == duck.quality
    for table in TABLES:
        assert_same_table(served.layout_path, duck.layout_path, table)


def assert_same_table(layout: Path, expected: Path, table: str) -> None:
    (columns, rows), (expected_columns, expected_rows) = read_table(layout, table), read_table(expected, table)
    assert columns == expected_columns, table
    pd.testing.assert_frame_equal(rows, expected_rows, check_exact=True)


def test_a_layout_spark_cannot_write_is_a_typed_error_not_a_traceback(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tie_log().to_parquet(tmp_path / EVENTS_FILE, index=False)
    monkeypatch.setattr(type(spark), "stop", lambda _session: None)
    out = "nosuch://bucket/layout"
    assert main(["prepare-layout", str(tmp_path / EVENTS_FILE), out, "--master", "local[2]"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: file {out!r}: Spark could not prepare the layout (")
    assert 'No FileSystem for scheme "nosuch"' in error
    assert "Fix: Check that Spark can write there" in error
    assert "Traceback" not in error
