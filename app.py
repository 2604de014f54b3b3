"""Parcours home page: what it does, the stored logs, and the demo log's summary on first run."""

from __future__ import annotations

import streamlit as st

import ui
from data import LogError

st.set_page_config(page_title="Parcours", page_icon="🧭", layout="wide")

st.title("Parcours")
st.markdown(
    "Discover the journeys your customers **actually** take, from the timestamped interactions your CRM, web "
    "analytics or call-center tools already log.  \n"
    "Bring a log, map its columns, check its quality; then explore journey maps, variants, stages, churn points "
    "and data-driven personas."
)

try:
    ui.demo_dataset()
    datasets = ui.store().datasets()
except LogError as error:
    st.error(str(error))
    st.stop()

st.subheader("Stored logs")
st.dataframe(ui.datasets_table(datasets), hide_index=True, width="stretch")

chosen = st.selectbox("Log", datasets, format_func=lambda dataset: dataset.name)
summary = ui.dataset_summary(chosen.id)
columns = st.columns(4)
columns[0].metric("Customers (unique journeys)", f"{summary.cases:,}")
columns[1].metric("Events", f"{summary.events:,}")
columns[2].metric("Touchpoints (distinct activities)", f"{summary.activities:,}")
columns[3].metric("Journey variants", f"{summary.variants:,}")
st.caption(f"From {summary.start_time:%Y-%m-%d %H:%M} to {summary.end_time:%Y-%m-%d %H:%M} UTC.")

left, right = st.columns(2)
with left:
    st.markdown("**Most common touchpoints**")
    st.dataframe(ui.top_activities(chosen.id), hide_index=True, width="stretch")
with right:
    st.markdown("**Data quality**")
    st.text(str(chosen.quality))
