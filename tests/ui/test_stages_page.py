"""The Stages, funnel & churn page as Streamlit runs it, and its pure figure and table builders."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import discovery
from data import Dataset, Filters, Settings, Store, import_file
from data.importing import import_demo
from discovery import (
    DEFAULT_STAGES,
    ChannelSwitches,
    ChurnDefinition,
    ChurnPoints,
    Funnel,
    StageKPIs,
    StageModel,
    StageReason,
    WhereTheyWent,
)
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics, widget
from ui.stages import (
    OTHERS_LABEL,
    STOPPED_LABEL,
    churn_summary,
    default_funnel_steps,
    edited_model,
    funnel_figure,
    mapping_table,
    stage_cards,
    switch_figure,
    where_table,
)

PAGE = "pages/4_Stages_funnel_and_churn.py"


def open_stages_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the demo log, imported once for the whole file: each test works on its own copy."""
    home = tmp_path_factory.mktemp("demo") / "home"
    import_demo(Store(Settings(home=home)))
    return home


@pytest.fixture
def demo(demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Dataset]:
    home = tmp_path / "demo-home"
    shutil.copytree(demo_home, home)
    monkeypatch.setenv("PARCOURS_HOME", str(home))
    store = Store(Settings.from_env())
    (dataset,) = store.datasets()
    return store, dataset


def card_values(app: AppTest) -> dict[str, str]:
    """Return the stage cards' values by stage (the demo's stages are the default ones)."""
    return {label: value for label, value in metrics(app).items() if label in DEFAULT_STAGES}


def expected_cards(kpis: StageKPIs) -> dict[str, str]:
    return {
        stage: f"{customers:,}" for stage, customers in zip(kpis.table["stage"], kpis.table["customers"], strict=True)
    }


def table_with(app: AppTest, *columns: str) -> pd.DataFrame:
    """Return the one table of the page having all these columns."""
    (found,) = [frame.value for frame in app.dataframe if set(columns) <= set(frame.value.columns)]
    return found


# --- the page ---


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_stages_page()
    assert not app.exception
    assert not app.metric
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.get("page_link")] == ["Import a log"]


def test_the_demo_shows_the_library_stage_kpis_churn_and_channels(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_stages_page(dataset=dataset.id)
    assert not app.exception
    with store.engine(dataset.id) as engine:
        model = discovery.suggest_stages(engine)
        kpis = discovery.stage_kpis(engine, model)
        points = discovery.churn_points(engine, model)
        switches = discovery.channel_switches(engine)
        went = discovery.where_they_went(engine, points.activities["activity"].iloc[0], model)
    assert card_values(app) == expected_cards(kpis)
    assert (
        table_with(app, "Customers reaching it")["Customers reaching it"].tolist() == kpis.table["customers"].tolist()
    )
    churn = table_with(app, "Touchpoint", "Churned")
    assert churn["Touchpoint"].tolist() == points.activities["activity"].tolist()
    assert churn["Churned"].tolist() == points.activities["churned"].tolist()
    summary = app.markdown[0].value
    assert f"**{points.churned:,} customers churned**" in summary
    assert f"**{points.base_churn_rate:.1%}**" in summary
    assert f"**{points.censored:,} journeys are censored**" in summary
    assert table_with(app, "Next step")["Customers"].sum() == went.customers
    assert metrics(app)["Omnichannel customers (used 2+ channels)"] == f"{switches.omnichannel_customers:,}"
    assert (
        table_with(app, "Customers switching")["Customers switching"].tolist() == switches.matrix["customers"].tolist()
    )


def test_the_sidebar_filters_apply_to_every_stage_figure(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_stages_page(dataset=dataset.id, channels='["store"]')
    assert not app.exception
    store_customers = Filters(channels={"store"})
    with store.engine(dataset.id) as engine:
        model = discovery.suggest_stages(engine)
        kpis = discovery.stage_kpis(engine, model, store_customers)
        points = discovery.churn_points(engine, model, filters=store_customers)
    assert card_values(app) == expected_cards(kpis)
    assert table_with(app, "Touchpoint", "Churned")["Customers"].tolist() == points.activities["customers"].tolist()


def test_the_funnel_and_the_drop_off_follow_what_the_user_picks(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_stages_page(dataset=dataset.id)
    widget(app.radio, "Funnel over").set_value("Touchpoints I choose").run()
    widget(app.multiselect, "Touchpoints, in funnel order").set_value(["visit_website", "subscribe"])
    widget(app.number_input, "Conversion window (days)").set_value(7)
    widget(app.selectbox, "Drop-off touchpoint").select("compare_offers").run()
    assert not app.exception
    with store.engine(dataset.id) as engine:
        funnel = discovery.funnel(engine, ["visit_website", "subscribe"], within_seconds=7 * 86_400)
        went = discovery.where_they_went(engine, "compare_offers", discovery.suggest_stages(engine))
    steps = table_with(app, "Step")
    assert steps["Step"].tolist() == ["visit_website", "subscribe"]
    assert steps["Customers"].tolist() == list(funnel.customers)
    next_steps = table_with(app, "Next step")
    assert dict(zip(next_steps["Next step"], next_steps["Customers"], strict=True)) == {
        **dict(zip(went.next_activities["activity"], went.next_activities["customers"], strict=True)),
        STOPPED_LABEL: went.stopped,
    }


def test_saving_the_mapping_changes_the_kpis_and_survives_a_new_session(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_stages_page(dataset=dataset.id)
    editor = app.data_editor[0]
    row = editor.value["Touchpoint"].tolist().index("upgrade_plan")
    app.session_state[editor.key] = {"edited_rows": {row: {"Stage": None}}, "added_rows": [], "deleted_rows": []}
    widget(app.selectbox, "Goal stage").select("loyalty")
    widget(app.button, "Save").click().run()
    assert not app.exception
    with store.engine(dataset.id) as engine:
        suggested = discovery.suggest_stages(engine)
        edited = suggested.with_overrides({"upgrade_plan": None})
        kpis = discovery.stage_kpis(engine, edited)
        before = discovery.stage_kpis(engine, suggested)
    assert card_values(app) == expected_cards(kpis) != expected_cards(before)

    st.cache_data.clear()
    reopened = open_stages_page(dataset=dataset.id)
    assert card_values(reopened) == expected_cards(kpis)
    assert "(reached *loyalty* or a later stage" in reopened.markdown[0].value
    assert reopened.caption[0].value.startswith("Stages and churn follow the mapping saved for this log")
    saved = store.annotation(dataset.id, "stages", "default")
    assert saved["stage_model"]["stage_of"] == dict(edited.stage_of)
    assert saved["churn"]["goal_stage"] == "loyalty"


def test_reset_to_suggested_forgets_the_saved_mapping(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    with store.engine(dataset.id) as engine:
        suggested = discovery.suggest_stages(engine)
        kpis = discovery.stage_kpis(engine, suggested)
    only_discovery = StageModel(suggested.stages, {"visit_website": "discovery"})
    store.save_annotation(
        dataset.id, "stages", "default", {"stage_model": only_discovery.to_dict(), "churn": ChurnDefinition().to_dict()}
    )
    app = open_stages_page(dataset=dataset.id)
    assert card_values(app)["purchase"] == "0"
    widget(app.button, "Reset to suggested").click().run()
    assert not app.exception
    assert store.annotation(dataset.id, "stages", "default") is None
    assert card_values(app) == expected_cards(kpis)
    assert widget(app.button, "Reset to suggested").disabled


def test_filters_that_keep_no_customer_say_what_to_do_and_keep_the_editor(demo: tuple[Store, Dataset]) -> None:
    _, dataset = demo
    app = open_stages_page(dataset=dataset.id, channels='["fax"]')
    assert not app.exception
    assert not card_values(app)
    assert app.info[0].value.startswith("No customer matches customers who used fax.")
    assert len(app.data_editor) == 1


# --- pure builders, on hand-made figures ---


def test_funnel_figure_shows_customers_and_the_share_kept_from_the_previous_step() -> None:
    table = pd.DataFrame(
        {
            "step": ["visit", "buy"],
            "customers": [8, 2],
            "conversion_from_previous": [0.8, 0.25],
            "conversion_from_first": [1.0, 0.25],
            "drop_off": [2, 6],
            "median_seconds_from_previous": [math.nan, 3600.0],
            "median_seconds_from_first": [0.0, 3600.0],
            "median_seconds_to_reach": [0.0, 7200.0],
        }
    )
    trace = funnel_figure(Funnel(("visit", "buy"), "activity", False, None, 10, table)).to_dict()["data"][0]
    assert list(trace["y"]) == ["visit", "buy"]
    assert list(trace["x"]) == [8, 2]
    assert list(trace["text"]) == ["8 customers · 80% of all selected", "2 customers · 25% of previous"]


def test_switch_figure_puts_customers_at_from_row_and_to_column() -> None:
    matrix = pd.DataFrame(
        {
            "from_channel": ["web", "web", "store"],
            "to_channel": ["store", "app", "web"],
            "customers": [3, 2, 1],
            "transitions": [4, 2, 1],
            "median_gap_seconds": [3600.0, 86_400.0, 60.0],
        }
    )
    trace = switch_figure(ChannelSwitches(matrix, customers=5, omnichannel_customers=4)).data[0]
    # web touches 6 switching customers, store 4, app 2: the busiest channels come first.
    assert list(trace.x) == list(trace.y) == ["web", "store", "app"]
    expected = [[math.nan, 3, 2], [1, math.nan, math.nan], [math.nan, math.nan, math.nan]]
    assert np.array_equal(np.asarray(trace.z, dtype=float), expected, equal_nan=True)
    assert list(trace.customdata[0]) == ["", "1h", "1d"]


def test_stage_cards_say_who_reached_each_stage_and_who_dropped_off() -> None:
    kpis = StageKPIs(
        stages=("discovery", "purchase"),
        customers_selected=10,
        table=pd.DataFrame(
            {
                "stage": ["discovery", "purchase"],
                "customers": [10, 4],
                "conversion_from_previous": [1.0, 0.4],
                "drop_off": [0, 6],
                "median_seconds_to_reach": [0.0, 7200.0],
                "median_seconds_in_stage": [60.0, math.nan],
                "events": [15, 4],
            }
        ),
        channel_mix=pd.DataFrame(
            {"stage": ["discovery", "discovery"], "channel": ["web", "store"], "events": [12, 3], "share": [0.8, 0.2]}
        ),
        attribute_means=pd.DataFrame(
            {"stage": ["discovery", "purchase"], "attribute": ["revenue", "revenue"], "mean": [math.nan, 25.5]}
        ).assign(values=[0, 4]),
    )
    discovery_card, purchase_card = stage_cards(kpis)
    assert (discovery_card.label, discovery_card.value, discovery_card.delta) == ("discovery", "10", None)
    assert (purchase_card.label, purchase_card.value, purchase_card.delta) == ("purchase", "4", "6 dropped")
    assert discovery_card.details == (
        "100% of the selected customers",
        "Reached after 0s (median)",
        "In stage for 1min (median)",
        "Channels: web 80% · store 20%",
    )
    assert purchase_card.details == (
        "40% of the previous stage",
        "Reached after 2h (median)",
        "No event of this stage",
        "Channels: —",
        "Averages: revenue 25.50",
    )


def test_churn_summary_states_the_base_rate_and_why_journeys_are_censored() -> None:
    empty = pd.DataFrame()
    points = ChurnPoints(empty, empty, ("cancel",), churned=3, converted=9, censored=2, active=0, base_churn_rate=0.25)
    text = churn_summary(points, ChurnDefinition(goal_stage="purchase", inactivity_days=30))
    assert "**3 customers churned** and **9 converted**" in text
    assert "**25.0%** of the 12 journeys whose outcome is known" in text
    assert "Churn is a churn touchpoint (cancel) or a journey that stopped before converting" in text
    assert "**2 journeys are censored**" in text and "less than 30 days before the log ends" in text


def test_where_table_adds_who_stopped_and_who_went_elsewhere() -> None:
    went = WhereTheyWent(
        activity="compare",
        customers=10,
        stopped=3,
        others=1,
        next_activities=pd.DataFrame({"activity": ["call", "visit"], "customers": [4, 2], "share": [0.4, 0.2]}),
    )
    table = where_table(went)
    assert table["Next step"].tolist() == ["call", STOPPED_LABEL, "visit", OTHERS_LABEL]
    assert table["Customers"].tolist() == [4, 3, 2, 1]
    assert table["Share"].tolist() == [0.4, 0.3, 0.2, 0.1]


def test_mapping_table_lists_every_touchpoint_by_stage_with_the_reason() -> None:
    model = StageModel(
        ("discovery", "purchase"),
        {"buy": "purchase", "visit": "discovery"},
        {"visit": StageReason("keyword", keyword="visit")},
    )
    touchpoints = pd.DataFrame({"activity": ["help", "buy", "visit"], "customers": [9, 5, 7]})
    table = mapping_table(model, touchpoints)
    assert table["Touchpoint"].tolist() == ["visit", "buy", "help"]
    assert table["Stage"].tolist() == ["discovery", "purchase", None]
    assert table["Why"].tolist() == ["its name contains 'visit'", "set by hand", "it is in no stage"]


def test_edited_model_overrides_only_the_changed_touchpoints() -> None:
    model = StageModel(
        ("discovery", "purchase"),
        {"visit": "discovery", "buy": "purchase"},
        {"visit": StageReason("keyword", keyword="visit"), "buy": StageReason("keyword", keyword="buy")},
    )
    edited = pd.DataFrame({"Touchpoint": ["visit", "buy", "help"], "Stage": ["discovery", None, "purchase"]})
    changed = edited_model(model, edited)
    assert dict(changed.stage_of) == {"visit": "discovery", "help": "purchase"}
    assert changed.why("visit") == "its name contains 'visit'"
    assert changed.why("help") == "set by hand"


def test_default_funnel_takes_each_stages_most_common_touchpoint() -> None:
    model = StageModel(("discovery", "purchase"), {"buy": "purchase", "visit": "discovery", "ad": "discovery"})
    touchpoints = pd.DataFrame({"activity": ["ad", "buy", "visit", "help"], "customers": [9, 5, 4, 3]})
    assert default_funnel_steps(model, touchpoints) == ["ad", "buy"]


def test_a_log_without_channels_or_numbers_shows_its_stages_and_no_channel_mix(tmp_path: Path) -> None:
    source = tmp_path / "plain.csv"
    source.write_bytes(
        b"client,etape,horodatage\n"
        b"c1,visit,2025-01-06\nc1,checkout,2025-01-07\n"
        b"c2,visit,2025-01-06\nc2,compare offers,2025-01-08\n"
        b"c3,visit,2025-03-01\n"
    )
    plain = import_file(source, store=Store(Settings.from_env()))
    app = open_stages_page(dataset=plain.id)
    assert not app.exception
    # c1 skips consideration but has passed it by buying; nobody goes past the purchase.
    assert card_values(app) == {
        "discovery": "3",
        "consideration": "2",
        "purchase": "1",
        "post-purchase": "0",
        "loyalty": "0",
    }
    assert any(info.value.startswith("This log has no channel column") for info in app.info)
