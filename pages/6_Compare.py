"""Compare: any two segments side by side — headline KPIs, stage funnels, channels, the map difference, the variants —
each difference with its size, its 95 % interval, its test and the correction it is part of."""

from __future__ import annotations

import streamlit as st

import ui
from ui import compare
from ui.definition import definition_banner
from ui.graph_view import show_graph, show_graph_downloads

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
    "Pick two groups of customers — a persona of a saved run, an attribute value or range, or a saved segment — and "
    "see where they differ. Every difference comes with its size, a 95 % interval and a test; each table's tests "
    "are corrected together."
)

segments = {}
definition = definition_banner(dataset.id)
with ui.reported_errors():
    for side, column in zip("AB", st.columns(2), strict=True):
        with column.container(border=True):
            segments[side] = compare.segment_picker(dataset.id, side, filters, definition)
with st.expander("Save the current filters as a segment"), ui.reported_errors():
    compare.save_segment_form(dataset.id)
if None in segments.values():
    st.stop()

with ui.reported_errors(), st.spinner("Comparing the segments…"):
    by_behaviour = compare.compared_on_defining_behaviour(segments["A"], segments["B"])
    result = compare.comparison(dataset.id, segments["A"], segments["B"], definition, by_behaviour)
names = {side: segment.name for side, segment in segments.items()}

columns = st.columns(3)
columns[0].metric(ui.plain(f"Customers in A ({names['A']})"), f"{result.customers_a:,}")
columns[1].metric(ui.plain(f"Customers in B ({names['B']})"), f"{result.customers_b:,}")
columns[2].metric("Customers in both", f"{result.customers_in_both:,}")
for caveat in result.caveats:
    st.warning(ui.plain(caveat), icon=":material/warning:")
with st.expander("How these are tested"):
    st.markdown(compare.METHODS)

st.subheader("Key figures")
st.caption(ui.plain(result.rules))
ui.show_table(compare.kpi_table(result), "compare-kpis", column_config=compare.COLUMN_FORMATS)
st.caption(compare.family_caption(result, "kpis"))

st.subheader("Stage funnels")
if result.funnel.empty:
    st.info("No touchpoint has a stage yet: set the stages in the journey definition to compare funnels.")
else:
    st.plotly_chart(compare.funnel_figure(result, names), width="stretch")
    ui.show_table(compare.funnel_table(result), "compare-stages", column_config=compare.COLUMN_FORMATS)
    st.caption(compare.family_caption(result, "funnel"))

if not result.channels.empty:
    st.subheader("Channels")
    ui.show_table(compare.channels_table(result), "compare-channels", column_config=compare.COLUMN_FORMATS)
    st.caption(compare.family_caption(result, "channels"))

st.subheader("Map difference")
st.markdown(
    f":blue[**A only**] · :orange[**B only**] · :gray[**common**] — bold: a significant difference. "
    f"The {compare.MAX_MAP_EDGES} most used transitions are drawn."
)
difference = compare.difference_dot(result.edges)
show_graph(difference, key="compare-map-difference", label="Map difference of the two segments")
show_graph_downloads(difference, "compare-map-difference")
with st.expander(f"Every transition ({len(result.edges):,})"):
    ui.show_table(compare.edges_table(result), "compare-transitions", column_config=compare.COLUMN_FORMATS)
st.caption(compare.family_caption(result, "edges"))

st.subheader("Variants whose share differs most")
ui.show_table(compare.variants_table(result), "compare-variants", column_config=compare.COLUMN_FORMATS)
st.caption(compare.family_caption(result, "variants"))
