"""Designed vs actual: the journey the team designed, against the journeys customers actually take."""

from __future__ import annotations

import streamlit as st

import ui
from ui import designed as designed_ui
from ui.definition import definition_banner
from ui.state import attribute_columns, channels

st.set_page_config(page_title="Designed vs actual · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()
st.title("Designed vs actual")
if dataset is None:
    ui.stop_without_log(
        "Open the demo, or import your own log, to measure its journeys against the journey you designed.",
        "designed",
    )
filters = ui.filter_bar(dataset)
with ui.reported_errors():
    selected = ui.dataset_summary(dataset.id, filters)
definition = definition_banner(dataset.id)
if selected.cases == 0:
    st.info(f"No customer matches: {ui.plain(filters.describe())}. Widen the filters in the sidebar.")
    st.stop()

st.subheader("The designed journey")
with ui.reported_errors():
    touchpoints = designed_ui.touchpoint_names(dataset.id)
    expected_channels = sorted({*channels(dataset.id), *definition.channel_groups.values()})
    designed = designed_ui.design_editor(dataset.id, filters, definition, touchpoints, expected_channels)
if designed is None:
    st.stop()
designed_ui.design_comments(dataset.id, designed)

results_tab, map_tab, breakdown_tab = st.tabs(
    ["Designed vs actual", "On the journey map", "By month, persona or segment"],
    key="view",
    on_change="rerun",
    bind="query-params",
)
with ui.reported_errors():
    result = designed_ui.conformance_of(dataset.id, filters, definition, designed)
by = None
if results_tab.open:
    with results_tab:
        designed_ui.show_results(result)
if map_tab.open:
    with map_tab, ui.reported_errors():
        designed_ui.show_overlay(dataset.id, filters, definition, result)
if breakdown_tab.open:
    with breakdown_tab, ui.reported_errors():
        by, broken_down = designed_ui.show_breakdown(
            dataset.id, filters, definition, designed, list(attribute_columns(dataset.id))
        )
        result = broken_down or result

st.subheader("The customers behind a figure")
with ui.reported_errors():
    designed_ui.show_customers_of(dataset.id, definition, result, by)
