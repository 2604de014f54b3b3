"""The Actions page as Streamlit runs it, and its pure table and figure builders."""

from __future__ import annotations

import datetime as dt

from data import Dataset, Filters, Store
from discovery import (
    Action,
    ActionTarget,
    action_effect,
    action_history,
    actions_of,
    change_text,
    save_action,
    suggest_definition,
)
from segmentation import save_segment
from tests.ui.apptest import metrics, open_page, widget
from ui.actions import effect_figure, effect_table, target_from_param
from ui.markup import plain

PAGE = "pages/9_Actions.py"
ACTION = Action(
    "Call back after a dispute",
    ActionTarget("churn point", "billing_dispute"),
    "churn",
    go_live=dt.date(2025, 6, 1),
    status="live",
    owner="Ana",
    id="0a1b2c3d",
)


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page(PAGE)
    assert not app.exception
    assert any("tracks the actions" in info.value for info in app.info)


def test_a_new_action_is_created_from_a_pre_filled_target_and_measured(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_page(PAGE, dataset=dataset.id, new_target="churn point:billing_dispute")
    assert not app.exception
    assert widget(app.text_input, "Target name").value == "billing_dispute"
    widget(app.text_input, "Title").set_value("Call back after a dispute")
    widget(app.date_input, "Go-live").set_value(dt.date(2025, 6, 1))
    widget(app.selectbox, "Status").select("live")
    app.button[0].click().run()  # the form's submit button
    assert not app.exception
    (saved,) = actions_of(store, dataset.id)
    assert (saved.title, saved.target, saved.kpi, saved.status) == (
        "Call back after a dispute",
        ActionTarget("churn point", "billing_dispute"),
        "churn",
        "live",
    )
    assert "After − before (targeted)" in metrics(app)
    assert any("observational" in warning.value for warning in app.warning)


def test_the_page_shows_the_librarys_effect_and_the_history(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    save_action(store, dataset.id, ACTION, author="ana")
    save_action(store, dataset.id, Action.from_dict({**ACTION.to_dict(), "status": "done"}), author="bob")
    app = open_page(PAGE, dataset=dataset.id, action=ACTION.id)
    assert not app.exception
    with store.engine(dataset.id) as engine:
        effect = action_effect(engine, suggest_definition(engine), ACTION, window_days=90)
    change = effect.difference[0]
    assert metrics(app)["After − before (targeted)"] == change_text(change, "share")
    shown = app.dataframe[1].value
    assert shown["Measured (unique customers)"].tolist() == effect.groups["customers"].tolist()
    history = app.dataframe[2].value
    assert history["Changes"].tolist()[0] == "status: live → done"


def test_the_list_filters_by_status(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    save_action(store, dataset.id, ACTION)
    save_action(store, dataset.id, Action("Idea", ActionTarget("stage", "purchase"), "conversion"))
    app = open_page(PAGE, dataset=dataset.id)
    widget(app.multiselect, "Status").set_value(["idea"]).run()
    assert not app.exception
    assert app.dataframe[0].value["Title"].tolist() == ["Idea"]


def test_the_builders_show_every_group_and_mark_the_go_live(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    with store.engine(dataset.id) as engine:
        effect = action_effect(engine, suggest_definition(engine), ACTION)
    table = effect_table(effect)
    assert table["Customers"].tolist() == ["targeted", "targeted", "untargeted", "untargeted"]
    figure = effect_figure(effect).to_dict()
    assert figure["layout"]["shapes"][0]["x0"] == effect.go_live
    assert {trace["name"] for trace in figure["data"]} == {"targeted"}
    assert target_from_param("transition:a → b") == ActionTarget("transition", "a → b")
    assert target_from_param("nonsense") is None


def links(app) -> dict[str, str]:
    return {link.proto.label: link.proto.query_string for link in app.get("page_link")}


def test_the_stages_page_acts_on_the_chosen_churn_point(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_page("pages/4_Stages_funnel_and_churn.py", dataset=dataset.id, tab="Churn points")
    assert not app.exception
    drop_off = widget(app.selectbox, "Drop-off touchpoint").value
    assert links(app)["Act on this churn point"] == f"dataset={dataset.id}&new_target=churn+point%3A{drop_off}"
    save_action(store, dataset.id, Action("Fix it", ActionTarget("touchpoint", drop_off), "churn", status="planned"))
    app.run()
    assert any(plain("Fix it (planned)") in caption.value for caption in app.caption)


def test_the_map_acts_on_the_chosen_touchpoint_and_lists_the_actions_on_it(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    save_action(store, dataset.id, ACTION)
    app = open_page("pages/2_Journey_map.py", dataset=dataset.id, open="billing_dispute")
    assert not app.exception
    assert links(app)["Act on this touchpoint"] == f"dataset={dataset.id}&new_target=touchpoint%3Abilling_dispute"
    assert any(plain("Call back after a dispute (live)") in caption.value for caption in app.caption)


def test_changes_are_written_in_the_kpis_unit() -> None:
    assert change_text(-0.1234, "share") == "-12.3 pts"
    assert change_text(1.5, "days") == "+1.5 days"
    assert change_text(float("nan"), "share") == "—"


def test_an_edit_is_saved_as_a_new_version(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    save_action(store, dataset.id, ACTION)
    app = open_page(PAGE, dataset=dataset.id, action=ACTION.id)
    *_, edit_status = [box for box in app.selectbox if box.label == "Status"]
    edit_status.select("done")
    *_, edit_save = [button for button in app.button if button.label == "Save the action"]
    edit_save.click().run()
    assert not app.exception
    (saved,) = actions_of(store, dataset.id)
    assert (saved.id, saved.status, saved.title) == (ACTION.id, "done", ACTION.title)
    newest, _ = action_history(store, dataset.id, ACTION.id)
    assert newest.in_words() == ("status: live → done",)


def test_a_saved_segment_target_is_measured_against_the_other_customers(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    save_segment(store, dataset.id, "Store customers", {"channels": '["store"]'})
    june = dt.date(2025, 6, 1)
    action = Action("Store staff", ActionTarget("segment", "Store customers"), "conversion", go_live=june)
    save_action(store, dataset.id, action)
    app = open_page(PAGE, dataset=dataset.id, action=action.id)
    assert not app.exception
    with store.engine(dataset.id) as engine:
        effect = action_effect(
            engine, suggest_definition(engine), action, segment=Filters(channels={"store"}), window_days=90
        )
    assert metrics(app)["Difference in differences"] == change_text(effect.did[0], "share")
    missing = Action("Gone", ActionTarget("segment", "Nobody"), "conversion", go_live=june)
    save_action(store, dataset.id, missing)
    app = open_page(PAGE, dataset=dataset.id, action=missing.id)
    assert any("no saved segment of this name" in error.value for error in app.error), [e.value for e in app.error]


def test_the_url_names_the_chosen_action_by_its_id(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    idea = Action("Idea", ActionTarget("stage", "purchase"), "conversion", id="00000001")
    for action in (ACTION, idea):
        save_action(store, dataset.id, action)
    app = open_page(PAGE, dataset=dataset.id, action=idea.id)
    assert widget(app.selectbox, "Action").value == idea.id
    widget(app.selectbox, "Action").select(ACTION.id).run()
    assert not app.exception
    assert app.query_params["action"] == ACTION.id
