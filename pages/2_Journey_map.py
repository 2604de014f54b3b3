"""Journey map: the paths customers actually take, by stage, with churn points; and the mined process model."""

from __future__ import annotations

from functools import partial

import streamlit as st

import ui
from data import Dataset, Filters
from discovery import ALGORITHMS, METRICS, JourneyDefinition, to_bpmn_xml
from ui import actions, customers, journey
from ui.definition import definition_banner
from ui.graph_view import show_graph, show_graph_downloads

st.set_page_config(page_title="Journey map · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()
st.title("Journey map")
if dataset is None:
    ui.stop_without_log(
        "Open the demo, or import your own log, to see the journeys your customers take.",
        "journey-map",
    )
filters = ui.filter_bar(dataset)

with ui.reported_errors():
    selected = ui.dataset_summary(dataset.id, filters)
definition = definition_banner(dataset.id)
if selected.cases == 0:
    st.info(
        f"No customer matches: {ui.plain(filters.describe())}. "
        "Widen the time window or reset the filters in the sidebar."
    )
    st.stop()

map_tab, model_tab = st.tabs(["Journey map", "Process model"], key="view", on_change="rerun", bind="query-params")


@st.fragment
def map_view(dataset: Dataset, filters: Filters, definition: JourneyDefinition) -> None:
    """The map and its close-up: a slider, the metric or a click reruns them only, not the sidebar and the page."""
    with ui.reported_errors():
        first_share = journey.first_touchpoint_share(dataset.id, filters, definition)
    metric_column, activity_column, path_column = st.columns([3, 1, 1])
    metric = metric_column.radio(
        "Label the paths with",
        METRICS,
        format_func=journey.METRIC_LABELS.get,
        horizontal=True,
        key="metric",
        bind="query-params",
        help="Frequency: customers or events on each path. Performance: time between the two steps.",
    )
    activity_share = activity_column.slider(
        "Touchpoints shown",
        10,
        100,
        first_share,
        step=5,
        format="%d%%",
        key="touchpoints",
        bind="query-params",
        help="Keep the touchpoints most customers do, until they cover this share of what customers do.",
    )
    path_share = path_column.slider(
        "Paths shown",
        10,
        100,
        journey.PATH_SHARE,
        step=5,
        format="%d%%",
        key="paths",
        bind="query-params",
        help="Keep the paths most customers take, until they cover this share of all moves; every kept "
        "touchpoint keeps its strongest way in and out.",
    )
    with ui.reported_errors():
        drawn = journey.map_of(dataset.id, filters, definition, activity_share / 100, path_share / 100)
        dot, _ = journey.map_layout(journey.map_dot(drawn, metric))
    elements = journey.map_elements(drawn)
    chosen_key = "open"
    if st.session_state.get(chosen_key) not in elements:
        st.session_state[chosen_key] = None
    st.image(journey.map_legend(drawn.stages, metric), width="content")
    show_graph(
        dot,
        key=f"journey-map-{dataset.id}",
        label="Journey map",
        hover=journey.map_hover(drawn),
        selected=elements.get(st.session_state[chosen_key]),
        on_select=partial(journey.choose_element, chosen_key, elements),
    )
    st.caption(journey.map_caption(drawn, metric))
    show_graph_downloads(dot, f"journey-map-{dataset.id}")

    st.subheader("Up close")
    chosen = st.selectbox(
        "Touchpoint or step",
        list(elements),
        index=None,
        placeholder="Click a box or an arrow of the map, or choose one here",
        key=chosen_key,
        bind="query-params",
        help="Click a box or an arrow of the map, or choose it here: touchpoints most customers first, then steps.",
    )
    if chosen is None:
        # Nothing opened until asked: a first view without the close-up's tables is drawn without loading the
        # browser's table code (1.2 MB of JavaScript, half a second of a new session, issue 16).
        st.caption("Its customers, where they came from and went, churn, comments and actions show here.")
        return
    element_id = elements[chosen]
    touchpoint, step = journey.map_element(drawn, element_id)
    if touchpoint is not None:
        with ui.reported_errors():
            full_map = journey.full_map_of(dataset.id, filters, definition)
            churn = ui.churn_figures(dataset.id, filters, definition)
        journey.show_activity_detail(full_map, churn, touchpoint)
    else:
        facts = journey.step_facts(drawn, element_id)
        for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
            column.metric(label, value)
    actions.show_act_on(dataset.id, actions.map_target(touchpoint, step))
    ui.comments_panel(dataset.id, *ui.comment_target(touchpoint, step))
    with ui.reported_errors():
        customers.show_customers_behind(
            dataset.id, filters, definition, touchpoint=touchpoint, step=step, stem=f"customers-{element_id}"
        )


if map_tab.open:
    with map_tab:
        map_view(dataset, filters, definition)

if model_tab.open:
    with model_tab:
        algorithm_column, noise_column = st.columns(2)
        algorithm = algorithm_column.radio(
            "Miner",
            ALGORITHMS,
            format_func=journey.ALGORITHM_LABELS.get,
            horizontal=True,
            key="miner",
            bind="query-params",
            help="Inductive: a sound, block-structured model. Heuristics: the frequent behaviour, less tidy.",
        )
        noise = noise_column.slider(
            "Noise filter",
            0.0,
            1.0,
            0.2,
            step=0.05,
            key="noise",
            bind="query-params",
            help="Higher values leave out rare behaviour, for a simpler model.",
        )
        with ui.reported_errors():
            mined = journey.process_model(dataset.id, filters, algorithm, noise)
            facts = journey.model_facts(mined)
            diagram = journey.bpmn_to_dot(to_bpmn_xml(mined))
        for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
            column.metric(label, value)
        show_graph(diagram, key=f"process-model-{dataset.id}", label="Process model (BPMN)")
        st.caption(
            "BPMN: boxes are touchpoints; × gateways choose one way, + gateways open or join steps done in any "
            f"order. The miner reads the most frequent journey variants, which hold the customers counted above out of "
            f"{mined.total_cases:,} selected."
        )
        journey.show_model_downloads(mined, f"process-model-{dataset.id}")

# Drawn: the browser may now load the chart code of the other analysis pages, which all draw charts.
ui.preload_charts()
