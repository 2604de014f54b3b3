"""A layout prepared elsewhere as Parquet tables is served as a dataset (`python -m data import-layout`).

The Parquet layout here is written from a DuckDB layout by DuckDB itself (names as text), so these tests need no
JVM; test_spark_layout.py serves one Spark wrote. The served dataset has every table of the layout it came from,
the quality report and canonical events of a DuckDB import of the same log, and one id however often it is
imported; a missing, unfinished or outdated layout is a typed error that stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import data.parquet_layout
from data import DatasetNotFound, OutdatedLayout, Settings, Store, UnsupportedFormat, import_file, import_layout
from data.__main__ import main
from data.parquet_layout import LAYOUT_INFO, PARQUET_TABLES, load_parquet_layout
from tests.data.test_spark_equality import read_table, small_settings, tie_log

MAPPING = {"case_id": "case_id", "activity": "activity", "timestamp": "timestamp", "channel": "channel"}


def write_parquet_layout(layout: Path, root: Path, tables: tuple[str, ...] = PARQUET_TABLES) -> None:
    """Write each table of a DuckDB layout as `root/table/part-0.parquet`, activity and channel names as text."""
    with duckdb.connect(str(layout), read_only=True) as connection:
        for table in tables:
            columns = [
                f'"{name}"::VARCHAR AS "{name}"' if data_type.startswith("ENUM") else f'"{name}"'
                for name, data_type, *_ in connection.execute(f"DESCRIBE {table}").fetchall()
            ]
            (root / table).mkdir(parents=True)
            target = root / table / "part-0.parquet"
            connection.execute(f"COPY (SELECT {', '.join(columns)} FROM {table}) TO '{target}' (FORMAT parquet)")


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Store, object, Path]:
    """A DuckDB import of the tie log, and its layout written as Parquet tables under `layout/`."""
    tie_log().to_parquet(tmp_path / "ties.parquet", index=False)
    store = Store(small_settings(tmp_path / "duck"))
    dataset = import_file(tmp_path / "ties.parquet", store=store, **MAPPING)
    write_parquet_layout(dataset.layout_path, tmp_path / "layout")
    return store, dataset, tmp_path / "layout"


def test_a_parquet_layout_is_served_with_every_table_of_the_layout_it_came_from(imported, tmp_path: Path) -> None:
    duck_store, duck, root = imported
    store = Store(small_settings(tmp_path / "served"))
    served = import_layout(root, store=store, name="ties at scale")
    assert (served.name, served.source_name, served.format) == ("ties at scale", "layout", "layout")
    assert served.quality == duck.quality
    for table in PARQUET_TABLES:
        assert read_table(served.layout_path, table)[0] == read_table(duck.layout_path, table)[0], table
        pd.testing.assert_frame_equal(
            read_table(served.layout_path, table)[1], read_table(duck.layout_path, table)[1], check_exact=True
        )
    with store.engine(served.id) as engine, duck_store.engine(duck.id) as expected:
        assert engine.summary() == expected.summary()
        pd.testing.assert_frame_equal(engine.events(), expected.events())


def test_the_served_dataset_keeps_the_canonical_events_in_file_order(imported, tmp_path: Path) -> None:
    duck_store, duck, root = imported
    store = Store(small_settings(tmp_path / "served"))
    events = store.load_events(import_layout(root, store=store).id)
    expected = duck_store.load_events(duck.id).sort_values("source_row", ignore_index=True)
    assert list(events.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(events, expected, check_dtype=False)


def test_the_same_layout_is_one_dataset_however_often_it_is_imported(imported, tmp_path: Path) -> None:
    _duck_store, _duck, root = imported
    store = Store(small_settings(tmp_path / "served"))
    first = import_layout(root, store=store)
    assert import_layout(str(root) + "/", store=store).id == first.id
    assert [dataset.id for dataset in store.datasets()] == [first.id]


def test_a_folder_that_is_not_there_is_not_found(tmp_path: Path) -> None:
    store = Store(small_settings(tmp_path))
    with pytest.raises(DatasetNotFound):
        import_layout(tmp_path / "nowhere", store=store)
    assert store.datasets() == []


def test_an_unfinished_layout_is_refused_and_nothing_is_stored(imported, tmp_path: Path) -> None:
    _duck_store, duck, _root = imported
    unfinished = tmp_path / "unfinished"
    write_parquet_layout(duck.layout_path, unfinished, tuple(name for name in PARQUET_TABLES if name != LAYOUT_INFO))
    store = Store(small_settings(tmp_path / "served"))
    with pytest.raises(UnsupportedFormat) as raised:
        import_layout(unfinished, store=store)
    assert "prepare-layout" in raised.value.problems[0].fix
    assert store.datasets() == []


def test_a_layout_of_another_version_is_outdated(imported, tmp_path: Path) -> None:
    _duck_store, _duck, root = imported
    info = root / LAYOUT_INFO / "part-0.parquet"
    with duckdb.connect() as connection:
        connection.execute(f"COPY (SELECT 1 AS layout_version) TO '{info}' (FORMAT parquet)")
    with pytest.raises(OutdatedLayout):
        import_layout(root, store=Store(small_settings(tmp_path / "served")))


def test_a_failed_copy_keeps_the_previous_layout_and_leaves_no_temporary_file(imported, tmp_path: Path) -> None:
    _duck_store, _duck, root = imported
    (root / "pair_stats" / "part-0.parquet").write_text("not parquet", encoding="utf-8")
    target = tmp_path / "out" / "journeys.layout"
    target.parent.mkdir()
    target.write_bytes(b"previous")
    with pytest.raises(duckdb.Error):
        load_parquet_layout(root, target, small_settings(tmp_path))
    assert target.read_bytes() == b"previous"
    assert sorted(path.name for path in target.parent.iterdir()) == ["journeys.layout"]


def test_a_layout_is_copied_under_the_import_memory_limit(
    imported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copying a layout sorts its events as an import does: it held 4.4 GB at 100M events under the general limit,
    1.4 GB under the import's."""
    _duck_store, _duck, root = imported
    settings = Settings(home=tmp_path / "home", duckdb_threads=1, duckdb_memory_limit="2GB", import_memory_mb=512)
    limits = []
    plain_connect = data.parquet_layout.connect

    def connect(settings: Settings, **options: bool) -> duckdb.DuckDBPyConnection:
        connection = plain_connect(settings, **options)
        limits.append(connection.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return connection

    monkeypatch.setattr(data.parquet_layout, "connect", connect)
    load_parquet_layout(root, tmp_path / "journeys.layout", settings)
    with duckdb.connect(config={"memory_limit": "512MB"}) as expected:
        assert set(limits) == {expected.execute("SELECT current_setting('memory_limit')").fetchone()[0]}


def test_the_command_line_serves_a_layout_and_says_what_to_fix_when_it_cannot(
    imported, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _duck_store, _duck, root = imported
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "served"))
    assert main(["import-layout", str(root), "--name", "ties", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["name"], printed["events"], printed["cases"]) == ("ties", 12, 5)
    assert [dataset.name for dataset in Store(Settings.from_env()).datasets()] == ["ties"]
    assert main(["import-layout", str(tmp_path / "nowhere")]) == 2
    assert "No folder is there" in capsys.readouterr().err
