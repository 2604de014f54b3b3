"""Process models mined from the engine's aggregates: equal to pm4py on the raw logs, exported as BPMN and PNML."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import defusedxml.ElementTree as SafeXml
import pandas as pd
import pm4py
import pytest

from data.engine import Engine
from data.errors import EmptyLog
from data.filters import Filters
from data.settings import Settings
from discovery import ProcessModel, discover_model, to_bpmn_xml, to_pnml
from tests.discovery import journeys
from tests.oracle import ORACLES, QUICK_LOG_EVENTS, load_oracle_frame

# Logs on which pm4py mines the raw events in about a second (bpic2020 permits already takes 20 s).
ORACLE_LOGS = (
    "running-example/running_example",
    "bpic16-complaints/complaints_topic",
    "bpic2013/closed_problems_act_lifecycle",
    "receipt-wabo/receipt",
    "helpdesk/helpdesk_tax2017",
    "helpdesk/helpdesk_xes",
    "sepsis/sepsis_csv",
)
PM4PY_KEYS = {"activity_key": "activity", "case_id_key": "case_id", "timestamp_key": "timestamp"}

# Ten customers do a, b, c and ten a, c, b; one strays through d.
PARALLEL = journeys(
    *(
        row
        for index in range(20)
        for row in zip([f"c{index}"] * 3, ["a", "b", "c"] if index % 2 else ["a", "c", "b"], [0, 1, 2], strict=True)
    ),
    ("stray", "a", 0),
    ("stray", "d", 1),
    ("stray", "b", 2),
    ("stray", "c", 3),
)


@functools.cache
def oracle_frame(name: str) -> pd.DataFrame:
    (oracle,) = (oracle for oracle in ORACLES if oracle.name == name)
    return load_oracle_frame(oracle)


@pytest.fixture
def parallel(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(PARALLEL, settings) as engine:
        yield engine


def activities(model: ProcessModel) -> set[str]:
    return {transition.label for transition in model.net.transitions if transition.label is not None}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[pytest.mark.slow] if oracle.events > QUICK_LOG_EVENTS else [])
        for oracle in ORACLES
        for name in ORACLE_LOGS
        if oracle.name == name
    ],
)
def test_inductive_tree_from_variant_counts_equals_pm4py_on_the_raw_log(name: str, settings: Settings) -> None:
    frame = oracle_frame(name)
    with Engine.from_frame(frame, settings) as engine:
        model = discover_model(engine)
    assert str(model.tree) == str(pm4py.discover_process_tree_inductive(frame, **PM4PY_KEYS))
    assert model.cases == model.total_cases == frame["case_id"].nunique()


@pytest.mark.parametrize("name", ["receipt-wabo/receipt", "sepsis/sepsis_csv"])
def test_noise_threshold_runs_the_filtering_inductive_miner_like_pm4py(name: str, settings: Settings) -> None:
    frame = oracle_frame(name)
    with Engine.from_frame(frame, settings) as engine:
        model = discover_model(engine, noise_threshold=0.2)
    assert str(model.tree) == str(pm4py.discover_process_tree_inductive(frame, noise_threshold=0.2, **PM4PY_KEYS))


@pytest.mark.parametrize("name", ["running-example/running_example", "receipt-wabo/receipt", "sepsis/sepsis_csv"])
def test_heuristics_net_from_step_counts_equals_pm4py_on_the_raw_log(name: str, settings: Settings) -> None:
    frame = oracle_frame(name)
    with Engine.from_frame(frame, settings) as engine:
        model = discover_model(engine, algorithm="heuristics")  # pm4py's default cleaning, 0.05
    expected = pm4py.discover_heuristics_net(frame, **PM4PY_KEYS)
    assert model.heuristics_net.dependency_matrix == expected.dependency_matrix
    assert model.heuristics_net.dfg_window_2_matrix == expected.dfg_window_2_matrix
    assert model.heuristics_net.freq_triples_matrix == expected.freq_triples_matrix
    net, _initial, _final = pm4py.convert_to_petri_net(expected)
    assert (len(model.net.places), len(model.net.transitions), len(model.net.arcs)) == (
        len(net.places),
        len(net.transitions),
        len(net.arcs),
    )


def test_parallel_steps_are_mined_as_concurrency(parallel: Engine) -> None:
    model = discover_model(parallel, max_variants=2)
    assert str(model.tree) == "->( 'a', +( 'c', 'b' ) )"
    assert activities(model) == {"a", "b", "c"}


def test_max_variants_keeps_the_most_frequent_journeys(parallel: Engine) -> None:
    for algorithm in ("inductive", "heuristics"):
        model = discover_model(parallel, algorithm=algorithm, max_variants=2)
        assert (model.variants, model.cases, model.total_cases) == (2, 20, 21)
        assert model.covered_share == pytest.approx(20 / 21)
        assert "d" not in activities(model)
        assert "d" in activities(discover_model(parallel, algorithm=algorithm))


def test_filters_select_the_journeys_mined(parallel: Engine) -> None:
    model = discover_model(parallel, Filters(case_ids={"c1", "c3"}))
    assert str(model.tree) == "->( 'a', 'b', 'c' )"


def test_an_empty_selection_cannot_be_mined(parallel: Engine) -> None:
    with pytest.raises(EmptyLog):
        discover_model(parallel, Filters(case_ids=set()))


@pytest.mark.parametrize(
    "options",
    [{"algorithm": "alpha"}, {"noise_threshold": 1.5}, {"noise_threshold": "low"}, {"max_variants": 0}],
)
def test_bad_options_are_refused(parallel: Engine, options: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        discover_model(parallel, **options)


@pytest.mark.parametrize("algorithm", ["inductive", "heuristics"])
def test_bpmn_export_has_one_laid_out_task_per_activity(parallel: Engine, algorithm: str) -> None:
    root = SafeXml.fromstring(to_bpmn_xml(discover_model(parallel, algorithm=algorithm)))
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    tasks = {task.get("id"): task.get("name") for task in root.iter(f"{bpmn}task")}
    assert sorted(tasks.values()) == ["a", "b", "c", "d"]
    bounds = {
        shape.get("bpmnElement"): next(iter(shape)).attrib
        for shape in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")
    }
    assert set(tasks) <= set(bounds)
    corners = {(float(bound["x"]), float(bound["y"])) for bound in bounds.values()}
    assert len(corners) == len(bounds)  # no two shapes on top of each other
    assert min(float(bounds[task]["x"]) for task in tasks) > 0  # the start event comes first


def test_pnml_export_has_a_transition_per_activity_and_both_markings(parallel: Engine) -> None:
    model = discover_model(parallel)
    root = SafeXml.fromstring(to_pnml(model))
    names = {transition.findtext("name/text") for transition in root.iter("transition")}
    assert {"a", "b", "c", "d"} <= names
    assert root.find(".//place/initialMarking") is not None
    assert root.find(".//finalmarkings") is not None


def test_to_dict_is_json(parallel: Engine) -> None:
    result = discover_model(parallel, max_variants=2).to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["tree"] == "->( 'a', +( 'c', 'b' ) )"
    assert result["activities"] == ["a", "b", "c"]


def test_exports_need_a_model() -> None:
    with pytest.raises(TypeError):
        to_pnml("net")  # type: ignore[arg-type]
