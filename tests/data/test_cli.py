"""`python -m data`, run as a user would: exit codes, messages, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from data.__main__ import main
from tests.conftest import PARQUET_IMPORT_PHASES

REPO = Path(__file__).resolve().parents[2]
GOOD_CSV = "client;étape;horodatage;canal\nc1;visite;03/04/2025 10:00;web\nc1;achat;15/04/2025 11:30;store\n"


def run_program(*args: str, home: Path) -> subprocess.CompletedProcess:
    """Start `python -m data` as a user does."""
    env = {**os.environ, "PARCOURS_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "data", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "parcours.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    return path


@pytest.fixture
def run(run_cli):
    """Run `python -m data` in this process."""
    return partial(run_cli, main)


def test_import_stores_the_log_and_prints_its_id_and_report(run, good_csv: Path, tmp_path: Path) -> None:
    result = run("import", str(good_csv), "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    dataset = json.loads(result.stdout)
    assert (dataset["cases"], dataset["events"], dataset["activities"]) == (1, 2, 2)
    assert dataset["mapping"]["case_id"] == "client"
    assert dataset["mapping"]["channel"] == "canal"
    listed = run("list", "--json", home=tmp_path / "home")
    assert [d["id"] for d in json.loads(listed.stdout)] == [dataset["id"]]


@pytest.mark.parametrize("at_a_terminal", [True, False])
def test_a_person_at_a_terminal_sees_what_the_import_is_doing(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_a_terminal: bool
) -> None:
    path = tmp_path / "log.parquet"
    instants = pd.to_datetime(["2025-01-01T10:00Z", "2025-01-02T10:00Z"], utc=True)
    pd.DataFrame({"client": ["c1", "c1"], "etape": ["visit", "buy"], "quand": instants}).to_parquet(path, index=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: at_a_terminal)
    result = run("import", str(path), home=tmp_path / "home")
    assert result.returncode == 0
    assert result.stderr.splitlines() == (
        PARQUET_IMPORT_PHASES if at_a_terminal else []
    )  # a script reads only the result


def test_importing_twice_gives_the_same_dataset(run, good_csv: Path, tmp_path: Path) -> None:
    first = run("import", str(good_csv), "--json", home=tmp_path / "home")
    second = run("import", str(good_csv), "--json", home=tmp_path / "home")
    assert json.loads(first.stdout)["id"] == json.loads(second.stdout)["id"]
    assert len(json.loads(run("list", "--json", home=tmp_path / "home").stdout)) == 1


def test_quality_reports_without_storing(run, good_csv: Path, tmp_path: Path) -> None:
    result = run("quality", str(good_csv), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "2 events, 1 cases, 2 activities" in result.stdout
    assert json.loads(run("list", "--json", home=tmp_path / "home").stdout) == []


def test_ambiguous_dates_exit_2_with_the_fix_and_no_traceback(run, tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("client,étape,horodatage\nc1,visite,03/04/2025\nc1,achat,05/06/2025\n", encoding="utf-8")
    result = run("import", str(path), home=tmp_path / "home")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "horodatage" in result.stderr and "day" in result.stderr
    assert run("import", str(path), "--dayfirst", home=tmp_path / "home").returncode == 0


def test_unknown_column_names_close_matches(run, good_csv: Path, tmp_path: Path) -> None:
    result = run("import", str(good_csv), "--case", "clients", home=tmp_path / "home")
    assert result.returncode == 2
    assert "'clients'" in result.stderr and "client" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_program("import", str(tmp_path / "nope.csv"), home=tmp_path / "home")
    assert result.returncode == 2
    assert "nope.csv" in result.stderr and "Traceback" not in result.stderr


def test_demo_stores_the_bundled_sample(run, tmp_path: Path) -> None:
    result = run("demo", "--scenario", "shop", "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cases"] == 3000
