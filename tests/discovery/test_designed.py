"""The designed journey's forms: JSON with typed errors, BPMN both ways, the editable table, saved versions."""

from __future__ import annotations

import dataclasses
import json

import defusedxml.ElementTree as SafeXml
import pandas as pd
import pytest

from data import DEFAULT_WORKSPACE, PermissionDenied
from data.demo import SCENARIOS, designed_journey
from data.errors import LogError
from data.settings import Settings
from data.store import Store
from discovery import (
    DESIGNED_KIND,
    DesignedJourney,
    DesignedStage,
    DesignedTouchpoint,
    JourneyDefinition,
    designed_changes,
    designed_from_bpmn,
    designed_from_table,
    designed_history,
    designed_of,
    designed_to_bpmn_xml,
    read_designed,
    restore_designed,
    save_designed,
    write_designed,
)
from tests.data.test_store import event_log
from tests.discovery.test_conformance import DESIGN

BPMN_NAMESPACE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def test_json_round_trip_keeps_everything(tmp_path) -> None:
    assert DesignedJourney.from_dict(json.loads(json.dumps(DESIGN.to_dict()))) == DESIGN
    write_designed(DESIGN, tmp_path / "designed.json")
    assert read_designed(tmp_path / "designed.json") == DESIGN
    assert DESIGN.to_dict()["format_version"] == 1


def test_the_demo_scenarios_tell_their_designed_journey_in_this_format() -> None:
    for scenario in SCENARIOS:
        design = DesignedJourney.from_dict(designed_journey(scenario))
        assert design.to_dict()["stages"] == designed_journey(scenario)["stages"]
    with pytest.raises(LogError, match="no such demo scenario"):
        designed_journey("bakery")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(format_version=2), "format"),
        (lambda d: d.update(stages="all"), "stages"),
        (lambda d: d["stages"][1]["touchpoints"][0].update(order=0), "stages[1].touchpoints[0].order"),
        (lambda d: d["stages"][0]["touchpoints"][1].update(required="yes"), "stages[0].touchpoints[1].required"),
        (lambda d: d["stages"][1].update(target_days=-1), "stages[1].target_days"),
        (lambda d: d["stages"][0]["touchpoints"][0].update(name=""), "stages[0].touchpoints[0].touchpoint"),
        (lambda d: d["stages"][1]["touchpoints"][1].update(order=1), "stages[1].order"),
        (lambda d: d["stages"][1]["touchpoints"][1].update(name="visit"), "touchpoint"),
    ],
)
def test_a_bad_file_gets_a_typed_error_naming_the_field(change, field: str) -> None:
    values = DESIGN.to_dict()
    change(values)
    with pytest.raises(LogError) as raised:
        DesignedJourney.from_dict(values, source="designed.json")
    assert field in [problem.column for problem in raised.value.problems]
    assert all(problem.file == "designed.json" for problem in raised.value.problems)


def test_a_file_that_is_not_json_says_so(tmp_path) -> None:
    (tmp_path / "designed.json").write_text("stages: visit")
    with pytest.raises(LogError, match="not JSON"):
        read_designed(tmp_path / "designed.json")


def test_bpmn_export_has_a_task_per_touchpoint_and_reads_back(tmp_path) -> None:
    xml = designed_to_bpmn_xml(DESIGN)
    tree = SafeXml.fromstring(xml.encode("utf-8"))
    tasks = {task.get("name") for task in tree.iter(f"{BPMN_NAMESPACE}task")}
    assert tasks == {"visit", "compare", "cart", "pay"}
    definition = JourneyDefinition.from_dict(
        {
            "format": "parcours.journey-definition",
            "format_version": 1,
            "stages": [{"name": "explore", "touchpoints": ["visit", "compare"]}, {"name": "buy", "touchpoints": []}],
        }
    )
    back = designed_from_bpmn(xml.encode("utf-8"), definition)
    # The flow comes back: order and optional steps; a task in no stage joins the stage before it.
    assert [(t.name, t.required) for t in back.path] == [(t.name, t.required) for t in DESIGN.path]
    assert [stage.name for stage in back.stages] == ["explore"]
    (tmp_path / "designed.bpmn").write_text(xml, encoding="utf-8")
    assert [t.name for t in read_designed(tmp_path / "designed.bpmn").path] == ["visit", "compare", "cart", "pay"]


def test_bpmn_that_is_not_a_path_is_refused() -> None:
    with pytest.raises(LogError, match="not BPMN"):
        designed_from_bpmn(b"<not-bpmn")
    parallel = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><process id="p">
<startEvent id="s"/><parallelGateway id="g"/><task id="a" name="a"/><task id="b" name="b"/>
<parallelGateway id="j"/><endEvent id="e"/>
<sequenceFlow id="f1" sourceRef="s" targetRef="g"/><sequenceFlow id="f2" sourceRef="g" targetRef="a"/>
<sequenceFlow id="f3" sourceRef="g" targetRef="b"/><sequenceFlow id="f4" sourceRef="a" targetRef="j"/>
<sequenceFlow id="f5" sourceRef="b" targetRef="j"/><sequenceFlow id="f6" sourceRef="j" targetRef="e"/>
</process></definitions>"""
    with pytest.raises(LogError, match="Parallel"):
        designed_from_bpmn(parallel.encode())


def test_the_editable_table_round_trips_and_names_bad_rows() -> None:
    table = DESIGN.to_table()
    assert list(table["touchpoint"]) == ["visit", "compare", "cart", "pay"]
    assert designed_from_table(table) == DESIGN
    edited = table.copy()
    edited.loc[2, "order"] = 2  # cart now shares order 2 with pay
    with pytest.raises(LogError, match="share this order"):
        designed_from_table(edited)
    edited = table.copy()
    edited.loc[3, "target_days"] = 5.0  # pay's stage already says 1 day on cart's row
    with pytest.raises(LogError, match="several targets"):
        designed_from_table(edited)
    blank_row = pd.concat([table, pd.DataFrame([{"stage": None, "touchpoint": None}])], ignore_index=True)
    assert designed_from_table(blank_row) == DESIGN
    with pytest.raises(LogError) as raised:
        designed_from_table(pd.concat([table, pd.DataFrame([{"stage": "buy", "touchpoint": ""}])], ignore_index=True))
    assert raised.value.problems[0].row == 5


def test_designs_are_saved_as_versions_of_the_dataset(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    assert designed_of(store, dataset.id) == (None, None)
    assert save_designed(store, dataset.id, DESIGN, author="ana") == 1
    later = DesignedJourney((*DESIGN.stages[:1], DesignedStage("buy", (DesignedTouchpoint("pay"),))), name="v2")
    assert save_designed(store, dataset.id, later) == 2
    newest, saved = designed_of(store, dataset.id)
    assert (newest, saved.version) == (later, 2)
    assert designed_of(store, dataset.id, version=1)[0] == DESIGN
    history = store.document_history(dataset.id, DESIGNED_KIND, "")
    assert [(one.version, one.author) for one in history][1] == (1, "ana")


def test_each_change_between_two_designs_is_said_in_words() -> None:
    explore, buy = DESIGN.stages
    later = DesignedJourney(
        (
            DesignedStage("buy", (DesignedTouchpoint("cart", False), DesignedTouchpoint("pay", order=2)), 3),
            DesignedStage(
                "explore", (DesignedTouchpoint("visit", channel="app"), DesignedTouchpoint("refund", order=2))
            ),
        ),
        name="Shop v2",
    )
    assert designed_changes(None, DESIGN) == ("first version",)
    assert designed_changes(DESIGN, DESIGN) == ("no change",)
    assert designed_changes(DESIGN, later) == (
        "renamed “Designed journey” → “Shop v2”",
        "stages reordered",
        "stage buy: target 1 day → 3 days",
        "cart now optional",
        "pay: channel online → any",
        "visit: channel web → app",
        "refund added to stage explore",
        "compare removed from stage explore",
    )
    added = DesignedJourney((explore, buy, DesignedStage("after", (DesignedTouchpoint("x"),))))
    assert designed_changes(DESIGN, added) == ("stage after added", "x added to stage after")
    moved = DesignedJourney(
        (
            DesignedStage("explore", explore.touchpoints[:1]),
            DesignedStage("buy", (*buy.touchpoints, DesignedTouchpoint("compare", order=3)), buy.target_days),
        )
    )
    assert designed_changes(DESIGN, moved) == (
        "compare moved from stage explore to buy",
        "compare now required",
        "compare: order 2 → 3",
    )


def test_the_history_says_who_changed_what_and_an_editor_restores_an_earlier_design(settings: Settings) -> None:
    team = dataclasses.replace(settings, auth="oidc", admins=("ana@example.org",))
    ana = Store(team, user="ana@example.org")
    dataset = ana.import_log(event_log())
    ana.set_member(DEFAULT_WORKSPACE, "carl@example.org", "editor")
    ana.set_member(DEFAULT_WORKSPACE, "bob@example.org", "viewer")
    carl, bob = ana.as_user("carl@example.org"), ana.as_user("bob@example.org")
    save_designed(ana, dataset.id, DESIGN)
    save_designed(carl, dataset.id, dataclasses.replace(DESIGN, name="Shop v2"))

    with pytest.raises(PermissionDenied) as raised:
        restore_designed(bob, dataset.id, 1)
    assert "bob@example.org is a viewer" in raised.value.problems[0].message
    assert restore_designed(carl, dataset.id, 1) == 3

    assert designed_of(bob, dataset.id)[0] == DESIGN
    history = designed_history(bob, dataset.id)  # any member reads it
    assert [(one.version, one.author, one.changes) for one in history] == [
        (3, "carl@example.org", ("renamed “Shop v2” → “Designed journey”",)),
        (2, "carl@example.org", ("renamed “Designed journey” → “Shop v2”",)),
        (1, "ana@example.org", ("first version",)),
    ]
    assert history[0].to_dict()["designed"] == DESIGN.to_dict()
    assert [(change.user_id, change.target) for change in ana.history(dataset.id)][:1] == [
        ("carl@example.org", "version 3")
    ]
    with pytest.raises(LogError):
        restore_designed(carl, dataset.id, 9)


@pytest.mark.slow  # pm4py checks the demo's 2,572 variants: half a minute on this machine
def test_the_report_shows_the_saved_design_checked_as_the_page_checks_it(demo_copy) -> None:
    from discovery import (
        DISCOVERY_SECTIONS,
        Branding,
        DesignedJourney,
        ReportView,
        conformance,
        log_report_inputs,
        render_report,
        save_designed,
        suggest_definition,
    )

    store, dataset = demo_copy
    designed = DesignedJourney.from_dict(designed_journey("telecom"))
    save_designed(store, dataset.id, designed, author="ana")
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        inputs = log_report_inputs(engine, ReportView(), definition, store=store, dataset_id=dataset.id)
        document = render_report(inputs, [DISCOVERY_SECTIONS["designed"]], Branding())
        expected = conformance(engine, definition, designed)

    part = document.split('<section id="section-designed">', 1)[1].split("</section>", 1)[0]
    assert f"{expected.follows:,} of {expected.checked:,}" in part
    assert f"{expected.share_keeps_to_steps:.1%}" in part and "saved by ana" in part
    for touchpoint, did in zip(expected.steps["touchpoint"], expected.steps["did"], strict=True):
        assert f"<td>{touchpoint}</td>" in part and f"{did:,}" in part


def test_the_main_path_draft_is_the_most_common_way_to_the_goal(settings: Settings) -> None:
    from data.engine import Engine
    from discovery import JourneyDefinition, designed_from_main_path
    from tests.discovery import journeys

    # Three customers only look; two visit, compare and buy: the draft is the way to the goal, not the commonest.
    rows = [(f"l{n}", "visit", 0) for n in range(3)]
    rows += [
        (case, activity, minute) for case in ("b1", "b2") for minute, activity in enumerate(("visit", "compare", "buy"))
    ]
    with Engine.from_frame(journeys(*rows), settings) as engine:
        with_goal = designed_from_main_path(engine, JourneyDefinition(goal=("buy",)))
        without_goal = designed_from_main_path(engine, JourneyDefinition())
    assert [touchpoint.name for touchpoint in with_goal.path] == ["visit", "compare", "buy"]
    assert [touchpoint.name for touchpoint in without_goal.path] == ["visit", "compare", "buy"]  # two steps or more
