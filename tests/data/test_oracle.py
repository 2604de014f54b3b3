"""The engine against the reference statistics of every shared real log, and against pm4py on the small ones.

Fixtures are module-scoped and parametrised by oracle, so pytest runs every test of one log before
loading the next, and each log is read and laid out once. ORACLES is ordered by size, so the small
logs compared with pm4py come first and keep the same parameter index in both lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pm4py
import pytest

from data.engine import Engine
from data.schema import ACTIVITY, CASE_ID, TIMESTAMP
from data.settings import Settings
from tests.oracle import ORACLES, QUICK_LOG_EVENTS, SMALL_LOG_EVENTS, Oracle, load_oracle_frame

PM4PY_KEYS = {"case_id_key": CASE_ID, "activity_key": ACTIVITY, "timestamp_key": TIMESTAMP}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the pm4py comparisons on small logs only, every other test on every log."""
    if "oracle" not in metafunc.fixturenames:
        return
    small_only = "pm4py_view" in metafunc.fixturenames
    chosen = [oracle for oracle in ORACLES if oracle.events < SMALL_LOG_EVENTS] if small_only else ORACLES
    metafunc.parametrize(
        "oracle",
        [
            pytest.param(oracle, id=oracle.name, marks=[pytest.mark.slow] if oracle.events > QUICK_LOG_EVENTS else [])
            for oracle in chosen
        ],
        scope="module",
    )


@dataclass(frozen=True)
class PM4PyView:
    dfg: dict[tuple[str, str], int]
    variants: dict[tuple[str, ...], int]
    start_activities: dict[str, int]
    end_activities: dict[str, int]


@pytest.fixture(scope="module")
def frame(oracle: Oracle) -> pd.DataFrame:
    return load_oracle_frame(oracle)


@pytest.fixture(scope="module")
def engine(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=2, duckdb_memory_limit="2GB")
    with Engine.from_frame(frame, settings) as opened:
        yield opened


@pytest.fixture(scope="module")
def pm4py_view(frame: pd.DataFrame) -> PM4PyView:
    """pm4py's statistics of the same events, handed over stably sorted by (case, timestamp).

    pm4py's dataframe variants assume rows already grouped by case (pm4py 2.7.23 discards its own
    sort in objects/log/util/pandas_numpy_variants.py), so file order alone would give wrong variants.
    """
    events = frame[[CASE_ID, ACTIVITY, TIMESTAMP]].sort_values([CASE_ID, TIMESTAMP], kind="stable")
    dfg, _start, _end = pm4py.discover_dfg(events, **PM4PY_KEYS)
    return PM4PyView(
        dfg=dict(dfg),
        variants={tuple(variant): int(count) for variant, count in pm4py.get_variants(events, **PM4PY_KEYS).items()},
        start_activities=dict(pm4py.get_start_activities(events, **PM4PY_KEYS)),
        end_activities=dict(pm4py.get_end_activities(events, **PM4PY_KEYS)),
    )


def _utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _counts(table: pd.DataFrame, key: str, value: str) -> dict:
    return dict(zip(table[key], table[value].astype(int), strict=True))


def test_headline_counts_and_time_range_match_the_reference(oracle: Oracle, engine: Engine) -> None:
    summary = engine.summary()
    expected = oracle.expected
    assert (summary.cases, summary.events, summary.activities, summary.variants) == (
        expected["n_cases"],
        expected["n_events"],
        expected["n_activities"],
        expected["n_variants"],
    )
    assert (summary.start_time, summary.end_time) == (_utc(expected["min_timestamp"]), _utc(expected["max_timestamp"]))


def test_activity_frequencies_match_the_reference(oracle: Oracle, engine: Engine) -> None:
    assert _counts(engine.activities(), "activity", "events") == oracle.expected["activity_counts"]


def test_top_ten_variants_match_the_reference(oracle: Oracle, engine: Engine) -> None:
    expected = oracle.expected["top_variants"]
    variants = engine.variants()
    counts = dict(zip(variants["activities"].map(tuple), variants["cases"], strict=True))
    assert list(variants["cases"].head(10)) == [variant["count"] for variant in expected]
    assert {tuple(variant["variant"]): counts.get(tuple(variant["variant"])) for variant in expected} == {
        tuple(variant["variant"]): variant["count"] for variant in expected
    }


def test_start_and_end_activities_match_the_reference(oracle: Oracle, engine: Engine) -> None:
    assert _counts(engine.start_activities(), "activity", "cases") == oracle.expected["start_activities"]
    assert _counts(engine.end_activities(), "activity", "cases") == oracle.expected["end_activities"]


def test_every_directly_follows_edge_matches_the_reference(oracle: Oracle, engine: Engine) -> None:
    dfg = engine.dfg()
    expected = {(edge["source"], edge["target"]): edge["count"] for edge in oracle.expected["dfg"]}
    assert dict(zip(zip(dfg["source"], dfg["target"], strict=True), dfg["events"], strict=True)) == expected


def test_dfg_equals_pm4py_on_the_same_frame(engine: Engine, pm4py_view: PM4PyView) -> None:
    dfg = engine.dfg()
    assert dict(zip(zip(dfg["source"], dfg["target"], strict=True), dfg["events"], strict=True)) == pm4py_view.dfg


def test_variants_equal_pm4py_on_the_same_frame(engine: Engine, pm4py_view: PM4PyView) -> None:
    variants = engine.variants()
    assert dict(zip(variants["activities"].map(tuple), variants["cases"], strict=True)) == pm4py_view.variants


def test_start_and_end_activities_equal_pm4py_on_the_same_frame(engine: Engine, pm4py_view: PM4PyView) -> None:
    assert _counts(engine.start_activities(), "activity", "cases") == pm4py_view.start_activities
    assert _counts(engine.end_activities(), "activity", "cases") == pm4py_view.end_activities
