"""The store keeps a canonical log exactly, names it by content, and never lists a half dataset."""

from __future__ import annotations

import dataclasses
import decimal
import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import data.store
from data.engine import Engine
from data.errors import DatasetNotFound, EmptyLog, LogError, OutdatedLayout
from data.importing import load_log
from data.quality import assess
from data.schema import ColumnMapping, EventLog
from data.settings import Settings
from data.store import ANNOTATIONS, AUDIT, COMMENTS, DATASETS, DOCUMENTS, MEMBERSHIPS, MIGRATIONS_DIR, WORKSPACES, Store
from tests.conftest import DATASETS as SHARED_LOGS
from tests.data.test_columnar import LAYOUT_TABLES
from tests.data.test_columnar import table as layout_table

REPO = Path(__file__).resolve().parents[2]
HOSTILE_COLUMN = '"; DROP TABLE datasets; --'
ASSESSED_AT = pd.Timestamp("2025-01-01", tz="UTC")
MAPPING = ColumnMapping(case_id="Client", activity=("Action", "Étape"), timestamp="Quand", channel="Canal")


def journeys() -> pd.DataFrame:
    """Three customers, five events, with every label a careless store would mangle."""
    return pd.DataFrame(
        {
            "case_id": pd.array(["NA", "NA", "c-1", "客户 7", "c-1"], dtype="str"),
            "activity": pd.array(
                ['=HYPERLINK("http://evil.example","clic")', "Résiliation", "visit_website", "Résiliation", "@SUM(A1)"],
                dtype="str",
            ),
            "timestamp": pd.to_datetime(
                ["2024-03-01 09:00", "2024-03-02 10:30", "2024-03-01 08:00", "2024-02-29 23:59", "2024-03-05 17:00"],
                utc=True,
            ).as_unit("us"),
            "channel": pd.array(["web", None, "app", "call center", "web"], dtype="str"),
            "source_row": np.arange(5, dtype="int64"),
            HOSTILE_COLUMN: pd.array(["x", "'; --", None, "y", ""], dtype="str"),
            "__index_level_0__": [1.5, np.nan, 3.0, 4.0, 5.0],
            "satisfaction 😀": pd.array([5, None, 3, 1, 4], dtype="Int64"),
            "vip": pd.array([True, False, None, True, False], dtype="boolean"),
        }
    )


def event_log(frame: pd.DataFrame | None = None, *, source_sha256: str = "ab" * 32, **changes) -> EventLog:
    frame = journeys() if frame is None else frame
    log = EventLog(
        frame=frame,
        mapping=MAPPING,
        quality=assess(frame, now=ASSESSED_AT),
        name="parcours clients.csv",
        source_sha256=source_sha256,
        options={"format": "csv", "split_after_days": None},
    )
    return dataclasses.replace(log, **changes)


def folder_state(home: Path) -> dict[str, int]:
    """Every file under the datasets folder with its modification time, to prove nothing was touched."""
    return {str(path.relative_to(home)): path.stat().st_mtime_ns for path in (home / "datasets").rglob("*")}


def test_imported_log_is_listed_with_its_counts_and_loads_back_exactly(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    assert store.datasets() == [dataset]
    assert (dataset.n_events, dataset.n_cases, dataset.n_activities) == (5, 3, 4)
    assert dataset.start_time == datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
    assert dataset.end_time == datetime(2024, 3, 5, 17, 0, tzinfo=UTC)
    pd.testing.assert_frame_equal(store.load_events(dataset.id), journeys(), check_exact=True)


@pytest.mark.parametrize(
    "source",
    [
        "running-example/running-example.csv",
        "running-example/running-example.xes",
        "bpic16-complaints/BPI2016_Complaints.csv",
    ],
)
def test_a_real_log_read_from_its_file_loads_back_exactly(settings: Settings, source: str) -> None:
    log = load_log(SHARED_LOGS / source, settings=settings)
    store = Store(settings)
    dataset = store.import_log(log)

    assert (dataset.n_events, dataset.n_cases, dataset.n_activities) == (
        log.quality.events,
        log.quality.cases,
        log.quality.activities,
    )
    pd.testing.assert_frame_equal(store.load_events(dataset.id), log.frame, check_exact=True)


def test_metadata_comes_back_as_it_was_given(settings: Settings) -> None:
    log = event_log()
    dataset = Store(settings).import_log(log, owner="camille")

    reopened = Store(settings).dataset(dataset.id)
    assert reopened == dataset
    assert (reopened.mapping, reopened.options, reopened.quality) == (log.mapping, log.options, log.quality)
    assert (reopened.name, reopened.source_name, reopened.format, reopened.owner) == (
        "parcours clients.csv",
        "parcours clients.csv",
        "csv",
        "camille",
    )
    assert reopened.created_at.tzinfo == UTC
    folder = reopened.layout_path.parent
    assert sorted(path.name for path in folder.iterdir()) == ["events_schema.parquet", "layout.duckdb", "manifest.json"]
    assert reopened.size_bytes == sum(
        folder.joinpath(name).stat().st_size for name in ("events_schema.parquet", "layout.duckdb")
    )


def test_owner_defaults_to_the_configured_user(settings: Settings) -> None:
    store = Store(dataclasses.replace(settings, owner="ops"))
    assert store.import_log(event_log()).owner == "ops"


def test_reimporting_the_same_log_returns_the_stored_dataset_and_touches_nothing(settings: Settings) -> None:
    store = Store(settings)
    first = store.import_log(event_log(), name="Mars")
    files_before = folder_state(settings.home)

    again = store.import_log(event_log(), name="Another name", owner="someone else")

    assert again == first
    assert store.datasets() == [first]
    assert folder_state(settings.home) == files_before


def test_a_log_without_source_hash_is_named_by_its_content(settings: Settings) -> None:
    store = Store(settings)
    first = store.import_log(event_log(source_sha256=""))
    same = store.import_log(event_log(source_sha256=""))
    changed_frame = journeys().assign(activity=lambda frame: frame["activity"].str.upper())
    changed = store.import_log(event_log(changed_frame, source_sha256=""))

    assert same.id == first.id
    assert changed.id != first.id
    assert len(store.datasets()) == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"mapping": dataclasses.replace(MAPPING, timezone="Europe/Paris")},
        {"options": {"format": "csv", "split_after_days": 30}},
    ],
    ids=["mapping", "options"],
)
def test_the_same_source_read_another_way_is_another_dataset(settings: Settings, changes: dict) -> None:
    store = Store(settings)
    first = store.import_log(event_log())
    other = store.import_log(event_log(**changes))

    assert other.id != first.id
    assert {dataset.id for dataset in store.datasets()} == {first.id, other.id}


def test_datasets_are_listed_newest_first(settings: Settings) -> None:
    store = Store(settings)
    imported = [store.import_log(event_log(source_sha256=digit * 64)) for digit in "123"]

    assert [dataset.id for dataset in store.datasets()] == [dataset.id for dataset in reversed(imported)]


def test_rename_changes_only_the_display_name(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    renamed = store.rename(dataset.id, "  Abonnés — mars 2024  ")

    assert renamed.name == "Abonnés — mars 2024"
    assert renamed.updated_at > dataset.updated_at
    assert dataclasses.replace(renamed, name=dataset.name, updated_at=dataset.updated_at) == dataset
    assert Store(settings).dataset(dataset.id).name == "Abonnés — mars 2024"


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_name_is_refused(settings: Settings, blank: str) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    with pytest.raises(LogError, match="needs a name"):
        store.rename(dataset.id, blank)
    assert store.dataset(dataset.id).name == dataset.name


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("Abonnés\x1b[2J", "U+001B"),
        ("line\nbreak", "U+000A"),
        ("tab\there", "U+0009"),
        ("\u202egnp.exe", "U+202E"),
        ("x" * 201, "longer than 200 characters"),
    ],
)
def test_a_name_with_control_characters_or_too_long_is_refused_and_kept(
    settings: Settings, name: str, found: str
) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    with pytest.raises(LogError, match=re.escape(found)):
        store.rename(dataset.id, name)
    assert store.dataset(dataset.id).name == dataset.name


def test_a_name_of_200_characters_with_emoji_and_accents_is_kept(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    name = "Famille 👨‍👩‍👧 — abonnés " + "é" * (200 - 24)
    assert len(name) == 200
    assert store.rename(dataset.id, name).name == name


def test_opening_is_written_down_at_most_once_a_minute_and_never_backwards(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    noon = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert dataset.last_opened_at is None

    assert store.mark_opened(dataset.id, at=noon).last_opened_at == noon
    assert store.mark_opened(dataset.id, at=noon.replace(second=59)).last_opened_at == noon
    assert store.mark_opened(dataset.id, at=noon.replace(minute=1)).last_opened_at == noon.replace(minute=1)
    assert store.mark_opened(dataset.id, at=noon).last_opened_at == noon.replace(minute=1)
    assert Store(settings).datasets()[0].last_opened_at == noon.replace(minute=1)
    with pytest.raises(DatasetNotFound):
        store.mark_opened("0123456789abcdef")


def test_a_database_of_the_previous_version_gains_last_opened_and_keeps_its_datasets(settings: Settings) -> None:
    dataset = Store(settings).import_log(event_log())
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert "last_opened_at" not in [column["name"] for column in sa.inspect(engine).get_columns("datasets")]
    engine.dispose()

    migrated = Store(settings).dataset(dataset.id)

    assert migrated == dataset
    assert migrated.last_opened_at is None


def test_delete_forgets_the_dataset_and_removes_its_folder(settings: Settings) -> None:
    store = Store(settings)
    kept = store.import_log(event_log(source_sha256="1" * 64))
    deleted = store.import_log(event_log(source_sha256="2" * 64))

    store.delete(deleted.id)

    assert store.datasets() == [kept]
    assert not (settings.datasets_dir / deleted.id).exists()
    assert (settings.datasets_dir / kept.id).is_dir()
    with pytest.raises(DatasetNotFound):
        store.load_events(deleted.id)


def test_a_deleted_dataset_can_be_imported_again(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    store.delete(dataset.id)

    again = store.import_log(event_log())

    assert again.id == dataset.id
    pd.testing.assert_frame_equal(store.load_events(again.id), journeys(), check_exact=True)


def test_unknown_id_is_reported_with_the_ids_that_exist(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    for call in (store.dataset, store.load_events, store.engine, store.delete):
        with pytest.raises(DatasetNotFound) as caught:
            call("0123456789abcdef")
        assert caught.value.problems[0].value == "0123456789abcdef"
        assert dataset.id in caught.value.problems[0].fix
    with pytest.raises(DatasetNotFound):
        store.rename("0123456789abcdef", "x")


def test_an_empty_store_says_to_import_first(settings: Settings) -> None:
    with pytest.raises(DatasetNotFound, match="import a log first"):
        Store(settings).dataset("0123456789abcdef")


@pytest.mark.parametrize("hostile_id", ["..", "../datasets", "", "0123456789ABCDEF", "0123456789abcdef/.."])
def test_an_id_that_is_not_a_content_hash_never_reaches_the_file_system(settings: Settings, hostile_id: str) -> None:
    store = Store(settings)
    store.import_log(event_log())
    files_before = folder_state(settings.home)

    with pytest.raises(DatasetNotFound):
        store.delete(hostile_id)
    assert folder_state(settings.home) == files_before


def test_a_dataset_whose_layout_was_removed_says_to_import_again(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    dataset.layout_path.unlink()

    with pytest.raises(DatasetNotFound, match="Import the log again"):
        store.load_events(dataset.id)


def test_a_log_stored_with_its_canonical_copy_by_an_older_parcours_loads_from_it(
    settings: Settings, tmp_path: Path
) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    older = journeys().assign(activity="as the copy says")  # told apart from what the layout holds
    older.to_parquet(dataset.events_path, index=False)
    data.store._write_manifest(dataset.layout_path.parent, dataset.id, n_events=dataset.n_events)

    pd.testing.assert_frame_equal(store.load_events(dataset.id), older, check_exact=True)
    store.export_events(dataset.id, tmp_path / "exported.parquet")
    assert (tmp_path / "exported.parquet").read_bytes() == dataset.events_path.read_bytes()


def unusual_types() -> pd.DataFrame:
    """Attributes DuckDB reads from Arrow otherwise than from Parquet (durations, milliseconds, half floats) and
    some it reads alike (categories, decimals, dates)."""
    frame = journeys()[["case_id", "activity", "timestamp", "channel", "source_row"]]
    return frame.assign(
        waited=pd.to_timedelta([1, 2, None, 4, 5], unit="s").as_unit("s"),
        paid_at=pd.to_datetime(
            [
                "2024-03-01 09:00:00.125",
                None,
                "2024-03-01 00:00:00.000",
                "2024-03-02 10:00:00.000",
                "2024-03-05 11:11:11.111",
            ]
        ).as_unit("ms"),
        weight=np.array([1.5, 2, 3, 4, 5], dtype="float16"),
        plan=pd.Categorical(["a", "b", None, "a", "b"]),
        amount=[decimal.Decimal("1.10"), None, decimal.Decimal("3"), decimal.Decimal("4.5"), decimal.Decimal("5")],
        born=[date(1990, 1, 1), None, date(1985, 5, 5), date(2000, 2, 29), date(1970, 1, 1)],
    )


@pytest.mark.parametrize("frame", [journeys, unusual_types], ids=["text-numbers-flags", "unusual-types"])
def test_the_layout_of_a_frame_is_the_one_built_from_its_parquet_file(frame, tmp_path: Path) -> None:
    """Built from the frame in memory as DuckDB would read it from its Parquet file (which Spark's layout reads)."""
    log = event_log(frame())
    straight = Store(Settings(home=tmp_path / "straight")).import_log(log)
    through_parquet = Store(Settings(home=tmp_path / "parquet")).import_events(
        lambda path: log.frame.to_parquet(path, index=False),
        lambda _layout: log.quality,
        source_sha256=log.source_sha256,
        source_name=log.name,
        mapping=log.mapping,
        options=log.options,
    )

    for name in LAYOUT_TABLES:
        pd.testing.assert_frame_equal(
            layout_table(straight.layout_path, name), layout_table(through_parquet.layout_path, name)
        )
    assert not straight.events_path.exists()
    loaded = Store(Settings(home=tmp_path / "straight")).load_events(straight.id)
    pd.testing.assert_frame_equal(loaded, frame(), check_exact=True)


def test_an_empty_log_is_refused(settings: Settings) -> None:
    with pytest.raises(EmptyLog):
        Store(settings).import_log(event_log(journeys().iloc[:0]))


def test_engine_opens_the_stored_layout(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    with store.engine(dataset.id) as engine:
        summary = engine.summary()

    assert (summary.events, summary.cases, summary.activities) == (5, 3, 4)


def test_a_layout_written_by_another_version_is_rebuilt_from_the_events(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    with duckdb.connect(str(dataset.layout_path)) as connection:
        connection.execute("UPDATE layout_info SET layout_version = layout_version - 1")
    with pytest.raises(OutdatedLayout, match="has version"):
        Engine(dataset.layout_path, settings)

    with store.engine(dataset.id) as engine:
        summary = engine.summary()

    assert (summary.events, summary.cases, summary.activities) == (5, 3, 4)
    assert data.store._read_manifest(dataset.layout_path.parent, dataset.id) is not None


def test_attributes_named_as_duckdb_cannot_name_a_column_are_exported_and_rebuilt(
    settings: Settings, tmp_path: Path
) -> None:
    frame = journeys()[["case_id", "activity", "timestamp", "channel", "source_row"]].assign(
        **{"": [1, 2, 3, 4, 5], "\x00": ["a", "b", "c", "d", "e"], "Plan": ["x"] * 5, "plan": ["y"] * 5}
    )
    store = Store(settings)
    dataset = store.import_log(event_log(frame))
    store.export_events(dataset.id, tmp_path / "exported.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "exported.parquet"), frame, check_dtype=False)
    with duckdb.connect(str(dataset.layout_path)) as connection:
        connection.execute("UPDATE layout_info SET layout_version = layout_version - 1")

    with store.engine(dataset.id) as engine:  # rebuilt from the events exported from the old layout
        assert list(engine.attribute_columns) == ["", "\x00", "Plan", "plan"]
    pd.testing.assert_frame_equal(store.load_events(dataset.id), frame, check_exact=True)


def test_a_failed_import_leaves_the_store_as_it_was(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(settings)

    def failing_build_layout(query: str, names: list[str], layout_path: Path, *args: object, **kwargs: object) -> None:
        layout_path.write_bytes(b"half a layout")
        raise OSError("disk full")

    monkeypatch.setattr(data.store, "build_layout_from_query", failing_build_layout)
    with pytest.raises(OSError, match="disk full"):
        store.import_log(event_log())

    assert Store(settings).datasets() == []
    left = sorted(path for path in settings.datasets_dir.rglob("*") if ".locks" not in path.parts)
    assert left == [settings.datasets_dir / ".incoming"]
    with sqlite3.connect(settings.home / "parcours.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_complete_folder_left_by_a_crash_before_the_commit_is_reused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    with sqlite3.connect(settings.home / "parcours.db") as connection:
        connection.execute("DELETE FROM datasets")  # as if the process died just before its commit
    files_before = folder_state(settings.home)

    def unexpected_build_layout(*args: object, **kwargs: object) -> None:
        raise AssertionError("the complete folder should have been reused")

    monkeypatch.setattr(data.store, "build_layout_from_query", unexpected_build_layout)
    again = store.import_log(event_log())

    assert again.id == dataset.id
    assert folder_state(settings.home) == files_before
    pd.testing.assert_frame_equal(store.load_events(again.id), journeys(), check_exact=True)


@pytest.mark.parametrize("damage", ["no manifest", "truncated layout", "foreign manifest"])
def test_a_broken_folder_left_by_a_crash_is_replaced(settings: Settings, damage: str) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    with sqlite3.connect(settings.home / "parcours.db") as connection:
        connection.execute("DELETE FROM datasets")
    folder = settings.datasets_dir / dataset.id
    if damage == "no manifest":
        (folder / "manifest.json").unlink()
    elif damage == "truncated layout":
        (folder / "layout.duckdb").write_bytes((folder / "layout.duckdb").read_bytes()[:100])
    else:
        manifest = (folder / "manifest.json").read_text(encoding="utf-8")
        (folder / "manifest.json").write_text(manifest.replace(dataset.id, "f" * 16), encoding="utf-8")

    again = store.import_log(event_log())

    assert store.datasets() == [again]
    pd.testing.assert_frame_equal(store.load_events(again.id), journeys(), check_exact=True)
    assert sorted(path.name for path in folder.iterdir()) == ["events_schema.parquet", "layout.duckdb", "manifest.json"]


def test_leftovers_older_than_an_hour_are_removed_when_the_store_opens(settings: Settings) -> None:
    incoming = settings.datasets_dir / ".incoming"
    old, recent = incoming / "old-crash", incoming / "still-importing"
    for folder in (old, recent):
        folder.mkdir(parents=True)
        (folder / "events.parquet").write_bytes(b"partial")
    two_hours_ago = time.time() - 2 * 3600
    for path in (old / "events.parquet", old):
        os.utime(path, (two_hours_ago, two_hours_ago))

    Store(settings)

    assert sorted(incoming.iterdir()) == [recent]


def test_the_migrated_schema_matches_the_table_the_store_writes(settings: Settings) -> None:
    Store(settings)
    inspector = sa.inspect(sa.create_engine(settings.database_url))

    assert [column["name"] for column in inspector.get_columns("datasets")] == [c.name for c in DATASETS.columns]
    assert inspector.get_pk_constraint("datasets")["constrained_columns"] == ["id"]
    assert sorted(index["column_names"] for index in inspector.get_indexes("datasets")) == [["owner"], ["workspace_id"]]
    for table in (AUDIT, COMMENTS, MEMBERSHIPS, WORKSPACES):
        assert [column["name"] for column in inspector.get_columns(table.name)] == [c.name for c in table.columns]


def test_the_migrated_annotations_table_matches_the_one_the_store_writes(settings: Settings) -> None:
    Store(settings)
    inspector = sa.inspect(sa.create_engine(settings.database_url))

    assert [column["name"] for column in inspector.get_columns("annotations")] == [c.name for c in ANNOTATIONS.columns]
    assert inspector.get_pk_constraint("annotations")["constrained_columns"] == ["dataset_id", "kind", "name"]


def test_an_annotation_is_saved_replaced_listed_and_forgotten(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    store.save_annotation(dataset.id, "personas", "spring", {"k": 4, "names": {"0": "Store-first"}})
    store.save_annotation(dataset.id, "personas", "autumn", {"k": None})
    store.save_annotation(dataset.id, "personas", "spring", {"k": 5, "names": {"0": "Résiliation 😀"}})

    assert store.annotation(dataset.id, "personas", "spring") == {"k": 5, "names": {"0": "Résiliation 😀"}}
    assert store.annotation(dataset.id, "stages", "spring") is None
    assert list(store.annotations(dataset.id, "personas")) == ["autumn", "spring"]
    store.delete_annotation(dataset.id, "personas", "autumn")
    assert list(store.annotations(dataset.id, "personas")) == ["spring"]


def test_annotations_go_with_their_dataset(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    store.save_annotation(dataset.id, "stages", "default", {"stage_of": {"visit": "discovery"}})

    store.delete(dataset.id)
    dataset = store.import_log(event_log())

    assert store.annotations(dataset.id, "stages") == {}


def test_an_annotation_of_an_unknown_dataset_or_without_a_name_is_refused(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    with pytest.raises(DatasetNotFound):
        store.save_annotation("0" * 16, "stages", "default", {})
    with pytest.raises(LogError, match="name"):
        store.save_annotation(dataset.id, "stages", "  ", {})
    with pytest.raises(TypeError, match="plain JSON"):
        store.save_annotation(dataset.id, "stages", "default", {"when": datetime.now(UTC)})
    assert store.annotations(dataset.id, "stages") == {}


PRAGMAS = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(settings: Settings) -> None:
    store = Store(settings)
    with store._engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS}

    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000, "synchronous": 2}


OPEN_STORE = """
import sys
from data.settings import Settings
from data.store import Store
sys.stdin.readline()  # start together
print(len(Store(Settings(home=sys.argv[1])).datasets()))
"""


def test_processes_opening_a_new_home_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE, str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(4)
    ]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=120) for process in processes]

    assert [(process.returncode, out.strip()) for process, (out, _err) in zip(processes, results, strict=True)] == [
        (0, "0")
    ] * 4, [err for _out, err in results]


# --- the property: whatever canonical frame goes in comes out identical -------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
LABELS = TEXT | st.sampled_from(["NA", "", "null", "=1+1", "+33 1 23", "-", "Résiliation", "客户"])
ATTRIBUTE_VALUES = {
    "str": lambda n: st.lists(st.none() | LABELS, min_size=n, max_size=n).map(lambda v: pd.array(v, dtype="str")),
    "Int64": lambda n: st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n).map(
        lambda v: pd.array(v, dtype="Int64")
    ),
    "float64": lambda n: st.lists(st.floats(allow_infinity=True), min_size=n, max_size=n).map(
        lambda v: np.array(v, dtype="float64")
    ),
    "boolean": lambda n: st.lists(st.none() | st.booleans(), min_size=n, max_size=n).map(
        lambda v: pd.array(v, dtype="boolean")
    ),
}
INSTANTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def canonical_frames(draw: st.DrawFn) -> pd.DataFrame:
    n_events = draw(st.integers(min_value=1, max_value=8))
    rows = st.lists(LABELS.filter(bool), min_size=n_events, max_size=n_events)
    frame = pd.DataFrame(
        {
            "case_id": pd.array(draw(rows), dtype="str"),
            "activity": pd.array(draw(rows), dtype="str"),
            "timestamp": pd.DatetimeIndex(
                draw(st.lists(INSTANTS, min_size=n_events, max_size=n_events)), tz="UTC"
            ).as_unit("us"),
            "channel": pd.array(draw(st.lists(st.none() | LABELS, min_size=n_events, max_size=n_events)), dtype="str"),
            "source_row": np.arange(n_events, dtype="int64"),
        }
    )
    names = draw(st.lists(TEXT.filter(lambda name: name not in frame.columns), max_size=3, unique=True))
    for name in names:
        frame[name] = draw(ATTRIBUTE_VALUES[draw(st.sampled_from(sorted(ATTRIBUTE_VALUES)))](n_events))
    return frame


@pytest.mark.slow
@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=canonical_frames())
def test_any_canonical_frame_stored_then_loaded_is_identical(settings: Settings, frame: pd.DataFrame) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log(frame, source_sha256=""))

    pd.testing.assert_frame_equal(store.load_events(dataset.id), frame, check_exact=True)
    assert dataset.n_events == len(frame)


def test_journey_definitions_are_saved_in_versions_even_by_writers_at_once(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(lambda n: store.save_definition(dataset.id, {"n": n}, author=f"user {n}"), range(8)))
    assert sorted(versions) == list(range(1, 9))
    history = store.definition_history(dataset.id)
    assert [saved.version for saved in history] == list(range(8, 0, -1))
    assert {saved.payload["n"] for saved in history} == set(range(8))
    assert store.definition(dataset.id).version == store.definition_version(dataset.id) == 8
    store.delete(dataset.id)
    assert store.definition_history(dataset.id) == []


def test_the_migrated_documents_table_matches_the_one_the_store_writes(settings: Settings) -> None:
    Store(settings)
    inspector = sa.inspect(sa.create_engine(settings.database_url))
    assert [column["name"] for column in inspector.get_columns("documents")] == [
        column.name for column in DOCUMENTS.columns
    ]


def test_documents_are_versioned_by_kind_and_key_and_listed_newest_first(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())

    assert store.save_document(dataset.id, "action", "a2", {"title": "Call back"}) == 1
    assert store.save_document(dataset.id, "action", "a1", {"title": "Faster refunds"}, author="ana") == 1
    assert store.save_document(dataset.id, "action", "a1", {"title": "Faster refunds", "status": "live"}) == 2
    assert store.save_document(dataset.id, "designed_journey", "", {"stages": []}) == 1

    actions = store.documents(dataset.id, "action")
    assert list(actions) == ["a1", "a2"]
    assert (actions["a1"].version, actions["a1"].payload["status"]) == (2, "live")
    assert [saved.author for saved in store.document_history(dataset.id, "action", "a1")] == [
        settings.owner,
        "ana",
    ]
    assert store.document(dataset.id, "action", "a1", version=1).payload == {"title": "Faster refunds"}
    assert store.document(dataset.id, "action", "a3") is None
    assert store.definition(dataset.id) is None  # a journey definition is a document of its own kind
    with pytest.raises(LogError):
        store.save_document(dataset.id, "action", "x" * 65, {})
    with pytest.raises(LogError):
        store.save_document(dataset.id, "", "a1", {})
    with pytest.raises(DatasetNotFound):
        store.save_document("0123456789abcdef", "action", "a1", {})
    store.delete(dataset.id)
    assert store.documents(dataset.id, "action") == {}


def test_a_database_of_the_previous_version_keeps_its_journey_definitions_as_documents(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    store.save_definition(dataset.id, {"goal": ["buy"]}, author="ana")
    store.save_definition(dataset.id, {"goal": ["pay"]}, author="bo")
    before = store.definition_history(dataset.id)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert "documents" not in sa.inspect(engine).get_table_names()
    engine.dispose()

    assert Store(settings).definition_history(dataset.id) == before
