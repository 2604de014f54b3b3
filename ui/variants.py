"""The Variants & paths page's cached readers and the pure builders of what it shows.

Readers are keyed by content: the dataset id, the filters, plain parameters and — for conversion and churn —
the saved stage model and churn definition, so a change made on the Stages page shows here at once. Builders
take the library's frozen results and return display tables, labels and plotly figures; they never read widgets.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from itertools import groupby

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative, unlabel_rgb

from data import Filters
from discovery import (
    END_LABEL,
    OTHER_LABEL,
    OUTCOME_LABELS,
    START_LABEL,
    JourneyDefinition,
    PathFlows,
    VariantTable,
    paths,
    paths_between,
    variant_cases,
    variant_table,
)
from ui.markup import plain, plotly_text
from ui.params import filters_to_params, is_filter_param, write_owned
from ui.state import BY_CONTENT, BY_CONTENT_AND_DEFINITION, dataset_engine, journey_definition
from ui.tables import PERCENT_STEP

__all__ = [
    "PATH_DIRECTIONS",
    "customers_column_config",
    "customers_column_order",
    "customers_table",
    "path_flows",
    "path_label",
    "paths_caption",
    "rates_caption",
    "sankey_figure",
    "set_variant_filter",
    "touchpoints",
    "variant_choices",
    "variant_column_config",
    "variant_column_order",
    "variant_customers",
    "variants",
    "variants_table",
]

PATH_DIRECTIONS = {"after": "after a touchpoint", "before": "before a touchpoint", "between": "between two touchpoints"}
ARROW = " → "
LABEL_STEPS = 5
_PATH_WIDTH_PX = 330
_BAR_WIDTH_PX = 100
FULL_PATH = "Full path"
_LABEL_COLOUR = "#1f2937"
_LABEL_HALO = "0 0 3px #ffffff, 0 0 3px #ffffff, 0 0 2px #ffffff"
_SAME_ON_A_PATH = ("First touchpoint", "Last touchpoint")
RATE_FORMAT = "percent"
_DURATION_UNITS = ((86_400, "days"), (3_600, "hours"), (60, "minutes"), (1, "seconds"))
_BOUNDARY_LABELS = (START_LABEL, END_LABEL)
_ACTIVITY_COLOURS = qualitative.Safe[:-1]  # Safe's last colour is the grey kept for "(other)" and the boundaries.
_OTHER_COLOUR = "rgb(187, 187, 187)"
_BOUNDARY_COLOUR = "rgb(136, 136, 136)"
_ANCHOR_COLOUR = "rgb(31, 58, 96)"
_LINK_OPACITY = 0.35
_NODE_MARGIN = 0.01
_SANKEY_HEIGHT_PX = 520
_SANKEY_MARGINS_PX = {"l": 10, "r": 10, "t": 40, "b": 10}
_NODE_PAD_PX = 12


# --- cached readers ---


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _variants(
    dataset_id: str, filters: Filters, limit: int, collapse_repeats: bool, definition: JourneyDefinition
) -> VariantTable:
    with dataset_engine(dataset_id) as engine:
        return variant_table(engine, filters, limit=limit, definition=definition, collapse_repeats=collapse_repeats)


def variants(dataset_id: str, filters: Filters, *, limit: int, collapse_repeats: bool) -> VariantTable:
    """Return the `limit` most common variants, with conversion and churn as the journey definition says."""
    return _variants(dataset_id, filters, limit, collapse_repeats, journey_definition(dataset_id))


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _variant_customers(
    dataset_id: str, variant_ids: tuple[str, ...], filters: Filters, definition: JourneyDefinition
) -> pd.DataFrame:
    with dataset_engine(dataset_id) as engine:
        return variant_cases(engine, variant_ids, filters, definition=definition)


def variant_customers(dataset_id: str, variant_ids: Sequence[str], filters: Filters) -> pd.DataFrame:
    """Return the selected customers following any of `variant_ids` (one table row), each with its outcome."""
    return _variant_customers(dataset_id, tuple(sorted(variant_ids)), filters, journey_definition(dataset_id))


@st.cache_data(show_spinner=False, max_entries=64)
def touchpoints(dataset_id: str) -> list[str]:
    """Every activity of a stored log, the one most customers did first, for pickers that stay put under filters."""
    with dataset_engine(dataset_id) as engine:
        table = engine.activities()
    return table.sort_values(["cases", "activity"], ascending=[False, True], kind="stable")["activity"].tolist()


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT)
def path_flows(
    dataset_id: str,
    filters: Filters,
    anchor: str,
    direction: str,
    steps: int,
    top: int,
    target: str | None = None,
) -> PathFlows:
    """Return the flows `steps` steps after or before `anchor`, or from `anchor` to `target` ("between")."""
    with dataset_engine(dataset_id) as engine:
        if direction == "between":
            return paths_between(engine, anchor, target, max_steps=steps, top=top, filters=filters)
        return paths(engine, anchor, direction=direction, steps=steps, top=top, filters=filters)


# --- the variant filter, through the URL ---


def set_variant_filter(filters: Filters, variant_ids: Collection[str] | None) -> None:
    """Put `filters` keeping only `variant_ids` (None: every variant) in the URL, which every page's filter bar reads.

    Meant as a button's `on_click`: the rerun that follows reads the new view.
    """
    chosen = None if variant_ids is None else frozenset(variant_ids)
    write_owned(filters_to_params(replace(filters, variant_ids=chosen)), is_filter_param)


# --- pure builders ---


def path_label(activities: Sequence[str], max_steps: int = LABEL_STEPS) -> str:
    """Return "A → B ×3 → C": repeats written once with their count, long paths cut in the middle.

    A cut path keeps its first and last steps and says how many it leaves out, so the label still tells how a
    journey starts and ends; the full path is shown beside it.
    """
    runs = [(activity, sum(1 for _ in run)) for activity, run in groupby(activities)]
    words = [activity if times == 1 else f"{activity} ×{times}" for activity, times in runs]
    if len(words) <= max_steps:
        return ARROW.join(words)
    head, tail = (max_steps + 1) // 2, max_steps // 2 - 1
    hidden = sum(times for _, times in runs[head : len(runs) - tail])
    middle = f"… {hidden} more …"
    return ARROW.join([*words[:head], middle, *words[len(words) - tail :]])


def variant_choices(table: VariantTable) -> list[str]:
    """Return how the drill-down picker names each variant of the table: its rank, its customers and its path."""
    frame = table.frame
    return [
        f"#{rank} · {customers:,} customer{'s' if customers != 1 else ''} · {path_label(activities)}"
        for rank, customers, activities in zip(
            range(1, len(frame) + 1), frame["cases"], frame["activities"], strict=True
        )
    ]


def _duration_unit(seconds: pd.Series) -> tuple[int, str]:
    """Return the largest unit (size in seconds, name) in which the longest duration is at least one."""
    longest = seconds.max() if len(seconds) else 0
    return next(((size, name) for size, name in _DURATION_UNITS if longest >= size), _DURATION_UNITS[-1])


def _duration_column(seconds: pd.Series) -> tuple[str, pd.Series]:
    size, name = _duration_unit(seconds)
    return name, seconds / size


def variants_table(table: VariantTable) -> pd.DataFrame:
    """Return the variant table as the page shows and downloads it: one row per path, rates as fractions.

    The figures a reader compares first (customers, share, conversion, churn) come right after the path, so
    they stay in view on a laptop screen. Without a goal neither rate exists (a path's conversion is missing only
    then): the two columns are left out, and the caption says why.
    """
    frame = table.frame
    unit, durations = _duration_column(frame["median_duration_seconds"])
    shown = pd.DataFrame(
        {
            "Rank": range(1, len(frame) + 1),
            "Path": frame["activities"].map(path_label),
            "Customers": frame["cases"],
            "Share": frame["share"],
            "Conversion": frame["conversion_rate"],
            "Churn": frame["churn_rate"],
            f"Median duration ({unit})": durations,
            "Steps": frame["length"],
            "Cumulative coverage": frame["cumulative_share"],
            FULL_PATH: frame["activities"].map(ARROW.join),
        }
    )
    return shown.drop(columns=["Conversion", "Churn"]) if frame["conversion_rate"].isna().all() else shown


def variant_column_config(shown: pd.DataFrame) -> dict[str, object]:
    """Return the column setup of `variants_table`: a share bar, rates as percentages, short headers whose help
    says what they count, so every column fits a laptop screen without scrolling sideways."""
    duration = next(name for name in shown.columns if name.startswith("Median duration"))
    unit = duration.removeprefix("Median duration (").removesuffix(")")
    top_share = float(shown["Share"].max()) if len(shown) else 1.0

    return {
        "Rank": st.column_config.NumberColumn("#", width=40),
        "Path": st.column_config.TextColumn(
            width=_PATH_WIDTH_PX,
            help="Repeated steps are written once with ×n; long paths are cut in the middle (the download and the "
            "path picker below have every step).",
        ),
        "Customers": st.column_config.NumberColumn(
            format="localized", width=85, help="Unique customers (journeys) following this path."
        ),
        "Share": st.column_config.ProgressColumn(
            format=RATE_FORMAT,
            step=PERCENT_STEP,
            min_value=0.0,
            max_value=top_share or 1.0,
            width=_BAR_WIDTH_PX,
            help="Share of the selected customers; bars are scaled to the most common path.",
        ),
        "Conversion": st.column_config.NumberColumn(
            format=RATE_FORMAT,
            step=PERCENT_STEP,
            width=90,
            help="Customers who did a goal touchpoint ÷ every customer of the path.",
        ),
        "Churn": st.column_config.NumberColumn(
            format=RATE_FORMAT,
            step=PERCENT_STEP,
            width=65,
            help="Churned ÷ decided customers of the path (censored ones left out); empty while more than half of "
            "them are still open.",
        ),
        duration: st.column_config.NumberColumn(
            f"Duration ({unit})", format="%.1f", width=95, help=f"Median time from first to last step, in {unit}."
        ),
        "Steps": st.column_config.NumberColumn(width=55, help="Events in the path (before merging repeats)."),
        "Cumulative coverage": st.column_config.NumberColumn(
            "Coverage",
            format=RATE_FORMAT,
            step=PERCENT_STEP,
            width=85,
            help="Share of customers following this path or a more common one.",
        ),
    }


def variant_column_order(shown: pd.DataFrame) -> list[str]:
    """Return the columns the page shows: all but the full path, which the downloads keep."""
    return [name for name in shown.columns if name != FULL_PATH]


def customers_column_config() -> dict[str, object]:
    """Return the column setup of `customers_table`: instants to the minute, counts thousands-separated."""
    instant = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
    return {"Start (UTC)": instant, "End (UTC)": instant, "Events": st.column_config.NumberColumn(format="localized")}


def customers_column_order(shown: pd.DataFrame) -> list[str]:
    """Return the columns the page shows: a path's customers share their first and last touchpoint, so those
    columns would only repeat the path picked above; the downloads keep them."""
    return [name for name in shown.columns if name not in _SAME_ON_A_PATH]


def customers_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Return a variant's customers as the page shows and downloads them."""
    unit, durations = _duration_column(customers["duration_seconds"])
    return pd.DataFrame(
        {
            "Customer": customers["case_id"],
            "First touchpoint": customers["first_activity"],
            "Last touchpoint": customers["last_activity"],
            "Start (UTC)": customers["start_time"],
            "End (UTC)": customers["end_time"],
            "Events": customers["events"],
            f"Duration ({unit})": durations.round(2),
            "Outcome": customers["outcome"].map(OUTCOME_LABELS),
        }
    )


def rates_caption(definition: JourneyDefinition) -> str:
    """Return what conversion and churn mean under `definition`, for the table's caption."""
    return plain(f"{definition.rules_in_words()} Change the journey definition on the Journey definition page.")


def paths_caption(flows: PathFlows, steps: int) -> str:
    """Return what the Sankey counts: unique customers, how many reach each step, what the grey nodes mean."""
    if flows.direction == "between":
        return plain(
            f"Link widths are unique customers. Of the {flows.customers:,} customers who did {flows.anchor}, "
            f"{flows.reached[0]:,} went on to {flows.target} within {steps} steps; each is drawn from their first "
            f"{flows.anchor} to their first {flows.target} after it. Less common steps are grouped as {OTHER_LABEL}."
        )
    boundary = END_LABEL if flows.direction == "after" else START_LABEL
    ends = "the journey ended" if flows.direction == "after" else "the journey started"
    return plain(
        f"Link widths are unique customers. {flows.customers:,} customers did {flows.anchor} (counted from their "
        f"first time); {flows.reached[-1]:,} have {steps} steps {flows.direction} it. {boundary} means {ends}; "
        f"less common steps are grouped as {OTHER_LABEL}."
    )


def _link_columns(flows: PathFlows) -> tuple[pd.Series, pd.Series]:
    """Return the column (steps from the anchor, negative before it) of each link's source and target."""
    step = flows.links["step"].astype("int64")
    if flows.direction == "before":
        return -step, -(step - 1)
    return step - 1, step


def _node_colour(label: str, flows: PathFlows, palette: dict[str, str]) -> str:
    if label in (flows.anchor, flows.target):
        return _ANCHOR_COLOUR
    if label == OTHER_LABEL:
        return _OTHER_COLOUR
    if label in _BOUNDARY_LABELS:
        return _BOUNDARY_COLOUR
    return palette[label]


def _translucent(colour: str) -> str:
    red, green, blue = unlabel_rgb(colour)
    return f"rgba({red:g}, {green:g}, {blue:g}, {_LINK_OPACITY})"


def _spread(values: pd.Series) -> pd.Series:
    """Map values into [margin, 1 - margin]; Plotly misplaces nodes sitting exactly on 0."""
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low) if high > low else values * 0 + 0.5
    return _NODE_MARGIN + scaled * (1 - 2 * _NODE_MARGIN)


def _nodes(flows: PathFlows) -> pd.DataFrame:
    """Return one node per (column, label) with its customers and its place: columns by step, big flows on top."""
    source_column, target_column = _link_columns(flows)
    links = flows.links
    ends = pd.concat(
        [
            pd.DataFrame({"column": source_column, "label": links["source"], "out": links["customers"], "in": 0}),
            pd.DataFrame({"column": target_column, "label": links["target"], "out": 0, "in": links["customers"]}),
        ]
    )
    nodes = ends.groupby(["column", "label"], as_index=False)[["in", "out"]].sum()
    nodes["customers"] = nodes[["in", "out"]].max(axis=1)
    # Grouped and boundary nodes go to the bottom of their column, the others by customers.
    nodes["is_grey"] = nodes["label"].isin([OTHER_LABEL, *_BOUNDARY_LABELS])
    nodes = nodes.sort_values(["column", "is_grey", "customers", "label"], ascending=[True, True, False, True])
    # Plotly draws every column at the scale of the tightest one, with a fixed gap between nodes: so do we.
    plot_px = _SANKEY_HEIGHT_PX - _SANKEY_MARGINS_PX["t"] - _SANKEY_MARGINS_PX["b"]
    within = nodes.groupby("column")["customers"]
    gaps = within.transform("size") - 1
    px_per_customer = ((plot_px - gaps * _NODE_PAD_PX) / within.transform("sum")).min()
    centre_px = (within.cumsum() - nodes["customers"] / 2) * px_per_customer + within.cumcount() * _NODE_PAD_PX
    nodes["y"] = (centre_px / plot_px).clip(_NODE_MARGIN, 1 - _NODE_MARGIN)
    nodes["x"] = _spread(nodes["column"].astype("float64"))
    return nodes.reset_index(drop=True)


def _column_title(column: int, flows: PathFlows) -> str:
    if column == 0:
        return flows.anchor
    if flows.direction == "between":
        return f"step {column}"
    steps = abs(column)
    return f"{steps} step{'s' if steps > 1 else ''} {flows.direction}"


def sankey_figure(flows: PathFlows) -> go.Figure:
    """Return the Sankey of `flows`: a column per step from the anchor, link widths in unique customers.

    The same activity keeps its colour in every column; the anchor (and target) are dark, "(other)" and the
    journey's start or end grey. Nodes are placed by hand because Plotly would push every "(end)" to the right.
    """
    nodes = _nodes(flows)
    palette_order = nodes.groupby("label")["customers"].sum().sort_values(ascending=False, kind="stable").index
    palette = {label: _ACTIVITY_COLOURS[i % len(_ACTIVITY_COLOURS)] for i, label in enumerate(palette_order)}
    colours = nodes["label"].map(lambda label: _node_colour(label, flows, palette))
    index = pd.Series(nodes.index, index=pd.MultiIndex.from_frame(nodes[["column", "label"]]))
    source_column, target_column = _link_columns(flows)
    sources = index.reindex(pd.MultiIndex.from_arrays([source_column, flows.links["source"]])).to_numpy()
    targets = index.reindex(pd.MultiIndex.from_arrays([target_column, flows.links["target"]])).to_numpy()
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": nodes["label"].map(plotly_text).tolist(),
                "x": nodes["x"].tolist(),
                "y": nodes["y"].tolist(),
                "color": colours.tolist(),
                "pad": _NODE_PAD_PX,
                "thickness": 14,
                "hovertemplate": "%{label}<br>%{value:,} customers<extra></extra>",
            },
            # Dark text in a white halo stays readable where a label lies over a band.
            textfont={"color": _LABEL_COLOUR, "shadow": _LABEL_HALO},
            link={
                "source": sources.tolist(),
                "target": targets.tolist(),
                "value": flows.links["customers"].tolist(),
                "color": colours.iloc[sources].map(_translucent).tolist(),
                "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,} customers<extra></extra>",
            },
        )
    )
    columns = nodes.drop_duplicates("column")
    for column, x in zip(columns["column"], columns["x"], strict=True):
        figure.add_annotation(
            x=x,
            y=1.0,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            text=plotly_text(_column_title(column, flows)),
            showarrow=False,
        )
    figure.update_layout(height=_SANKEY_HEIGHT_PX, margin=_SANKEY_MARGINS_PX, font={"size": 12})
    return figure
