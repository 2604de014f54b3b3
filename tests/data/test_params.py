"""Filters travel as text parameters (a URL, a saved segment) and come back equal: a copied link reopens the view."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data import Filters, LogError
from data.params import filters_from_params, filters_to_params, is_filter_param

UTC_DAY = pd.Timestamp("2025-03-01", tz="UTC")


def test_no_condition_gives_no_parameter() -> None:
    assert filters_to_params(Filters()) == {}
    assert filters_from_params({}) == Filters()


def test_every_condition_round_trips() -> None:
    filters = Filters(
        start=UTC_DAY,
        end=pd.Timestamp("2025-04-01 12:30", tz="UTC"),
        channels={"web", "store"},
        attributes={"region": {"Île-de-France", None}, "satisfaction": {3, 4}},
        case_ids={"c1"},
        variant_ids={"v9"},
        start_activities={"visit"},
        end_activities={"buy"},
        with_activities={"call"},
        without_activities={"complain"},
        with_steps={("visit", "buy"), ("call", "visit")},
        min_duration_seconds=60.5,
        max_duration_seconds=3600,
        min_events=2,
        max_events=40,
    )
    assert filters_from_params(filters_to_params(filters)) == filters


def test_every_filters_field_has_a_parameter() -> None:
    assert [spec.name for spec in fields(Filters) if not is_filter_param(spec.name)] == ["attributes"]


def test_steps_travel_as_sorted_pairs_and_a_bad_one_says_what_to_fix() -> None:
    params = filters_to_params(Filters(with_steps={("visit", "buy"), ("call", "visit")}))
    assert params == {"with_steps": '[["call","visit"],["visit","buy"]]'}
    for text in ('["visit","buy"]', '[["visit"]]', '[["a",1]]', "not json"):
        with pytest.raises(LogError) as raised:
            filters_from_params({"with_steps": text})
        assert "a list of steps" in raised.value.problems[0].message


def test_lists_are_sorted_so_one_view_has_one_url() -> None:
    assert filters_to_params(Filters(channels=["web", "app", "store"])) == {"channels": '["app","store","web"]'}


def test_attribute_values_keep_their_type() -> None:
    params = filters_to_params(Filters(attributes={"satisfaction": {3}, "plan": {"3"}}))
    assert params == {"attr.satisfaction": "[3]", "attr.plan": '["3"]'}
    assert dict(filters_from_params(params).attributes) == {"satisfaction": {3}, "plan": {"3"}}


def test_midnight_instants_travel_as_bare_dates() -> None:
    assert filters_to_params(Filters(start=UTC_DAY)) == {"start": "2025-03-01"}


def test_instants_of_another_zone_travel_in_utc() -> None:
    paris = Filters(start=pd.Timestamp("2025-03-01 10:00", tz="Europe/Paris"))
    assert filters_to_params(paris) == {"start": "2025-03-01T09:00:00+00:00"}
    assert filters_from_params(filters_to_params(paris)).start == paris.start


def test_a_hand_written_date_is_read_in_utc() -> None:
    assert filters_from_params({"end": "2025-03-01"}).end == UTC_DAY


def test_other_parameters_are_left_to_others() -> None:
    assert filters_from_params({"dataset": "0123456789abcdef", "persona": "3"}) == Filters()
    assert not is_filter_param("dataset")
    assert is_filter_param("attr.region")


def test_every_unreadable_parameter_is_listed() -> None:
    params = {"channels": "web", "min_events": "many", "start": "someday", "attr.plan": "{}"}
    with pytest.raises(LogError) as raised:
        filters_from_params(params)
    assert [problem.value for problem in raised.value.problems] == list(params.values())
    assert all(f"'{name}'" in problem.message for name, problem in zip(params, raised.value.problems, strict=True))


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(LogError, match="ends before it starts"):
        filters_from_params({"start": "2025-03-02", "end": "2025-03-01"})


ATTRIBUTE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())


@given(
    channels=st.none() | st.frozensets(st.text()),
    attributes=st.dictionaries(st.text(), st.frozensets(ATTRIBUTE_VALUES, min_size=1), max_size=3),
    min_events=st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_any_channels_and_attribute_values_round_trip(channels, attributes, min_events) -> None:
    filters = Filters(channels=channels, attributes=attributes, min_events=min_events)
    assert filters_from_params(filters_to_params(filters)) == filters
