"""Personas: find groups of customers who behave alike, name them, see their journeys, and save the run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from ui import personas
from ui.graph_view import show_graph, show_graph_downloads

st.set_page_config(page_title="Personas · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Personas")
if dataset is None:
    ui.stop_without_log(
        "Open the demo or import a log, then come back to find its customers' personas.",
        "personas",
    )
filters = ui.filter_bar(dataset)
definition = ui.journey_definition(dataset.id)
st.markdown(
    "Parcours groups the selected customers by what they do — touchpoints, 2-step paths, channels, journey "
    "length, and who they are where the log says so — and describes each group, with its conversion and churn as "
    "the journey definition counts them. Rename them as your team knows them, then save the run: its personas "
    "become a filter on every page."
)

choice = personas.run_form(dataset.id, definition)
if choice is None:
    st.info("Choose how many personas to look for (or let Parcours choose), then press **Find personas**.")
    st.stop()
selection = personas.selection_params()
run = choice.run
if choice.opened and dict(run.selection) != selection:
    st.info("This run was saved with other filters; its personas are found again on the current ones.")

with ui.reported_errors():
    found = personas.found_run(dataset.id, filters, run)
    with st.spinner("Profiling each persona…"):
        profiles = personas.profiles(dataset.id, filters, run.k, run.seed, run.algorithm, run.definition, definition)

columns = st.columns(3)
columns[0].metric("Customers (unique journeys)", f"{len(found.case_ids):,}")
columns[1].metric("Personas", f"{found.n_clusters}")
columns[2].metric("Customers drawn on the map", f"{len(found.projection.points):,}")
st.caption(personas.selection_caption(filters, definition))

with st.expander(f"Why {found.n_clusters} personas", icon=":material/insights:"):
    st.caption(personas.evidence_caption(found))
    chart, table = st.columns([3, 2])
    chart.plotly_chart(personas.evidence_figure(found), width="stretch")
    with table:
        ui.show_table(personas.evidence_table(found), "personas-k", column_config=personas.EVIDENCE_COLUMNS)

st.subheader("Persona cards")
names = personas.persona_cards(profiles, choice, choice.key(dataset.id, selection))
st.subheader("All personas")
ui.show_table(
    personas.overview_table(profiles.table.assign(name=pd.Series(names)), profiles.common_paths),
    "personas",
    column_config=personas.OVERVIEW_COLUMNS,
)

st.subheader("Map of the customers")
st.caption("Each dot is a customer; customers close together behave alike. Save the chart with its toolbar.")
st.plotly_chart(personas.projection_figure(found.projection, names), width="stretch")

st.subheader("A persona's own journey")
label = st.selectbox("Persona", list(names), format_func=names.get, key="persona_map", bind="query-params")
members = personas.with_customers(filters, found.members(label))
with ui.reported_errors():
    dot = personas.persona_journey_dot(dataset.id, members, definition)
    kpis = personas.persona_stage_kpis(dataset.id, members, definition)
show_graph(dot, key=f"persona-journey-map-{dataset.id}", label="The persona's journey map")
show_graph_downloads(dot, f"persona-journey-{dataset.id}")
ui.show_table(personas.stage_table(kpis), "persona-stages", column_config=personas.STAGE_COLUMNS)
ui.comments_panel(dataset.id, "persona", names[label])

st.subheader("Save these personas")
with ui.reported_errors():
    personas.save_form(dataset.id, choice, names)
