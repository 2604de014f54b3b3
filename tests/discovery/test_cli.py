"""`python -m discovery`, run as a user would, checked against the shared logs' reference statistics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNING_EXAMPLE = REPO.parent / "shared" / "datasets" / "running-example"


def run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARCOURS_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "discovery", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )


def test_summary_json_equals_the_reference_statistics(tmp_path: Path) -> None:
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


def test_summary_of_a_stored_dataset_equals_the_summary_of_its_file(tmp_path: Path) -> None:
    csv = str(REPO / "data" / "samples" / "demo_shop.csv.gz")
    env = {**os.environ, "PARCOURS_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    imported = subprocess.run(
        [sys.executable, "-m", "data", "import", csv, "--json"], capture_output=True, text=True, env=env, cwd=REPO
    )
    dataset_id = json.loads(imported.stdout)["id"]
    from_store = json.loads(run("summary", dataset_id, "--json", home=tmp_path).stdout)
    from_file = json.loads(run("summary", csv, "--json", home=tmp_path).stdout)
    assert from_store == from_file


def test_map_dot_and_model_exports(tmp_path: Path) -> None:
    log = str(RUNNING_EXAMPLE / "running-example.csv")
    dot = run("map", log, "--dot", "--metric", "median", home=tmp_path)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph") and "register request" in dot.stdout
    exported = run("model", log, "--bpmn", str(tmp_path / "m.bpmn"), "--pnml", str(tmp_path / "m.pnml"), home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "bpmn:definitions" in (tmp_path / "m.bpmn").read_text()
    assert "<pnml" in (tmp_path / "m.pnml").read_text()


def test_a_missing_log_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run("summary", str(tmp_path / "missing.csv"), home=tmp_path)
    assert result.returncode == 2
    assert "missing.csv" in result.stderr and "Traceback" not in result.stderr
