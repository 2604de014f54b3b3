"""Funnels on a hand-made log: eventually and directly follows, the conversion window, ties, and the map identity."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import funnel
from tests.discovery import demo_frame, journeys

MINUTE = 60.0

# anna comes back to the site between cart and purchase; bob buys without a cart; carl fills a cart before his
# visit and again after it; dana takes 1000 minutes to fill hers; eve buys before she visits.
SHOP = journeys(
    ("anna", "visit", 0),
    ("anna", "cart", 10),
    ("anna", "visit", 20),
    ("anna", "buy", 30),
    ("bob", "visit", 0),
    ("bob", "buy", 5),
    ("carl", "cart", 0),
    ("carl", "visit", 10),
    ("carl", "cart", 20),
    ("dana", "visit", 0),
    ("dana", "cart", 1000),
    ("dana", "buy", 1010),
    ("eve", "buy", 0),
    ("eve", "visit", 5),
)


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def test_each_step_is_the_first_occurrence_after_the_previous_one(shop: Engine) -> None:
    table = funnel(shop, ["visit", "cart", "buy"]).table
    assert list(table["customers"]) == [5, 3, 2]  # cart: anna, carl, dana; buy: anna, dana
    assert list(table["conversion_from_previous"]) == [1.0, 3 / 5, 2 / 3]
    assert list(table["conversion_from_first"]) == [1.0, 3 / 5, 2 / 5]
    assert list(table["drop_off"]) == [0, 2, 1]


def test_median_times_between_steps(shop: Engine) -> None:
    table = funnel(shop, ["visit", "cart", "buy"]).table
    # visit → cart: anna 10, carl 10, dana 1000 minutes; cart → buy: anna 20, dana 10 minutes.
    assert table["median_seconds_from_previous"].tolist()[1:] == [10 * MINUTE, 15 * MINUTE]
    assert table["median_seconds_from_first"].tolist()[2] == (30 + 1010) / 2 * MINUTE
    # carl's journey starts with his first cart, 10 minutes before his visit.
    assert table["median_seconds_to_reach"].tolist()[0] == 0.0
    assert table["median_seconds_to_reach"].tolist()[1] == 20 * MINUTE


def test_the_conversion_window_starts_at_the_first_step(shop: Engine) -> None:
    within_hour = funnel(shop, ["visit", "cart", "buy"], within_seconds=60 * MINUTE)
    assert within_hour.customers == (5, 2, 1)  # dana's cart comes 1000 minutes after her visit


def test_a_step_exactly_at_the_window_edge_counts(shop: Engine) -> None:
    assert funnel(shop, ["visit", "buy"], within_seconds=30 * MINUTE).customers == (5, 2)  # anna at 30, bob at 5
    assert funnel(shop, ["visit", "buy"], within_seconds=29 * MINUTE).customers == (5, 1)


def test_directly_follows_needs_consecutive_events(shop: Engine) -> None:
    assert funnel(shop, ["visit", "cart", "buy"], directly=True).customers == (5, 3, 1)  # anna revisits before buying


def test_a_repeated_step_needs_a_second_occurrence(shop: Engine) -> None:
    assert funnel(shop, ["visit", "visit"]).customers == (5, 1)
    assert funnel(shop, ["cart", "cart"]).customers == (3, 1)


def test_equal_timestamps_keep_the_file_order(settings: Settings) -> None:
    tied = journeys(("anna", "visit", 0), ("anna", "buy", 0), ("bob", "buy", 0), ("bob", "visit", 0))
    with Engine.from_frame(tied, settings) as engine:
        assert funnel(engine, ["visit", "buy"]).customers == (2, 1)
        assert funnel(engine, ["visit", "buy"], directly=True).customers == (2, 1)


def test_a_direct_two_step_funnel_counts_the_customers_of_the_map_edge(shop: Engine) -> None:
    for edge in shop.dfg().itertuples():
        assert funnel(shop, [edge.source, edge.target], directly=True).customers[1] == edge.cases, edge


def test_the_first_step_compares_with_every_selected_customer(shop: Engine) -> None:
    cart_first = funnel(shop, ["cart", "buy"], filters=Filters(case_ids={"anna", "bob", "carl"}))
    assert cart_first.customers_selected == 3
    assert cart_first.table["conversion_from_previous"].tolist() == [2 / 3, 1 / 2]
    assert cart_first.table["drop_off"].tolist() == [1, 1]


def test_unknown_steps_are_all_reported_with_suggestions(shop: Engine) -> None:
    with pytest.raises(LogError) as caught:
        funnel(shop, ["visits", "cart", "buyy"])
    assert [problem.value for problem in caught.value.problems] == ["visits", "buyy"]
    assert "'visit'" in caught.value.problems[0].fix


def test_bad_arguments_are_all_reported(shop: Engine) -> None:
    with pytest.raises(LogError) as caught:
        funnel(shop, "visit", by="channel", within_seconds=-5)
    assert len(caught.value.problems) == 3


def test_a_funnel_is_json_safe(shop: Engine) -> None:
    result = json.loads(json.dumps(funnel(shop, ["visit", "cart"], within_seconds=600).to_dict()))
    assert result["table"][0]["median_seconds_from_previous"] is None
    assert result["within_seconds"] == 600.0


def test_demo_direct_funnels_match_the_busiest_map_edges(settings: Settings) -> None:
    demo = generate_demo(500, scenario="shop", seed=1)
    with Engine.from_frame(demo_frame(demo), settings) as engine:
        for edge in engine.dfg().head(15).itertuples():
            assert funnel(engine, [edge.source, edge.target], directly=True).customers[1] == edge.cases, edge
