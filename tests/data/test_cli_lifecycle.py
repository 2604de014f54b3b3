"""The CLIs rename and delete stored datasets, and print user data without anything a terminal would act on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import Settings, Store, import_file
from data.__main__ import main as data_main
from data.demo import generate_demo
from segmentation.__main__ import main as segmentation_main

REPO = Path(__file__).resolve().parents[2]
ESCAPES = "\x1b[2J\x1b]0;pwned\x07"
HOSTILE_CSV = (
    "client,étape,horodatage\n"
    f"c1,visite{ESCAPES},2025-04-03 10:00\n"
    "c1,achat\x9b31m,2025-04-15 11:30\n"
    "c2,visite,2025-04-03 10:00\n"
    # Enough ordinary rows that the control characters stay under the share that marks a file as binary.
    + "".join(f"c{customer},visite,2025-04-03 10:{customer % 60:02d}\n" for customer in range(3, 200))
)


def run(module: str, *args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARCOURS_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        input=stdin,
    )


@pytest.fixture
def hostile_csv(tmp_path: Path) -> Path:
    """A log whose file name and labels hold terminal escape sequences."""
    path = tmp_path / f"journeys{ESCAPES}.csv"
    path.write_text(HOSTILE_CSV, encoding="utf-8")
    return path


@pytest.fixture
def stored(hostile_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict]:
    """A home holding the hostile log, stored by the library; the commands under test then run in this process."""
    home = tmp_path / "home"
    monkeypatch.setenv("PARCOURS_HOME", str(home))
    dataset = import_file(hostile_csv, store=Store(Settings.from_env()))
    return home, {"id": dataset.id}


def listed_ids() -> list[str]:
    return [dataset.id for dataset in Store(Settings.from_env()).datasets()]


def assert_no_control_characters(text: str) -> None:
    assert not [character for character in text if ord(character) < 32 and character not in "\n\t"]
    assert "\x9b" not in text and "\x7f" not in text


@pytest.mark.slow  # CLI processes: 11 s
def test_list_and_import_print_names_and_labels_without_escape_sequences(hostile_csv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    imported = run("data", "import", str(hostile_csv), home=home)
    listed = run("data", "list", home=home)

    for result in (imported, listed):
        assert result.returncode == 0, result.stderr
        assert_no_control_characters(result.stdout + result.stderr)
    assert "journeys [2J ]0;pwned .csv" in listed.stdout  # control characters stored as spaces
    assert json.loads(run("data", "list", "--json", home=home).stdout)[0]["name"] == "journeys [2J ]0;pwned .csv"


@pytest.mark.slow
def test_quality_reports_and_errors_print_without_escape_sequences(hostile_csv: Path, tmp_path: Path) -> None:
    report = run("data", "quality", str(hostile_csv), home=tmp_path / "home")
    missing = run("data", "quality", str(tmp_path / f"missing{ESCAPES}.csv"), home=tmp_path / "home")

    assert (report.returncode, missing.returncode) == (0, 2)
    assert_no_control_characters(report.stdout + report.stderr + missing.stderr)


def test_rename_changes_the_listed_name(stored: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    _, dataset = stored

    status = data_main(["rename", dataset["id"], "Spring campaign"])

    assert (status, capsys.readouterr().out.strip()) == (0, f"renamed dataset {dataset['id']}: Spring campaign")
    assert [d.name for d in Store(Settings.from_env()).datasets()] == ["Spring campaign"]


def test_rename_of_an_unknown_id_exits_2_with_the_known_ids(
    stored: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    _, dataset = stored

    assert data_main(["rename", "0123456789abcdef", "x"]) == 2
    assert dataset["id"] in capsys.readouterr().err


def test_rename_to_a_name_with_escape_sequences_exits_2_and_keeps_the_name(
    stored: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    _, dataset = stored
    before = [d.name for d in Store(Settings.from_env()).datasets()]

    assert data_main(["rename", dataset["id"], "Spring\x1b[2J"]) == 2
    assert "control characters (U+001B)" in capsys.readouterr().err
    assert [d.name for d in Store(Settings.from_env()).datasets()] == before


def test_delete_without_yes_and_without_a_terminal_refuses(
    stored: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, dataset = stored
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))

    assert data_main(["delete", dataset["id"]]) == 2
    assert "--yes" in capsys.readouterr().err
    assert listed_ids() == [dataset["id"]]


def test_delete_with_yes_removes_the_dataset_and_its_files(stored: tuple[Path, dict]) -> None:
    home, dataset = stored

    assert data_main(["delete", dataset["id"], "--yes"]) == 0
    assert listed_ids() == []
    assert not (home / "datasets" / dataset["id"]).exists()


class TerminalInput(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "status", "kept"), [("y\n", 0, False), ("\n", 1, True), ("no\n", 1, True)])
def test_delete_at_a_terminal_asks_first(
    stored: tuple[Path, dict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    status: int,
    kept: bool,
) -> None:
    _, dataset = stored
    monkeypatch.setattr(sys, "stdin", TerminalInput(answer))

    assert data_main(["delete", dataset["id"]]) == status

    assert f"Delete dataset {dataset['id']}" in capsys.readouterr().out
    assert listed_ids() == ([dataset["id"]] if kept else [])


def test_personas_out_neutralises_formula_like_case_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = generate_demo(300, scenario="telecom", seed=1).events
    events["customer_id"] = "=c" + events["customer_id"].astype(str)
    log_file, out = tmp_path / "journeys.csv", tmp_path / "p.csv"
    events.to_csv(log_file, index=False)

    status = segmentation_main(["personas", str(log_file), "--k", "2", "--out", str(out)])

    assert status == 0, capsys.readouterr().err
    written = pd.read_csv(out, encoding="utf-8-sig")
    assert written["case_id"].str.startswith("'=c").all()
    assert not written["persona_name"].astype(str).str.match(r"[=+\-@]").any()


@pytest.mark.slow
def test_discovery_summary_prints_labels_without_escape_sequences(hostile_csv: Path, tmp_path: Path) -> None:
    result = run("discovery", "summary", str(hostile_csv), home=tmp_path / "home")

    assert result.returncode == 0, result.stderr
    assert "visite[2J]0;pwned" in result.stdout
    assert_no_control_characters(result.stdout)
