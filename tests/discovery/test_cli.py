"""`python -m discovery`, run as a user would, checked against the shared logs' reference statistics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from data.__main__ import main as data_main
from discovery.__main__ import main

REPO = Path(__file__).resolve().parents[2]
RUNNING_EXAMPLE = REPO.parent / "shared" / "datasets" / "running-example"


def run_program(*args: str, home: Path) -> subprocess.CompletedProcess:
    """Start `python -m discovery` as a user does."""
    env = {**os.environ, "PARCOURS_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "discovery", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


@pytest.fixture
def run(run_cli):
    """Run `python -m discovery` in this process."""
    return partial(run_cli, main)


def test_summary_json_equals_the_reference_statistics(run, tmp_path: Path) -> None:
    result = run("summary", str(RUNNING_EXAMPLE / "running-example.csv"), "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = json.loads((RUNNING_EXAMPLE / "expected" / "running_example.json").read_text())
    assert (document["cases"], document["events"], document["activities"], document["variants"]) == (
        expected["n_cases"],
        expected["n_events"],
        expected["n_activities"],
        expected["n_variants"],
    )
    assert {(e["source"], e["target"]): e["count"] for e in document["dfg"]} == {
        (e["source"], e["target"]): e["count"] for e in expected["dfg"]
    }
    assert document["start_activities"] == expected["start_activities"]
    assert document["end_activities"] == expected["end_activities"]
    assert sorted(v["count"] for v in document["top_variants"]) == sorted(v["count"] for v in expected["top_variants"])
    assert [stage["stage"] for stage in document["stages"]] == [
        "discovery",
        "consideration",
        "purchase",
        "post-purchase",
        "loyalty",
    ]
    assert {"activity", "customers", "churned", "churn_rate", "lift"} <= set(document["churn_points"][0])


def test_summary_of_a_stored_dataset_equals_the_summary_of_its_file(run, run_cli, tmp_path: Path) -> None:
    csv = str(REPO / "data" / "samples" / "demo_shop.csv.gz")
    imported = run_cli(data_main, "import", csv, "--json", home=tmp_path)
    dataset_id = json.loads(imported.stdout)["id"]
    from_store = json.loads(run("summary", dataset_id, "--json", home=tmp_path).stdout)
    from_file = json.loads(run("summary", csv, "--json", home=tmp_path).stdout)
    assert from_store == from_file


def test_map_dot_and_model_exports(run, tmp_path: Path) -> None:
    log = str(RUNNING_EXAMPLE / "running-example.csv")
    dot = run("map", log, "--dot", "--metric", "median", home=tmp_path)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph") and "register request" in dot.stdout
    exported = run("model", log, "--bpmn", str(tmp_path / "m.bpmn"), "--pnml", str(tmp_path / "m.pnml"), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "bpmn:definitions" in (tmp_path / "m.bpmn").read_text()
    assert "<pnml" in (tmp_path / "m.pnml").read_text()


def test_a_missing_log_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run_program("summary", str(tmp_path / "missing.csv"), home=tmp_path)
    assert result.returncode == 2
    assert "missing.csv" in result.stderr and "Traceback" not in result.stderr


ECOMMERCE = REPO / "tests" / "data" / "fixtures" / "ecommerce_utc.csv"


def test_summary_reads_an_export_whose_times_end_in_utc_with_no_format_option(run, tmp_path: Path) -> None:
    result = run(
        "summary",
        str(ECOMMERCE),
        "--case",
        "user_session",
        "--activity",
        "event_type",
        "--timestamp",
        "event_time",
        "--json",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # Six sessions, seventeen events; counted by hand from the fixture.
    assert (document["cases"], document["events"], document["activities"], document["variants"]) == (6, 17, 4, 6)
    assert (document["start_time"], document["end_time"]) == ("2019-10-01T00:00:04+00:00", "2019-10-01T02:40:00+00:00")
    assert {(e["source"], e["target"]): (e["count"], e["median_seconds"]) for e in document["dfg"]} == {
        ("view", "view"): (2, 45.5),
        ("view", "cart"): (4, 55.0),
        ("cart", "cart"): (1, 30.0),
        ("cart", "purchase"): (3, 480.0),
        ("cart", "remove_from_cart"): (1, 25.0),
    }


def test_every_command_takes_the_mapping_options_of_python_m_data(run, tmp_path: Path) -> None:
    mapping = ["--case", "user_session", "--activity", "event_type", "--timestamp", "event_time"]
    options = [*mapping, "--timestamp-format", "ISO8601", "--timezone", "Europe/Paris", "--split-after-days", "1"]
    dot = run("map", str(ECOMMERCE), *options, "--dot", home=tmp_path)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph") and "remove_from_cart" in dot.stdout
    bad = run("model", str(ECOMMERCE), *mapping, "--timestamp-format", "%Q", home=tmp_path)
    assert bad.returncode == 2
    assert "'%Q' is not a strptime format" in bad.stderr and "Traceback" not in bad.stderr


def test_mapping_options_on_a_stored_dataset_are_refused(run, run_cli, tmp_path: Path) -> None:
    imported = run_cli(data_main, "import", str(ECOMMERCE), "--json", home=tmp_path)
    dataset_id = json.loads(imported.stdout)["id"]
    result = run("summary", dataset_id, "--timestamp-format", "epoch_s", home=tmp_path)
    assert result.returncode == 2
    assert "--timestamp-format only apply to a log file" in result.stderr
