"""Reports: a branded, self-contained report of the current view, to preview and download as HTML or PDF."""

from __future__ import annotations

import json

import streamlit as st

import ui
from ui import reports
from ui.definition import definition_banner

st.set_page_config(page_title="Reports · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()
st.title("Reports")
if dataset is None:
    ui.stop_without_log("Open the demo or import a log, then come back to write its report.", "reports")
ui.filter_bar(dataset)
definition_banner(dataset.id)
st.markdown(
    "Pick the sections; the report follows the filters in the sidebar and the map settings below, and carries the "
    "workspace's company name, logo and colours (set by its admins on the Workspace page, else by the operator). "
    "One HTML file with nothing to fetch, or its PDF; `python -m segmentation report --view LINK` writes the same "
    "report from a copied link, on a schedule. “Save this report” keeps it for the team's home page."
)

view, sections, title = reports.report_form(dataset.id)
ui.report_saver(dataset)
if not sections:
    st.info("Pick at least one section.")
    st.stop()
with ui.reported_errors():
    document = reports.report_document(
        dataset.id,
        json.dumps(view.to_dict(), sort_keys=True),
        sections,
        title,
        ui.definition_version(dataset.id),
        reports.branding_json(dataset.workspace_id),
    )
    reports.show_report(document)
