"""The Stages, funnel & churn page as Streamlit runs it, and its pure figure and table builders."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

import discovery
from data import Dataset, Filters, Settings, Store, import_file
from discovery import (
    DEFAULT_STAGES,
    ChannelSwitches,
    ChurnPoints,
    ChurnRule,
    Funnel,
    JourneyDefinition,
    Outcomes,
    StageKPIs,
    StageModel,
    WhereTheyWent,
    suggest_definition,
)
from tests.ui.apptest import metrics, open_page, widget
from ui.definition import outcome_sentence
from ui.markup import plain
from ui.stages import (
    NO_GOAL_CHURN_POINTS,
    NO_TOUCHPOINT,
    OTHERS_LABEL,
    STOPPED_LABEL,
    churn_summary,
    default_drop_off,
    default_funnel_steps,
    funnel_figure,
    stage_cards,
    switch_figure,
    where_table,
)

PAGE = "pages/4_Stages_funnel_and_churn.py"


def open_stages_page(**query_params: str) -> AppTest:
    return open_page(PAGE, **query_params)


def opened_tab(app: AppTest, tab: str) -> AppTest:
    """Open one of the page's tabs: only the open tab's figures are computed and shown."""
    app.session_state["tab"] = tab
    return app.run()


def card_values(app: AppTest) -> dict[str, str]:
    """Return the stage cards' values by stage (the demo's stages are the default ones)."""
    labels = {plain(stage): stage for stage in DEFAULT_STAGES}
    return {labels[label]: value for label, value in metrics(app).items() if label in labels}


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
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]


def test_the_demo_shows_the_library_stage_kpis_churn_and_channels(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_stages_page(dataset=dataset.id)
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        kpis = discovery.stage_kpis(engine, definition)
        points = discovery.churn_points(engine, definition)
        switches = discovery.channel_switches(engine)
        went = discovery.where_they_went(engine, default_drop_off(points, definition), definition)
    assert app.warning[0].value.startswith("These figures follow a **suggested** journey definition")
    assert card_values(app) == expected_cards(kpis)
    stage_table = table_with(app, "Got at least this far", "Did a step of this stage")
    assert stage_table["Got at least this far"].tolist() == kpis.table["customers"].tolist()
    assert stage_table["Did a step of this stage"].tolist() == kpis.table["did_stage"].tolist()
    assert not [frame for frame in app.dataframe if "Churned" in frame.value.columns]  # a closed tab is not computed
    opened_tab(app, "Churn points")
    assert not app.exception
    churn = table_with(app, "Touchpoint", "Churned")
    assert churn["Touchpoint"].tolist() == points.activities["activity"].tolist()
    assert churn["Churned"].tolist() == points.activities["churned"].tolist()
    summary = app.markdown[0].value
    assert plain(outcome_sentence(points.outcomes)) in summary
    assert plain(definition.rules_in_words()) in summary
    groups = table_with(app, "How the journey ended").drop_duplicates("How the journey ended")
    assert groups["Customers in this group"].sum() == went.customers
    opened_tab(app, "Channels")
    assert not app.exception
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
        definition = suggest_definition(engine)
        kpis = discovery.stage_kpis(engine, definition, store_customers)
        points = discovery.churn_points(engine, definition, filters=store_customers)
    assert card_values(app) == expected_cards(kpis)
    opened_tab(app, "Churn points")
    assert table_with(app, "Touchpoint", "Churned")["Customers"].tolist() == points.activities["customers"].tolist()


def test_the_funnel_and_the_drop_off_follow_what_the_user_picks(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = opened_tab(open_stages_page(dataset=dataset.id), "Funnel")
    widget(app.radio, "Funnel over").set_value("Touchpoints I choose").run()
    widget(app.multiselect, "Touchpoints, in funnel order").set_value(["visit_website", "subscribe"])
    widget(app.number_input, "Conversion window (days)").set_value(7).run()
    assert not app.exception
    with store.engine(dataset.id) as engine:
        funnel = discovery.funnel(engine, ["visit_website", "subscribe"], within_seconds=7 * 86_400)
        went = discovery.where_they_went(engine, "compare_offers", suggest_definition(engine))
    steps = table_with(app, "Step")
    assert steps["Step"].tolist() == ["visit_website", "subscribe"]
    # The first step has no time from a previous one: a dash, not Streamlit's "None".
    assert all(frame.proto.placeholder == "—" for frame in app.dataframe)
    assert steps["Customers"].tolist() == list(funnel.customers)
    opened_tab(app, "Churn points")
    widget(app.selectbox, "Drop-off touchpoint").select("compare_offers").run()
    assert not app.exception
    next_steps = table_with(app, "Next step")
    converted = next_steps[next_steps["How the journey ended"] == "converted (stayed)"]
    expected = went.next_steps[went.next_steps["outcome"] == "converted"]
    group = went.groups.set_index("outcome").loc["converted"]
    assert dict(zip(converted["Next step"], converted["Customers"], strict=True)) == {
        **dict(zip(expected["activity"], expected["customers"], strict=True)),
        **({STOPPED_LABEL: group["stopped"]} if group["stopped"] else {}),
        **({OTHERS_LABEL: group["others"]} if group["others"] else {}),
    }


def test_a_saved_definition_changes_every_figure_and_the_banner(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    with store.engine(dataset.id) as engine:
        suggested = suggest_definition(engine)
        edited = JourneyDefinition(
            goal=suggested.goal,
            stages=suggested.stages.with_overrides({"upgrade_plan": None}),
            churn=ChurnRule(suggested.churn.touchpoints, 30),
        )
        kpis = discovery.stage_kpis(engine, edited)
        before = discovery.stage_kpis(engine, suggested)
    discovery.save_definition(store, dataset.id, edited)
    app = open_stages_page(dataset=dataset.id)
    assert not app.exception
    assert card_values(app) == expected_cards(kpis) != expected_cards(before)
    assert app.main.caption[0].value.startswith("Journey definition version 1")
    assert not [warning for warning in app.warning if "suggested" in warning.value]
    assert "30 days of silence" in opened_tab(app, "Churn points").markdown[0].value


def test_without_a_goal_the_churn_tab_shows_no_churn_points(demo: tuple[Store, Dataset]) -> None:
    """Nobody converts then, so every ended journey would be "churned" right after its last step: the receipt log's
    usual last letter was listed, and drawn on the map, as its worst churn point."""
    store, dataset = demo
    with store.engine(dataset.id) as engine:
        discovery.save_definition(store, dataset.id, dataclasses.replace(suggest_definition(engine), goal=()))
    app = opened_tab(open_stages_page(dataset=dataset.id), "Churn points")
    assert not app.exception
    assert [info.value for info in app.info] == [NO_GOAL_CHURN_POINTS]
    assert not [frame for frame in app.dataframe if "Churned" in frame.value.columns]
    assert table_with(app, "How the journey ended")["Customers in this group"].sum() > 0  # where they went: still


def test_filters_that_keep_no_customer_say_what_to_do(demo: tuple[Store, Dataset]) -> None:
    _, dataset = demo
    app = open_stages_page(dataset=dataset.id, channels='["fax"]')
    assert not app.exception
    assert not card_values(app)
    assert any(info.value.startswith("No customer matches customers who used fax.") for info in app.info)


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


def test_funnel_figure_says_a_stage_without_touchpoints_is_skipped_and_what_the_next_is_compared_with() -> None:
    table = pd.DataFrame(
        {
            "step": ["discovery", "consideration", "purchase"],
            "customers": [3, 0, 2],
            "conversion_from_previous": [1.0, math.nan, 2 / 3],
            "conversion_from_first": [1.0, math.nan, 2 / 3],
            "drop_off": pd.array([0, None, 1], dtype="Int64"),
            "median_seconds_from_previous": [math.nan, math.nan, 60.0],
            "median_seconds_from_first": [0.0, math.nan, 60.0],
            "median_seconds_to_reach": [0.0, math.nan, 60.0],
        }
    )
    funnel = Funnel(("discovery", "consideration", "purchase"), "stage", False, None, 3, table)
    trace = funnel_figure(funnel).to_dict()["data"][0]
    assert list(trace["text"]) == [
        "3 customers · 100% of all selected",
        "no touchpoint in this stage: skipped",
        "2 customers · 67% of 'discovery'",
    ]
    assert list(trace["y"]) == ["discovery", "consideration (no touchpoint in this stage: skipped)", "purchase"]


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


def test_stage_cards_say_who_got_this_far_who_did_the_stage_and_who_dropped_off() -> None:
    kpis = StageKPIs(
        stages=("discovery", "purchase"),
        customers_selected=10,
        table=pd.DataFrame(
            {
                "stage": ["discovery", "purchase"],
                "touchpoints": [2, 1],
                "did_stage": [9, 4],
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
        attributes=pd.DataFrame(
            {
                "stage": ["discovery", "purchase", "purchase"],
                "attribute": ["revenue", "revenue", "nps"],
                "role": ["amount", "amount", "score (NPS)"],
                "figure": ["total", "total", "NPS"],
                "value": [math.nan, 102.0, -16.8],
                "values": [0, 4, 5],
            }
        ),
    )
    discovery_card, purchase_card = stage_cards(kpis)
    assert (discovery_card.label, discovery_card.value, discovery_card.delta) == ("discovery", "10", None)
    assert (purchase_card.label, purchase_card.value, purchase_card.delta) == ("purchase", "4", "6 dropped")
    assert discovery_card.details == (
        "100% of the selected customers",
        "9 did a step of this stage",
        "Reached after 0s (median)",
        "In stage for 1min (median)",
        "Channels: web 80% · store 20%",
    )
    assert purchase_card.details == (
        "40% of the previous stage",
        "4 did a step of this stage",
        "Reached after 2h (median)",
        "No event of this stage",
        "Channels: —",
        "revenue: total 102.00 · nps: NPS -17",
    )


def test_a_stage_card_without_touchpoints_says_nobody_gets_there_and_the_next_compares_with_the_one_before() -> None:
    table = pd.DataFrame(
        {
            "stage": ["discovery", "purchase", "post-purchase"],
            "touchpoints": [2, 0, 1],
            "did_stage": [10, 0, 6],
            "customers": [10, 0, 6],
            "conversion_from_previous": [1.0, math.nan, 0.6],
            "drop_off": pd.array([0, pd.NA, 4], dtype="Int64"),
            "median_seconds_to_reach": [0.0, math.nan, 60.0],
            "median_seconds_in_stage": [0.0, math.nan, 0.0],
            "events": [10, 0, 6],
        }
    )
    text, number = pd.Series(dtype="str"), pd.Series(dtype="float64")
    no_channels = pd.DataFrame({"stage": text, "channel": text, "events": number, "share": number})
    no_attributes = pd.DataFrame(
        {"stage": text, "attribute": text, "role": text, "figure": text, "value": number, "values": number}
    )
    kpis = StageKPIs(("discovery", "purchase", "post-purchase"), 10, table, no_channels, no_attributes)
    _, empty, after = stage_cards(kpis)
    assert (empty.value, empty.delta, empty.details) == ("0", None, (NO_TOUCHPOINT,))
    assert (after.delta, after.details[0]) == ("4 dropped", "60% of 'discovery'")


def test_churn_summary_states_outcomes_rules_and_the_censored() -> None:
    empty = pd.DataFrame()
    outcomes = Outcomes(journeys=14, converted=7, converted_then_churned=2, churned=3, censored=2)
    points = ChurnPoints(empty, empty, ("cancel",), outcomes)
    definition = JourneyDefinition(goal=("buy",), churn=ChurnRule(("cancel",), 30))
    text = churn_summary(points, definition)
    assert plain("9 of 14 journeys converted (64.3%), 2 of them churned later.") in text
    assert plain("5 of 12 decided journeys churned (41.7%).") in text
    assert plain("30 days of silence before the log's end without converting") in text
    assert plain("2 journeys are still open (censored)") in text


def test_the_default_drop_off_is_before_the_goal() -> None:
    activities = pd.DataFrame({"activity": ["visit", "compare", "buy", "bill"], "churned": [5, 7, 0, 9]})
    points = ChurnPoints(activities, pd.DataFrame(), (), Outcomes(1, 0, 0, 0, 1))
    model = StageModel(
        stage_of={"visit": "discovery", "compare": "consideration", "buy": "purchase", "bill": "loyalty"}
    )
    assert default_drop_off(points, JourneyDefinition(goal=("buy",), stages=model)) == "compare"


def test_where_table_adds_who_stopped_and_who_went_elsewhere_per_outcome() -> None:
    went = WhereTheyWent(
        activity="compare",
        groups=pd.DataFrame(
            {
                "outcome": ["converted", "converted_then_churned", "churned", "censored"],
                "customers": [10, 0, 4, 0],
                "stopped": [3, 0, 4, 0],
                "others": [1, 0, 0, 0],
            }
        ),
        next_steps=pd.DataFrame(
            {
                "outcome": ["converted", "converted"],
                "activity": ["call", "visit"],
                "customers": [4, 2],
                "share": [0.4, 0.2],
            }
        ),
    )
    table = where_table(went)
    assert table["How the journey ended"].tolist() == ["converted (stayed)"] * 4 + ["churned without converting"]
    assert table["Next step"].tolist() == ["call", STOPPED_LABEL, "visit", OTHERS_LABEL, STOPPED_LABEL]
    assert table["Customers"].tolist() == [4, 3, 2, 1, 4]
    assert table["Share (%)"].tolist() == [40.0, 30.0, 20.0, 10.0, 100.0]


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
    # c1 skips consideration but got that far by buying; nobody goes past the purchase.
    assert card_values(app) == {
        "discovery": "3",
        "consideration": "2",
        "purchase": "1",
        "post-purchase": "0",
        "loyalty": "0",
    }
    opened_tab(app, "Channels")
    assert any(info.value.startswith("This log has no channel column") for info in app.info)
