"""Compare: two segments picked among personas, attribute values or ranges, and saved segments; the comparison,
cached by content; and the pure builders of its tables, funnel and map difference.

Every segment is the filter bar's selection narrowed further: a persona or an attribute value (a range, for a
numeric attribute) to its customers, a saved segment by its own conditions (which replace the bar's same-named
ones). Saved segments live in the library (`segmentation.save_segment`), so the command line reads them too.
Tables keep rates as percentages and durations in words, so what is downloaded reads as what is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters
from discovery import EMPTY_STAGE, JourneyDefinition, dot_quote
from segmentation import (
    PERSONA_PARAM,
    SegmentComparison,
    attribute_ranges,
    attribute_segments,
    compare_segments,
    persona_from_param,
    readable_kpis,
    save_segment,
    saved_segments,
)
from ui.markup import NO_VALUE, plain, plotly_text
from ui.personas import (
    persona_members,
    persona_options,
    saved_runs,
    selection_filters,
    selection_params,
    with_customers,
)
from ui.sidebar import filterable_attributes
from ui.state import (
    BY_CONTENT,
    BY_CONTENT_AND_DEFINITION,
    ENGINE_SECONDS,
    attribute_columns,
    dataset_engine,
    store,
)
from ui.tables import count_columns
from ui.workspace import allowed

__all__ = [
    "COLOURS",
    "COLUMN_FORMATS",
    "MAX_MAP_EDGES",
    "METHODS",
    "Segment",
    "attribute_groups",
    "channels_table",
    "compared_on_defining_behaviour",
    "comparison",
    "difference_dot",
    "edges_table",
    "family_caption",
    "funnel_figure",
    "funnel_table",
    "kpi_table",
    "save_segment_form",
    "segment_picker",
    "variants_table",
]

KINDS = ("Persona", "Attribute value", "Saved segment")
COLOURS = {"A only": "#1f6fb5", "B only": "#e07b00", "common": "#8a94a3"}
SIDE_COLOURS = {"A": COLOURS["A only"], "B": COLOURS["B only"]}
MAX_MAP_EDGES = 25
# Roles of a numeric attribute: grouped into ranges before they become segments. Identifiers are never segments.
RANGED_ROLES = ("amount", "score", "number")
# p-values reach 1e-30 on large segments: shown in scientific notation, they stay readable.
# p and q in scientific notation; customer counts as the metrics write them (150,370).
COLUMN_FORMATS = {
    **{name: st.column_config.NumberColumn(format="%.2e") for name in ("p-value", "q-value")},
    **count_columns(
        "Customers in A",
        "Customers in B",
        "Got this far in A",
        "Did a step of it in A",
        "Got this far in B",
        "Did a step of it in B",
    ),
}
MIN_PENWIDTH, MAX_PENWIDTH = 1.0, 6.0
METHODS = """
**Rates** (conversion, churn, reaching a stage, using a channel, taking a transition, following a variant) are
compared with **Fisher's exact test** when a count expected under no difference is below 5, else with the
**two-proportion z-test**; the effect is the **difference in percentage points** with **Newcombe's 95 % interval**.
**Durations and lengths** are compared with the **Mann–Whitney U test**; the effect is the **Hodges–Lehmann shift** —
the median of the differences between an A journey and a B journey — with **Moses' 95 % interval**.
Each table is its own **family** of tests, corrected with **Benjamini–Hochberg** (false discovery rate 5 %): the many
transitions and variants never drown a headline difference. A q-value is the p-value after that correction;
*significant* means a q-value below 0.05. The tests assume two separate groups of customers.
"""
# What each family's caption calls its tests.
_FAMILY_WORDS = {
    "kpis": "headline tests",
    "funnel": "stage tests",
    "channels": "channel tests",
    "edges": "transition tests",
    "variants": "variants either segment follows",
}


@dataclass(frozen=True, eq=False)
class Segment:
    """A segment as the page names it, the customers it selects, the saved persona run it is a persona of, and
    what it was picked as (`picked`: the filter bar's selection, attribute and value), which names its customers
    exactly in a cache key where writing out 200,000 of them took a tenth of a second."""

    name: str
    filters: Filters
    persona_run: str | None = None
    picked: str | None = None


def _segment_key(segment: Segment) -> str:
    return segment.picked or BY_CONTENT[Filters](segment.filters)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT)
def attribute_groups(dataset_id: str, filters: Filters, column: str, ranged: bool) -> list:
    """The groups of `column` the selected customers fall in, in the order offered: ranges in order (`ranged`),
    else values, the most customers first. A customer's group is their range of means or most frequent value."""
    counts = _attribute_members(dataset_id, filters, column, ranged).value_counts(sort=not ranged)
    return counts.index[counts.to_numpy() > 0].tolist()


# A segment's customers are shared by every user and rerun, never copied: a rerun then reads them (and the cached
# comparison finds its key at once, `ui.state.BY_CONTENT`), where picking 200,000 customers out of the groups again
# took a fifth of a second. A few are kept: each holds hundreds of thousands of customer ids.
@st.cache_resource(show_spinner=False, max_entries=4, ttl=ENGINE_SECONDS, hash_funcs=BY_CONTENT)
def _attribute_members(dataset_id: str, filters: Filters, column: str, ranged: bool) -> pd.Series:
    with dataset_engine(dataset_id) as engine:
        if ranged:
            return attribute_ranges(engine, column, filters)
        return attribute_segments(engine, column, filters)


@st.cache_resource(show_spinner=False, max_entries=8, ttl=ENGINE_SECONDS, hash_funcs=BY_CONTENT)
def _attribute_filters(dataset_id: str, filters: Filters, column: str, ranged: bool, value: object) -> Filters:
    """The selection of the customers in group `value` of `column`."""
    groups = _attribute_members(dataset_id, filters, column, ranged)
    # A list first: a set built from an Arrow-backed index element by element takes five times longer.
    return with_customers(filters, frozenset(groups.index[groups.eq(value).to_numpy()].tolist()))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs={**BY_CONTENT_AND_DEFINITION, Segment: _segment_key})
def comparison(
    dataset_id: str, a: Segment, b: Segment, definition: JourneyDefinition, defined_by_behaviour: bool
) -> SegmentComparison:
    """Compare two segments under the log's journey definition."""
    with dataset_engine(dataset_id) as engine:
        return compare_segments(
            engine, a.filters, b.filters, definition=definition, defined_by_behaviour=defined_by_behaviour
        )


def compared_on_defining_behaviour(a: Segment, b: Segment) -> bool:
    """Whether A and B are personas of one saved run, found from the very behaviour the comparison tests."""
    return a.persona_run is not None and a.persona_run == b.persona_run


def segment_picker(dataset_id: str, side: str, filters: Filters, definition: JourneyDefinition) -> Segment | None:
    """Ask which segment `side` ("A" or "B") is; return it, or None when there is nothing of that kind yet.

    Personas come first once a run is saved; until then, attribute values.
    """
    first = 0 if saved_runs(dataset_id) else 1
    kind = st.radio(
        f"Segment {side} is", KINDS, index=first, horizontal=True, key=f"{side.lower()}_is", bind="query-params"
    )
    if kind == "Persona":
        return _persona_segment(dataset_id, side, filters)
    if kind == "Attribute value":
        return _attribute_segment(dataset_id, side, filters, definition)
    return _saved_segment(dataset_id, side)


def _persona_segment(dataset_id: str, side: str, filters: Filters) -> Segment | None:
    options = persona_options(saved_runs(dataset_id))
    if not options:
        st.info("No persona run is saved yet: find and save personas on the Personas page.")
        return None
    default = min(len(options) - 1, 0 if side == "A" else 1)
    chosen = st.selectbox(
        "Persona", list(options), default, format_func=options.get, key=f"{side.lower()}_persona", bind="query-params"
    )
    run, label = persona_from_param(chosen)
    return Segment(options[chosen], with_customers(filters, persona_members(dataset_id, run, label)), run)


def _attribute_segment(dataset_id: str, side: str, filters: Filters, definition: JourneyDefinition) -> Segment | None:
    types = attribute_columns(dataset_id)
    columns = [
        name for name in filterable_attributes(types) if definition.role_of(name, types[name]).role != "identifier"
    ]
    if not columns:
        st.info("This log has no attributes (plan, region, age band …) to segment by.")
        return None
    column = st.selectbox("Attribute", columns, key=f"{side.lower()}_attribute", bind="query-params")
    ranged = definition.role_of(column, types[column]).role in RANGED_ROLES
    values = attribute_groups(dataset_id, filters, column, ranged)
    if not values:
        st.info("No selected customer has a value of this attribute: pick another one or widen the filters.")
        return None
    default = min(len(values) - 1, 0 if side == "A" else 1)
    label = "Range (of each customer's mean)" if ranged else "Value (each customer's most frequent one)"
    value = st.selectbox(label, values, default, key=f"{side.lower()}_value", bind="query-params")
    name = f"{column}: {value}" if ranged else f"{column} = {value}"
    picked = json.dumps([BY_CONTENT[Filters](filters), column, ranged, str(value)])
    return Segment(name, _attribute_filters(dataset_id, filters, column, ranged, value), picked=picked)


def _saved_segment(dataset_id: str, side: str) -> Segment | None:
    saved = saved_segments(store(), dataset_id)
    if not saved:
        st.info("No segment is saved yet: set the filters in the sidebar and save them below as a segment.")
        return None
    default = min(len(saved) - 1, 0 if side == "A" else 1)
    name = st.selectbox("Saved segment", list(saved), default, key=f"{side.lower()}_segment", bind="query-params")
    params = {**selection_params(), **saved[name].params}
    persona = params.get(PERSONA_PARAM)
    run = None if persona is None else persona_from_param(persona)[0]
    return Segment(name, selection_filters(dataset_id, params), run)


def save_segment_form(dataset_id: str) -> None:
    """Save the sidebar's current filters (a persona condition included) as a named segment."""
    if not allowed("editor", "save segments"):
        return
    with st.form(f"compare-save-{dataset_id}", border=True):
        name = st.text_input("Segment name", placeholder="e.g. Store customers in spring")
        if not st.form_submit_button("Save the current filters as a segment", icon=":material/save:"):
            return
    saved = save_segment(store(), dataset_id, name, selection_params())
    st.success(plain(f"Saved the segment {saved.name!r}: pick it as A or B above."))


# --- pure builders ----------------------------------------------------------------------------------------------------


def kpi_table(result: SegmentComparison) -> pd.DataFrame:
    """The headline KPIs in words: rates in %, durations in hours or days, effect, interval, test, verdict."""
    return readable_kpis(result)


def family_caption(result: SegmentComparison, table: str) -> str:
    """Say which tests a table used and how many tests its Benjamini–Hochberg correction covers."""
    family = result.families.set_index("table").loc[table]
    tests = int(family["tests"])
    covered = f"Benjamini–Hochberg over the {tests:,} {_FAMILY_WORDS[table]}" + (
        ", on their own" if table == "kpis" else ""
    )
    if table == "variants" and family["rows_shown"] < tests:
        covered += f"; the {int(family['rows_shown']):,} whose shares differ most are shown"
    if table == "kpis":
        return f"Tests as named in each row. {covered}."
    used = sorted(set(getattr(result, table)["test"]) - {""})
    return f"Tests: {' and '.join(used) or 'none'} (see how these are tested). {covered}."


def funnel_table(result: SegmentComparison) -> pd.DataFrame:
    """Per stage, the customers of each segment who got at least this far, and the test of their shares."""
    funnel = result.funnel
    return pd.DataFrame(
        {
            "Stage": _stage_labels(funnel),
            "Got this far in A": funnel["customers_a"].to_numpy(),
            "Share of A (%)": _percent(funnel["share_a"]),
            "Did a step of it in A": funnel["did_stage_a"].to_numpy(),
            "Got this far in B": funnel["customers_b"].to_numpy(),
            "Share of B (%)": _percent(funnel["share_b"]),
            "Did a step of it in B": funnel["did_stage_b"].to_numpy(),
            **_tested_columns(funnel),
        }
    )


def channels_table(result: SegmentComparison) -> pd.DataFrame:
    """Per channel, the customers of each segment who used it, and the test of their shares."""
    return pd.DataFrame({"Channel": result.channels["channel"].to_numpy(), **_share_columns(result.channels)})


def edges_table(result: SegmentComparison) -> pd.DataFrame:
    """Per transition (a → b), the customers of each segment who took it, the test, and where it is seen."""
    edges = result.edges
    return pd.DataFrame(
        {
            "Transition": (edges["source"] + " → " + edges["target"]).to_numpy(),
            **_share_columns(edges),
            "Seen in": edges["presence"].to_numpy(),
            "Change": edges["change"].to_numpy(),
        }
    )


def variants_table(result: SegmentComparison) -> pd.DataFrame:
    """The variants whose share of customers differs most between the segments."""
    variants = result.variants
    return pd.DataFrame(
        {"Journey variant": variants["activities"].map(" → ".join).to_numpy(), **_share_columns(variants)}
    )


def _share_columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "Customers in A": table["customers_a"].to_numpy(),
        "Share of A (%)": _percent(table["share_a"]),
        "Customers in B": table["customers_b"].to_numpy(),
        "Share of B (%)": _percent(table["share_b"]),
        **_tested_columns(table),
    }


def _tested_columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The difference of two shares in percentage points with its interval, the test, p, q and the verdict."""
    return {
        "Difference (pts)": _percent(table["difference"]),
        "95 % interval (pts)": [
            NO_VALUE if pd.isna(low) else f"{100 * low:+.1f} to {100 * high:+.1f}".replace("-", "−")
            for low, high in zip(table["ci_low"], table["ci_high"], strict=True)
        ],
        "Test": table["test"].to_numpy(),
        "p-value": table["p_value"].to_numpy(),
        "q-value": table["q_value"].to_numpy(),
        "Significant": [
            "not tested" if pd.isna(p_value) else "yes" if significant else "no"
            for p_value, significant in zip(table["p_value"], table["significant"].astype(bool), strict=True)
        ],
    }


def _stage_labels(funnel: pd.DataFrame) -> list[str]:
    """Each stage's name, saying so of a stage without touchpoints (nobody reaches it, and it is not tested)."""
    return [
        stage if touchpoints else f"{stage} ({EMPTY_STAGE})"
        for stage, touchpoints in zip(funnel["stage"], funnel["touchpoints"], strict=True)
    ]


def _percent(shares: pd.Series) -> np.ndarray:
    return (100 * shares.to_numpy(dtype=float)).round(1)


def funnel_figure(result: SegmentComparison, names: Mapping[str, str]) -> go.Figure:
    """The two stage funnels side by side: the share of each segment's customers who got at least this far."""
    funnel = result.funnel
    stages = [plotly_text(stage) for stage in _stage_labels(funnel)]  # an empty stage has no bar: its name says why
    figure = go.Figure()
    for side, column in (("A", "share_a"), ("B", "share_b")):
        customers = funnel[f"customers_{side.lower()}"]
        figure.add_bar(
            y=stages,
            x=funnel[column],
            orientation="h",
            name=plotly_text(f"{side}: {names[side]}"),
            marker_color=SIDE_COLOURS[side],
            text=[f"{share:.1%} ({count:,})" for share, count in zip(funnel[column], customers, strict=True)],
            textposition="auto",
        )
    figure.update_layout(
        barmode="group",
        xaxis={"title": "share of the segment's customers who got at least this far", "tickformat": ".0%"},
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
