"""Journeys cut out of a customer's history by inactivity.

A case is a customer by default; a customer who comes back after a long silence is usually on a
new journey (a second purchase, a new complaint), so the events are cut wherever the gap between
two consecutive events exceeds a threshold.
"""

from __future__ import annotations

import math

import pandas as pd

from data.errors import LogError, Problem
from data.schema import CASE_ID, SOURCE_ROW, TIMESTAMP

__all__ = ["CUSTOMER_ID", "JOURNEY_SEPARATOR", "split_journeys"]

CUSTOMER_ID = "customer_id"
JOURNEY_SEPARATOR = "#"


def split_journeys(frame: pd.DataFrame, after_days: float) -> pd.DataFrame:
    """Return a copy of a canonical frame whose cases are journeys "<customer>#<n>" (n from 1).

    A new journey starts when a customer's next event (by timestamp, then file order) comes more
    than `after_days` after the previous one; a gap of exactly `after_days` stays in the journey.
    `customer_id` keeps the customer; a frame that already has it is re-split from its customers.
    Rows keep their order.
    """
    missing = [column for column in (CASE_ID, TIMESTAMP, SOURCE_ROW) if column not in frame.columns]
    if missing:
        raise ValueError(f"split_journeys needs a canonical frame; missing column(s): {', '.join(missing)}")
    if isinstance(after_days, bool) or not isinstance(after_days, int | float) or not math.isfinite(after_days):
        raise LogError(Problem(f"{after_days!r} is not a number of days.", fix="give a positive number of days"))
    if after_days <= 0:
        raise LogError(Problem(f"Journeys cannot be split after {after_days} days.", fix="give a positive number"))
    return _split_journeys(frame, pd.Timedelta(days=after_days))


def _split_journeys(frame: pd.DataFrame, gap_limit: pd.Timedelta) -> pd.DataFrame:
    customers = frame[CUSTOMER_ID] if CUSTOMER_ID in frame.columns else frame[CASE_ID]
    # On a 0-based index, so that sorting back by index restores the caller's row order.
    ordered = pd.DataFrame(
        {
            "customer": customers.array,
            TIMESTAMP: frame[TIMESTAMP].array,
            SOURCE_ROW: frame[SOURCE_ROW].array,
        }
    ).sort_values(["customer", TIMESTAMP, SOURCE_ROW], kind="stable")
    same_customer = ordered["customer"].eq(ordered["customer"].shift())
    starts_journey = ~same_customer | ordered[TIMESTAMP].diff().gt(gap_limit)
    journey_number = starts_journey.astype("int64").groupby(ordered["customer"], sort=False).cumsum()
    journey_ids = ordered["customer"] + JOURNEY_SEPARATOR + journey_number.astype("str")
    split = frame.copy()
    split[CASE_ID] = journey_ids.sort_index().to_numpy()
    if CUSTOMER_ID not in split.columns:
        split.insert(split.columns.get_loc(SOURCE_ROW) + 1, CUSTOMER_ID, customers)
    return split
