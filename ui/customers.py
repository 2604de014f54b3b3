"""The customers behind a figure, and one customer's journey as a timeline.

A box or an arrow of the journey map opens its customers (`show_customers_behind`): the list the library gives
(`discovery.customers_behind`, so its length is the figure on the map), to download, to filter every page to, or
to open one by one on the Customer journey page. That page reads which customers to walk through from the URL
(`?did=<touchpoint>` or `?step=["a","b"]`, the sidebar's filters, `?customer=<id>`), so a link to one customer
reopens the same list for a teammate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters, LogError, Problem
from discovery import (
    OUTCOME_LABELS,
    CustomerJourney,
    CustomersBehind,
    JourneyDefinition,
    customer_journey,
    customers_behind,
    human_duration,
)
from ui.downloads import show_table
from ui.markup import plain, plotly_text
from ui.navigation import CUSTOMER_PAGE
from ui.params import filters_to_params, is_filter_param, write_owned
from ui.state import BY_CONTENT_AND_DEFINITION, dataset_engine
from ui.tables import count_column

__all__ = [
    "CUSTOMER_PAGE",
    "CUSTOMER_PARAM",
    "behind",
    "customer_link",
    "customers_table",
    "figure_in_url",
    "figure_params",
    "journey_facts",
    "journey_of",
    "journey_table",
    "pick_customer",
    "show_customers_behind",
    "timeline_figure",
]

CUSTOMER_PARAM, TOUCHPOINT_PARAM, STEP_PARAM = "customer", "did", "step"
NO_STAGE = "(no stage)"
# The most touchpoint names written along one stage's lane of a journey's timeline (`_spaced_labels`).
LABELS_PER_LANE = 10
_CHANNEL_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
# A journey's outcome as its headline metric says it: the full label ("churned without converting") is cut there.
_OUTCOME_IN_BRIEF = {
    "converted": "converted",
    "converted_then_churned": "converted, churned",
    "churned": "churned",
    "censored": "still open",
}


@st.cache_data(show_spinner="Finding the customers…", max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def behind(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    touchpoint: str | None = None,
    step: tuple[str | None, str | None] | None = None,
) -> CustomersBehind:
    """The selected customers who did `touchpoint` or took `step` (neither: every selected customer)."""
    with dataset_engine(dataset_id) as engine:
        return customers_behind(engine, definition, filters, touchpoint=touchpoint, step=step)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def journey_of(dataset_id: str, case_id: str, definition: JourneyDefinition) -> CustomerJourney:
    """One customer's journey under the journey definition."""
    with dataset_engine(dataset_id) as engine:
        return customer_journey(engine, case_id, definition)


# --- the URL ---


def figure_params(touchpoint: str | None, step: tuple[str | None, str | None] | None) -> dict[str, str]:
    """Return the URL parameters naming the figure whose customers a page lists."""
    if touchpoint is not None:
        return {TOUCHPOINT_PARAM: touchpoint}
    if step is not None:
        return {STEP_PARAM: json.dumps(list(step), ensure_ascii=False)}
    return {}


def figure_in_url() -> tuple[str | None, tuple[str | None, str | None] | None]:
    """Return the (touchpoint, step) the URL names; raises LogError for a step that cannot be read."""
    touchpoint = st.query_params.get(TOUCHPOINT_PARAM)
    text = st.query_params.get(STEP_PARAM)
    if text is None:
        return touchpoint, None
    try:
        source, target = json.loads(text)
    except (ValueError, TypeError) as error:
        raise LogError(
            Problem("The link's step cannot be read.", fix="Open the step again from the journey map.", value=text)
        ) from error
    return touchpoint, (source, target)


def customer_link(
    case_id: str,
    *,
    narrowed: Filters | None = None,
    touchpoint: str | None = None,
    step: tuple[str | None, str | None] | None = None,
    label: str = "Open one customer",
) -> None:
    """Link to the Customer journey page on `case_id`, among the customers the page shows now, narrowed by the
    conditions of `narrowed` (a path chosen on the page) and by the figure (`touchpoint` or `step`) if any, so that
    previous and next walk through exactly the customers behind the count the link sits under."""
    kept = {
        name: value
        for name, value in st.query_params.to_dict().items()
        if name not in (TOUCHPOINT_PARAM, STEP_PARAM, CUSTOMER_PARAM)
    }
    narrowing = {} if narrowed is None else filters_to_params(narrowed)
    query = {**kept, **narrowing, **figure_params(touchpoint, step), CUSTOMER_PARAM: case_id}
    st.page_link(CUSTOMER_PAGE, label=label, icon=":material/person_search:", query_params=query)


def _filter_to_figure(filters: Filters, touchpoint: str | None, step: tuple[str | None, str | None] | None) -> None:
    """Put `filters`, narrowed to the customers behind a box or an arrow, in the URL every page's filter bar reads.

    A box keeps those who did its touchpoint; an arrow those who took its step, or who started or ended there.
    Then reruns the whole page, from the script rather than from a callback: the button may sit in a fragment (the
    journey map's), whose own rerun would leave the sidebar and every figure outside it on the old filters.
    """
    if touchpoint is not None:
        narrowed = replace(filters, with_activities={*(filters.with_activities or ()), touchpoint})
    elif step[0] is None:
        narrowed = replace(filters, start_activities={step[1]})
    elif step[1] is None:
        narrowed = replace(filters, end_activities={step[0]})
    else:
        narrowed = replace(filters, with_steps={*(filters.with_steps or ()), step})
    write_owned(filters_to_params(narrowed), is_filter_param)
    st.rerun()


# --- the customers behind a figure ---


def customers_table(found: CustomersBehind) -> pd.DataFrame:
    """Return the listed customers in words: when their journey ran, its events and duration, and its outcome."""
    customers = found.customers
    return pd.DataFrame(
        {
            "Customer": customers["case_id"].astype("str"),
            "First event (UTC)": customers["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
            "Last event (UTC)": customers["end_time"].dt.strftime("%Y-%m-%d %H:%M"),
            "Events": customers["events"].astype("int64"),
            "Journey duration": customers["duration_seconds"].map(human_duration),
            "Outcome": customers["outcome"].map(OUTCOME_LABELS),
        }
    )


def show_customers_behind(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    *,
    touchpoint: str | None = None,
    step: tuple[str | None, str | None] | None = None,
    stem: str,
) -> None:
    """List the customers behind a box (`touchpoint`) or an arrow (`step`) of the map, with what to do with them."""
    found = behind(dataset_id, filters, definition, touchpoint, step)
    st.markdown(f"**Customers who {plain(found.what)}**: {found.total:,} (unique journeys)")
    if found.total == 0:
        return
    show_table(customers_table(found), stem, column_config={"Events": count_column("Events of the journey")})
    if not found.complete:
        st.caption(f"The {len(found.customers):,} whose journeys started first are listed, of {found.total:,}.")
    with st.container(horizontal=True):
        if st.button(
            "Filter every page to these customers",
            icon=":material/filter_alt:",
            key=f"filter-to-{stem}",
            help=f"Keep only the customers who {plain(found.what)}, on every page (see the sidebar).",
        ):
            _filter_to_figure(filters, touchpoint, step)
        customer_link(str(found.customers["case_id"].iloc[0]), touchpoint=touchpoint, step=step)


def pick_customer(found: CustomersBehind, dataset_id: str) -> str:
    """Ask which listed customer to show, with previous and next buttons; keep the choice in the URL."""
    listed = found.customers["case_id"].astype("str").tolist()
    wanted = st.query_params.get(CUSTOMER_PARAM)
    if wanted is not None and wanted not in listed:
        listed = [wanted, *listed]  # a link to a customer past the first listed ones
    key = f"customer-{dataset_id}"
    if st.session_state.get(key) not in listed:
        st.session_state[key] = wanted if wanted in listed else listed[0]
    back, choice, forward = st.columns([1, 4, 1], vertical_alignment="bottom")
    position = listed.index(st.session_state[key])
    back.button("← Previous", disabled=position == 0, on_click=_move, args=(key, listed, -1), width="stretch")
    forward.button(
        "Next →", disabled=position == len(listed) - 1, on_click=_move, args=(key, listed, 1), width="stretch"
    )
    count = f"{len(listed):,} listed" + ("" if found.complete else f" of {found.total:,}")
    chosen = choice.selectbox(
        f"Customer ({count})",
        listed,
        key=key,
        help="The customers who started first are listed first.",
    )
    if st.query_params.get(CUSTOMER_PARAM) != chosen:
        st.query_params[CUSTOMER_PARAM] = chosen
    return chosen


def _move(key: str, listed: Sequence[str], by: int) -> None:
    position = listed.index(st.session_state[key]) + by
    st.session_state[key] = listed[min(max(position, 0), len(listed) - 1)]


# --- one customer ---


def journey_facts(journey: CustomerJourney, stages: Sequence[str]) -> dict[str, str]:
    """Return a customer's headline figures in words; the outcome in brief, as a metric shows "churned without
    converting" cut to "churned without co…" on a laptop (the table of their events and the lists say it in full)."""
    return {
        "Outcome": _OUTCOME_IN_BRIEF[journey.outcome],
        "Events": f"{len(journey.events):,}",
        "Journey duration": human_duration(journey.duration_seconds),
        "Longest silence": human_duration(journey.longest_gap_seconds),
        "Stages with a step": f"{len(journey.stages_done)} of {len(stages)}",
    }


def journey_table(journey: CustomerJourney) -> pd.DataFrame:
    """Return a customer's events in words, in order, with the log's attributes after them."""
    events = journey.events
    marks = pd.Series("", index=events.index, dtype="object")
    marks[events["is_goal"]] = "goal"
    marks[events["is_churn"]] = "churn"
    attributes = events.drop(
        columns=[
            "pos",
            "timestamp",
            "activity",
            "channel",
            "stage",
            "is_goal",
            "is_churn",
            "seconds_since_previous",
            "seconds_since_start",
        ]
    )
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "Step": events["pos"] + 1,
                    "Time (UTC)": events["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                    "Touchpoint": events["activity"],
                    "Channel": events["channel"],
                    "Stage": events["stage"],
                    "Marked": marks,
                    "After the previous step": events["seconds_since_previous"].map(human_duration, na_action="ignore"),
                }
            ),
            attributes,
        ],
        axis=1,
    )


def timeline_figure(journey: CustomerJourney, stages: Sequence[str]) -> go.Figure:
    """Return the journey as a timeline: one point per event, by time and stage, coloured by channel."""
    events = journey.events
    lanes = [*stages, NO_STAGE]
    lane = events["stage"].fillna(NO_STAGE).map(plotly_text)
    channel = events["channel"].fillna("(no channel)").astype("str")
    hover = [
        "<br>".join(map(plotly_text, (f"{activity} · {name}", f"{stamp:%Y-%m-%d %H:%M:%S} UTC", _after(gap))))
        for activity, name, stamp, gap in zip(
            events["activity"], channel, events["timestamp"], events["seconds_since_previous"], strict=True
        )
    ]
    labelled = _spaced_labels(events["timestamp"], lane)
    figure = go.Figure(
        go.Scatter(
            x=events["timestamp"],
            y=lane,
            mode="lines",
            line={"color": "#c3c8d0", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for position, name in enumerate(dict.fromkeys(channel)):
        rows = channel == name
        figure.add_trace(
            go.Scatter(
                x=events["timestamp"][rows],
                y=lane[rows],
                mode="markers+text",
                name=plotly_text(name),
                text=[
                    plotly_text(activity) if keep else ""
                    for activity, keep in zip(events["activity"][rows], labelled[rows], strict=True)
                ],
                textposition="top center",
                hovertext=[text for text, keep in zip(hover, rows, strict=True) if keep],
                hoverinfo="text",
                marker={
                    "size": 11,
                    "color": _CHANNEL_COLOURS[position % len(_CHANNEL_COLOURS)],
                    "symbol": [
                        "star" if goal else "x" if churn else "circle"
                        for goal, churn in zip(events["is_goal"][rows], events["is_churn"][rows], strict=True)
                    ],
                },
            )
        )
    figure.update_layout(
        height=160 + 60 * len(lanes),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"title": "Channel", "orientation": "h", "y": 1.12},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [plotly_text(name) for name in lanes[::-1]],
        },
    )
    return figure


def _spaced_labels(times: pd.Series, lane: pd.Series) -> np.ndarray:
    """Flag the events whose touchpoint is written beside its point: in each lane, one at most every
    1/`LABELS_PER_LANE` of the journey's span, the earliest first, so that names never pile up into an unreadable
    smear (a hospital journey's 75 events over 66 days); the others say theirs on hover and in the table."""
    stamps = times.to_numpy(dtype="datetime64[us]").astype(np.int64)
    gap = (stamps.max() - stamps.min()) / LABELS_PER_LANE if len(stamps) else 0
    labelled = np.zeros(len(stamps), dtype=bool)
    last_kept: dict[str, int] = {}
    for row in np.argsort(stamps, kind="stable"):
        name = lane.iloc[row]
        if name not in last_kept or stamps[row] - last_kept[name] >= max(gap, 1):
            labelled[row] = True
            last_kept[name] = stamps[row]
    return labelled


def _after(gap: float) -> str:
    return "first step" if pd.isna(gap) else f"after {human_duration(gap)}"
