"""Variant tables on hand-made logs: order, shares, merged repeats, outcomes and drill-down to the cases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest

from data.engine import Engine
from data.filters import Filters
from data.settings import Settings
from discovery import ChurnRule, JourneyDefinition, journey_outcomes, variant_cases, variant_table
from tests.discovery import journeys

# Three customers take visit → buy, one visits twice before buying, one only visits.
SHOP = journeys(
    ("anna", "visit", 0),
    ("anna", "buy", 10),
    ("bob", "visit", 0),
    ("bob", "buy", 30),
    ("carl", "visit", 0),
    ("carl", "buy", 50),
    ("dina", "visit", 0),
    ("dina", "visit", 5),
    ("dina", "buy", 65),
    ("eve", "visit", 0),
)
MINUTE = 60.0


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def rows(table: pd.DataFrame, *columns: str) -> list[tuple]:
    return list(table[list(columns)].itertuples(index=False, name=None))


def test_variants_are_ordered_by_customers_then_activities(shop: Engine) -> None:
    table = variant_table(shop).frame
    assert [list(activities) for activities in table["activities"]] == [
        ["visit", "buy"],
        ["visit"],
        ["visit", "visit", "buy"],
    ]
    assert rows(table, "cases", "share", "cumulative_share", "length") == [
        (3, 0.6, 0.6, 2),
        (1, 0.2, 0.8, 1),
        (1, 0.2, 1.0, 3),
    ]


def test_median_duration_is_per_variant(shop: Engine) -> None:
    table = variant_table(shop).frame
    assert list(table["median_duration_seconds"]) == [30 * MINUTE, 0.0, 65 * MINUTE]


def test_variant_ids_are_the_engines(shop: Engine) -> None:
    table = variant_table(shop).frame
    engine_variants = shop.variants()
    assert list(table["variant_id"]) == list(engine_variants["variant_id"])
    assert [list(ids) for ids in table["variant_ids"]] == [[vid] for vid in engine_variants["variant_id"]]


def test_limit_keeps_the_most_frequent_and_shares_of_everyone(shop: Engine) -> None:
    table = variant_table(shop, limit=1)
    assert rows(table.frame, "cases", "share", "cumulative_share") == [(3, 0.6, 0.6)]
    assert table.cases == 5
    assert table.covered_share == 0.6


def test_collapse_repeats_merges_variants_differing_by_repeated_steps(shop: Engine) -> None:
    table = variant_table(shop, collapse_repeats=True).frame
    assert [list(activities) for activities in table["activities"]] == [["visit", "buy"], ["visit"]]
    assert rows(table, "cases", "share", "length") == [(4, 0.8, 2), (1, 0.2, 1)]
    assert table["median_duration_seconds"].iloc[0] == 40 * MINUTE  # 10, 30, 50 and 65 minutes
    engine_ids = dict(zip(map(tuple, shop.variants()["activities"]), shop.variants()["variant_id"], strict=True))
    members = [engine_ids["visit", "buy"], engine_ids["visit", "visit", "buy"]]
    assert list(table["variant_ids"].iloc[0]) == members  # most frequent member first
    assert table["variant_id"].iloc[0] == members[0]


def test_collapse_repeats_keeps_repeats_that_are_not_adjacent(settings: Settings) -> None:
    frame = journeys(("a", "x", 0), ("a", "y", 1), ("a", "x", 2), ("b", "x", 0), ("b", "y", 1), ("b", "y", 2))
    with Engine.from_frame(frame, settings) as engine:
        table = variant_table(engine, collapse_repeats=True).frame
    assert sorted(list(activities) for activities in table["activities"]) == [["x", "y"], ["x", "y", "x"]]


# The log ends at minute 65: with 30 minutes of silence, eve (last seen at 0) churned; with 100, she is still open.
BUY_WITHIN_30_MINUTES = JourneyDefinition(goal=("buy",), churn=ChurnRule(inactivity_days=30 / 1440))


def test_a_definition_adds_conversion_over_every_customer_and_churn_over_decided_ones(shop: Engine) -> None:
    table = variant_table(shop, definition=BUY_WITHIN_30_MINUTES).frame.set_index("length")
    assert table.loc[2, ["converted", "churned", "censored"]].tolist() == [3, 0, 0]
    assert table.loc[2, ["conversion_rate", "churn_rate"]].tolist() == [1.0, 0.0]
    assert table.loc[1, ["converted", "churned", "censored"]].tolist() == [0, 1, 0]
    assert table.loc[1, ["conversion_rate", "churn_rate"]].tolist() == [0.0, 1.0]


def test_a_path_mostly_still_open_has_no_churn_rate(shop: Engine) -> None:
    longer = JourneyDefinition(goal=("buy",), churn=ChurnRule(inactivity_days=100 / 1440))
    table = variant_table(shop, definition=longer).frame.set_index("length")
    assert table.loc[1, ["converted", "churned", "censored"]].tolist() == [0, 0, 1]
    assert table.loc[1, "conversion_rate"] == 0.0  # eve has not converted, of every customer of the path
    assert pd.isna(table.loc[1, "churn_rate"])  # more than half (all) of the path's customers are still open


def test_without_a_goal_a_path_counts_its_outcomes_but_gives_no_rate(shop: Engine) -> None:
    no_goal = JourneyDefinition(churn=ChurnRule(inactivity_days=30 / 1440))
    for collapse in (False, True):
        table = variant_table(shop, definition=no_goal, collapse_repeats=collapse).frame
        assert table["converted"].sum() == 0 and table["churned"].sum() > 0
        assert table[["conversion_rate", "churn_rate"]].isna().all().all()  # not 0 % and 100 %


def test_merged_variants_count_outcomes_too(shop: Engine) -> None:
    table = variant_table(shop, definition=BUY_WITHIN_30_MINUTES, collapse_repeats=True).frame
    assert rows(table, "cases", "converted", "churned") == [(4, 4, 0), (1, 0, 1)]


def test_without_a_definition_there_are_no_outcome_columns(shop: Engine) -> None:
    assert "conversion_rate" not in variant_table(shop).frame


@pytest.mark.parametrize("limit", [-1, 1.5, True])
def test_limit_must_be_a_whole_number(shop: Engine, limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        variant_table(shop, limit=limit)


def test_filters_select_whole_journeys(shop: Engine) -> None:
    table = variant_table(shop, Filters(min_events=2)).frame
    assert rows(table, "cases", "share") == [(3, 0.75), (1, 0.25)]


def test_counts_add_up_to_the_selected_customers(shop: Engine) -> None:
    for collapse in (False, True):
        table = variant_table(shop, collapse_repeats=collapse)
        assert table.frame["cases"].sum() == table.cases == shop.summary().cases


def test_variant_cases_are_the_cases_rows_of_the_variant(shop: Engine) -> None:
    table = variant_table(shop).frame
    cases = variant_cases(shop, table["variant_id"].iloc[0])
    assert list(cases["case_id"]) == ["anna", "bob", "carl"]
    assert list(cases.columns) == list(shop.cases().columns)
    assert list(variant_cases(shop, table["variant_id"].iloc[0], Filters(case_ids={"bob", "dina"}))["case_id"]) == [
        "bob"
    ]


def test_variant_cases_of_a_merged_row_take_all_its_ids(shop: Engine) -> None:
    merged = variant_table(shop, collapse_repeats=True).frame["variant_ids"].iloc[0]
    assert list(variant_cases(shop, merged)["case_id"]) == ["anna", "bob", "carl", "dina"]


def test_variant_cases_keep_a_variant_filter_already_set(shop: Engine) -> None:
    first, second = variant_table(shop).frame["variant_id"].iloc[:2]
    assert variant_cases(shop, [first, second], Filters(variant_ids={second}))["case_id"].tolist() == ["eve"]


def test_an_unknown_variant_has_no_cases(shop: Engine) -> None:
    assert variant_cases(shop, "no-such-variant").empty


def test_to_dict_is_json(shop: Engine) -> None:
    longer = JourneyDefinition(goal=("buy",), churn=ChurnRule(inactivity_days=100 / 1440))
    result = variant_table(shop, definition=longer, collapse_repeats=True).to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["variants"][0]["activities"] == ["visit", "buy"]
    assert result["variants"][0]["converted"] == 4
    assert result["variants"][1]["churn_rate"] is None


def test_variant_cases_with_a_definition_carry_each_journeys_own_outcome(shop: Engine) -> None:
    merged = variant_table(shop, collapse_repeats=True).frame["variant_ids"].iloc[0]
    cases = variant_cases(shop, merged, Filters(case_ids={"anna", "dina", "eve"}), definition=BUY_WITHIN_30_MINUTES)
    every = journey_outcomes(shop, BUY_WITHIN_30_MINUTES)
    assert cases["case_id"].tolist() == ["anna", "dina"]
    assert cases["outcome"].tolist() == [every["anna"], every["dina"]]
    assert list(cases.columns) == [*shop.cases().columns, "outcome"]
