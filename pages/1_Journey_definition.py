"""Journey definition: the goal, the stages, the churn rule, channel groups and attribute roles of a log."""

from __future__ import annotations

import streamlit as st

import ui
from ui import definition

st.set_page_config(page_title="Journey definition · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Journey definition")
if dataset is None:
    ui.stop_without_log(
        "Open the demo or import your own log: this page then asks what its journeys mean — which touchpoint is a "
        "conversion, what each stage holds, and when a customer counts as gone.",
        "definition",
    )

with ui.reported_errors():
    version = ui.definition_version(dataset.id)
if version is None:
    st.info(
        "Nobody has confirmed this log's journey definition yet. Every conversion, churn and stage figure depends on "
        "it, so check the four choices below — each comes with Parcours' suggestion and the reason for it — and save.",
        icon=":material/fact_check:",
    )
else:
    st.caption(f"Version {version} is in force on every page and in the command line. Saving adds a new version.")

definition.show_definition_editor(dataset.id)

with st.expander("Load a definition file, or see the saved versions"):
    definition.show_definition_file_loader(dataset.id)
    definition.show_history(dataset.id)

with st.expander("Every change to this log: who, when, before and after"):
    with ui.reported_errors():
        changes = ui.store().history(dataset.id)
    ui.show_table(ui.changes_table(changes), "log-history")
