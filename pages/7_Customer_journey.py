"""Customer journey: one customer's touchpoints, channels, stages and silences, among the customers of a figure."""

from __future__ import annotations

import streamlit as st

import ui
from ui import customers
from ui.definition import definition_banner

st.set_page_config(page_title="Customer journey · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()
st.title("Customer journey")
if dataset is None:
    ui.stop_without_log("Open the demo, or import your own log, to read one customer's journey.", "customer")
filters = ui.filter_bar(dataset)
definition = definition_banner(dataset.id)

with ui.reported_errors():
    touchpoint, step = customers.figure_in_url()
    found = customers.behind(dataset.id, filters, definition, touchpoint, step)
st.caption(
    f"Customers who {ui.plain(found.what)} among {ui.plain(filters.describe())}: {found.total:,} (unique journeys). "
    "Open a box or an arrow of the journey map to walk through its customers."
)
if found.total == 0:
    st.info("No customer matches. Widen the filters in the sidebar, or open another figure of the journey map.")
    st.stop()

case_id = customers.pick_customer(found, dataset.id)
with ui.reported_errors():
    journey = customers.journey_of(dataset.id, case_id, definition)
stages = definition.stages.stages
for column, (label, value) in zip(
    st.columns([2, 1, 1, 1, 1]), customers.journey_facts(journey, stages).items(), strict=True
):
    column.metric(label, value)
st.plotly_chart(customers.timeline_figure(journey, stages), key=f"timeline-{dataset.id}")
st.caption(
    "Stars are goal touchpoints, crosses churn touchpoints; hover a point for its time and the silence before it."
)
ui.show_table(customers.journey_table(journey), f"customer-{dataset.id}")
