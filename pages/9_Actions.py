"""Actions: the improvement actions taken on the journeys, their history, and their measured effect."""

from __future__ import annotations

import streamlit as st

import ui
from ui import actions
from ui import definition as definition_ui

st.set_page_config(page_title="Actions · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Actions")
if dataset is None:
    ui.stop_without_log(
        "Open the demo or import your own log: this page then tracks the actions your team takes on the journeys "
        "— whom they target, the KPI they should move — and measures their effect.",
        "actions",
    )
filters = ui.filter_bar(dataset)
definition = definition_ui.definition_banner(dataset.id)
new_target = actions.target_from_param(st.query_params.get(actions.NEW_TARGET_PARAM))

with ui.reported_errors():
    listed = actions.listed_actions(dataset.id)
left, right = st.columns(2)
statuses = left.multiselect("Status", actions.statuses_of(listed), key="status", bind="query-params")
owners = right.multiselect(
    "Owner", sorted({a.owner for a in listed}), format_func=lambda owner: owner or "(nobody)", key="owner",
    bind="query-params",
)  # fmt: skip
shown = tuple(a for a in listed if (not statuses or a.status in statuses) and (not owners or a.owner in owners))
ui.show_table(actions.actions_table(shown), "actions")

with st.expander("New action", expanded=new_target is not None or not listed), ui.reported_errors():
    created = actions.action_form(dataset.id, definition, None, new_target)
    if created is not None:
        st.query_params.pop(actions.NEW_TARGET_PARAM, None)
        st.query_params[actions.ACTION_PARAM] = created.id
        st.rerun()

if shown:
    action = actions.chosen_action(shown)
    effect_tab, edit_tab, history_tab = st.tabs(["Measured effect", "Edit", "History"])
    with effect_tab, ui.reported_errors():
        actions.show_effect(dataset.id, filters, definition, action)
    with edit_tab, ui.reported_errors():
        if actions.action_form(dataset.id, definition, action) is not None:
            st.rerun()
    with history_tab, ui.reported_errors():
        actions.show_history(dataset.id, action)
        ui.comments_panel(dataset.id, "action", action.id)
