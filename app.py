"""Parcours home page: what it does, the stored logs, and the chosen log's headline figures."""

from __future__ import annotations

import streamlit as st

import ui
from ui import actions
from ui.definition import definition_banner

st.set_page_config(page_title="Parcours", page_icon="🧭", layout="wide")

st.title("Parcours")
st.markdown(
    "Discover the journeys your customers **actually** take, from the timestamped interactions your CRM, web "
    "analytics or call-center tools already log.  \n"
    "Bring a log, map its columns and check its quality.  \n"
    "Then explore journey maps, variants, stages, churn points and data-driven personas."
)

with ui.reported_errors():
    ui.first_run_demo()
dataset = ui.dataset_picker()
if dataset is None:
    ui.stop_without_log(
        "Open the demo — a telecom operator's subscribers over their first year — or import "
        "your own log: CSV, Excel, Parquet, JSON lines or XES.",
        "home",
    )
filters = ui.filter_bar(dataset)

st.subheader("Stored logs")
with ui.reported_errors():
    stored = [log for log in ui.store().datasets() if log.workspace_id == dataset.workspace_id]
ui.stored_logs(stored)
ui.manage_stored_logs(stored, dataset)
st.page_link(ui.IMPORT_PAGE, label="Import another log", icon=":material/upload_file:")

st.subheader("Saved views")
ui.saved_views_section()

st.subheader("Reports")
ui.saved_reports_section()

st.subheader("Open actions")
actions.open_actions_section(dataset.id)

if ui.settings().auth != "local":
    st.subheader("Mentions of you")
    ui.mentions_section(stored)
    st.subheader("Recent comments on this log")
    ui.recent_comments_section(dataset)

st.subheader(ui.plain(dataset.name))
with ui.reported_errors():
    summary = ui.dataset_summary(dataset.id, filters)
    top = ui.top_activities(dataset.id, filters)
columns = st.columns(4)
columns[0].metric("Customers (unique journeys)", f"{summary.cases:,}")
columns[1].metric("Events", f"{summary.events:,}")
columns[2].metric("Touchpoints (distinct activities)", f"{summary.activities:,}")
columns[3].metric("Journey variants", f"{summary.variants:,}")
if summary.cases:
    definition = definition_banner(dataset.id)
    ui.show_outcome_metrics(dataset.id, filters, definition)
if summary.start_time is None:
    st.caption(f"No customer matches: {ui.plain(filters.describe())}.")
else:
    st.caption(
        f"{ui.plain(filters.describe(sentence_start=True))}, from {summary.start_time:%Y-%m-%d %H:%M} "
        f"to {summary.end_time:%Y-%m-%d %H:%M} UTC."
    )

left, right = st.columns(2)
with left:
    st.markdown("**Most common touchpoints**")
    ui.show_table(top, "top-touchpoints", column_config=ui.count_columns("Events", "Customers"))
with right:
    st.markdown(f"**Data quality** · {ui.quality_badge(dataset.quality)}")
    if dataset.quality.findings:
        ui.show_table(ui.findings_table(dataset.quality), "quality-findings")
    else:
        st.success("No problems found at import.")
