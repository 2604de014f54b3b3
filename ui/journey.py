"""The Journey map page's readers and builders: the map with stage lanes and churn points, one touchpoint's
detail, and the process model drawn from its BPMN.

The cached readers are keyed by content only (dataset id, filters, sliders, the stage model and churn
definition as JSON), so a map computed for one user is reused by every other. The builders are pure: a
library result in, text, a figure source or a display table out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import partial

import defusedxml.ElementTree as SafeXml
import pandas as pd
import streamlit as st

from data import FIRST_LOOK_TOUCHPOINTS, Filters, FirstLook
from discovery import (
    CHURN_COLOUR,
    EDGE_ID_PREFIX,
    LANE_COLOURS,
    METRIC_LABELS,
    NO_GOAL_CHURN_POINTS,
    NODE_ID_PREFIX,
    ChurnPoints,
    JourneyDefinition,
    JourneyMap,
    ProcessModel,
    discover_model,
    dot_quote,
    drawable_coverage,
    first_look_map,
    human_duration,
    journey_map,
    map_caption,
    map_to_dot,
    simplified_map,
    to_bpmn_xml,
    to_pnml,
)
from discovery import map_layout as _layout
from ui.downloads import current_stamp, show_table
from ui.errors import reported_errors
from ui.graph_view import show_graph
from ui.markup import plain
from ui.state import BY_CONTENT, BY_CONTENT_AND_DEFINITION, churn_figures, dataset_engine
from ui.tables import count_column, percent_column

__all__ = [
    "ALGORITHM_LABELS",
    "METRIC_LABELS",
    "PATH_SHARE",
    "activity_facts",
    "arrivals_table",
    "bpmn_to_dot",
    "choose_element",
    "churn_facts",
    "departures_table",
    "first_look_caption",
    "first_touchpoint_share",
    "full_map_of",
    "map_caption",
    "map_dot",
    "map_element",
    "map_elements",
    "map_hover",
    "map_layout",
    "map_legend",
    "map_of",
    "model_facts",
    "process_model",
    "show_activity_detail",
    "show_first_look",
    "show_model_downloads",
    "step_facts",
]

ALGORITHM_LABELS = {"inductive": "Inductive miner", "heuristics": "Heuristics miner"}
PATH_SHARE = 80  # the "Paths shown" slider's start, in percent: the map first drawn, the import's first look too
START_LABEL, END_LABEL = "(journey start)", "(journey end)"
SHARE_COLUMN = "Share"
_LEGEND_GAP = 18  # pixels between two keys of the map's legend
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# How each BPMN flow element is drawn; gateways carry the BPMN marker of their kind.
_BPMN_SHAPES = {
    "task": 'shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5f6b7a"',
    "startEvent": 'shape=circle, label="", width=0.3, style=filled, fillcolor="#eaf6ea", color="#2e7d32"',
    "endEvent": 'shape=circle, label="", width=0.3, penwidth=3, style=filled, fillcolor="#fbeaea", color="#c62828"',
    "exclusiveGateway": 'shape=diamond, label="×", width=0.4, height=0.4, fixedsize=true, color="#b26a00"',
    "parallelGateway": 'shape=diamond, label="+", width=0.4, height=0.4, fixedsize=true, color="#1565c0"',
    "inclusiveGateway": 'shape=diamond, label="o", width=0.4, height=0.4, fixedsize=true, color="#6a1b9a"',
}
_XML_MIME = "application/xml"


@st.cache_data(show_spinner="Drawing the journey map…", max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def full_map_of(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> JourneyMap:
    """The journey map of the selected journeys with every touchpoint and path, stage lanes and churn figures."""
    churn = churn_figures(dataset_id, filters, definition)
    model = definition.stages
    with dataset_engine(dataset_id) as engine:
        return journey_map(engine, filters, stage_of=model.stage_of, stages=model.stages, churn=churn.by_activity)


@st.cache_data(show_spinner="Drawing the journey map…", max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def map_of(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    activity_coverage: float = 1.0,
    path_coverage: float = 1.0,
) -> JourneyMap:
    """The journey map simplified by the sliders, from the cached full map, which a moved slider does not redo."""
    full = full_map_of(dataset_id, filters, definition)
    with dataset_engine(dataset_id) as engine:
        return simplified_map(engine, full, filters, activity_coverage=activity_coverage, path_coverage=path_coverage)


@st.cache_resource(show_spinner="Mining the process model…", max_entries=16, hash_funcs=BY_CONTENT)
def process_model(dataset_id: str, filters: Filters, algorithm: str, noise_threshold: float) -> ProcessModel:
    """The process model mined from the most frequent variants of the selected journeys.

    Kept as a shared resource, not pickled: pm4py's BPMN nodes hash by an attribute that unpickling has not set yet
    when it rebuilds their sets, so a pickled model cannot be read back. Nothing mutates a mined model.
    """
    with dataset_engine(dataset_id) as engine:
        return discover_model(engine, filters, algorithm=algorithm, noise_threshold=noise_threshold)


def first_touchpoint_share(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> int:
    """The "Touchpoints shown" slider's starting percentage: every touchpoint, unless so many that Graphviz could not
    lay the map out in a few seconds (`discovery.drawable_coverage`)."""
    return round(100 * drawable_coverage(full_map_of(dataset_id, filters, definition)))


def map_dot(drawn: JourneyMap, metric: str) -> str:
    """Return the DOT the page draws: top to bottom, because a map of twenty steps laid out left to right
    shrinks to unreadable text on a laptop screen's width."""
    return map_to_dot(drawn, metric=metric, rankdir="TB")


@st.cache_data(show_spinner=False, max_entries=64)
def map_layout(dot: str) -> tuple[str, bool]:
    """`discovery.map_layout` (the DOT to draw, and whether it fits the page's width), cached by the DOT text: a
    rerun that draws the same map (a click, the close-up, a tab) does not lay it out again (0.01–0.1 s at 1M)."""
    return _layout(dot)


def show_first_look(slot: st.delta_generator.DeltaGenerator, look: FirstLook) -> None:
    """Draw the import's first look at the journey map in `slot` while the import goes on: the Journey map page's
    boxes and arrows, every customer selected, with the paths the page first shows. A log of more touchpoints than a
    first map draws waits for the page, whose touchpoint slider starts from the busiest."""
    with slot.container():
        st.markdown("**A first look at the journey map**, while the import goes on")
        if look.activities > FIRST_LOOK_TOUCHPOINTS:
            st.caption(
                f"This log has {look.activities:,} touchpoints, more than a first look draws "
                f"({FIRST_LOOK_TOUCHPOINTS}): the Journey map page shows the busiest once the import ends."
            )
            return
        drawn = first_look_map(look, path_coverage=PATH_SHARE / 100)
        with reported_errors(stop=False):  # a drawing Graphviz cannot lay out says so, and the import goes on
            dot, _ = map_layout(map_dot(drawn, "cases"))
            show_graph(dot, key="first-look", label="First look at the journey map")
            st.caption(first_look_caption(drawn))


def first_look_caption(drawn: JourneyMap) -> str:
    """Return what a first look draws, and what the Journey map page adds once the import ends."""
    return (
        f"{drawn.cases:,} customers (unique journeys), {drawn.events:,} events. Each box counts the customers who "
        "did it at least once; each arrow the customers going straight from one step to the next (dashed: where "
        f"journeys start and end). Drawn: every touchpoint and {len(drawn.edges):,} of "
        f"{len(drawn.edges) + drawn.hidden_edges:,} paths, those most customers take ({PATH_SHARE} % of all moves). "
        "Stage lanes, churn points and the time between steps come with the Journey map page once the import ends."
    )


def map_legend(stages: Sequence[str], metric: str) -> str:
    """Return the map's legend as a small SVG drawn with the map's own colours and strokes: a touchpoint box, a
    churn point, a step and a start or end on one row, one swatch per stage lane on the next."""
    arrow_label = {"cases": "customers · median time", "events": "events"}.get(metric, METRIC_LABELS[metric].lower())
    marks = [
        _legend_box("#ffffff", "#5f6b7a", 1, "touchpoint: customers"),
        _legend_box("#ffffff", CHURN_COLOUR, 2.5, "churn point"),
        _legend_arrow("", f"step: {arrow_label}"),
        _legend_arrow(' stroke-dasharray="5,3"', "where journeys start or end"),
    ]
    lanes = [
        _legend_box(LANE_COLOURS[lane % len(LANE_COLOURS)], LANE_COLOURS[lane % len(LANE_COLOURS)], 1, stage)
        for lane, stage in enumerate(stages)
    ]
    rows = [
        _legend_row(marks, 0),
        *([_legend_row([(60, '<text x="0" y="15">Stages:</text>'), *lanes], 24)] if lanes else []),
    ]
    width = max(row_width for row_width, _ in rows)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Legend of the journey map" width="{width}" '
        f'height="{24 * len(rows)}" font-family="Helvetica, Arial, sans-serif" font-size="13" fill="#31333f">'
        f"{''.join(drawn for _, drawn in rows)}</svg>"
    )


def _legend_row(keys: list[tuple[int, str]], y: int) -> tuple[int, str]:
    parts, x = [], 0
    for width, drawn in keys:
        parts.append(f'<g transform="translate({x},{y})">{drawn}</g>')
        x += width + _LEGEND_GAP
    return x - _LEGEND_GAP, "".join(parts)


def _legend_box(fill: str, stroke: str, stroke_width: float, text: str) -> tuple[int, str]:
    width = 30 + _text_width(text)
    return width, (
        f'<rect x="1" y="4" width="22" height="14" rx="3" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{stroke_width}"/><text x="30" y="15">{html.escape(text)}</text>'
    )


def _legend_arrow(dash: str, text: str) -> tuple[int, str]:
    width = 38 + _text_width(text)
    return width, (
        f'<line x1="1" y1="11" x2="24" y2="11" stroke="#7a8594" stroke-width="2"{dash}/>'
        '<path d="M24,7 L31,11 L24,15 Z" fill="#7a8594"/>'
        f'<text x="38" y="15">{html.escape(text)}</text>'
    )


def _text_width(text: str) -> int:
    """Room for `text` at 13 px without a font at hand: an average Helvetica character is about 7 px wide."""
    return round(7 * len(text))


def map_elements(drawn: JourneyMap) -> dict[str, str]:
    """Return every box and arrow of the drawn map that can be opened, named in words, with its drawing id:
    touchpoints most customers first, then steps most customers first (a step named like a touchpoint says so)."""
    elements = {activity: f"{NODE_ID_PREFIX}{row}" for row, activity in enumerate(drawn.nodes["activity"])}
    for row, (source, target) in enumerate(zip(drawn.edges["source"], drawn.edges["target"], strict=True)):
        name = f"{_end_name(source, START_LABEL)} → {_end_name(target, END_LABEL)}"
        elements[f"{name} (step)" if name in elements else name] = f"{EDGE_ID_PREFIX}{row}"
    return elements


def choose_element(key: str, elements: Mapping[str, str], element_id: str) -> None:
    """Make the box or arrow `element_id` (clicked on the drawing) the choice of the selectbox keyed `key`."""
    names = {drawn_id: name for name, drawn_id in elements.items()}
    if element_id in names:
        st.session_state[key] = names[element_id]


def map_element(drawn: JourneyMap, element_id: str) -> tuple[str | None, tuple[str | None, str | None] | None]:
    """Return the (touchpoint, step) the drawing's `element_id` stands for: one of the two, the other None."""
    kind, row = element_id[:1], int(element_id[1:])
    if kind == NODE_ID_PREFIX:
        return drawn.nodes["activity"].iloc[row], None
    edge = drawn.edges.iloc[row]
    return None, (_optional(edge["source"]), _optional(edge["target"]))


def map_hover(drawn: JourneyMap) -> dict[str, str]:
    """Return the tooltip of every box and arrow of the drawn map, by drawing id: all its figures in words."""
    tips = {}
    for row, node in enumerate(drawn.nodes.itertuples(index=False)):
        lines = [
            node.activity,
            f"{node.cases:,} customers ({node.share:.1%}) · {node.events:,} events",
            f"median time to reach it: {human_duration(node.median_seconds_to_reach)}",
            f"stage: {'none' if pd.isna(node.stage) else node.stage}",
        ]
        if not pd.isna(node.churn_rate):
            lines.append(
                f"churn right after it: {node.churn_rate:.1%}" + (" (churn point)" if node.churn_point else "")
            )
        tips[f"{NODE_ID_PREFIX}{row}"] = "\n".join(lines)
    names = {element_id: name for name, element_id in map_elements(drawn).items()}
    for row, edge in enumerate(drawn.edges.itertuples(index=False)):
        element_id = f"{EDGE_ID_PREFIX}{row}"
        lines = [names[element_id], f"{edge.cases:,} customers ({edge.share:.1%}) · {edge.events:,} moves"]
        if not pd.isna(edge.median_seconds):
            lines.append(
                f"time between: median {human_duration(edge.median_seconds)}, mean {human_duration(edge.mean_seconds)}"
                f", 90th percentile {human_duration(edge.p90_seconds)}"
            )
        tips[element_id] = "\n".join(lines)
    return tips


def step_facts(drawn: JourneyMap, element_id: str) -> dict[str, str]:
    """Return the headline figures of one arrow of the drawn map, labelled with what they count."""
    edge = drawn.edges.iloc[int(element_id.removeprefix(EDGE_ID_PREFIX))]
    facts = {
        "Customers (unique journeys)": f"{edge['cases']:,}",
        "Share of customers": f"{edge['share']:.1%}",
        "Moves (events)": f"{edge['events']:,}",
    }
    if not pd.isna(edge["median_seconds"]):
        facts["Median time between"] = human_duration(edge["median_seconds"])
        facts["90th percentile"] = human_duration(edge["p90_seconds"])
    return facts


def _end_name(name: object, boundary: str) -> str:
    return boundary if pd.isna(name) else str(name)


def _optional(name: object) -> str | None:
    return None if pd.isna(name) else str(name)


def activity_facts(full_map: JourneyMap, activity: str) -> dict[str, str]:
    """Return the headline figures of one touchpoint, labelled with what they count."""
    node = _node(full_map, activity)
    stage = node["stage"]
    return {
        "Customers (unique journeys)": f"{node['cases']:,}",
        "Share of customers": f"{node['share']:.1%}",
        "Events": f"{node['events']:,}",
        "Stage": "none" if pd.isna(stage) else stage,
        "Median time to reach it": human_duration(node["median_seconds_to_reach"]),
    }


def arrivals_table(full_map: JourneyMap, activity: str) -> pd.DataFrame:
    """Return where the customers of `activity` came from, straight before it, most customers first."""
    return _neighbours(full_map, activity, here="target", there="source", heading="Came from")


def departures_table(full_map: JourneyMap, activity: str) -> pd.DataFrame:
    """Return where the customers of `activity` went straight after it, most customers first."""
    return _neighbours(full_map, activity, here="source", there="target", heading="Went to")


def _neighbours(full_map: JourneyMap, activity: str, *, here: str, there: str, heading: str) -> pd.DataFrame:
    customers = _node(full_map, activity)["cases"]
    edges = full_map.edges[full_map.edges[here] == activity]
    boundary = START_LABEL if there == "source" else END_LABEL
    # Start and end edges carry no time; their cells stay empty text, not NaN.
    waits = edges["median_seconds"].map(human_duration, na_action="ignore").astype("object").fillna("")
    return pd.DataFrame(
        {
            heading: edges[there].fillna(boundary).astype("str").to_numpy(),
            "Customers": edges["cases"].to_numpy(),
            SHARE_COLUMN: (edges["cases"] / customers).to_numpy(),
            "Median time": waits.to_numpy(),
        }
    )


def churn_facts(churn: ChurnPoints, activity: str) -> dict[str, str]:
    """Return a touchpoint's churn figures in words; {} when it has none (a churn activity, no known outcome, or no
    goal, without which every ended journey would be a churn)."""
    rows = churn.activities[churn.activities["activity"] == activity]
    if rows.empty or not churn.outcomes.has_goal:
        return {}
    row = rows.iloc[0]
    return {
        "Churned right after it": f"{row['churned']:,} / {row['customers']:,}",
        "Churn rate": f"{row['churn_rate']:.1%}",
        "95% interval": f"{row['ci_low']:.1%}–{row['ci_high']:.1%}",
        "Lift against its stage": "n/a" if pd.isna(row["lift"]) else f"{row['lift']:.2f}×",
        "Lift against everyone": "n/a" if pd.isna(row["lift_overall"]) else f"{row['lift_overall']:.2f}×",
    }


def model_facts(model: ProcessModel) -> dict[str, str]:
    """Return what the miner saw and what it found, labelled with what each number counts."""
    summary = model.to_dict()
    return {
        "Customers the miner saw": f"{model.cases:,} ({model.covered_share:.0%})",
        "Journey variants mined": f"{model.variants:,}",
        "Touchpoints in the model": f"{len(summary['activities']):,}",
        "Petri net places / transitions": f"{summary['places']:,} / {summary['transitions']:,}",
    }


def bpmn_to_dot(bpmn_xml: str) -> str:
    """Return DOT drawing a BPMN 2.0 process top to bottom: tasks as boxes, gateways as diamonds (× or +)."""
    root = SafeXml.fromstring(bpmn_xml.encode("utf-8"))
    lines = [
        "digraph process_model {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.25, ranksep=0.35];',
        '  node [fontname="Helvetica"];',
        '  edge [color="#7a8594", arrowsize=0.7];',
    ]
    known = set()
    for process in root.iter(f"{_BPMN}process"):
        for element in process:
            kind = element.tag.removeprefix(_BPMN)
            if kind not in _BPMN_SHAPES:
                continue
            identifier = element.get("id")
            known.add(identifier)
            name = f"label={dot_quote(element.get('name', ''))}, " if kind == "task" else ""
            lines.append(f"  {dot_quote(identifier)} [{name}{_BPMN_SHAPES[kind]}];")
        lines.extend(
            f"  {dot_quote(flow.get('sourceRef'))} -> {dot_quote(flow.get('targetRef'))};"
            for flow in process.iter(f"{_BPMN}sequenceFlow")
            if flow.get("sourceRef") in known and flow.get("targetRef") in known
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def show_activity_detail(full_map: JourneyMap, churn: ChurnPoints, activity: str) -> None:
    """Show one touchpoint: its customers, where they came from and went, its stage, churn and time to reach it."""
    facts = activity_facts(full_map, activity)
    for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
        column.metric(label, value)
    stem = _file_stem(activity)
    # One above the other: side by side, long touchpoint names push the last columns out of sight.
    st.markdown("**Where they came from** (the step straight before)")
    show_table(arrivals_table(full_map, activity), f"came-from-{stem}", column_config=_NEIGHBOUR_COLUMNS)
    st.markdown("**Where they went** (the step straight after)")
    show_table(departures_table(full_map, activity), f"went-to-{stem}", column_config=_NEIGHBOUR_COLUMNS)
    st.caption(
        "Shares are of the touchpoint's customers; a customer who came or went several ways counts in each row, "
        "so shares can add up to more than 100%. Every step is counted here, also those the sliders hide."
    )
    churn_text = churn_facts(churn, activity)
    if churn_text:
        for column, (label, value) in zip(st.columns(len(churn_text)), churn_text.items(), strict=True):
            column.metric(label, value)
        st.caption(
            "Churn counts only decided journeys (churned or converted); journeys still open (censored: inside the "
            "inactivity window) are left out. The lifts compare the churn rate with that of its stage's steps and "
            "with that of every decided journey; n/a when none of them churned."
        )
    elif not churn.outcomes.has_goal:
        st.caption(f"{NO_GOAL_CHURN_POINTS} Choose the goal on the Journey definition page.")
    elif activity in churn.churn_touchpoints:
        st.caption(plain(f"{activity} is a churn touchpoint: customers who do it have churned by definition."))
    else:
        st.caption(plain(f"No customer through {activity} has a decided outcome yet, so it has no churn figures."))


_NEIGHBOUR_COLUMNS = {
    "Customers": count_column("Customers (unique journeys) who made this move"),
    SHARE_COLUMN: percent_column("Share of the touchpoint's customers who made this move"),
    "Median time": st.column_config.TextColumn(help="Median time between the two steps"),
}


def show_model_downloads(model: ProcessModel, stem: str) -> None:
    """Offer the model as BPMN 2.0 (Camunda, bpmn.io, Signavio) and as a PNML Petri net."""
    stamp = current_stamp()
    with st.container(horizontal=True):
        for label, build, extension in (("BPMN", to_bpmn_xml, "bpmn"), ("PNML", to_pnml, "pnml")):
            st.download_button(
                label,
                partial(build, model),
                stamp.file_name(stem, extension),
                _XML_MIME,
                icon=":material/download:",
                key=f"download-model-{extension}",
                on_click="ignore",
            )


def _node(full_map: JourneyMap, activity: str) -> pd.Series:
    rows = full_map.nodes[full_map.nodes["activity"] == activity]
    if rows.empty:
        raise ValueError(f"{activity!r} is not a touchpoint of this map")
    return rows.iloc[0]


def _file_stem(activity: str) -> str:
    return "".join(character if character.isalnum() else "-" for character in activity)[:60]
