"""Workspace: who belongs to the team's workspace and with which role, its reports' branding, what changed in it, a
new workspace."""

from __future__ import annotations

import streamlit as st

import ui
from data import DEFAULT_WORKSPACE

st.set_page_config(page_title="Workspace · Parcours", page_icon="🧭", layout="wide")
ui.dataset_picker()

st.title("Workspace")
with ui.reported_errors():
    workspace = next(w for w in ui.store().workspaces() if w.id == ui.current_workspace_id())
st.markdown(
    f"**{ui.plain(workspace.name)}** · your role: {workspace.role}. "
    "Viewers read, export, comment and save views; editors also import logs and edit what is decided about them "
    "(definitions, personas, segments, actions); admins also manage the members, set the reports' branding and delete "
    "logs."
)

st.subheader("Members")
if workspace.id == DEFAULT_WORKSPACE and ui.settings().auth != "local":
    st.caption("The operator's admins (PARCOURS_ADMINS) administer this workspace too, without being listed.")
ui.members_section(workspace)

st.subheader("Branding of the reports")
ui.branding_section(workspace)

st.subheader("Changes in this workspace")
with ui.reported_errors():
    changes = [change for change in ui.store().history() if change.workspace_id == workspace.id]
ui.show_table(ui.changes_table(changes), "workspace-history")

st.subheader("A new workspace")
ui.create_workspace_form()
