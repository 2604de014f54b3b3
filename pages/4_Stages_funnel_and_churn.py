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

# Only the open tab is computed (a tab opened reruns the page): a filter change then costs one tab's figures.
tabs = st.tabs(["Stages", "Funnel", "Churn points", "Channels"], key="tab", on_change="rerun", bind="query-params")
shows = (stages.show_stage_kpis, stages.show_funnel, stages.show_churn, stages.show_channels)
for tab, show in zip(tabs, shows, strict=True):
    if not tab.open:
        continue
    with tab:
        if selected:
            show(dataset.id, filters, definition)
        else:
            st.info(
                f"No customer matches {ui.plain(filters.describe())}. "
                "Widen the filters in the sidebar, or press Reset filters."
            )
