"""A typed Parquet file imported through DuckDB alone gives the dataset the pandas importer gives it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import data.columnar
import data.engine
import data.importing
import data.store
from data.__main__ import main as data_main
from data.demo import generate_demo
from data.errors import LimitExceeded, MappingError, TimestampError
from data.importing import import_file, load_log
from data.schema import CANONICAL_COLUMNS, ColumnMapping
from data.settings import Settings
from data.store import Dataset, Store
from tests.oracle import ORACLES, load_oracle_frame

LAYOUT_TABLES = ("events", "cases", "variants", "activities", "case_activities", "case_pairs", "attributes")
MAPPING = ColumnMapping(case_id="client", activity=("action", "step"), timestamp="when", channel="canal")


def awkward_log() -> pd.DataFrame:
    """Three customers whose values exercise every text rule of the canonical step.

    Padded and tab-surrounded labels, a no-break space, a two-part activity with an empty part, a tie
    at a customer's first time, rows out of order, number-like text ("12", "3.5"), codes that must stay
    text ("007"), a whole-number column with a gap (pandas reads it as floats), an empty text column
    and an attribute named like a canonical column.
    """
    times = pd.to_datetime(
        [
            "2024-01-01 09:00",
            "2024-01-01 09:00",
            "2024-01-02 10:00",
            "2024-01-02 10:00",
            "2024-01-01 08:00",
            "2024-01-05 12:00",
            "2024-01-03 07:30",
            "2024-01-04 07:30",
        ],
        utc=True,
    )
    return pd.DataFrame(
        {
            "client": [" ann", "ann", "bob\t", "bob\t", "ann", "\u00a0cy", "cy", "bob\t"],
            "action": ["visit", " visit ", "call", "call", "ad", "buy", "visit", "call"],
            "step": ["", "", "start", "start", None, "done", "", "end"],
            "when": times,
            "canal": ["web", "web ", "phone", "phone", None, "store", "web", "phone"],
            "amount": ["12", " 3.5", "", "7", "1e3", "4", "5", "6"],
            "code": ["007", "12", "3", "4", "5", "6", "7", "8"],
            "visits": pd.array([1, 2, None, 4, 5, 6, 7, 8], dtype="Int64"),
            "score": [1.5, 2.5, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0],
            "note": [None, "", "  ", None, None, None, None, None],
            "activity": ["x", "y", "x", "y", "x", "y", "x", "y"],
        }
    )


def demo_log() -> pd.DataFrame:
    return generate_demo(300, scenario="shop", seed=3).events.assign(
        timestamp=lambda frame: pd.to_datetime(frame["timestamp"], utc=True)
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def awkward_log_written_by_spark() -> pd.DataFrame:
    """The awkward log; the test strips its pandas metadata, as Spark or DuckDB write none (gaps become floats)."""
    return awkward_log()


def by_pandas(path: Path, settings: Settings, **options) -> Dataset:
    """The reference: the pandas importer, as the dashboard's upload runs it."""
    store = Store(settings)
    return store.import_log(load_log(path, settings=settings, **options))


def by_duckdb(path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, **options) -> Dataset:
    """The columnar importer; the pandas one is made to fail so that a silent fallback cannot pass."""
    with monkeypatch.context() as patch:
        patch.setattr(data.importing, "load_log", _refuse_pandas)
        return import_file(path, store=Store(settings), **options)


def _refuse_pandas(*args, **kwargs):
    raise AssertionError("the pandas importer ran")


def table(path: Path, table_name: str) -> pd.DataFrame:
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"ATTACH '{path}' AS layout (READ_ONLY)")
        return connection.sql(f"SELECT * FROM layout.{table_name} ORDER BY ALL").df()


def events(dataset: Dataset) -> pd.DataFrame:
    """The stored canonical events, read the same way whether kept as a file (pandas) or exported from the layout."""
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        if dataset.events_path.is_file():
            return connection.sql(f"SELECT * FROM read_parquet('{dataset.events_path}')").df()
        return connection.from_arrow(data.engine.layout_canonical_events(dataset.layout_path, Settings())).df()


def assert_same_dataset(ours: Dataset, reference: Dataset) -> None:
    assert ours.id == reference.id
    for field in ("source_name", "format", "n_events", "n_cases", "n_activities", "start_time", "end_time"):
        assert getattr(ours, field) == getattr(reference, field), field
    assert ours.mapping == reference.mapping
    assert ours.options == reference.options
    assert ours.quality.to_dict() == reference.quality.to_dict()
    assert not ours.events_path.exists()  # the layout is the stored form
    pd.testing.assert_frame_equal(events(ours), events(reference))
    for name in LAYOUT_TABLES:
        pd.testing.assert_frame_equal(table(ours.layout_path, name), table(reference.layout_path, name), obj=name)


@pytest.mark.parametrize(
    ("log", "options"),
    [
        (awkward_log, {"mapping": MAPPING}),
        (awkward_log_written_by_spark, {"mapping": MAPPING}),
        (demo_log, {}),
        (demo_log, {"case_id": "customer_id", "activity": "touchpoint", "timestamp": "timestamp"}),
    ],
    ids=["awkward-values", "awkward-values-without-pandas-metadata", "demo-detected-mapping", "demo-no-channel"],
)
def test_duckdb_import_equals_the_pandas_import(log, options, tmp_path, monkeypatch):
    path = write(log(), tmp_path / "log.parquet")
    if log is awkward_log_written_by_spark:
        pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)
    reference = by_pandas(path, Settings(home=tmp_path / "pandas"), **options)
    ours = by_duckdb(path, Settings(home=tmp_path / "duckdb"), monkeypatch, **options)
    assert_same_dataset(ours, reference)


def test_the_stored_events_are_exported_from_the_layout_as_imported(tmp_path, monkeypatch):
    path = write(demo_log(), tmp_path / "log.parquet")
    settings = Settings(home=tmp_path / "home")
    dataset = by_duckdb(path, settings, monkeypatch)
    loaded = Store(settings).load_events(dataset.id)
    assert not dataset.events_path.exists()
    assert loaded["source_row"].tolist() == list(range(len(loaded)))
    assert len(loaded) == dataset.n_events
    assert str(loaded["timestamp"].dtype) == "datetime64[us, UTC]"
    source = pd.read_parquet(path)
    assert loaded["case_id"].tolist() == source["customer_id"].tolist()


def test_the_awkward_log_reads_as_a_person_would_expect(tmp_path, monkeypatch):
    path = write(awkward_log(), tmp_path / "log.parquet")
    dataset = by_duckdb(path, Settings(home=tmp_path / "home"), monkeypatch, mapping=MAPPING)
    stored = events(dataset)
    assert list(stored.columns) == [
        "case_id",
        "activity",
        "timestamp",
        "channel",
        "source_row",
        "amount",
        "code",
        "visits",
        "score",
        "note",
        "activity (source)",
    ]
    assert stored["case_id"].tolist() == ["ann", "ann", "bob", "bob", "ann", "cy", "cy", "bob"]
    visit, call = ["visit", "visit"], ["call-start", "call-start"]
    assert stored["activity"].tolist() == [*visit, *call, "ad", "buy-done", "visit", "call-end"]
    assert stored["amount"].tolist()[:2] == [12.0, 3.5] and pd.isna(stored["amount"][2])
    assert stored["code"].tolist()[0] == "007"
    assert stored["visits"].dtype == "Int64"  # pandas wrote Int64 into the file's metadata
    assert stored["note"].isna().all()
    assert dataset.quality.finding("timestamp_ties").count == 4  # ann's and bob's first two events
    assert dataset.quality.finding("out_of_order").count == 2  # ann's 08:00 ad and cy's visit come late


def test_a_second_import_of_the_same_file_returns_the_first_dataset(tmp_path, monkeypatch):
    path = write(awkward_log(), tmp_path / "log.parquet")
    settings = Settings(home=tmp_path / "home")
    first = by_duckdb(path, settings, monkeypatch, mapping=MAPPING)
    again = by_duckdb(path, settings, monkeypatch, mapping=MAPPING, name="renamed")
    assert again == first


def test_a_folder_left_by_another_version_gets_a_new_layout_before_its_report(tmp_path, monkeypatch):
    # The dataset's files are in place but its database row is not (another database here), and the layout is
    # older than this Parcours reads: the report is read from a layout rebuilt from the old one's events.
    path = write(awkward_log(), tmp_path / "log.parquet")
    first = by_duckdb(path, Settings(home=tmp_path / "home"), monkeypatch, mapping=MAPPING)
    stored = events(first)
    monkeypatch.setattr(data.engine, "LAYOUT_VERSION", data.engine.LAYOUT_VERSION + 1)
    elsewhere = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'other.db'}")

    again = by_duckdb(path, elsewhere, monkeypatch, mapping=MAPPING)

    assert again.quality == first.quality
    assert table(again.layout_path, "layout_info")["layout_version"].tolist() == [data.engine.LAYOUT_VERSION]
    assert data.store._read_manifest(again.layout_path.parent, again.id) is not None
    pd.testing.assert_frame_equal(events(again), stored)
    assert sorted(path.name for path in again.layout_path.parent.iterdir()) == ["layout.duckdb", "manifest.json"]


def test_a_failed_rebuild_keeps_the_old_layout_and_leaves_no_exported_events(tmp_path, monkeypatch):
    path = write(awkward_log(), tmp_path / "log.parquet")
    settings = Settings(home=tmp_path / "home")
    dataset = by_duckdb(path, settings, monkeypatch, mapping=MAPPING)
    old_layout = dataset.layout_path.read_bytes()
    monkeypatch.setattr(data.engine, "LAYOUT_VERSION", data.engine.LAYOUT_VERSION + 1)

    def failing_build_layout(events_parquet: Path, layout_path: Path, settings: Settings) -> None:
        assert len(pd.read_parquet(events_parquet)) == dataset.n_events  # exported from the old layout
        raise OSError("disk full")

    monkeypatch.setattr(data.store, "build_layout", failing_build_layout)
    with pytest.raises(OSError, match="disk full"):
        Store(settings).engine(dataset.id)

    assert dataset.layout_path.read_bytes() == old_layout
    assert list(settings.datasets_dir.joinpath(".incoming").iterdir()) == []


def test_rows_to_reject_are_left_to_the_pandas_importer_which_lists_them(tmp_path):
    frame = awkward_log()
    frame.loc[3, "client"] = "  "
    frame.loc[5, "when"] = pd.NaT
    path = write(frame, tmp_path / "log.parquet")
    store = Store(Settings(home=tmp_path / "home"))
    with pytest.raises(TimestampError) as raised:
        import_file(path, store=store, mapping=MAPPING)
    assert [problem.row for problem in raised.value.problems] == [5, 7]
    dropped = import_file(path, store=store, mapping=MAPPING, drop_invalid_rows=True)
    assert dropped.n_events == 6 and dropped.options["dropped_rows"] == 2


@pytest.mark.parametrize(
    ("change", "options"),
    [
        (lambda frame: frame.assign(when=frame["when"].dt.tz_localize(None)), {}),
        (lambda frame: frame.assign(when=frame["when"].astype(str)), {}),
        (lambda frame: frame.assign(nested=[[1]] * len(frame)), {}),
        (lambda frame: frame, {"split_after_days": 30}),
        (
            lambda frame: frame.assign(
                when=frame["when"].astype(str),
                weight=np.arange(len(frame), dtype="float16"),
                waited=pd.to_timedelta(np.arange(len(frame)), unit="s").as_unit("s"),
            ),
            {},
        ),
    ],
    ids=["naive-times", "text-times", "nested-column", "journeys-split", "text-times-half-floats-durations"],
)
def test_what_only_pandas_reads_goes_to_pandas_with_the_same_result(change, options, tmp_path):
    path = write(change(awkward_log()), tmp_path / "log.parquet")
    reference = by_pandas(path, Settings(home=tmp_path / "pandas"), mapping=MAPPING, **options)
    dataset = import_file(path, store=Store(Settings(home=tmp_path / "home")), mapping=MAPPING, **options)
    assert dataset.id == reference.id
    assert dataset.quality.to_dict() == reference.quality.to_dict()


def test_a_log_over_the_event_limit_is_refused_as_before(tmp_path):
    path = write(awkward_log(), tmp_path / "log.parquet")
    with pytest.raises(LimitExceeded):
        import_file(path, store=Store(Settings(home=tmp_path / "home", max_events=5)), mapping=MAPPING)


def test_an_unknown_column_in_the_mapping_is_named(tmp_path):
    path = write(awkward_log(), tmp_path / "log.parquet")
    with pytest.raises(MappingError, match="clent"):
        import_file(
            path, store=Store(Settings(home=tmp_path / "home")), mapping=ColumnMapping("clent", "action", "when")
        )


@pytest.mark.parametrize(
    "text",
    ["", " ", "a", " a ", "\tcode\n", "\x85a", "a\xa0", "\u3000x\u2028", "\x84b\x84", "!~", "é", "x\x1fy\x1f"],
)
def test_the_sql_strip_is_pythons(text, tmp_path):
    # Most values take the fast test on their first and last characters; the others the full look-up.
    with data.columnar._connect(Settings(home=tmp_path)) as connection:
        assert connection.execute("SELECT py_strip(?)", [text]).fetchone()[0] == text.strip()


def test_export_events_writes_the_canonical_events_whichever_importer_stored_them(tmp_path, monkeypatch, capsys):
    path = write(awkward_log(), tmp_path / "log.parquet")
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "duckdb"))
    ours = by_duckdb(path, Settings.from_env(), monkeypatch, mapping=MAPPING)
    assert data_main(["export-events", ours.id, str(tmp_path / "ours.parquet")]) == 0
    assert f"wrote the canonical events of dataset {ours.id}" in capsys.readouterr().out
    reference = by_pandas(path, Settings(home=tmp_path / "pandas"), mapping=MAPPING)
    Store(Settings(home=tmp_path / "pandas")).export_events(reference.id, tmp_path / "reference.parquet")

    exported = pd.read_parquet(tmp_path / "ours.parquet")
    pd.testing.assert_frame_equal(exported, Store(Settings.from_env()).load_events(ours.id))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "reference.parquet"), exported)
    assert sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".parquet") == [
        "log.parquet",
        "ours.parquet",
        "reference.parquet",
    ]


def test_export_events_of_an_unknown_dataset_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "home"))
    assert data_main(["export-events", "0123456789abcdef", str(tmp_path / "out.parquet")]) == 2
    assert "No stored dataset has this id" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*"))


INSTANTS = pd.to_datetime(["2025-01-01T10:00Z", "2025-01-02T10:00Z"], utc=True)


@pytest.mark.parametrize(
    ("columns", "previewed"),
    [
        ({"who": ["a", "b"], "what": ["x", "y"], "when": INSTANTS, "spend": [1.5, 2.0], "visits": [1, 2]}, True),
        ({"who": ["a", "b"], "what": ["x", "y"], "when": INSTANTS.tz_localize(None)}, False),  # a zone to choose
        ({"who": ["a", "b"], "what": ["x", "y"], "when": ["2025-01-01", "2025-01-02"]}, False),  # times as text
        ({"who": ["a", "b"], "what": ["x", "y"], "when": INSTANTS, "member": [True, False]}, False),
        ({"who": ["a", "b"], "what": ["x", "y"], "when": INSTANTS, **{f"c{i}": [1, 2] for i in range(1_000)}}, False),
    ],
    ids=["typed", "naive-times", "text-times", "boolean", "too-many-columns"],
)
def test_only_a_file_duckdb_imports_whatever_its_mapping_is_previewed_from_its_first_rows(
    tmp_path: Path, columns: dict, previewed: bool
) -> None:
    # The dashboard stores a previewed file without pandas; any other is read whole, to be read in the zone the user
    # chooses, or refused naming the limit it passes.
    path = tmp_path / "log.parquet"
    pd.DataFrame(columns).to_parquet(path, index=False)
    sample = data.columnar.typed_parquet_sample(path, name=None, settings=Settings.from_env())
    assert (sample is not None) == previewed
    if previewed:
        assert (sample.sample_of, len(sample.frame)) == (path, 2)


EXPORTED_LOGS = list({oracle.data_file: oracle for oracle in ORACLES if oracle.events <= 70_000}.values())


@pytest.mark.slow
@pytest.mark.parametrize("oracle", EXPORTED_LOGS, ids=[oracle.name for oracle in EXPORTED_LOGS])
def test_a_shared_log_exported_as_typed_parquet_gives_the_same_dataset_both_ways(oracle, tmp_path, monkeypatch):
    # As a warehouse exports a log: instants, and text and numbers as such. The Import page stores such a file by
    # DuckDB alone; read whole into pandas it must give the same dataset, figures and report.
    canonical = load_oracle_frame(oracle)
    kept = [
        column
        for column in canonical.columns[len(CANONICAL_COLUMNS) :]
        if pd.api.types.is_string_dtype(canonical[column]) or pd.api.types.is_numeric_dtype(canonical[column])
        if not pd.api.types.is_bool_dtype(canonical[column])
    ]
    export = canonical[["case_id", "activity", "timestamp", *kept]].rename(
        columns={"case_id": "case", "activity": "step", "timestamp": "time"}
    )
    path = write(export, tmp_path / "export.parquet")
    mapping = ColumnMapping(case_id="case", activity=("step",), timestamp="time")
    assert data.columnar.typed_parquet_sample(path, name=None, settings=Settings.from_env()) is not None
    reference = by_pandas(path, Settings(home=tmp_path / "pandas"), mapping=mapping)
    ours = by_duckdb(path, Settings(home=tmp_path / "duckdb"), monkeypatch, mapping=mapping)
    assert_same_dataset(ours, reference)


def test_the_rows_behind_a_finding_are_read_from_the_file_by_their_spreadsheet_number(tmp_path: Path) -> None:
    path = write(pd.DataFrame({"who": list("vwxyz"), "n": range(5)}), tmp_path / "log.parquet")
    rows = data.columnar.parquet_rows(path, [4, 2, 9, 4], settings=Settings.from_env())  # row 1 is the header
    assert rows.index.tolist() == [2, 4]  # in file order, once each; past the end left out
    assert rows.to_dict("list") == {"who": ["v", "x"], "n": [0, 2]}
