"""Journey splitting: a customer's events are cut where the silence exceeds the threshold."""

from __future__ import annotations

import pandas as pd
import pytest

from data.errors import LogError
from data.journeys import split_journeys


def canonical(*events: tuple[str, str]) -> pd.DataFrame:
    """A canonical frame of (customer, day) events in file order."""
    return pd.DataFrame(
        {
            "case_id": [customer for customer, _ in events],
            "activity": [f"step {number}" for number in range(len(events))],
            "timestamp": pd.to_datetime([day for _, day in events], format="ISO8601").tz_localize("UTC").as_unit("us"),
            "channel": pd.Series([None] * len(events), dtype="str"),
            "source_row": range(len(events)),
        }
    )


def test_a_gap_of_exactly_the_threshold_stays_in_the_journey() -> None:
    split = split_journeys(canonical(("ann", "2024-01-01"), ("ann", "2024-01-31")), after_days=30)

    assert split["case_id"].tolist() == ["ann#1", "ann#1"]


def test_a_gap_above_the_threshold_starts_a_new_journey() -> None:
    frame = canonical(("ann", "2024-01-01"), ("ann", "2024-01-31 00:00:01"), ("ann", "2024-02-02"))

    split = split_journeys(frame, after_days=30)

    assert split["case_id"].tolist() == ["ann#1", "ann#2", "ann#2"]
    assert split["customer_id"].tolist() == ["ann", "ann", "ann"]


def test_journeys_follow_time_not_file_order_and_rows_keep_their_order() -> None:
    frame = canonical(
        ("bob", "2024-03-01"),  # Bob's second journey, listed first
        ("ann", "2024-01-01"),
        ("bob", "2024-01-01"),
        ("ann", "2024-01-05"),
    )

    split = split_journeys(frame, after_days=10)

    assert split["case_id"].tolist() == ["bob#2", "ann#1", "bob#1", "ann#1"]
    assert split["activity"].tolist() == frame["activity"].tolist()


def test_fractional_days_are_honoured() -> None:
    frame = canonical(("ann", "2024-01-01 00:00"), ("ann", "2024-01-01 13:00"))

    assert split_journeys(frame, after_days=0.5)["case_id"].tolist() == ["ann#1", "ann#2"]


def test_customer_id_sits_after_the_canonical_columns() -> None:
    split = split_journeys(canonical(("ann", "2024-01-01")), after_days=1)

    assert split.columns.tolist() == ["case_id", "activity", "timestamp", "channel", "source_row", "customer_id"]


def test_a_split_log_is_split_again_from_its_customers() -> None:
    frame = canonical(("ann", "2024-01-01"), ("ann", "2024-01-10"), ("ann", "2024-01-30"))

    once = split_journeys(frame, after_days=5)
    again = split_journeys(once, after_days=15)

    assert once["case_id"].tolist() == ["ann#1", "ann#2", "ann#3"]
    assert again["case_id"].tolist() == ["ann#1", "ann#1", "ann#2"]
    assert again["customer_id"].tolist() == ["ann", "ann", "ann"]


def test_the_caller_frame_is_left_untouched() -> None:
    frame = canonical(("ann", "2024-01-01"), ("ann", "2024-03-01"))

    split_journeys(frame, after_days=1)

    assert frame["case_id"].tolist() == ["ann", "ann"]
    assert "customer_id" not in frame.columns


@pytest.mark.parametrize("after_days", [0, -3, float("nan"), "7", True])
def test_a_threshold_that_is_not_a_positive_number_is_refused(after_days: object) -> None:
    with pytest.raises(LogError):
        split_journeys(canonical(("ann", "2024-01-01")), after_days=after_days)
