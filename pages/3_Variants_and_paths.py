"""Variants & paths: the journeys customers actually take, most common first, and the paths around a touchpoint."""

from __future__ import annotations

import streamlit as st

import ui
from data import Filters
from ui import variants
from ui.customers import customer_link
from ui.definition import definition_banner

SHOWN_OPTIONS = (10, 25, 50, 100, 250, 500)
CUSTOMERS_SHOWN = 1000  # a path's customers listed on the page; the downloads hold every one

st.set_page_config(page_title="Variants & paths · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Variants & paths")
st.markdown(
    "A **variant** is one exact sequence of touchpoints. See which sequences most customers follow, how each "
    "converts or churns, who follows it, and where customers go before, after or between chosen touchpoints."
)
if dataset is None:
    ui.stop_without_log(
        "Open the demo, or import your own log to see its variants.",
        "variants",
    )
filters = ui.filter_bar(dataset)

if filters.variant_ids is not None:
    st.info(
        f"Every page now shows only {ui.plain(filters.describe())}. Show every path again to see the other variants.",
        icon=":material/filter_alt:",
    )
    st.button("Show every path", on_click=variants.set_variant_filter, args=(filters, None), key="every-path")

controls = st.columns([2, 2, 3])
shown = controls[0].select_slider(
    "Paths to show", SHOWN_OPTIONS, value=25, key="shown", bind="query-params", help="The most common paths first."
)
collapse = controls[1].toggle(
    "Merge repeated steps",
    key="merge",
    bind="query-params",
    help="Treat A → B → B → C as A → B → C, so paths that differ only by repeats count as one.",
)
with ui.reported_errors():
    summary = ui.dataset_summary(dataset.id, filters)
    table = variants.variants(dataset.id, filters, limit=shown, collapse_repeats=collapse)
definition = definition_banner(dataset.id)
if table.cases == 0:
    st.info(f"No customer matches: {ui.plain(filters.describe())}. Widen the filters in the sidebar, or reset them.")
    st.stop()

metrics = st.columns(3)
metrics[0].metric("Customers (unique journeys)", f"{table.cases:,}")
metrics[1].metric("Journey variants (distinct paths)", f"{summary.variants:,}")
metrics[2].metric(f"Customers covered by the {len(table.frame):,} paths shown", f"{table.covered_share:.1%}")
shown_table = variants.variants_table(table)
ui.show_table(
    shown_table,
    "variants",
    column_config=variants.variant_column_config(shown_table),
    column_order=variants.variant_column_order(shown_table),
)
st.caption(f"{ui.plain(filters.describe(sentence_start=True))}. {variants.rates_caption(definition)}")

st.subheader("Who follows a path")
frame = table.frame
choices = variants.variant_choices(table)
rank = st.selectbox(
    "Path",
    range(len(choices)),
    format_func=choices.__getitem__,
    key="path",
    bind="query-params",
)
chosen = frame.iloc[rank]
st.text(variants.ARROW.join(chosen["activities"]))
st.button(
    "Show only this path on every page",
    on_click=variants.set_variant_filter,
    args=(filters, chosen["variant_ids"]),
    icon=":material/filter_alt:",
    help="Adds the path to the sidebar filters and the page's link: the journey map, stages and personas then "
    "show only these customers. 'Reset filters' in the sidebar undoes it.",
)
with ui.reported_errors():
    customers = variants.variant_customers(dataset.id, chosen["variant_ids"], filters)
customers_shown = variants.customers_table(customers)
ui.show_table(
    customers_shown,
    f"path-{rank + 1}-customers",
    shown_rows=CUSTOMERS_SHOWN,
    column_config=variants.customers_column_config(),
    column_order=variants.customers_column_order(customers_shown),
)
if not customers.empty:
    customer_link(str(customers["case_id"].iloc[0]), narrowed=Filters(variant_ids=chosen["variant_ids"]))

st.subheader("Paths around a touchpoint")
direction = st.radio(
    "Show paths",
    list(variants.PATH_DIRECTIONS),
    format_func=variants.PATH_DIRECTIONS.get,
    horizontal=True,
    key="around",
    bind="query-params",
)
options = variants.touchpoints(dataset.id)
pickers = st.columns([3, 3, 2, 2])
anchor = pickers[0].selectbox(
    "From" if direction == "between" else "Touchpoint", options, key="anchor", bind="query-params"
)
target = None
if direction == "between":
    target = pickers[1].selectbox("To", options, index=min(1, len(options) - 1), key="to", bind="query-params")
steps = pickers[2].slider(
    "Steps",
    1,
    10 if direction == "between" else 6,
    5 if direction == "between" else 3,
    key=f"steps_{direction}",
    bind="query-params",
)
top = pickers[3].slider(
    "Touchpoints per step", 2, 15, 6, key="per_step", bind="query-params", help="The others are grouped as (other)."
)
with ui.reported_errors():
    flows = variants.path_flows(dataset.id, filters, anchor, direction, steps, top, target)
if flows.links.empty:
    st.info(
        ui.plain(f"No selected customer goes from {anchor} to {target} within {steps} steps. Allow more steps or pick ")
        + "other touchpoints."
        if direction == "between"
        else ui.plain(f"No selected customer did {anchor}. Pick another touchpoint or widen the filters.")
    )
    st.stop()
st.plotly_chart(variants.sankey_figure(flows), key="paths-sankey")
st.caption(variants.paths_caption(flows, steps))
