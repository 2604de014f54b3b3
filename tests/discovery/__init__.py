"""Tests of discovery/, with builders for hand-made logs shared by its test files."""

from __future__ import annotations

import pandas as pd

from data.demo import DemoLog
from tests.data.test_engine import MONDAY, journeys

__all__ = ["MONDAY", "demo_frame", "journeys"]


def demo_frame(demo: DemoLog) -> pd.DataFrame:
    """The canonical frame of a generated demo log (its CRM-like columns renamed, times read as UTC)."""
    events = demo.events
    return pd.DataFrame(
        {
            "case_id": events["customer_id"],
            "activity": events["touchpoint"],
            "timestamp": pd.to_datetime(events["timestamp"], format="ISO8601", utc=True).dt.as_unit("us"),
            "channel": events["channel"],
            "source_row": range(len(events)),
        }
    )
