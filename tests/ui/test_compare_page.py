"""The Compare page, run as Streamlit runs it, and its pure builders: segments, the comparison, the map difference."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Filters, Settings, Store
from data.importing import import_demo
from discovery import ChurnDefinition, journey_outcomes, suggest_stages
from segmentation import attribute_segments, compare_segments
from tests.ui.apptest import APP, TIMEOUT_SECONDS, widget
from ui.compare import COLOURS, difference_dot, kpi_table

PAGE = "pages/6_Compare.py"


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def open_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def shown_metrics(app: AppTest) -> list[tuple[str, str]]:
    return [(metric.label, metric.value) for metric in app.metric]


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.get("page_link")] == ["Import a log"]


def test_two_attribute_values_are_compared_as_the_library_compares_them(store: Store) -> None:
    demo = import_demo(store)
    app = open_page(dataset=demo.id)
    assert not app.exception
    with store.engine(demo.id) as engine:
        plans = attribute_segments(engine, "plan")
        model = suggest_stages(engine)
        first, second = plans.value_counts().index[:2]
        a, b = (Filters(case_ids=frozenset(plans.index[plans == value])) for value in (first, second))
        stage_of = {activity: stage for stage in model.stages for activity in model.activities_in(stage)}
        expected = compare_segments(
            engine, a, b, outcomes=journey_outcomes(engine, model, ChurnDefinition()), stage_of=stage_of
        )
    assert shown_metrics(app) == [
        (f"Customers in A (plan = {first})", f"{expected.customers_a:,}"),
        (f"Customers in B (plan = {second})", f"{expected.customers_b:,}"),
        ("Customers in both", "0"),
    ]
    pd.testing.assert_frame_equal(app.dataframe[0].value, kpi_table(expected), check_dtype=False)
    assert len(app.get("plotly_chart")) == 1
    assert app.get("graphviz_chart")


def test_the_current_filters_saved_as_a_segment_can_be_compared(store: Store) -> None:
    demo = import_demo(store)
    app = open_page(dataset=demo.id, channels='["store"]')
    widget(app.text_input, "Segment name").input("Store customers")
    widget(app.button, "Save the current filters as a segment").click().run()
    assert store.annotation(demo.id, "segment", "Store customers") == {"filters": {"channels": '["store"]'}}
    for side in "AB":
        app.radio(key=f"compare-kind-{side}").set_value("Saved segment")
    app.run()
    assert not app.exception
    with store.engine(demo.id) as engine:
        customers = engine.summary(Filters(channels={"store"})).cases
    assert shown_metrics(app) == [
        ("Customers in A (Store customers)", f"{customers:,}"),
        ("Customers in B (Store customers)", f"{customers:,}"),
        ("Customers in both", f"{customers:,}"),
    ]
    assert app.warning[0].value.startswith("The segments share customers")


def test_a_page_without_saved_personas_says_where_to_make_them(store: Store) -> None:
    demo = import_demo(store)
    app = open_page(dataset=demo.id)
    app.radio(key="compare-kind-A").set_value("Persona").run()
    assert not app.exception
    assert app.info[0].value.startswith("No persona run is saved yet")
    assert not app.metric


def test_the_map_difference_colours_edges_by_segment_and_bolds_significant_ones() -> None:
    edges = pd.DataFrame(
        {
            "source": ["visit", "visit", "call"],
            "target": ["buy", 'say "hi"', "cancel"],
            "share_a": [0.5, 0.4, 0.0],
            "share_b": [0.5, 0.0, 0.2],
            "presence": ["common", "A only", "B only"],
            "significant": [False, True, False],
        }
    )
    lines = [line.strip() for line in difference_dot(edges).splitlines()]
    assert 'n3 [label="say \\"hi\\""];' in lines
    drawn = [line for line in lines if "->" in line]
    assert [line.split(" [")[0] for line in drawn] == ["n0 -> n2", "n0 -> n3", "n1 -> n4"]
    colours = [COLOURS["common"], COLOURS["A only"], COLOURS["B only"]]
    assert all(f'color="{colour}"' in line for line, colour in zip(drawn, colours, strict=True))
    assert ['style="bold"' in line for line in drawn] == [False, True, False]
    assert 'label="A 40% · B 0%"' in drawn[1]
    assert difference_dot(edges, max_edges=1).count("->") == 1
