"""Every hostile input on every path: `python -m data quality`, `python -m data import` and the dashboard's upload.

Each ends in a typed error saying what is wrong, or in a correct report; the store is left intact; and
reading it in the child process grows that process by at most a gigabyte.
"""

from __future__ import annotations

import io
import os
from functools import partial
from pathlib import Path

import pytest
import streamlit as st

from data import Settings, Store, import_file, load_log, measure_isolated
from data.__main__ import main
from data.store import MAX_NAME_CHARS
from tests.hostile.cases import CASES, GOOD_CSV, PARAMS, PEAK_GROWTH_MB, SAMPLED_PARAMS, Case, assert_store_intact
from tests.ui.apptest import errors, metrics, open_import_page, upload


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated inputs are written, once for the module."""
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store (under the test's own PARCOURS_HOME) that already holds one good dataset."""
    store = Store(Settings.from_env())
    upload = io.BytesIO(GOOD_CSV)
    upload.name = "good.csv"
    import_file(upload, store=store)
    return store


def _input(case: Case, built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable, value in case.limits.items():
        monkeypatch.setenv(variable, value)
    st.cache_resource.clear()  # the dashboard's settings are read once per server
    st.cache_data.clear()
    return case.path(built)


@pytest.mark.parametrize("case", PARAMS)
def test_cli_quality_reports_or_gives_a_typed_error(
    case: Case, built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = _input(case, built, monkeypatch)
    status = main(["quality", str(path)])
    out, err = capsys.readouterr()
    if case.error is None:
        assert (status, err) == (0, "")
        assert case.says in out
    else:
        assert status == 2
        assert case.says in err
        assert "Traceback" not in err


@pytest.mark.parametrize("case", SAMPLED_PARAMS)
def test_cli_import_stores_or_leaves_the_store_as_it_was(
    case: Case, built: Path, store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = _input(case, built, monkeypatch)
    before = store.datasets()
    status = main(["import", str(path)])
    err = capsys.readouterr().err
    if case.error is None:
        assert (status, err) == (0, "")
        (added,) = [dataset for dataset in store.datasets() if dataset.id not in {d.id for d in before}]
        assert added.n_events == case.events
        assert_store_intact(store, store.datasets())
    else:
        assert status == 2
        assert case.says in err
        assert_store_intact(store, before)


@pytest.mark.parametrize("case", SAMPLED_PARAMS)
def test_dashboard_upload_reports_or_shows_the_fix(case: Case, built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _input(case, built, monkeypatch)
    app = upload(open_import_page(), path.name, path.read_bytes())
    previewed = [button for button in app.button if button.label == "Check every row and save to the store"]
    if previewed:  # a typed Parquet file is previewed from its first rows, and checked whole when saved
        previewed[0].click().run()
    assert not app.exception
    if case.error is None and previewed:
        assert f"{case.events:,} events" in app.success[-1].value
    elif case.error is None:
        assert metrics(app)["Events"] == f"{case.events:,}"
    else:
        shown = [*errors(app), *(str(cell) for table in app.dataframe for cell in table.value.to_numpy().ravel())]
        assert any(case.says in text for text in shown)
        assert not app.metric
    store = Store(Settings.from_env())
    stored = store.datasets()
    if not previewed:
        assert path.name not in {dataset.name for dataset in stored}  # an upload is stored only when saved
    assert_store_intact(store, stored)


@pytest.mark.parametrize("case", SAMPLED_PARAMS)
def test_reading_grows_the_child_by_at_most_a_gigabyte_and_the_server_not_at_all(
    case: Case, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _input(case, built, monkeypatch)
    settings = Settings.from_env()
    call = partial(load_log, path, settings=settings)
    run = measure_isolated(call, step="checking", file=path.name, settings=settings)
    if case.error is None:
        assert run.error is None
        assert len(run.value.frame) == case.events
    else:
        assert isinstance(run.error, case.error)
    assert run.peak_mb - run.start_mb <= PEAK_GROWTH_MB


@pytest.mark.parametrize("command", ["quality", "import"])
@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_cli_refuses_what_is_not_a_regular_file(
    command: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "log.csv"
        os.mkfifo(path)  # opened for reading, it would wait for a writer for ever
    else:
        path = tmp_path
    assert main([command, str(path)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_file_name_too_long_for_a_dataset_name_gives_a_shortened_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / ("journeys-" + "x" * 241 + ".csv")
    path.write_bytes(GOOD_CSV)
    assert main(["import", str(path)]) == 0, capsys.readouterr().err
    (dataset,) = Store(Settings.from_env()).datasets()
    assert len(dataset.name) == MAX_NAME_CHARS
    assert dataset.name.startswith("journeys-xxx") and dataset.name.endswith("xxx.csv") and "…" in dataset.name


def test_the_server_answers_the_next_upload_after_a_20000_column_one(built: Path) -> None:
    wide = next(case for case in CASES if case.name == "columns-20000.csv").path(built)
    app = upload(open_import_page(), wide.name, wide.read_bytes())
    assert "20,000 columns or more" in errors(app)[0]
    app = upload(app, "good.csv", GOOD_CSV)
    assert not app.exception
    assert metrics(app)["Events"] == "3"


@pytest.mark.parametrize(
    ("file_name", "dataset"),
    [("journeys\nfake.csv", "journeys fake.csv"), ("\u202egpj.csv", "gpj.csv"), ("\x1b[31mred.csv", "[31mred.csv")],
    ids=["line-break", "right-to-left-override", "escape"],
)
def test_a_file_name_that_would_break_how_names_show_gives_a_plain_dataset_name(
    file_name: str, dataset: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / file_name
    path.write_bytes(GOOD_CSV)
    assert main(["import", str(path)]) == 0, capsys.readouterr().err
    (stored,) = Store(Settings.from_env()).datasets()
    assert stored.name == dataset
