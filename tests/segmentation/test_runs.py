"""Persona runs: found in one call with progress, saved in the store, found again by the dashboard and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data import Filters, LogError, Settings, Store
from data.demo import generate_demo
from data.importing import import_file
from discovery import ChurnRule, JourneyDefinition, suggest_definition, write_definition
from segmentation import (
    PERSONAS_KIND,
    PersonaRun,
    find_personas,
    persona_from_param,
    persona_members,
    persona_options,
    persona_to_param,
    run_filters,
    save_run,
    saved_run,
    saved_runs,
)
from segmentation.__main__ import main

# A small telecom log (one plan keeps it small and quick to cluster).
PLAN = {"attr.plan": '["Mobile 10GB"]'}


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "journeys.csv"
    generate_demo(400, scenario="telecom", seed=3).events.to_csv(path, index=False)
    return path


@pytest.fixture
def stored(log_file: Path) -> tuple[Store, str]:
    store = Store(Settings.from_env())
    return store, import_file(log_file, store=store).id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_finding_personas_reports_progress_and_the_evidence_for_k(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    heard: list[tuple[float, str]] = []
    with store.engine(dataset_id) as engine:
        found = find_personas(engine, progress=lambda fraction, message: heard.append((fraction, message)))
    fractions = [fraction for fraction, _message in heard]
    assert fractions[0] == 0 and fractions[-1] == 1 and fractions == sorted(fractions)
    assert heard[-1][1] == f"{found.n_clusters} personas among 400 customers"
    evidence = found.evidence
    assert list(evidence["k"]) == list(range(2, 9))
    assert evidence.loc[evidence["chosen"], "k"].tolist() == [found.n_clusters]
    assert len(found.labels) == len(found.case_ids) == 400
    assert sum(len(found.members(label)) for label in range(found.n_clusters)) == 400


def test_a_run_keeps_its_parameters_selection_definition_and_names(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    definition = JourneyDefinition(goal=("subscribe",), churn=ChurnRule(inactivity_days=30))
    saved = PersonaRun(3, 2, "kmeans", {**PLAN, "dataset": "ignored"}, {0: "A", 1: "B", 2: "C"}, definition)
    save_run(store, dataset_id, "  Q1: spring ", saved)
    assert list(saved_runs(store, dataset_id)) == ["Q1: spring"]
    again = saved_run(store, dataset_id, "Q1: spring")
    assert (again.k, again.seed, again.algorithm, again.selection) == (3, 2, "kmeans", PLAN)
    assert again.names == {0: "A", 1: "B", 2: "C"}
    assert again.definition.to_dict() == definition.to_dict()
    assert store.annotation(dataset_id, PERSONAS_KIND, "Q1: spring")["names"] == {"0": "A", "1": "B", "2": "C"}


def test_a_saved_personas_members_are_the_ones_found_on_its_selection(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    save_run(store, dataset_id, "Small", PersonaRun(2, 0, "kmeans", PLAN, {0: "A", 1: "B"}))
    with store.engine(dataset_id) as engine:
        found = find_personas(engine, Filters(attributes={"plan": {"Mobile 10GB"}}), k=2)
    assert persona_members(store, dataset_id, "Small", 1) == found.members(1)
    # A selection naming that persona keeps its customers, as the filter bar's Persona condition does.
    selection = {"channels": '["web"]', "persona": persona_to_param("Small", 1)}
    filters = run_filters(store, dataset_id, selection)
    assert filters.channels == {"web"} and filters.case_ids == found.members(1)


def test_the_dashboard_can_serve_a_run_from_its_own_cache(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    save_run(store, dataset_id, "Small", PersonaRun(2, 0, "kmeans", PLAN, {0: "A", 1: "B"}))
    asked: list[tuple[Filters, PersonaRun]] = []
    with store.engine(dataset_id) as engine:
        found = find_personas(engine, Filters(attributes={"plan": {"Mobile 10GB"}}), k=2)

    def cached(filters: Filters, run_asked: PersonaRun):
        asked.append((filters, run_asked))
        return found

    assert persona_members(store, dataset_id, "Small", 0, find=cached) == found.members(0)
    assert asked[0][0] == Filters(attributes={"plan": {"Mobile 10GB"}}) and asked[0][1].k == 2


def test_runs_found_among_each_others_personas_are_refused(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    save_run(store, dataset_id, "A", PersonaRun(2, 0, "kmeans", {"persona": "B:0"}, {0: "x", 1: "y"}))
    save_run(store, dataset_id, "B", PersonaRun(2, 0, "kmeans", {"persona": "A:0"}, {0: "x", 1: "y"}))
    with pytest.raises(LogError, match="each found among the other's personas"):
        persona_members(store, dataset_id, "A", 0)


def test_missing_runs_and_personas_say_what_to_choose(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    save_run(store, dataset_id, "Spring", PersonaRun(2, 0, "kmeans", PLAN, {0: "A", 1: "B"}))
    with pytest.raises(LogError, match="Spring") as missing:
        saved_run(store, dataset_id, "Sprint")
    assert "no longer saved" in str(missing.value)
    with pytest.raises(LogError, match="no persona 7"):
        persona_members(store, dataset_id, "Spring", 7)


def test_bad_runs_are_refused_before_anything_is_saved(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with pytest.raises(LogError) as refused:
        save_run(store, dataset_id, " ", PersonaRun(names={0: " ", 1: "Shoppers", 2: "Shoppers "}))
    assert [problem.message for problem in refused.value.problems] == [
        "A saved run needs a name.",
        "A persona needs a name.",
        "Two personas have this name.",
    ]
    with pytest.raises(LogError) as refused:
        PersonaRun(k=1, seed=-1, algorithm="dbscan")
    assert len(refused.value.problems) == 3
    with pytest.raises(LogError):
        save_run(store, dataset_id, "Bad", PersonaRun(selection={"min_events": "many"}))
    assert saved_runs(store, dataset_id) == {}


def test_a_persona_parameter_names_the_run_and_the_label_even_with_colons_in_the_run() -> None:
    assert persona_from_param(persona_to_param("Q1: spring", 3)) == ("Q1: spring", 3)
    with pytest.raises(LogError):
        persona_from_param("spring")


def test_persona_options_list_every_persona_of_every_run_in_label_order() -> None:
    runs = {"Spring": PersonaRun(names={10: "Late", 2: "Early"}), "Summer": PersonaRun(names={0: "Only"})}
    assert persona_options(runs) == {
        "Spring:2": "Spring · Early",
        "Spring:10": "Spring · Late",
        "Summer:0": "Summer · Only",
    }


def test_the_cli_saves_a_run_that_the_dashboards_library_finds_again(
    stored: tuple[Store, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store, dataset_id = stored
    status, printed, _ = run(capsys, "personas", dataset_id, "--k", "3", "--seed", "1", "--save", "CLI run")
    assert status == 0
    assert printed.startswith("3 personas (silhouette / stability by k: 3: ")
    assert "saved as persona run 'CLI run'" in printed
    saved = saved_run(store, dataset_id, "CLI run")
    assert (saved.k, saved.seed, len(saved.names)) == (3, 1, 3)
    with store.engine(dataset_id) as engine:
        assert saved.definition.to_dict() == suggest_definition(engine).to_dict()

    out = tmp_path / "members.csv"
    status, printed, _ = run(capsys, "personas", dataset_id, "--run", "CLI run", "--json", "--out", str(out))
    assert status == 0
    result = json.loads(printed)
    assert [persona["name"] for persona in result["personas"]] == [saved.names[label] for label in range(3)]
    written = pd.read_csv(out)
    assert set(written.loc[written["persona"] == 2, "case_id"]) == persona_members(store, dataset_id, "CLI run", 2)
    assert run(capsys, "personas", dataset_id, "--runs")[1].startswith("CLI run: k = 3, seed 1, kmeans; ")


def test_the_cli_follows_a_definition_file_and_prints_json_without_nan(
    log_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = tmp_path / "definition.json"
    write_definition(JourneyDefinition(goal=("subscribe",), churn=ChurnRule(inactivity_days=3650)), definition)
    status, printed, _ = run(capsys, "personas", str(log_file), "--k", "2", "--definition", str(definition), "--json")
    assert status == 0
    assert "NaN" not in printed and "Infinity" not in printed
    result = json.loads(printed)
    assert list(result["silhouette_by_k"]) == list(result["stability_by_k"]) == ["2"]
    # A ten-year silence rule decides nobody who did not convert: churn cannot be estimated when most are open.
    for persona in result["personas"]:
        open_share = persona["censored"] / persona["customers"]
        assert (persona["churn_rate"] is None) == (open_share > 0.5)


def test_runs_need_a_stored_dataset(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, error = run(capsys, "personas", str(log_file), "--save", "Run")
    assert status == 2 and "Only a stored dataset keeps persona runs" in error
