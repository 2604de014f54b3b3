"""An import killed at any moment leaves a store that lists only whole datasets, and a retry succeeds.

A child process imports a 300k-event log and is SIGKILLed either after a delay or right after a chosen
step (it announces the step and waits to be killed, so that moment is hit on any machine).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.quality import assess
from data.schema import ColumnMapping, EventLog
from data.settings import Settings
from data.store import Store

REPO = Path(__file__).resolve().parents[2]
N_EVENTS = 300_000
N_CUSTOMERS = 20_000
ACTIVITIES = np.array(["visit_website", "open_app", "call_center_contact", "add_to_cart", "checkout", "churn"])
CHANNELS = np.array(["web", "app", "call center", "store"])

CHILD = """
import sys
import data.store
from data.settings import Settings
from data.store import Store
from tests.data.test_store_crash import crash_log

home, step = sys.argv[1], sys.argv[2]

def announce_then_wait(function):
    def announced(*args, **kwargs):
        result = function(*args, **kwargs)
        print(step, flush=True)
        sys.stdin.readline()
        return result
    return announced

if step == "layout built":
    data.store.build_layout_from_query = announce_then_wait(data.store.build_layout_from_query)
elif step == "folder in place":
    Store._move_into_place = announce_then_wait(Store._move_into_place)
log = crash_log()
print("importing", flush=True)
Store(Settings(home=home)).import_log(log)
print("imported", flush=True)
sys.stdin.readline()
"""


@functools.cache
def crash_log() -> EventLog:
    """A seeded log big enough that an import takes a while: 300k events of 20k customers."""
    rng = np.random.default_rng(7)
    customers = np.sort(rng.integers(0, N_CUSTOMERS, N_EVENTS))
    seconds = rng.integers(0, 365 * 86_400, N_EVENTS)
    frame = pd.DataFrame(
        {
            "case_id": "client-" + pd.Series(customers).astype("str"),
            "activity": pd.array(ACTIVITIES[rng.integers(0, len(ACTIVITIES), N_EVENTS)], dtype="str"),
            "timestamp": (pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")).as_unit("us"),
            "channel": pd.array(CHANNELS[rng.integers(0, len(CHANNELS), N_EVENTS)], dtype="str"),
            "source_row": np.arange(N_EVENTS, dtype="int64"),
            "revenue": rng.integers(0, 500, N_EVENTS).astype("float64"),
        }
    )
    return EventLog(
        frame=frame,
        mapping=ColumnMapping(case_id="customer", activity="action", timestamp="time", channel="channel"),
        quality=assess(frame, now=pd.Timestamp("2025-06-01", tz="UTC")),
        name="crash.csv",
        source_sha256="",
        options={"format": "csv"},
    )


def kill_import(home: Path, *, step: str = "", delay_seconds: float = 0.0) -> None:
    """Start an import in a child process and SIGKILL it after `step` or `delay_seconds` into the import."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), step],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
    )
    try:
        for awaited in ("importing", step) if step else ("importing",):
            said = child.stdout.readline().strip()
            assert said == awaited, f"the child said {said!r}, not {awaited!r}: {'' if said else child.stderr.read()}"
        time.sleep(delay_seconds)
    finally:
        child.kill()  # SIGKILL: no cleanup handler runs
        child.communicate(timeout=60)


def assert_store_is_consistent(settings: Settings) -> None:
    """Every listed dataset loads whole and matches its counts."""
    store = Store(settings)
    expected = crash_log().frame
    for dataset in store.datasets():
        events = store.load_events(dataset.id)
        assert (dataset.n_events, dataset.n_cases, dataset.n_activities) == (N_EVENTS, N_CUSTOMERS, len(ACTIVITIES))
        assert (len(events), events["case_id"].nunique()) == (dataset.n_events, dataset.n_cases)
        pd.testing.assert_frame_equal(events, expected)
        assert dataset.layout_path.is_file()


@pytest.fixture(scope="module")
def import_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long one import takes on this machine, so that the kills spread over a whole import anywhere."""
    store = Store(Settings(home=tmp_path_factory.mktemp("timing"), duckdb_threads=2, duckdb_memory_limit="2GB"))
    log = crash_log()
    started = time.perf_counter()
    store.import_log(log)
    return time.perf_counter() - started


# One moment in the quick tests (besides each step's below); all five in .ci/run.
@pytest.mark.parametrize(
    "share_of_an_import",
    [pytest.param(0.1, marks=pytest.mark.slow), 0.4, pytest.param(0.7, marks=pytest.mark.slow),
     pytest.param(1.0, marks=pytest.mark.slow), pytest.param(1.3, marks=pytest.mark.slow)],
)  # fmt: skip
def test_an_import_killed_after_a_delay_leaves_the_old_or_the_new_state(
    settings: Settings, import_seconds: float, share_of_an_import: float
) -> None:
    kill_import(settings.home, delay_seconds=share_of_an_import * import_seconds)

    assert_retry_succeeds(settings)


@pytest.mark.parametrize("step", ["layout built", "folder in place"])
def test_an_import_killed_right_after_a_step_leaves_the_old_or_the_new_state(settings: Settings, step: str) -> None:
    kill_import(settings.home, step=step)

    assert_retry_succeeds(settings)


def assert_retry_succeeds(settings: Settings) -> None:
    """The store a crash left behind is consistent, and importing again lists the dataset exactly once."""
    assert_store_is_consistent(settings)
    store = Store(settings)
    assert len(store.datasets()) <= 1

    retried = store.import_log(crash_log())

    assert [dataset.id for dataset in store.datasets()] == [retried.id]
    assert_store_is_consistent(settings)


def test_the_staging_of_a_killed_import_is_removed_when_the_next_store_opens(settings: Settings) -> None:
    kill_import(settings.home, step="layout built")
    incoming = settings.datasets_dir / ".incoming"
    assert any(incoming.iterdir())  # the killed import's staging folder

    Store(settings)

    assert list(incoming.iterdir()) == []
