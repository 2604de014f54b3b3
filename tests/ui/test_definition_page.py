"""The Journey definition page as Streamlit runs it — asked, not guessed — and its pure table builders."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Store
from discovery import (
    AttributeRole,
    ChurnRule,
    JourneyDefinition,
    StageModel,
    StageReason,
    outcome_counts,
    suggest_definition,
)
from tests.ui.apptest import open_page, widget
from ui.definition import (
    attribute_table,
    channel_table,
    edited_attribute_roles,
    edited_channel_groups,
    edited_stage_model,
    edited_stage_names,
    outcome_sentence,
    stage_names_table,
    touchpoint_table,
    window_in_units,
)

PAGE = "pages/1_Journey_definition.py"


def open_definition_page(**query_params: str) -> AppTest:
    return open_page(PAGE, **query_params)


def suggested(store: Store, dataset: Dataset) -> JourneyDefinition:
    with store.engine(dataset.id) as engine:
        return suggest_definition(engine)


def draft_figures(app: AppTest) -> str:
    (figures,) = [info.value for info in app.info if "journeys converted" in info.value or "No goal" in info.value]
    return figures


# --- the page ---


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_definition_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")


def test_a_new_log_is_asked_with_the_suggestion_its_reasons_and_what_it_gives(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_definition_page(dataset=dataset.id)
    assert not app.exception
    definition = suggested(store, dataset)
    with store.engine(dataset.id) as engine:
        counted = outcome_counts(engine, definition)
    assert app.info[0].value.startswith("Nobody has confirmed this log's journey definition yet.")
    # A blank cell (a touchpoint in no stage) is blank, not Streamlit's "None", which reads as a stage named None.
    editors = [frame.proto for frame in app.dataframe if frame.proto.editing_mode]
    assert len(editors) == 4 and all(editor.HasField("placeholder") and not editor.placeholder for editor in editors)
    assert widget(app.multiselect, "Goal touchpoints").value == list(definition.goal)
    assert any(
        "look like the goal" in caption.value or "looks like the goal" in caption.value for caption in app.caption
    )
    assert draft_figures(app) == outcome_sentence(counted)
    assert widget(app.multiselect, "Churn touchpoints").value == list(definition.churn.touchpoints)
    assert widget(app.number_input, "Silence that counts as churn").value == 60
    assert widget(app.selectbox, "Unit").value == "days"


def test_saving_the_suggestion_makes_it_version_one_in_force_everywhere(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_definition_page(dataset=dataset.id)
    widget(app.button, "Save as version 1").click().run()
    assert not app.exception
    saved = store.definition(dataset.id)
    assert saved.version == 1
    assert JourneyDefinition.from_dict(saved.payload) == suggested(store, dataset)
    assert widget(app.button, "Save as version 2")
    assert app.main.caption[0].value.startswith("Version 1 is in force")


def test_choosing_a_goal_nearly_everyone_does_is_warned_about_before_saving(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_definition_page(dataset=dataset.id)
    everyone_starts = ["ad_click", "visit_store", "visit_website"]  # every demo journey starts with one of them
    widget(app.multiselect, "Goal touchpoints").set_value(everyone_starts).run()
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggested(store, dataset)
        changed = JourneyDefinition(tuple(everyone_starts), definition.stages, definition.churn)
        counted = outcome_counts(engine, changed)
    assert draft_figures(app) == outcome_sentence(counted)
    assert any("of journeys convert under this goal" in warning.value for warning in app.warning)
    assert store.definition(dataset.id) is None  # nothing is saved until Save


def test_stages_are_renamed_and_touchpoints_moved_then_saved(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_definition_page(dataset=dataset.id)
    names, mapping = app.data_editor[0], app.data_editor[1]
    app.session_state[names.key] = {"edited_rows": {0: {"Stage": "awareness"}}, "added_rows": [], "deleted_rows": []}
    row = mapping.value["Touchpoint"].tolist().index("upgrade_plan")
    app.session_state[mapping.key] = {"edited_rows": {row: {"Stage": None}}, "added_rows": [], "deleted_rows": []}
    widget(app.number_input, "Silence that counts as churn").set_value(30)
    app.run()
    widget(app.button, "Save as version 1").click().run()
    assert not app.exception
    saved = JourneyDefinition.from_dict(store.definition(dataset.id).payload)
    before = suggested(store, dataset)
    assert saved.stages.stages == ("awareness", *before.stages.stages[1:])
    assert saved.stages.activities_in("awareness") == before.stages.activities_in("discovery")
    assert "upgrade_plan" not in saved.stages.stage_of
    assert saved.churn == ChurnRule(before.churn.touchpoints, 30.0)


def test_a_definition_file_is_loaded_for_review_before_it_is_saved(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    definition = suggested(store, dataset)
    from_file = JourneyDefinition(("upgrade_plan",), definition.stages, ChurnRule(inactivity_days=14))
    app = open_definition_page(dataset=dataset.id)
    content = json.dumps(from_file.to_dict()).encode()
    app.get("file_uploader")[0].set_value(("definition.json", content, "application/json")).run()
    assert not app.exception
    assert widget(app.multiselect, "Goal touchpoints").value == ["upgrade_plan"]
    assert widget(app.number_input, "Silence that counts as churn").value == 14
    assert store.definition(dataset.id) is None
    widget(app.button, "Save as version 1").click().run()
    assert JourneyDefinition.from_dict(store.definition(dataset.id).payload).goal == ("upgrade_plan",)


# --- pure builders ---

MODEL = StageModel(
    ("discovery", "purchase"),
    {"visit": "discovery", "buy": "purchase"},
    {"visit": StageReason("keyword", keyword="visit"), "help": StageReason("after_goal", median_position=0.9)},
)
FACTS = pd.DataFrame(
    {"activity": ["visit", "buy", "help"], "customers": [10, 4, 3], "starts": [9, 0, 0], "journeys": [12, 12, 12]}
)


def test_the_touchpoint_table_lists_every_touchpoint_by_stage_with_the_reason_and_guesses_marked() -> None:
    table = touchpoint_table(MODEL, FACTS)
    assert table["Touchpoint"].tolist() == ["visit", "buy", "help"]
    assert table["Stage"].tolist() == ["discovery", "purchase", None]
    assert table["Starts journeys"].tolist() == [0.75, 0.0, 0.0]
    assert table["Why"].tolist() == [
        "its name contains 'visit'",
        "set by hand",
        "⚠ no keyword, and it mostly comes after the goal: choose its stage",
    ]


def test_edited_stages_rename_reorder_and_move_only_what_changed() -> None:
    names = stage_names_table(MODEL)
    names.loc[0, "Stage"] = "awareness"
    names.loc[2] = ["loyalty", 3]
    stages, renamed = edited_stage_names(MODEL, names)
    assert (stages, renamed) == (("awareness", "purchase", "loyalty"), {"discovery": "awareness"})
    edited = touchpoint_table(MODEL, FACTS).assign(Stage=["discovery", "purchase", "loyalty"])
    model = edited_stage_model(MODEL, stages, renamed, edited)
    assert dict(model.stage_of) == {"visit": "awareness", "buy": "purchase", "help": "loyalty"}
    assert model.why("visit") == "its name contains 'visit'"
    assert model.why("help") == "set by hand"
    reordered = names.assign(Order=[2, 1, 3])
    assert edited_stage_names(MODEL, reordered)[0] == ("purchase", "awareness", "loyalty")


def test_channel_groups_and_attribute_roles_round_trip_through_their_tables() -> None:
    definition = JourneyDefinition(
        channel_groups={"web": "online", "store": "offline"},
        attribute_roles={"nps": AttributeRole("score", "nps"), "csat": AttributeRole("score", "csat", 4.0)},
        reasons={"channel:web": "its name contains 'web'"},
    )
    channels = channel_table(definition, ["web", "store", "kiosk"])
    assert channels["Group"].tolist() == ["online", "offline", "other"]
    assert edited_channel_groups(channels.assign(Group=["online", "in person", ""])) == {
        "web": "online",
        "store": "in person",
    }
    attributes = attribute_table(definition, {"nps": "BIGINT", "csat": "BIGINT", "region": "VARCHAR"})
    assert attributes["Role"].tolist() == ["score", "score", "category"]
    assert edited_attribute_roles(attributes) == {
        "nps": AttributeRole("score", "nps"),
        "csat": AttributeRole("score", "csat", 4.0),
        "region": AttributeRole("category"),
    }
    # Ticked, the box makes a score the customer's own; under a category it says nothing.
    attributes["Once per customer"] = True
    assert edited_attribute_roles(attributes) == {
        "nps": AttributeRole("score", "nps", per_customer=True),
        "csat": AttributeRole("score", "csat", 4.0, per_customer=True),
        "region": AttributeRole("category"),
    }


def test_a_bad_attribute_role_names_its_attribute() -> None:
    rows = pd.DataFrame(
        {
            "Attribute": ["csat"],
            "Role": ["score"],
            "Scale": ["csat"],
            "Satisfied from": [None],
            "Once per customer": [0],
        }
    )
    with pytest.raises(Exception, match="lowest satisfied answer") as caught:
        edited_attribute_roles(rows)
    assert caught.value.problems[0].column == "csat"


@pytest.mark.parametrize(
    ("days", "shown"), [(60, (60, "days")), (1 / 24, (1, "hours")), (2 / 1440, (2, "minutes")), (None, (None, "days"))]
)
def test_the_window_is_shown_in_its_largest_whole_unit(days: float | None, shown: tuple) -> None:
    assert window_in_units(days) == shown
