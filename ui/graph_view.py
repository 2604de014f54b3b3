"""One interactive drawing for every graph the dashboard shows: the journey map, a persona's map, Compare's map
difference and the process model.

Graphviz (the `pygraphviz` wheel bundles it) lays the DOT out on the server as SVG (`discovery.render_dot`); a small
Streamlit component (`st.components.v2`, no build step, no network) shows it, fitted to its box and never enlarged
past its natural size, with zoom (wheel, buttons), pan (drag), Fit, a tooltip per box and arrow, and a click that
reports the box or arrow's `id` to a callback. Labels stay vector text, so zooming in keeps them sharp; when fitting
a large map would shrink its labels below `MIN_LABEL_PX`, the first view keeps them readable at the map's start and
the Fit button shows it whole. Every label is user data: Graphviz writes it as escaped SVG text, the component drops
anything in the SVG that could run or link (scripts, `<a>`, event and `href` attributes), and tooltips are set as
text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import streamlit as st

from discovery import render_dot
from ui.downloads import current_stamp
from ui.errors import reported_errors

__all__ = ["MIN_LABEL_PX", "dot_to", "drawing_height", "show_graph", "show_graph_downloads", "svg_of"]

MIN_LABEL_PX = 10
# Graphviz's default font size for boxes, in points, and how many screen pixels a point takes at natural size.
LABEL_POINTS, PIXELS_PER_POINT = 14.0, 4 / 3
# The drawing's box: its natural height up to a laptop screen's worth; a taller drawing gets up to the tallest box
# that still shows a page, at the least scale that keeps its labels readable.
MIN_HEIGHT_PX, NATURAL_HEIGHT_PX, MAX_HEIGHT_PX = 240, 720, 1000
_VIEW_BOX = re.compile(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')
_FORMATS = {
    "SVG": ("svg", "image/svg+xml"),
    "PNG": ("png", "image/png"),
    "PDF": ("pdf", "application/pdf"),
}

_HERE = Path(__file__).parent
_GRAPH = st.components.v2.component(
    "parcours.graph", css=(_HERE / "graph_view.css").read_text("utf-8"), js=(_HERE / "graph_view.js").read_text("utf-8")
)
# Pixels per Graphviz point: at the drawing's natural size, and the least that keeps box labels readable.
_SCALES = {"natural": PIXELS_PER_POINT, "readable": MIN_LABEL_PX / LABEL_POINTS}


@st.cache_data(show_spinner=False, max_entries=64)
def dot_to(dot: str, extension: str) -> bytes:
    """Return the DOT drawing laid out by Graphviz's dot as `extension` (svg, png or pdf), cached."""
    return render_dot(dot, extension)


def svg_of(dot: str) -> str:
    """Return the DOT drawing as SVG text."""
    return dot_to(dot, "svg").decode("utf-8")


def drawing_height(svg: str) -> int:
    """Return the height in pixels of the box that shows `svg`: its natural height when that fits a laptop screen,
    else the height at which it fits with readable labels, within the page's bounds."""
    found = _VIEW_BOX.search(svg)
    if not found:
        return NATURAL_HEIGHT_PX
    points = float(found.group(2))
    if points * PIXELS_PER_POINT <= NATURAL_HEIGHT_PX:
        return int(max(points * PIXELS_PER_POINT, MIN_HEIGHT_PX))
    readable = points * MIN_LABEL_PX / LABEL_POINTS
    return int(min(max(readable, NATURAL_HEIGHT_PX), MAX_HEIGHT_PX))


def show_graph(
    dot: str,
    *,
    key: str,
    label: str,
    hover: Mapping[str, str] | None = None,
    selected: str | None = None,
    on_select: Callable[[str], None] | None = None,
) -> None:
    """Draw `dot`; a click on a box or an arrow whose id `hover` lists calls `on_select(id)` before the rerun.

    `hover` maps the ids of the boxes and arrows that can be clicked to their tooltip; `selected` is outlined;
    `label` names the drawing for screen readers.
    """
    svg = None
    with reported_errors(stop=False):  # a drawing Graphviz cannot lay out says so, and the page goes on
        svg = svg_of(dot)
    if svg is None:
        return
    height = drawing_height(svg)
    _GRAPH(
        key=key,
        data={
            "svg": svg,
            "hover": dict(hover or {}),
            "selected": selected,
            "height": height,
            "label": label,
            "scales": _SCALES,
        },
        height=height,
        on_clicked_change=partial(_report_click, key, on_select),
    )


def show_graph_downloads(dot: str, stem: str) -> None:
    """Offer the drawing as DOT (for Graphviz tools), SVG, PNG and PDF (the last two drawn only when asked for),
    named with the export stamp (log, definition version, filters)."""
    stamp = current_stamp()
    with st.container(horizontal=True):
        st.download_button(
            "DOT",
            dot,
            stamp.file_name(stem, "dot"),
            "text/vnd.graphviz",
            icon=":material/download:",
            key=f"download-dot-{stem}",
            on_click="ignore",
        )
        for label, (extension, mime) in _FORMATS.items():
            st.download_button(
                label,
                partial(dot_to, dot, extension),
                stamp.file_name(stem, extension),
                mime,
                icon=":material/download:",
                key=f"download-{extension}-{stem}",
                on_click="ignore",
            )


def _report_click(key: str, on_select: Callable[[str], None] | None) -> None:
    """Pass the clicked id on: runs before the rerun, so the page's widgets already show the new choice."""
    clicked = st.session_state[key]["clicked"]
    if on_select is not None and clicked:
        on_select(str(clicked))
