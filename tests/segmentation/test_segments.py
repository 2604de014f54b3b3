"""Saved segments in the library (the dashboard and the command line read the same ones) and numeric attributes
grouped into ranges before they become segments."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.importing import import_file
from data.settings import Settings
from data.store import Store
from segmentation import (
    SEGMENT_KIND,
    SavedSegment,
    attribute_ranges,
    persona_from_param,
    persona_to_param,
    save_segment,
    saved_segment,
    saved_segments,
)
from tests.data.test_engine import journeys

# Eight customers of one event each, by age; i9 has two events, aged 30 then 40 (a mean of 35); n0 has no age.
AGES = [18, 24, 33, 41, 53, 64, 71, 85]
ROWS = [(f"c{index}", "visit", index) for index in range(len(AGES))] + [("i9", "visit", 0), ("i9", "buy", 5)]
LOG = journeys(*ROWS, ("n0", "visit", 0), age=[*AGES, 30, 40, None], plan=["basic"] * 10 + [None])


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


@pytest.fixture
def stored(settings: Settings, tmp_path) -> tuple[Store, str]:
    path = tmp_path / "log.csv"
    LOG.to_csv(path, index=False)
    store = Store(settings)
    return store, import_file(path, store=store).id


def test_a_saved_segment_keeps_only_what_selects_customers(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    params = {"channels": '["web"]', "attr.plan": '["basic"]', "dataset": dataset_id, "tab": "map"}
    saved = save_segment(store, dataset_id, "  Web basics ", params)
    assert saved == SavedSegment("Web basics", {"channels": '["web"]', "attr.plan": '["basic"]'})
    # the dashboard's own form of a saved segment, so segments saved before still read
    assert store.annotation(dataset_id, SEGMENT_KIND, "Web basics") == {"filters": dict(saved.params)}
    assert saved_segments(store, dataset_id) == {"Web basics": saved}
    assert saved_segment(store, dataset_id, "Web basics").filters() == Filters(
        channels={"web"}, attributes={"plan": {"basic"}}
    )


def test_an_unreadable_segment_is_refused_before_it_is_saved(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with pytest.raises(LogError, match="min_events"):
        save_segment(store, dataset_id, "Broken", {"min_events": "many"})
    with pytest.raises(LogError, match="persona"):
        save_segment(store, dataset_id, "Broken", {"persona": "no label"})
    with pytest.raises(LogError, match="name"):
        save_segment(store, dataset_id, "   ", {})
    assert saved_segments(store, dataset_id) == {}


def test_an_unknown_segment_names_the_closest(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    save_segment(store, dataset_id, "Store customers", {"channels": '["store"]'})
    with pytest.raises(LogError) as raised:
        saved_segment(store, dataset_id, "Store customer")
    assert raised.value.problems[0].fix == "Did you mean 'Store customers'?"


def test_a_persona_segment_needs_its_persona_found_again() -> None:
    segment = SavedSegment("Loyal web", {"channels": '["web"]', "persona": persona_to_param("Spring: v2", 3)})
    assert segment.persona == ("Spring: v2", 3)
    with pytest.raises(LogError, match="only the dashboard can find again"):
        segment.filters()
    found = segment.filters(lambda run, label: frozenset({f"{run}/{label}", "c1"}))
    assert found == Filters(channels={"web"}, case_ids={"Spring: v2/3", "c1"})
    narrowed = SavedSegment("Two", {"case_ids": '["c1","c2"]', "persona": "Spring:0"})
    assert narrowed.filters(lambda run, label: frozenset({"c1", "c3"})).case_ids == {"c1"}
    assert persona_from_param("Spring: v2:3") == ("Spring: v2", 3)


def test_a_numeric_attribute_is_grouped_at_its_rounded_quartiles(engine: Engine) -> None:
    ranges = attribute_ranges(engine, "age", Filters(case_ids={f"c{index}" for index in range(8)}))
    # quartiles of 18 … 85: 30.75, 47 and 65.75, rounded to two significant figures
    assert list(ranges.cat.categories) == ["under 31", "31 to under 47", "47 to under 66", "66 and over"]
    assert ranges.cat.ordered
    assert ranges.to_dict() == {
        "c0": "under 31",
        "c1": "under 31",
        "c2": "31 to under 47",
        "c3": "31 to under 47",
        "c4": "47 to under 66",
        "c5": "47 to under 66",
        "c6": "66 and over",
        "c7": "66 and over",
    }


def test_a_customer_is_placed_by_the_mean_of_their_values_and_without_one_left_out(engine: Engine) -> None:
    ranges = attribute_ranges(engine, "age")
    assert "n0" not in ranges.index
    assert ranges.loc["i9"] == ranges.loc["c2"]  # 35 falls with 33
    assert ranges.value_counts().sum() == 9


def test_few_values_are_groups_of_their_own(settings: Settings) -> None:
    rows = [(f"c{index}", "visit", 0) for index in range(6)]
    log = journeys(*rows, score=[1, 1, 1, 1, 1, 2], revenue=[531_796_160.0] * 6)
    with Engine.from_frame(log, settings) as engine:
        assert attribute_ranges(engine, "score").tolist() == ["1", "1", "1", "1", "1", "2"]
        assert list(attribute_ranges(engine, "revenue").cat.categories) == ["531,796,160"]
        assert attribute_ranges(engine, "score", Filters(case_ids={"nobody"})).empty


def test_a_value_most_customers_share_makes_a_range_of_its_own(settings: Settings) -> None:
    # 20 customers bought once, 5 more often: every quartile is 1, so the first cut moves up to the next value
    purchases = [1] * 20 + [2, 3, 4, 5, 6]
    rows = [(f"c{index}", "visit", 0) for index in range(len(purchases))]
    with Engine.from_frame(journeys(*rows, purchases=purchases), settings) as engine:
        ranges = attribute_ranges(engine, "purchases")
    assert list(ranges.cat.categories) == ["under 2", "2 and over"]
    assert ranges.value_counts().to_dict() == {"under 2": 20, "2 and over": 5}


def test_only_numbers_have_ranges(engine: Engine) -> None:
    with pytest.raises(LogError) as raised:
        attribute_ranges(engine, "plan", ranges=1)
    assert [problem.message for problem in raised.value.problems] == [
        "This attribute is not a number, so it has no ranges.",
        "Ask for at least 2 ranges.",
    ]
    with pytest.raises(LogError, match="hobby"):
        attribute_ranges(engine, "hobby")
    assert isinstance(attribute_ranges(engine, "age", ranges=2), pd.Series)
