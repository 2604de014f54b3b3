"""The journey map's first look, handed over by an import in a child once the events are sorted: its counts are the
finished map's, on a hand-made log and on the shared real logs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import data.engine as engine_module
from data import FIRST_LOOK_TOUCHPOINTS, ColumnMapping, Engine, FirstLook, Settings, Store, import_file_isolated
from discovery import DRAWN_TOUCHPOINTS, journey_map
from tests.conftest import PARQUET_IMPORT_PHASES
from tests.data.test_engine import journeys
from tests.discovery.test_maps import SHOP  # anna comes back after a call, bob buys at once, carl calls first
from tests.oracle import ORACLES, QUICK_LOG_EVENTS, Oracle, load_oracle_frame

CANONICAL = ColumnMapping(case_id="case_id", activity=("activity",), timestamp="timestamp")
DRAWING = "Drawing a first look at the journey map…"


def imported(frame: pd.DataFrame, settings: Settings, tmp_path: Path) -> tuple[list[object], str]:
    """Import `frame` as the Import page does (in a child, listening); return what it said and showed, in order, and
    the dataset's id."""
    path = tmp_path / "log.parquet"
    frame[["case_id", "activity", "timestamp"]].to_parquet(path, index=False)
    heard: list[object] = []
    dataset = import_file_isolated(
        path, settings=settings, mapping=CANONICAL, on_progress=heard.append, on_first_look=heard.append
    )
    return heard, dataset.id


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """The rows of `frame` as tuples, a missing name as None."""
    return [tuple(None if pd.isna(value) else value for value in row) for row in frame[columns].itertuples(index=False)]


def test_the_first_look_comes_once_the_events_are_sorted_and_counts_customers_and_events(
    settings: Settings, tmp_path: Path
) -> None:
    heard, _ = imported(SHOP, settings, tmp_path)
    (look,) = [said for said in heard if isinstance(said, FirstLook)]
    order = [said if isinstance(said, str) else "(first look)" for said in heard]
    sorting = order.index("Sorting the events by journey…")
    assert order[sorting + 1 : sorting + 4] == [DRAWING, "(first look)", "Finding each journey's path…"]
    assert (look.cases, look.events, look.activities) == (3, 9, 3)
    assert records(look.touchpoints, ["activity", "events", "cases"]) == [
        ("visit", 4, 3),
        ("buy", 3, 3),
        ("call", 2, 2),
    ]
    assert records(look.steps, ["source", "target", "events", "cases"]) == [
        (None, "visit", 3, 3),
        ("buy", None, 3, 3),
        ("visit", "buy", 2, 2),
        ("visit", "call", 2, 2),
        ("call", "buy", 1, 1),
        ("call", "visit", 1, 1),
    ]


def test_past_the_touchpoints_a_map_draws_a_first_look_counts_none_and_hands_over_no_rows(
    settings: Settings, tmp_path: Path
) -> None:
    many = FIRST_LOOK_TOUCHPOINTS + 1
    heard, _ = imported(journeys(*(("anna", f"step {index}", index) for index in range(many))), settings, tmp_path)
    (look,) = [said for said in heard if isinstance(said, FirstLook)]
    assert (look.cases, look.events, look.activities) == (1, many, many)
    assert look.touchpoints.empty and look.steps.empty
    assert list(look.steps.columns) == ["source", "target", "events", "cases"]
    assert FIRST_LOOK_TOUCHPOINTS == DRAWN_TOUCHPOINTS  # what the map draws before anyone moves its slider


def test_an_import_goes_on_when_its_first_look_runs_out_of_memory(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(*_args: object) -> FirstLook:
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")

    monkeypatch.setattr(engine_module, "previews_wanted", lambda: True)
    monkeypatch.setattr(engine_module, "first_look", out_of_memory)
    with Engine.from_frame(SHOP, settings) as engine:
        assert engine.summary().cases == 3


def test_an_import_nobody_shows_makes_no_first_look(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    SHOP[["case_id", "activity", "timestamp"]].to_parquet(path, index=False)
    heard: list[str] = []
    import_file_isolated(path, settings=settings, mapping=CANONICAL, on_progress=heard.append)
    assert DRAWING not in heard
    assert heard[-5:] == PARQUET_IMPORT_PHASES[1:]


@pytest.mark.parametrize(
    "oracle",
    [
        pytest.param(oracle, id=oracle.name, marks=[pytest.mark.slow] if oracle.events > QUICK_LOG_EVENTS else [])
        for oracle in ORACLES
    ],
)
def test_on_the_real_logs_the_first_look_counts_what_the_journey_map_and_the_reference_count(
    oracle: Oracle, settings: Settings, tmp_path: Path
) -> None:
    heard, dataset_id = imported(load_oracle_frame(oracle), settings, tmp_path)
    (look,) = [said for said in heard if isinstance(said, FirstLook)]
    assert look.activities == oracle.expected["n_activities"]
    if look.activities > FIRST_LOOK_TOUCHPOINTS:  # BPIC 2011's 624, say: counted by the Journey map page only
        assert look.touchpoints.empty and look.steps.empty
        return
    with Store(settings).engine(dataset_id) as engine:
        finished = journey_map(engine)
    assert (
        (look.cases, look.events)
        == (finished.cases, finished.events)
        == (
            oracle.expected["n_cases"],
            oracle.expected["n_events"],
        )
    )
    assert records(look.touchpoints, ["activity", "events", "cases"]) == records(
        finished.nodes, ["activity", "events", "cases"]
    )
    assert records(look.steps, ["source", "target", "events", "cases"]) == records(
        finished.edges, ["source", "target", "events", "cases"]
    )
    inner = look.steps.dropna(subset=["source", "target"])
    expected = {(edge["source"], edge["target"]): edge["count"] for edge in oracle.expected["dfg"]}
    assert dict(zip(zip(inner["source"], inner["target"], strict=True), inner["events"], strict=True)) == expected
