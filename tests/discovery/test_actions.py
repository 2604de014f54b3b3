"""Improvement actions: their JSON form, typed errors, versions kept in the Store with readable history, and the
command line that lists, adds and measures them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from data.errors import LogError
from discovery import Action, ActionTarget, action_history, actions_of, open_actions, save_action
from discovery.__main__ import main

ACTION = Action(
    "Call back after a dispute",
    ActionTarget("churn point", "billing_dispute"),
    "churn",
    go_live=dt.date(2025, 4, 1),
    status="live",
    owner="Ana",
    description="A <b>senior</b> agent calls within a day.",
    id="0a1b2c3d",
)


def test_an_action_round_trips_through_its_json_form() -> None:
    document = json.loads(json.dumps(ACTION.to_dict()))
    assert document["format"] == "parcours.action" and document["format_version"] == 1
    assert document["go_live"] == "2025-04-01"
    assert Action.from_dict(document) == ACTION


def test_a_new_action_gets_a_short_hex_id() -> None:
    first, second = (Action("A", ActionTarget("stage", "purchase"), "conversion") for _ in range(2))
    assert len(first.id) == 8 and first.id != second.id


def test_every_bad_field_is_named_with_its_fix() -> None:
    with pytest.raises(LogError) as caught:
        Action(" ", ActionTarget("screen", ""), "happiness", status="maybe", id="XYZ")
    text = str(caught.value)
    for field in ("title", "target.kind", "target.value", "kpi", "status", "id"):
        assert f"The action's {field} " in text
    assert len(caught.value.problems) == 6


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"format_version": 2}, "parcours.action of version 1"),
        ({"go_live": "1st of April"}, "go_live is not a day"),
        ({"target": "billing_dispute"}, "target must be"),
        ({"target": {"kind": "transition", "value": "a to b"}}, "is not a transition"),
        ({"title": None}, "title"),
    ],
)
def test_a_bad_json_action_says_which_field_to_fix(change: dict, says: str) -> None:
    with pytest.raises(LogError, match=says) as caught:
        Action.from_dict({**ACTION.to_dict(), **change}, source="action.json")
    assert all(problem.file == "action.json" for problem in caught.value.problems)


def test_every_edit_is_a_version_with_who_changed_what(demo_copy) -> None:
    store, dataset = demo_copy
    assert save_action(store, dataset.id, ACTION, author="ana") == 1
    edited = Action.from_dict({**ACTION.to_dict(), "status": "done", "owner": "Bob"})
    assert save_action(store, dataset.id, edited, author="bob") == 2
    other = Action("Idea", ActionTarget("stage", "purchase"), "conversion", id="ffff0000")
    save_action(store, dataset.id, other)
    assert actions_of(store, dataset.id) == (edited, other)  # the latest go-live first, ideas last
    newest, first = action_history(store, dataset.id, ACTION.id)
    assert (newest.version, newest.author, first.version, first.author) == (2, "bob", 1, "ana")
    assert newest.in_words() == ("owner: Ana → Bob", "status: live → done")
    assert "title: — → Call back after a dispute" in first.in_words()
    assert json.dumps(newest.to_dict())
    with pytest.raises(LogError, match="no action with this id"):
        action_history(store, dataset.id, "deadbeef")


def test_the_open_actions_are_the_ideas_planned_and_live_ones(demo_copy) -> None:
    store, dataset = demo_copy
    statuses = ("idea", "planned", "live", "done", "dropped")
    for status in statuses:
        save_action(store, dataset.id, Action(status, ACTION.target, "churn", status=status))
    assert {action.status for action in open_actions(store, dataset.id)} == {"idea", "planned", "live"}
    assert open_actions(store, dataset.id) == tuple(
        action for action in actions_of(store, dataset.id) if action.status not in ("done", "dropped")
    )


def test_the_cli_adds_lists_and_measures_an_action(demo_copy, run_cli) -> None:
    store, dataset = demo_copy
    home = store.settings.home
    added = run_cli(
        main,
        "action-add",
        dataset.id,
        "--title",
        "Call back after a dispute",
        "--target",
        "churn point:billing_dispute",
        "--kpi",
        "churn",
        "--go-live",
        "2025-06-01",
        "--status",
        "live",
        "--json",
        home=home,
    )
    assert added.returncode == 0, added.stderr
    action_id = json.loads(added.stdout)["id"]
    listed = run_cli(main, "actions", dataset.id, home=home)
    assert action_id in listed.stdout and "Call back after a dispute" in listed.stdout
    measured = run_cli(main, "action-effect", dataset.id, "--action", action_id, "--json", home=home)
    assert measured.returncode == 0, measured.stderr
    document = json.loads(measured.stdout)
    assert document["kpi"].startswith("churn right after 'billing_dispute'")
    assert [group["customers"] > 0 for group in document["groups"]] == [True, True, False, False]
    assert document["difference_in_differences"] is None and "observational" in document["caveat"]
    text = run_cli(main, "action-effect", dataset.id, "--action", action_id, home=home)
    assert "after − before:" in text.stdout


def test_the_cli_measures_a_segment_from_its_filters_and_says_what_is_wrong(demo_copy, run_cli) -> None:
    store, dataset = demo_copy
    home = store.settings.home
    action = Action("Store staff", ActionTarget("segment", "store"), "conversion", go_live=dt.date(2025, 6, 1))
    save_action(store, dataset.id, action)
    measured = run_cli(
        main, "action-effect", dataset.id, "--action", action.id, "--segment", 'channels=["store"]', "--json", home=home
    )
    assert measured.returncode == 0, measured.stderr
    assert json.loads(measured.stdout)["difference_in_differences"] is not None
    missing = run_cli(main, "action-effect", dataset.id, "--action", action.id, home=home)
    assert missing.returncode == 2 and "--segment" in missing.stderr
    bad = run_cli(
        main, "action-add", dataset.id, "--title", "x", "--target", "screen:home", "--kpi", "churn", home=home
    )
    assert bad.returncode == 2 and "target.kind" in bad.stderr


def test_the_report_lists_the_actions_with_the_effect_the_actions_page_measures(demo_copy) -> None:
    from discovery import (
        DISCOVERY_SECTIONS,
        Branding,
        ReportView,
        action_effect,
        change_text,
        log_report_inputs,
        render_report,
        suggest_definition,
    )

    store, dataset = demo_copy
    idea = Action("Simpler bills", ActionTarget("touchpoint", "receive_bill"), "churn", status="idea", id="0f0f0f0f")
    save_action(store, dataset.id, ACTION)
    save_action(store, dataset.id, idea)
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        inputs = log_report_inputs(engine, ReportView(), definition, store=store, dataset_id=dataset.id)
        document = render_report(inputs, [DISCOVERY_SECTIONS["actions"]], Branding())
        effect = action_effect(engine, definition, ACTION)

    part = document.split('<section id="section-actions">', 1)[1].split("</section>", 1)[0]
    assert "Call back after a dispute" in part and "Simpler bills" in part and "not live yet" in part
    assert change_text(effect.difference[0], effect.unit) in part
