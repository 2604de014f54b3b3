"""Compare: two segments picked among personas, attribute values and saved filters; the comparison, cached by content.

Every segment is the filter bar's selection narrowed further: a persona or attribute value to its customers, a
saved segment by its own conditions (which replace the bar's same-named ones). The pure builders turn a
`SegmentComparison` into the page's tables, the side-by-side funnel and the coloured map difference (DOT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters
from discovery import JourneyDefinition, dot_quote, journey_outcomes
from segmentation import SegmentComparison, attribute_segments, compare_segments
from ui.params import persona_from_param
from ui.personas import (
    persona_members,
    persona_options,
    saved_runs,
    selection_filters,
    selection_params,
    with_customers,
)
from ui.sidebar import filterable_attributes
from ui.state import BY_CONTENT, BY_CONTENT_AND_DEFINITION, attribute_columns, dataset_engine, store

__all__ = [
    "COLOURS",
    "MAX_MAP_EDGES",
    "P_VALUE_FORMAT",
    "SEGMENT_KIND",
    "Segment",
    "attribute_segment_of",
    "comparison",
    "difference_dot",
    "funnel_figure",
    "kpi_table",
    "save_segment_form",
    "segment_picker",
    "variants_table",
]

SEGMENT_KIND = "segment"
KINDS = ("Persona", "Attribute value", "Saved segment")
COLOURS = {"A only": "#1f6fb5", "B only": "#e07b00", "common": "#8a94a3"}
SIDE_COLOURS = {"A": COLOURS["A only"], "B": COLOURS["B only"]}
MAX_MAP_EDGES = 25
# Corrected p-values reach 1e-30 on large segments: shown in scientific notation, they stay readable.
P_VALUE_FORMAT = {
    name: st.column_config.NumberColumn(format="%.2e")
    for name in ("p-value", "q-value", "q-value (Benjamini–Hochberg)")
}
MIN_PENWIDTH, MAX_PENWIDTH = 1.0, 6.0


@dataclass(frozen=True, eq=False)
class Segment:
    """A segment as the page names it, and the customers it selects."""

    name: str
    filters: Filters


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT)
def attribute_segment_of(dataset_id: str, filters: Filters, column: str) -> pd.Series:
    """Each selected customer's most frequent value of `column` (as text), by case id."""
    with dataset_engine(dataset_id) as engine:
        return attribute_segments(engine, column, filters)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CONTENT_AND_DEFINITION)
def comparison(dataset_id: str, a: Filters, b: Filters, definition: JourneyDefinition) -> SegmentComparison:
    """Compare two segments: conversion and churn as the log's journey definition says, funnels over its stages."""
    model = definition.stages
    stage_of = {activity: stage for stage in model.stages for activity in model.activities_in(stage)}
    with dataset_engine(dataset_id) as engine:
        outcomes = journey_outcomes(engine, definition)
        return compare_segments(engine, a, b, outcomes=outcomes, stage_of=stage_of)


def segment_picker(dataset_id: str, side: str, filters: Filters) -> Segment | None:
    """Ask which segment `side` ("A" or "B") is; return it, or None when there is nothing of that kind yet.

    Personas come first once a run is saved; until then, attribute values.
    """
    first = 0 if saved_runs(dataset_id) else 1
    kind = st.radio(f"Segment {side} is", KINDS, index=first, horizontal=True, key=f"compare-kind-{side}")
    if kind == "Persona":
        return _persona_segment(dataset_id, side, filters)
    if kind == "Attribute value":
        return _attribute_segment(dataset_id, side, filters)
    return _saved_segment(dataset_id, side)


def _persona_segment(dataset_id: str, side: str, filters: Filters) -> Segment | None:
    options = persona_options(saved_runs(dataset_id))
    if not options:
        st.info("No persona run is saved yet: find and save personas on the Personas page.")
        return None
    default = min(len(options) - 1, 0 if side == "A" else 1)
    chosen = st.selectbox("Persona", list(options), default, format_func=options.get, key=f"compare-persona-{side}")
    members = persona_members(dataset_id, *persona_from_param(chosen))
    return Segment(options[chosen], with_customers(filters, members))


def _attribute_segment(dataset_id: str, side: str, filters: Filters) -> Segment | None:
    columns = filterable_attributes(attribute_columns(dataset_id))
    if not columns:
        st.info("This log has no attributes (plan, region, age band …) to segment by.")
        return None
    column = st.selectbox("Attribute", columns, key=f"compare-attribute-{side}")
    segments = attribute_segment_of(dataset_id, filters, column)
    values = segments.value_counts().index.tolist()
    if not values:
        st.info("No selected customer has a value of this attribute: pick another one or widen the filters.")
        return None
    default = min(len(values) - 1, 0 if side == "A" else 1)
    value = st.selectbox(
        "Value (each customer's most frequent one)", values, default, key=f"compare-value-{side}-{column}"
    )
    # A list first: a set built from an Arrow-backed index element by element takes five times longer.
    members = frozenset(segments.index[segments.to_numpy() == value].tolist())
    return Segment(f"{column} = {value}", with_customers(filters, members))


def _saved_segment(dataset_id: str, side: str) -> Segment | None:
    saved = store().annotations(dataset_id, SEGMENT_KIND)
    if not saved:
        st.info("No segment is saved yet: set the filters in the sidebar and save them below as a segment.")
        return None
    default = min(len(saved) - 1, 0 if side == "A" else 1)
    name = st.selectbox("Saved segment", list(saved), default, key=f"compare-saved-{side}")
    return Segment(name, selection_filters(dataset_id, {**selection_params(), **saved[name]["filters"]}))


def save_segment_form(dataset_id: str) -> None:
    """Save the sidebar's current filters (a persona condition included) as a named segment."""
    with st.form(f"compare-save-{dataset_id}", border=True):
        name = st.text_input("Segment name", placeholder="e.g. Store customers in spring")
        if not st.form_submit_button("Save the current filters as a segment", icon=":material/save:"):
            return
    store().save_annotation(dataset_id, SEGMENT_KIND, name.strip(), {"filters": selection_params()})
    st.success(f"Saved the segment {name.strip()!r}: pick it as A or B above.")


# --- pure builders ----------------------------------------------------------------------------------------------------


def kpi_table(result: SegmentComparison) -> pd.DataFrame:
    """The KPIs of both segments with their difference, test, corrected p-value and verdict."""
    kpis = result.kpis
    return pd.DataFrame(
        {
            "KPI": kpis["kpi"].to_numpy(),
            "A": kpis["a"].to_numpy(),
            "B": kpis["b"].to_numpy(),
            "Difference (A − B)": kpis["difference"].to_numpy(),
            "Test": kpis["test"].to_numpy(),
            "p-value": kpis["p_value"].to_numpy(),
            "q-value (Benjamini–Hochberg)": kpis["q_value"].to_numpy(),
            "Significant": _verdicts(kpis["significant"], kpis["p_value"]),
        }
    )


def variants_table(result: SegmentComparison) -> pd.DataFrame:
    """The variants whose share of customers differs most between the segments."""
    variants = result.variants
    return pd.DataFrame(
        {
            "Journey variant": variants["activities"].map(" → ".join).to_numpy(),
            "Customers in A": variants["customers_a"].to_numpy(),
            "Share of A": variants["share_a"].to_numpy(),
            "Customers in B": variants["customers_b"].to_numpy(),
            "Share of B": variants["share_b"].to_numpy(),
            "Difference (A − B)": variants["difference"].to_numpy(),
            "q-value": variants["q_value"].to_numpy(),
            "Significant": _verdicts(variants["significant"], variants["p_value"]),
        }
    )


def funnel_figure(result: SegmentComparison, names: Mapping[str, str]) -> go.Figure:
    """The two stage funnels side by side: the share of each segment's customers reaching each stage."""
    funnel = result.funnel
    figure = go.Figure()
    for side, column in (("A", "share_a"), ("B", "share_b")):
        customers = funnel[f"customers_{side.lower()}"]
        figure.add_bar(
            y=funnel["stage"],
            x=funnel[column],
            orientation="h",
            name=f"{side}: {names[side]}",
            marker_color=SIDE_COLOURS[side],
            text=[f"{share:.0%} ({count:,})" for share, count in zip(funnel[column], customers, strict=True)],
            textposition="auto",
        )
    figure.update_layout(
        barmode="group",
        xaxis={"title": "share of the segment's customers with a touchpoint of the stage", "tickformat": ".0%"},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def difference_dot(edges: pd.DataFrame, max_edges: int = MAX_MAP_EDGES) -> str:
    """DOT of the map difference: the edges most used in either segment, coloured A only, B only or common.

    Each edge is labelled with the share of A's and of B's customers taking it; a significant difference is drawn
    bold. `edges` is `SegmentComparison.edges`.
    """
    shown = edges.dropna(subset=["source", "target"])
    strength = np.maximum(shown["share_a"], shown["share_b"])
    shown = shown.loc[strength.sort_values(ascending=False, kind="stable").index[:max_edges]]
    activities = pd.unique(pd.concat([shown["source"], shown["target"]], ignore_index=True))
    node_ids = {activity: f"n{index}" for index, activity in enumerate(activities)}
    strongest = float(np.maximum(shown["share_a"], shown["share_b"]).max()) if len(shown) else 1.0
    lines = [
        "digraph map_difference {",
        '  graph [rankdir=LR, fontname="Helvetica", nodesep=0.3, ranksep=0.4];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5f6b7a", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        *(f"  {node_id} [label={dot_quote(activity)}];" for activity, node_id in node_ids.items()),
    ]
    for source, target, share_a, share_b, presence, significant in zip(
        shown["source"],
        shown["target"],
        shown["share_a"],
        shown["share_b"],
        shown["presence"],
        shown["significant"],
        strict=True,
    ):
        width = MIN_PENWIDTH + (MAX_PENWIDTH - MIN_PENWIDTH) * max(share_a, share_b) / (strongest or 1.0)
        style = "bold" if significant else "solid"
        colour = COLOURS[presence]
        label = dot_quote(f"A {share_a:.0%} · B {share_b:.0%}")
        lines.append(
            f'  {node_ids[source]} -> {node_ids[target]} [label={label}, color="{colour}", fontcolor="{colour}", '
            f'penwidth={width:.2f}, style="{style}"];'
        )
    lines.append("}")
    return "\n".join(lines)


def _verdicts(significant: pd.Series, p_values: pd.Series) -> np.ndarray:
    return np.where(p_values.isna(), "not tested", np.where(significant.astype(bool), "yes", "no"))
