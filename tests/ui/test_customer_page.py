"""The Customer journey page: the customers of a figure, one by one, as the library reads them; and its pure
builders on a hand-made journey."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Filters, Store
from data.engine import Engine
from discovery import customer_journey, customers_behind, suggest_definition
from tests.discovery.test_customers import DEFINITION, LOG
from tests.ui.apptest import metrics, open_page, widget
from ui.customers import (
    LABELS_PER_LANE,
    _spaced_labels,
    customers_table,
    journey_facts,
    journey_table,
    timeline_figure,
)

PAGE = "pages/7_Customer_journey.py"


@pytest.fixture
def anna(settings):
    with Engine.from_frame(LOG, settings) as engine:
        return customer_journey(engine, "anna", DEFINITION), customers_behind(engine, DEFINITION, touchpoint="buy")


def test_a_journey_reads_in_words(anna) -> None:
    journey, _ = anna
    assert journey_facts(journey, DEFINITION.stages.stages) == {
        "Outcome": "converted, churned",
        "Events": "4",
        "Journey duration": "3h 10min",
        "Longest silence": "2h",
        "Stages with a step": "3 of 5",
    }
    table = journey_table(journey)
    assert table["Touchpoint"].tolist() == ["visit", "call", "buy", "cancel"]
    assert table["Marked"].tolist() == ["", "", "goal", "churn"]
    assert table["After the previous step"].tolist()[1:] == ["10min", "1h", "2h"]
    assert table["region"].tolist() == ["north"] * 4


def test_the_customers_of_a_figure_read_in_words(anna) -> None:
    _, bought = anna
    table = customers_table(bought)
    assert table.to_dict("records") == [
        {
            "Customer": "anna",
            "First event (UTC)": "2025-01-06 09:00",
            "Last event (UTC)": "2025-01-06 12:10",
            "Events": 4,
            "Journey duration": "3h 10min",
            "Outcome": "converted, then churned",
        },
        {
            "Customer": "bob",
            "First event (UTC)": "2025-01-06 09:00",
            "Last event (UTC)": "2025-01-06 09:30",
            "Events": 2,
            "Journey duration": "30min",
            "Outcome": "converted (stayed)",
        },
    ]


def test_the_timeline_has_a_point_per_event_by_stage_and_channel(anna) -> None:
    journey, _ = anna
    figure = timeline_figure(journey, DEFINITION.stages.stages)
    points = [trace for trace in figure.data if trace.mode == "markers+text"]
    assert [trace.name for trace in points] == ["web", "phone", "store"]
    assert sum(len(trace.x) for trace in points) == 4
    assert list(points[1].y) == ["consideration", "(no stage)"]
    assert list(points[2].marker.symbol) == ["star"]


def test_touchpoint_names_along_a_lane_are_spaced_so_they_never_pile_up() -> None:
    # 75 events in 66 days, most of them within one day: at most one name per tenth of the span in each lane.
    times = pd.Series(
        pd.to_datetime(
            ["2025-01-01"] * 30 + ["2025-01-02"] * 30 + ["2025-03-01", "2025-03-08"] * 7 + ["2025-03-08"], utc=True
        )
    ).sort_values(ignore_index=True)
    lane = pd.Series(["discovery", "consideration"] * 37 + ["discovery"])
    labelled = _spaced_labels(times, lane)
    assert labelled.sum() <= 2 * (LABELS_PER_LANE + 1)
    # each lane's name is written on 1 January, not on 2 January (a day is a 66th of the span, less than a tenth),
    # then on 1 March and on 8 March (a week later, more than a tenth)
    named = pd.DataFrame({"day": times.dt.day_of_year, "lane": lane})[labelled]
    assert named.groupby("lane")["day"].apply(list).to_dict() == {
        "consideration": [1, 60, 67],
        "discovery": [1, 60, 67],
    }


@pytest.fixture
def demo(demo_copy) -> tuple[Store, Dataset]:
    return demo_copy


def open_customers(dataset: Dataset, **params: str) -> AppTest:
    return open_page(PAGE, dataset=dataset.id, **params)


def test_a_step_of_the_map_opens_its_customers_one_by_one(demo) -> None:
    store, dataset = demo
    app = open_customers(dataset, step='["compare_offers", "check_coverage"]')
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        found = customers_behind(engine, definition, step=("compare_offers", "check_coverage"))
        first = customer_journey(engine, found.customers["case_id"].iloc[0], definition)
        second_id = found.customers["case_id"].iloc[1]
    picker = widget(app.selectbox, f"Customer ({found.total:,} listed)")
    assert picker.value == first.case_id
    assert metrics(app) == journey_facts(first, definition.stages.stages)
    assert app.dataframe[0].value["Touchpoint"].tolist() == first.events["activity"].tolist()
    widget(app.button, "Next →").click().run()
    assert not app.exception
    assert app.query_params["customer"] == second_id
    assert widget(app.selectbox, f"Customer ({found.total:,} listed)").value == second_id


def test_a_link_to_one_customer_opens_that_customer(demo) -> None:
    _, dataset = demo
    app = open_customers(dataset, customer="TEL-000042")
    assert not app.exception
    assert widget(app.selectbox, "Customer (1,000 listed of 3,000)").value == "TEL-000042"


def test_filters_in_the_link_narrow_the_customers(demo) -> None:
    store, dataset = demo
    app = open_customers(dataset, channels='["store"]', did="visit_store")
    with store.engine(dataset.id) as engine:
        found = customers_behind(
            engine, suggest_definition(engine), Filters(channels={"store"}), touchpoint="visit_store"
        )
    assert not app.exception
    expected = f"Customers who did visit\\_store among customers who used store: {found.total:,}"
    assert any(expected in caption.value for caption in app.caption)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"step": "[not json"}, "The link's step cannot be read."),
        ({"did": "teleport"}, "The log has no touchpoint of this name."),
        ({"customer": "nobody"}, "The log has no customer of this id."),
    ],
)
def test_a_link_that_names_nothing_in_the_log_says_what_to_fix(demo, params: dict, problem: str) -> None:
    _, dataset = demo
    app = open_customers(dataset, **params)
    assert not app.exception
    shown = [*(error.value for error in app.error), *(str(table.value.to_numpy()) for table in app.dataframe)]
    assert any(problem in text for text in shown), shown
