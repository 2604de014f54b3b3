"""The Reports page's widgets, cached report and its preview and downloads.

The page asks what the report holds (title, sections, the map's metric and sliders, the persona run, the two
segments) with widgets bound to the URL under the names the Journey map, Personas (`run`) and Compare pages use, so
a link copied from any of them opens the same view here, and the same link given to `python -m segmentation report
--view` writes the same report. "Save this report" keeps that URL as a saved view of this page.

The preview is an iframe whose source is the report as a `data:` URL: the frame has an opaque origin, so even a
script that slipped into the report could not reach the dashboard; and the report itself carries none and forbids
them (its Content-Security-Policy). `st.html` would put the report's style sheet on the whole dashboard;
`st.iframe` with the HTML text would give the frame the dashboard's origin.
"""

from __future__ import annotations

import base64
import json

import streamlit as st

from discovery import (
    DISCOVERY_SECTIONS,
    METRIC_LABELS,
    METRICS,
    VIEW_PARAMS,
    Branding,
    ReportView,
    find_chromium,
    render_report,
    report_pdf,
)
from segmentation import REPORT_SECTIONS, saved_segments, stored_report_inputs
from ui.downloads import current_stamp
from ui.personas import saved_runs, selection_params
from ui.state import dataset_engine, store

__all__ = [
    "PREVIEW_HEIGHT_PX",
    "REPORT_TITLE",
    "branding_json",
    "preview_source",
    "report_document",
    "report_form",
    "show_report",
]

REPORT_TITLE = "Customer journey report"
PREVIEW_HEIGHT_PX = 900
TITLE_CHARS = 120
_HTML_MIME, _PDF_MIME = "text/html", "application/pdf"


def report_form(dataset_id: str) -> tuple[ReportView, tuple[str, ...], str]:
    """Ask which sections and which view the report shows; return the view, the section keys and the title.

    A section that needs what is not saved yet (a persona run, two segments) says so and is left out.
    """
    sections = st.multiselect(
        "Sections",
        list(REPORT_SECTIONS),
        default=list(DISCOVERY_SECTIONS),
        format_func=lambda key: REPORT_SECTIONS[key].title,
        key="sections",
        bind="query-params",
        help="In report order. Designed vs actual and actions come as their pages arrive.",
    )
    metric_column, touchpoint_column, path_column = st.columns([3, 1, 1])
    metric = metric_column.radio(
        "Label the map's paths with",
        METRICS,
        format_func=METRIC_LABELS.get,
        horizontal=True,
        key="metric",
        bind="query-params",
    )
    touchpoints = touchpoint_column.slider(
        "Touchpoints shown",
        10,
        100,
        VIEW_PARAMS["touchpoints"],
        step=5,
        format="%d%%",
        key="touchpoints",
        bind="query-params",
    )
    paths = path_column.slider(
        "Paths shown", 10, 100, VIEW_PARAMS["paths"], step=5, format="%d%%", key="paths", bind="query-params"
    )
    persona_run = _persona_run(dataset_id) if "personas" in sections else None
    segments = _segments(dataset_id) if "comparison" in sections else None
    keep = [key for key in sections if (key != "personas" or persona_run) and (key != "comparison" or segments)]
    title = st.text_input("Title", REPORT_TITLE, max_chars=TITLE_CHARS, key="report_title", bind="query-params")
    view = ReportView(metric, touchpoints, paths, selection_params(), segments, persona_run)
    return view, tuple(keep), title.strip() or REPORT_TITLE


def branding_json(workspace_id: str) -> str:
    """The branding of the workspace's reports (its admins', else the operator's) as JSON, to key the report by."""
    return json.dumps(Branding.of_workspace(store(), workspace_id).to_dict(), sort_keys=True)


@st.cache_data(show_spinner="Writing the report…", max_entries=16)
def report_document(
    dataset_id: str,
    view_json: str,
    sections: tuple[str, ...],
    title: str,
    definition_version: int | None,
    branding: str,
) -> str:
    """The report's HTML, keyed by content: the log, the view (as JSON), the sections, the title, the version of
    the definition in force and the branding (as JSON): a new version or a new logo writes a new report."""
    view = ReportView.from_dict(json.loads(view_json))
    with dataset_engine(dataset_id) as engine:
        inputs = stored_report_inputs(store(), dataset_id, engine, view)
        return render_report(
            inputs, [REPORT_SECTIONS[key] for key in sections], Branding(**json.loads(branding)), title=title
        )


def preview_source(document: str) -> str:
    """Return the report as a `data:` URL, for a preview frame with an origin of its own."""
    return "data:text/html;base64," + base64.b64encode(document.encode("utf-8")).decode("ascii")


def show_report(document: str) -> None:
    """Offer the report as HTML and PDF (named with the export stamp), then preview it."""
    stamp = current_stamp()
    with st.container(horizontal=True):
        st.download_button(
            "HTML",
            document,
            stamp.file_name("report", "html"),
            _HTML_MIME,
            icon=":material/download:",
            key="download-report-html",
            on_click="ignore",
        )
        if find_chromium() is not None:
            st.download_button(
                "PDF",
                lambda: report_pdf(document),
                stamp.file_name("report", "pdf"),
                _PDF_MIME,
                icon=":material/download:",
                key="download-report-pdf",
                on_click="ignore",
            )
    if find_chromium() is None:
        st.caption("PDF: no Chromium on this server (install it, e.g. `apt-get install chromium`); print the HTML.")
    st.iframe(preview_source(document), height=PREVIEW_HEIGHT_PX)


def _persona_run(dataset_id: str) -> str | None:
    runs = saved_runs(dataset_id)
    if not runs:
        st.info("No persona run is saved yet: find and save personas on the Personas page to add this section.")
        return None
    return st.selectbox("Persona run", list(runs), key="run", bind="query-params")


def _segments(dataset_id: str) -> tuple[str, str] | None:
    names = list(saved_segments(store(), dataset_id))
    if len(names) < 2:
        st.info("Two saved segments are needed: save them on the Compare page to add this section.")
        return None
    left, right = st.columns(2)
    a = left.selectbox("Segment A", names, 0, key="a_segment", bind="query-params")
    b = right.selectbox("Segment B", names, 1, key="b_segment", bind="query-params")
    return a, b
