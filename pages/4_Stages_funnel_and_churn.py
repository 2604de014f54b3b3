"""Stages, funnel & churn: how far customers get, where they drop off and churn, how they switch channels."""

from __future__ import annotations

import streamlit as st

import ui
from ui import definition as definition_ui
from ui import stages

st.set_page_config(page_title="Stages, funnel & churn · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Stages, funnel & churn")
if dataset is None:
    ui.stop_without_log(
        "Open the demo or import your own log: this page then shows how many customers reach "
        "each stage of their journey, where they drop off, and the touchpoints they churn right after.",
        "stages",
    )
filters = ui.filter_bar(dataset)

with ui.reported_errors():
    selected = ui.dataset_summary(dataset.id, filters).cases
definition = definition_ui.definition_banner(dataset.id)

stage_tab, funnel_tab, churn_tab, channel_tab = st.tabs(
    ["Stages", "Funnel", "Churn points", "Channels"], key="tab", bind="query-params"
)
if not selected:
    for tab in (stage_tab, funnel_tab, churn_tab, channel_tab):
        tab.info(
            f"No customer matches {ui.plain(filters.describe())}. "
            "Widen the filters in the sidebar, or press Reset filters."
        )
    st.stop()
with stage_tab:
    stages.show_stage_kpis(dataset.id, filters, definition)
with funnel_tab:
    stages.show_funnel(dataset.id, filters, definition)
with churn_tab:
    stages.show_churn(dataset.id, filters, definition)
with channel_tab:
    stages.show_channels(dataset.id, filters, definition)
