"""Compare: any two segments side by side — KPIs with significance, funnels, the map difference, the variants."""

from __future__ import annotations

import streamlit as st

import ui
from ui import compare

st.set_page_config(page_title="Compare · Parcours", page_icon="🧭", layout="wide")
dataset = ui.dataset_picker()

st.title("Compare segments")
if dataset is None:
    ui.stop_without_log(
        "Open the demo or import a log, then come back to compare groups of customers.",
        "compare",
    )
filters = ui.filter_bar(dataset)
st.markdown(
    "Pick two groups of customers — a persona of a saved run, an attribute value, or a saved segment — and see "
    "where they differ. Differences are tested, and the p-values corrected for the number of tests."
)

segments = {}
with ui.reported_errors():
    for side, column in zip("AB", st.columns(2), strict=True):
        with column.container(border=True):
            segments[side] = compare.segment_picker(dataset.id, side, filters)
with st.expander("Save the current filters as a segment"), ui.reported_errors():
    compare.save_segment_form(dataset.id)
if None in segments.values():
    st.stop()

with ui.reported_errors(), st.spinner("Comparing the segments…"):
    definition = ui.journey_definition(dataset.id)
    result = compare.comparison(dataset.id, segments["A"].filters, segments["B"].filters, definition)
names = {side: segment.name for side, segment in segments.items()}

columns = st.columns(3)
columns[0].metric(f"Customers in A ({names['A']})", f"{result.customers_a:,}")
columns[1].metric(f"Customers in B ({names['B']})", f"{result.customers_b:,}")
columns[2].metric("Customers in both", f"{result.customers_in_both:,}")
if result.customers_in_both:
    st.warning("The segments share customers: the tests assume they do not, so read the p-values with care.")

st.subheader("Key figures")
ui.show_table(compare.kpi_table(result), "compare-kpis", column_config=compare.P_VALUE_FORMAT)

st.subheader("Stage funnels")
if result.funnel.empty:
    st.info("This log has no stages yet: map touchpoints to stages on the Stages page to compare funnels.")
else:
    st.plotly_chart(compare.funnel_figure(result, names), width="stretch")

st.subheader("Map difference")
st.markdown(
    f":blue[**A only**] · :orange[**B only**] · :gray[**common**] — bold: a significant difference. "
    f"The {compare.MAX_MAP_EDGES} most used transitions are drawn."
)
st.graphviz_chart(compare.difference_dot(result.edges), width="stretch")

st.subheader("Variants whose share differs most")
ui.show_table(compare.variants_table(result), "compare-variants", column_config=compare.P_VALUE_FORMAT)
