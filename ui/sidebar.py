"""The shared sidebar: which stored log a page shows, and which of its journeys.

Both live in the URL (`?dataset=<id>&channels=["store"]…`), so a copied link reopens the same view
for a teammate. Streamlit drops the query parameters when the user follows the page navigation, so
the last view is also kept in the session and put back on a page opened without any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial

import pandas as pd
import streamlit as st

from data import Dataset, Filters, LogError, import_demo
from data.filters import WINDOW
from ui.auth import account_box
from ui.downloads import ExportStamp, current_stamp, stamp_exports
from ui.errors import reported_errors, show_error
from ui.logs import unreadable_log
from ui.markup import plain
from ui.navigation import IMPORT_PAGE, navigation
from ui.params import (
    ATTRIBUTE_PREFIX,
    DATASET_PARAM,
    PERSONA_PARAM,
    current_view,
    filters_from_params,
    filters_to_params,
    is_filter_param,
    persona_from_param,
    show_dataset,
    write_view,
)
from ui.personas import persona_members, persona_options, saved_runs, with_customers
from ui.state import attribute_columns, attribute_values, channels, definition_version, settings, store
from ui.views import view_saver
from ui.warmup import warm_up_server
from ui.workspace import workspace_picker

__all__ = [
    "dataset_picker",
    "filter_bar",
    "filterable_attributes",
    "open_demo_button",
    "stop_without_log",
    "window_bounds",
]

_FILTER_WIDGET_PREFIX = "filter-"
# The sidebar widget of each condition the filter bar edits (attributes are handled by name).
_WIDGET_OF = {WINDOW: "window", "channels": "channels"}
# Attributes holding instants cannot round-trip through the URL's JSON with their type, so they are not offered.
_TEMPORAL_TYPES = ("DATE", "TIME", "INTERVAL")


def filterable_attributes(attribute_types: dict[str, str]) -> list[str]:
    """Return the attributes the filter bar offers: every one whose values are text, numbers or booleans."""
    return [name for name, kind in attribute_types.items() if not any(word in kind for word in _TEMPORAL_TYPES)]


def dataset_picker() -> Dataset | None:
    """Show the stored logs in the sidebar and return the one the URL names (else the newest), or None.

    Every page calls this first: it stamps the run's downloads with the log (`filter_bar` adds the filters).
    """
    warm_up_server()
    stamp_exports(ExportStamp())
    navigation()
    view = current_view()
    with reported_errors():
        user_store = store()
        every = user_store.datasets()
        workspaces = user_store.workspaces()
    account_box(settings(), user_store.user)
    wanted = view.get(DATASET_PARAM)
    workspace = workspace_picker(workspaces, every, wanted, partial(show_dataset, None))
    if workspace is None:
        st.info(
            f"{user_store.user} is not a member of any workspace yet: ask an admin of your team to add you.",
            icon=":material/group_off:",
        )
        st.stop()
    # Only the logs of the user's workspaces are offered: a link naming any other id is answered as not stored,
    # before any cached reader (shared by every user of the server) is asked about it.
    datasets = [dataset for dataset in every if dataset.workspace_id == workspace.id]
    with st.sidebar:
        if not datasets:
            st.caption("No log is stored yet.")
            open_demo_button("sidebar")
            return None
        by_id = {dataset.id: dataset for dataset in datasets}
        ids = list(by_id)
        chosen = st.selectbox(
            "Log",
            ids,
            index=ids.index(wanted) if wanted in by_id else 0,
            format_func=lambda dataset_id: by_id[dataset_id].name,
            help="Every stored log, newest first. The choice is part of the page's URL.",
        )
        open_demo_button("sidebar")
    if wanted is not None and wanted not in by_id:
        st.warning(
            "The log named in this link is no longer stored, or not in your workspaces; showing the newest one instead."
        )
    if chosen != wanted:
        show_dataset(chosen)
    with reported_errors():
        opened = store().mark_opened(chosen)
        try:
            version = definition_version(chosen)  # the first read of the log's layout
        except LogError as error:
            unreadable_log(error, opened, datasets)
    stamp_exports(ExportStamp.of_log(opened, Filters(), version, {}))
    return opened


def open_demo_button(place: str) -> None:
    """One click stores the bundled demo (once) and shows it; `place` tells two such buttons apart. Only for the
    local user: a team's workspaces hold what its editors import."""
    if settings().auth != "local" or not st.button(
        "Open the demo", icon=":material/explore:", key=f"open-demo-{place}", help="A telecom subscriber's first year."
    ):
        return
    with reported_errors(), st.spinner("Preparing the demo journeys…"):
        demo = import_demo(store())
    show_dataset(demo.id)
    st.rerun()


def stop_without_log(what_next: str, place: str) -> None:
    """End a page run when no log is stored, saying what the page would show and how to bring a log."""
    st.info(f"No log is stored yet. {what_next}")
    open_demo_button(place)
    st.page_link(IMPORT_PAGE, label="Import a log", icon=":material/upload_file:")
    st.stop()


def filter_bar(dataset: Dataset) -> Filters:
    """Show the filters of `dataset` in the sidebar and return the journeys they keep.

    Conditions the bar does not edit (a variant chosen on another page) are kept. The Persona condition is
    in the URL as the saved run and persona (`persona=<run>:<label>`); the returned filters hold its customers.
    """
    current = _filters_in_url()
    with st.sidebar:
        st.subheader("Filters")
        start, end = _window(dataset, current)
        channel_options = _with_current(channels(dataset.id), current.channels)
        chosen_channels = []
        if channel_options:
            chosen_channels = st.multiselect(
                "Channels",
                channel_options,
                default=sorted(current.channels or (), key=str),
                key=_widget_key("channels", dataset),
                help="Keep customers who used at least one of these channels; none chosen keeps everyone.",
            )
        conditions = _attribute_conditions(dataset, current)
        persona = _persona_condition(dataset)
        st.button("Reset filters", on_click=_reset_filters, args=(dataset,), key=_widget_key("reset", dataset))
        view_saver(dataset)
    filters = replace(current, start=start, end=end, channels=frozenset(chosen_channels) or None, attributes=conditions)
    others = {name: value for name, value in _non_filter_params().items() if name != PERSONA_PARAM}
    link_params = {**filters_to_params(filters), **({} if persona is None else {PERSONA_PARAM: persona})}
    write_view({**others, **link_params})
    persona_name = None
    in_url = filters
    if persona is not None:
        with reported_errors(), st.spinner("Finding this persona's customers…"):
            filters = with_customers(filters, persona_members(dataset.id, *persona_from_param(persona)))
            persona_name = persona_options(saved_runs(dataset.id))[persona]
    # dataset_picker, which every page calls first, has read the definition version of this run.
    version = current_stamp().definition_version
    stamp_exports(ExportStamp.of_log(dataset, filters, version, link_params, persona_name))
    _active_filters(dataset, in_url, persona_name)
    return filters


def _active_filters(dataset: Dataset, filters: Filters, persona_name: str | None) -> None:
    """Show the conditions in force above the page, each with a button that removes it from every page."""
    conditions = filters.conditions()
    if not conditions and persona_name is None:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption("Filters on every page:", width="content")
        for name, phrase in conditions:
            st.button(
                plain(phrase),
                icon=":material/close:",
                key=_widget_key(f"drop-{name}", dataset),
                on_click=_drop_condition,
                args=(dataset, filters, name),
                help="Remove this filter from every page.",
            )
        if persona_name is not None:
            st.button(
                plain(f"persona {persona_name}"),
                icon=":material/close:",
                key=_widget_key("drop-persona", dataset),
                on_click=_drop_condition,
                args=(dataset, filters, PERSONA_PARAM),
                help="Show every customer again, not only this persona's.",
            )


def _drop_condition(dataset: Dataset, filters: Filters, name: str) -> None:
    """Remove one condition from the URL and from the sidebar widget that holds it."""
    persona = st.query_params.get(PERSONA_PARAM)
    if name == PERSONA_PARAM:
        persona = None
        st.session_state.pop(_widget_key("persona", dataset), None)
    else:
        filters = filters.without(name)
        if name in _WIDGET_OF:
            st.session_state.pop(_widget_key(_WIDGET_OF[name], dataset), None)
        if name.startswith(ATTRIBUTE_PREFIX):
            # The attribute widgets start again from the URL, which no longer names this one.
            column = name.removeprefix(ATTRIBUTE_PREFIX)
            for widget in ("attributes", f"attribute-{column}"):
                st.session_state.pop(_widget_key(widget, dataset), None)
    write_view(
        {
            DATASET_PARAM: dataset.id,
            **filters_to_params(filters),
            **({} if persona is None else {PERSONA_PARAM: persona}),
        }
    )


def _window(dataset: Dataset, current: Filters) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Read the 'active between' dates; the log's whole period means no condition."""
    first_day, last_day = dataset.start_time.date(), dataset.end_time.date()
    shown_start = first_day if current.start is None else current.start.tz_convert("UTC").date()
    # The window ends before `end`: the last day shown is the one just before it.
    shown_end = last_day if current.end is None else (current.end.tz_convert("UTC") - pd.Timedelta(1, "us")).date()
    picked = st.date_input(
        "Active between (UTC)",
        value=(_clamped(shown_start, first_day, last_day), _clamped(shown_end, first_day, last_day)),
        min_value=first_day,
        max_value=last_day,
        key=_widget_key("window", dataset),
        help="Keep customers with at least one event on these days.",
    )
    return window_bounds(picked, first_day, last_day)


def window_bounds(
    picked: tuple[dt.date, ...], first_day: dt.date, last_day: dt.date
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Return the [start, end) instants of whole UTC days picked, None for a bound left at the log's edge.

    A range being picked holds its first day only, which bounds the start alone.
    """
    start = end = None
    if picked and picked[0] > first_day:
        start = pd.Timestamp(picked[0], tz="UTC")
    if len(picked) > 1 and picked[1] < last_day:
        end = pd.Timestamp(picked[1], tz="UTC") + pd.Timedelta(days=1)
    return start, end


def _clamped(day: dt.date, first_day: dt.date, last_day: dt.date) -> dt.date:
    return min(max(day, first_day), last_day)


def _attribute_conditions(dataset: Dataset, current: Filters) -> dict[str, list]:
    chosen_now = dict(current.attributes)
    names = _with_current(filterable_attributes(attribute_columns(dataset.id)), chosen_now)
    if not names:
        return {}
    columns = st.multiselect(
        "Attributes",
        names,
        default=list(chosen_now),
        key=_widget_key("attributes", dataset),
        help="Filter on attributes of the log (plan, region, age band …).",
    )
    conditions = {}
    for column in columns:
        values = st.multiselect(
            column,
            _with_current(attribute_values(dataset.id, column), chosen_now.get(column)),
            default=sorted(chosen_now.get(column, ()), key=str),
            key=_widget_key(f"attribute-{column}", dataset),
        )
        if values:
            conditions[column] = values
    return conditions


def _persona_condition(dataset: Dataset) -> str | None:
    """Offer the personas of the log's saved runs; return the chosen one's `persona` parameter, or None."""
    wanted = st.query_params.get(PERSONA_PARAM)
    with reported_errors():
        options = persona_options(saved_runs(dataset.id))
    if wanted is not None and wanted not in options:
        st.warning("The persona named in this link is no longer saved; showing every customer instead.")
        wanted = None
    if not options:
        return None
    choices = [None, *options]
    return st.selectbox(
        "Persona",
        choices,
        index=choices.index(wanted),
        format_func=lambda choice: "Every customer" if choice is None else options[choice],
        key=_widget_key("persona", dataset),
        help="Keep the customers of one persona of a saved persona run (see the Personas page).",
    )


def _with_current(options: list, current) -> list:
    """Keep the values a link names among the options, even when they are not among the most common."""
    return [*options, *(value for value in sorted(current or (), key=str) if value not in options)]


def _widget_key(name: str, dataset: Dataset) -> str:
    return f"{_FILTER_WIDGET_PREFIX}{name}-{dataset.id}"


def _reset_filters(dataset: Dataset) -> None:
    for key in [key for key in st.session_state if str(key).startswith(_FILTER_WIDGET_PREFIX)]:
        del st.session_state[key]
    write_view({**_non_filter_params(), DATASET_PARAM: dataset.id})


def _filters_in_url() -> Filters:
    try:
        return filters_from_params(current_view())
    except LogError as error:
        show_error(error, file_stem="link-problems")
        return Filters()


def _non_filter_params() -> dict[str, str]:
    return {name: value for name, value in st.query_params.to_dict().items() if not is_filter_param(name)}
