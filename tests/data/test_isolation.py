"""The boundary and the child process: every way a step can fail ends in a typed error, and the caller lives on."""

from __future__ import annotations

import os
import signal
import sys
import time
import types
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from data import (
    ColumnMapping,
    LimitExceeded,
    LogError,
    Problem,
    Settings,
    UnexpectedFailure,
    guarded,
    importing,
    measure_isolated,
    report_progress,
    run_isolated,
    typed_parquet_sample,
)
from data.engine import connect
from data.importing import import_file_isolated, import_sample_isolated, load_log_isolated
from tests.conftest import PARQUET_IMPORT_PHASES

MB = 1 << 20


def _value(answer: int) -> int:
    return answer


def _refuse() -> None:
    raise LogError(Problem("Bad file.", fix="Fix it.", file="log.csv", row=3))


def _bug() -> None:
    raise KeyError("no such column")


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGFPE)  # as DuckDB did on a GROUP BY of 20,000 columns


def _touch_memory(megabytes: int) -> int:
    """Hold `megabytes` of written (so resident) memory, 10 MB at a time."""
    held = [b"x" * (10 * MB) for _ in range(megabytes // 10)]
    return len(held)


def _allocate_at_once(megabytes: int) -> int:
    return len(bytearray(megabytes * MB))


def _spin() -> None:
    while True:
        pass


def _sleep() -> None:
    time.sleep(60)


def _unpicklable() -> object:
    return lambda: None


@pytest.fixture
def limits(settings: Settings) -> Settings:
    return Settings(home=settings.home, worker_memory_mb=300, worker_cpu_seconds=1)


@pytest.fixture
def memory_limit(settings: Settings) -> Settings:
    """Only the memory limit within reach: on a loaded machine, 1 CPU second could run out first."""
    return Settings(home=settings.home, worker_memory_mb=300, worker_cpu_seconds=120)


def test_a_step_returns_its_value_and_what_it_cost(settings: Settings) -> None:
    run = measure_isolated(partial(_value, 42), step="reading", file="log.csv", settings=settings)
    assert (run.value, run.error) == (42, None)
    assert 0 < run.start_mb <= run.peak_mb
    assert run.seconds > 0


def test_a_log_error_comes_back_unchanged(settings: Settings) -> None:
    with pytest.raises(LogError) as raised:
        run_isolated(_refuse, step="reading", file="log.csv", settings=settings)
    assert raised.value.problems == (Problem("Bad file.", fix="Fix it.", file="log.csv", row=3),)


def test_a_bug_becomes_an_unexpected_failure_naming_the_file_the_step_and_a_reference(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(UnexpectedFailure) as raised:
        run_isolated(_bug, step="mapping", file="log.csv", settings=settings)
    (problem,) = raised.value.problems
    assert problem.file == "log.csv"
    assert "while mapping the file" in problem.message and "KeyError" in problem.message
    assert len(raised.value.reference) == 8 and raised.value.reference in problem.message


def test_a_crash_of_the_child_is_a_typed_error_and_the_next_step_runs(settings: Settings) -> None:
    with pytest.raises(UnexpectedFailure, match="SIGFPE"):
        run_isolated(_crash, step="checking", file="wide.csv", settings=settings)
    assert run_isolated(partial(_value, 7), step="checking", file="next.csv", settings=settings) == 7


def test_memory_past_the_limit_stops_the_child(memory_limit: Settings) -> None:
    run = measure_isolated(partial(_touch_memory, 2000), step="reading", file="big.csv", settings=memory_limit)
    assert isinstance(run.error, LimitExceeded)
    assert "300 MB" in str(run.error)
    assert run.peak_mb < 1000


def test_one_huge_allocation_fails_at_once_as_out_of_memory(memory_limit: Settings) -> None:
    with pytest.raises(LimitExceeded, match="ran out of memory while reading"):
        run_isolated(partial(_allocate_at_once, 50_000), step="reading", file="big.csv", settings=memory_limit)


def test_cpu_time_past_the_limit_stops_the_child(limits: Settings) -> None:
    with pytest.raises(LimitExceeded, match="took longer than this installation allows"):
        run_isolated(_spin, step="checking", file="slow.csv", settings=limits)


def test_a_child_that_waits_is_stopped_after_twice_its_cpu_seconds(limits: Settings) -> None:
    with pytest.raises(LimitExceeded, match="2 seconds in all"):
        run_isolated(_sleep, step="reading", file="stuck.csv", settings=limits)


def test_a_value_that_cannot_come_back_is_an_unexpected_failure(settings: Settings) -> None:
    with pytest.raises(UnexpectedFailure, match="while reading the file"):
        run_isolated(_unpicklable, step="reading", file="log.csv", settings=settings)


def test_guarded_turns_memory_errors_into_limits_and_lets_log_errors_through() -> None:
    with pytest.raises(LimitExceeded, match="ran out of memory while checking"), guarded("checking", "log.csv"):
        raise MemoryError
    with pytest.raises(LogError, match="Bad file"), guarded("checking", "log.csv"):
        _refuse()


def test_duckdb_out_of_memory_names_the_import_memory_setting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, duckdb_threads=1, import_memory_mb=1)
    query = "SELECT list(range) FROM range(10000000) GROUP BY range % 1000"
    with (
        pytest.raises(LimitExceeded, match="PARCOURS_IMPORT_MEMORY_MB"),
        guarded("storing", "log.parquet"),
        connect(settings, importing=True) as connection,
    ):
        connection.execute(query).fetchall()


def test_unknown_steps_are_a_programming_error(settings: Settings) -> None:
    with pytest.raises(ValueError, match="step must be one of"):
        run_isolated(partial(_value, 1), step="parsing", file=None, settings=settings)


def test_the_parents_main_script_is_not_run_again_in_the_child(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `streamlit run` the page being run is `__main__`: a child must not run the page again before its step."""
    ran = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(ran)!r}, 'w').close()\n", encoding="utf-8")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)

    assert run_isolated(partial(_value, 7), step="checking", file="page.csv", settings=settings) == 7
    assert not ran.exists()


@pytest.mark.parametrize("isolated", [import_file_isolated, load_log_isolated])
def test_a_missing_or_special_file_is_refused_before_a_child_starts(
    isolated, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A child costs seconds to start: `python -m data import nope.csv` answers at once.
    monkeypatch.setattr(importing, "run_isolated", _no_child)
    fifo = tmp_path / "log.csv"
    os.mkfifo(fifo)
    for path in (tmp_path / "nope.csv", fifo):
        with pytest.raises(LogError, match=path.name):
            isolated(path, settings=settings)


def _no_child(*args: object, **options: object) -> None:
    raise AssertionError("a child process was started")


def _saying_then(ending: str) -> int:
    report_progress("Reading…")
    report_progress("Checking…")
    if ending == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    return 7


def test_what_a_child_says_it_is_doing_reaches_the_caller_in_order_before_its_answer(settings: Settings) -> None:
    heard: list[str] = []
    call = partial(_saying_then, "answer")
    assert run_isolated(call, step="importing", file="log.csv", settings=settings, on_progress=heard.append) == 7
    assert heard == ["Reading…", "Checking…"]
    with pytest.raises(UnexpectedFailure, match="crashed"):
        run_isolated(partial(_saying_then, "crash"), step="importing", file="log.csv", settings=settings)
    report_progress("Nobody waits for this")  # outside a child it says nothing, and fails nothing


def test_a_parquet_import_says_each_of_its_phases(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    instants = pd.to_datetime(["2025-01-01T10:00Z", "2025-01-02T10:00Z", "2025-01-03T10:00Z"], utc=True)
    pd.DataFrame({"who": ["a", "a", "b"], "what": ["x", "y", "x"], "when": instants}).to_parquet(path, index=False)
    sample = typed_parquet_sample(path, name=None, settings=settings)
    mapping = ColumnMapping(case_id="who", activity=("what",), timestamp="when")
    heard: list[str] = []
    dataset = import_sample_isolated(sample, mapping, settings=settings, on_progress=heard.append)
    assert dataset.n_events == 3
    assert heard == PARQUET_IMPORT_PHASES
