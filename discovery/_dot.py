"""Graphviz DOT text of a journey map, and its drawing: the Graphviz that the `pygraphviz` wheel bundles lays it out
(`render_dot`), the dashboard shows the SVG in its interactive drawing (`ui/graph_view.py`), a report inlines it as
it is, and the CLI prints the DOT for Graphviz tools. Graphviz lays a drawing out in a child process of its own,
within `DRAW_SECONDS`: on some large maps with stage lanes its crossing minimisation aborts the process on a failed
assertion or runs for many minutes (BPIC 2011's 624 touchpoints), and in the dashboard's own process either would
stop the server for every user (the layout holds Python's lock throughout).

Stages become coloured lanes (clusters), edge width follows the customers on the edge, labels carry the chosen
metric (customers with the median time between the two steps, by default), and churn points are drawn in red with
their churn rate. Each box and arrow carries an `id` naming its row of the map (`a3`: the fourth node, `s12`: the
thirteenth edge, `start`, `end`), which Graphviz writes on its SVG group, so a click on the drawing finds its
figures. Activity names are user data: every label is
escaped so that quotes, backslashes, line breaks, `<`, `>` and `&` come out as written. The DOT text is UTF-8:
other characters are written as themselves (Graphviz turns an entity above U+FFFF, such as an emoji, into
invalid UTF-8), except those no UTF-8 text or SVG may hold (lone surrogates, U+FFFE, U+FFFF), which become
U+FFFD, and control characters, which become spaces.
"""

from __future__ import annotations

import functools
import itertools
import re
import subprocess
import sys
from collections.abc import Mapping

import pandas as pd

from data.errors import LimitExceeded, Problem
from discovery._maps import CHURN_POINT_LIFT, JourneyMap

__all__ = [
    "CHURN_COLOUR",
    "EDGE_ID_PREFIX",
    "LANE_COLOURS",
    "METRICS",
    "METRIC_LABELS",
    "NODE_ID_PREFIX",
    "dot_quote",
    "human_duration",
    "map_caption",
    "map_layout",
    "map_to_dot",
    "render_dot",
]

METRICS = ("cases", "events", "median", "mean", "p90")
METRIC_LABELS = {
    "cases": "Customers",
    "events": "Events",
    "median": "Median time",
    "mean": "Mean time",
    "p90": "90th percentile",
}
DRAWING_FORMATS = ("svg", "png", "pdf")
# The longest a drawing may take Graphviz, and the most memory (its address space) it may use: a map it cannot lay
# out within them is one to simplify.
DRAW_SECONDS, DRAW_MEMORY_MB = 60, 2048
# The child laying a drawing out: DOT on its standard input, the drawing on its output; the format and the memory
# limit as arguments.
_DRAW = (
    "import resource, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]) << 20,) * 2); "
    "import pygraphviz; "
    "sys.stdout.buffer.write(pygraphviz.AGraph(string=sys.stdin.read()).draw(format=sys.argv[1], prog='dot'))"
)
# A drawing up to this wide (inches, as Graphviz measures) is shrunk to the page's width and stays readable;
# a top-to-bottom map this many times wider than tall is a few ranks of many boxes, better drawn left to right.
PAGE_WIDTH_INCHES, FLAT_RATIO, POINTS_PER_INCH = 14.0, 2.0, 72.0
_SVG_SIZE = re.compile(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_PERFORMANCE = frozenset({"median", "mean", "p90"})
RANKDIRS = ("LR", "TB", "RL", "BT")
# The drawing's id of the map's node (edge) row i is NODE_ID_PREFIX + i (EDGE_ID_PREFIX + i).
NODE_ID_PREFIX, EDGE_ID_PREFIX = "a", "s"
# Pastel lane colours, one per stage in stage order (repeating after eight).
LANE_COLOURS = ("#e8f1fb", "#eaf6ea", "#fdf3e3", "#f3ebf8", "#e6f6f5", "#fbeaea", "#f4f4e2", "#eeeeee")
CHURN_COLOUR = "#c62828"
MIN_PENWIDTH, MAX_PENWIDTH = 1.0, 6.0
OVERLAY_PENWIDTH = 3.0
_SECONDS_METRIC = {"median": "median_seconds", "mean": "mean_seconds", "p90": "p90_seconds"}
_UNITS = ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s"))
_START, _END = "start", "end"
_BOUNDARY_STYLE = 'style=filled, fillcolor="#5f6b7a", fontcolor="#ffffff"'
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Lone surrogates cannot be encoded as UTF-8; U+FFFE and U+FFFF are not characters XML (hence SVG) may hold.
_UNWRITABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def map_to_dot(
    journey_map: JourneyMap, *, metric: str = "cases", rankdir: str = "LR", overlay: Mapping[object, str] | None = None
) -> str:
    """Return the DOT source of `journey_map`, edges labelled with `metric` (cases, events, median, mean, p90).

    `overlay` colours some boxes (by touchpoint) and arrows (by (source, target), None for the start or the end)
    over the map, drawn thicker: a designed journey's path and its deviations, say (`conformance_overlay`).
    """
    if not isinstance(journey_map, JourneyMap):
        raise TypeError(f"map_to_dot needs a JourneyMap, not {type(journey_map).__name__}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    return _map_to_dot(journey_map, metric, rankdir, dict(overlay or {}))


def _map_to_dot(journey_map: JourneyMap, metric: str, rankdir: str, overlay: dict[object, str]) -> str:
    nodes = journey_map.nodes
    node_ids = {activity: f"n{index}" for index, activity in enumerate(nodes["activity"])}
    lines = [
        "digraph journey_map {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", nodesep=0.3, ranksep=0.4];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5f6b7a", fontname="Helvetica"];',
        '  edge [color="#7a8594", fontname="Helvetica", fontsize=12];',
        f'  {_START} [id="start", label="start", shape=circle, {_BOUNDARY_STYLE}];',
        f'  {_END} [id="end", label="end", shape=doublecircle, {_BOUNDARY_STYLE}];',
    ]
    declarations = _node_declarations(nodes, node_ids, metric, overlay)
    for lane, stage in enumerate(journey_map.stages):
        members = (nodes["stage"] == stage).fillna(False)
        if members.any():
            colour = LANE_COLOURS[lane % len(LANE_COLOURS)]
            lines.append(f"  subgraph cluster_{lane} {{")
            lane_style = f'style="rounded,filled", fillcolor="{colour}", color="{colour}"'
            lines.append(f"    graph [label={dot_quote(stage)}, {lane_style}];")
            lines.extend(f"  {line}" for line in declarations[members])
            lines.append("  }")
    lines.extend(declarations[nodes["stage"].isna()])
    lines.extend(_edge_statements(journey_map.edges, node_ids, metric, overlay))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_declarations(
    nodes: pd.DataFrame, node_ids: dict[str, str], metric: str, overlay: dict[object, str]
) -> pd.Series:
    counts = nodes["events" if metric == "events" else "cases"]
    statements = []
    for row, (activity, count, is_churn_point, rate) in enumerate(
        zip(nodes["activity"], counts, nodes["churn_point"], nodes["churn_rate"], strict=True)
    ):
        if is_churn_point:
            label = f"{activity}\n{count:,}\nchurn {rate:.0%}"
            style = f', color="{CHURN_COLOUR}", fontcolor="{CHURN_COLOUR}", penwidth=2.5'
        else:
            label, style = f"{activity}\n{count:,}", ""
        if activity in overlay:
            style += f', color="{overlay[activity]}", penwidth=3'
        statements.append(f'  {node_ids[activity]} [id="{NODE_ID_PREFIX}{row}", label={dot_quote(label)}{style}];')
    return pd.Series(statements, index=nodes.index, dtype="object")


def _edge_statements(
    edges: pd.DataFrame, node_ids: dict[str, str], metric: str, overlay: dict[object, str]
) -> list[str]:
    most = edges["cases"].max() if len(edges) else 1
    statements = []
    for row, (source, target, cases, value, median) in enumerate(
        zip(
            edges["source"],
            edges["target"],
            edges["cases"],
            edges[_SECONDS_METRIC.get(metric, metric)],
            edges["median_seconds"],
            strict=True,
        )
    ):
        tail = _START if pd.isna(source) else node_ids[source]
        head = _END if pd.isna(target) else node_ids[target]
        width = MIN_PENWIDTH + (MAX_PENWIDTH - MIN_PENWIDTH) * cases / most
        label = _metric_label(value, metric)
        if metric == "cases" and not pd.isna(median):
            label = f"{label} · {human_duration(median)}"
        style = ", style=dashed" if tail == _START or head == _END else ""
        colour = overlay.get((None if pd.isna(source) else source, None if pd.isna(target) else target))
        if colour is not None:
            style += f', color="{colour}"'
            width = max(width, OVERLAY_PENWIDTH)
        attributes = f'id="{EDGE_ID_PREFIX}{row}", label={dot_quote(label)}, penwidth={width:.2f}{style}'
        statements.append(f"  {tail} -> {head} [{attributes}];")
    return statements


def _metric_label(value: float, metric: str) -> str:
    if pd.isna(value):
        return ""
    if metric in _SECONDS_METRIC:
        return human_duration(value)
    return f"{int(value):,}"


def human_duration(seconds: float) -> str:
    """Return a duration in its two largest units, e.g. '3d 4h', '2h 5min', '45s' ('<1s' under half a second)."""
    for (size, unit), (small_size, small_unit) in itertools.pairwise(_UNITS):
        small_units = round(seconds / small_size)
        if small_units >= size // small_size:
            major, minor = divmod(small_units, size // small_size)
            return f"{major}{unit} {minor}{small_unit}" if minor else f"{major}{unit}"
    whole = round(seconds)
    return f"{whole}s" if whole or seconds == 0 else "<1s"


def dot_quote(text: str) -> str:
    """Return `text` as a double-quoted DOT string that Graphviz shows exactly as written."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
    )
    return '"' + _UNWRITABLE.sub("\ufffd", _CONTROL.sub(" ", escaped)) + '"'


def render_dot(dot: str, extension: str = "svg") -> bytes:
    """Return the DOT drawing laid out by Graphviz's dot as `extension` (svg, png or pdf).

    Graphviz writes every label as escaped text, so user data cannot become markup in the SVG.
    """
    if extension not in DRAWING_FORMATS:
        raise ValueError(f"extension must be one of {', '.join(DRAWING_FORMATS)}, not {extension!r}")
    return _laid_out(dot, extension)


@functools.lru_cache(maxsize=16)
def _laid_out(dot: str, extension: str) -> bytes:
    """Return Graphviz's drawing of `dot` in `extension` (a format `dot -T` knows), laid out in a child process;
    raise LimitExceeded when Graphviz fails or takes longer than `DRAW_SECONDS`.

    The last few are kept: a page measures a map's drawing (`map_layout`) and then shows that same drawing, and a
    child costs a tenth of a second more than the layout itself (Graphviz loads its fonts again in each)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _DRAW, extension, str(DRAW_MEMORY_MB)],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=DRAW_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LimitExceeded(_not_drawn(f"Graphviz took more than {DRAW_SECONDS} s to lay this drawing out")) from None
    if done.returncode != 0 or not done.stdout:
        raise LimitExceeded(_not_drawn("Graphviz failed to lay this drawing out"))
    return done.stdout


def _not_drawn(what: str) -> Problem:
    return Problem(
        f"{what}: it has too many touchpoints and paths to draw.",
        fix="Show fewer touchpoints or paths with the sliders, or filter the customers.",
    )


def map_layout(dot: str) -> tuple[str, bool]:
    """Return the DOT to draw and whether it fits the page's width.

    Graphviz never wraps a rank: a log where most customers do a single touchpoint puts every box in one row,
    which, shrunk to the page's width, is an unreadable strip. Such a map is drawn left to right instead (a
    column of boxes), at its own size in the scrolling box when it is still wider than the page.
    """
    width, height = _drawn_size(dot)
    if width > FLAT_RATIO * height and width > PAGE_WIDTH_INCHES:
        dot = dot.replace("rankdir=TB", "rankdir=LR", 1)
        width, _ = _drawn_size(dot)
    return dot, width <= PAGE_WIDTH_INCHES


def _drawn_size(dot: str) -> tuple[float, float]:
    """Return the width and height, in inches, of the drawing Graphviz's dot lays out."""
    # The SVG's size, in points: the drawing the page shows next is the same, and laid out once (`_laid_out`).
    width, height = (float(points) / POINTS_PER_INCH for points in _SVG_SIZE.search(_laid_out(dot, "svg")).groups())
    return width, height


def map_caption(drawn: JourneyMap, metric: str) -> str:
    """Return the legend of a drawn map: what boxes and arrows count, and how much the sliders kept."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    boxes = "events" if metric == "events" else "customers (unique journeys) who did it at least once"
    if metric in _PERFORMANCE:
        arrows = f"the {METRIC_LABELS[metric].lower()} between the two steps"
    else:
        arrows = f"the {'events' if metric == 'events' else 'customers'} going straight from one step to the next"
        if metric == "cases":
            arrows += " and the median time between the two"
    shown = len(drawn.nodes)
    drawn_whole = (
        "the customers whose whole journey is drawn are counted once the import ends."
        if drawn.covered_cases is None
        else f"{drawn.covered_cases:,} of {drawn.cases:,} customers ({drawn.covered_share:.0%}) have their whole "
        "journey drawn."
    )
    return (
        f"Each box counts {boxes}; each arrow shows {arrows} (dashed: where journeys start and end); thicker arrows "
        f"carry more customers. Shaded lanes are journey stages. Red boxes are churn points: customers churn "
        f"right after them at least {CHURN_POINT_LIFT:g}× as often as after an average step of their stage. "
        f"Drawn: {shown:,} of {shown + len(drawn.hidden_activities):,} touchpoints and "
        f"{len(drawn.edges):,} of {len(drawn.edges) + drawn.hidden_edges:,} paths; {drawn_whole}"
    )
