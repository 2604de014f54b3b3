"""Seeded logs shaped like the exports the journey definition must read right: an e-commerce event export and a
marketplace's visitor log, with what was planted in them.

The e-commerce log is a session export of view / cart / remove_from_cart / purchase events over three hours, as the
REES46-style exports write it (`event_time` like `2019-10-01 00:00:04 UTC`, `user_session`, `user_id`, `price`):
nearly every session views, few buy. The marketplace log is visitors browsing, searching, viewing listings,
messaging hosts, asking to book and booking. Both are canonical frames (and can be written as CSV) so that tests
can compare what Parcours suggests and counts with what was planted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ecommerce_export", "ecommerce_sessions", "marketplace_visits"]

START = pd.Timestamp("2019-10-01 00:00:00", tz="UTC")


def ecommerce_sessions(sessions: int = 2000, buyers: int = 80, seed: int = 0) -> pd.DataFrame:
    """A canonical frame of shopping sessions: every session views, some add to cart (and remove), `buyers` buy.

    Sessions start over three hours and last a few minutes; `user_id` repeats across sessions and `price` is set on
    the events that have one.
    """
    rng = np.random.default_rng(seed)
    rows = []
    buying = set(rng.choice(sessions, size=buyers, replace=False).tolist())
    for session in range(sessions):
        start = START + pd.Timedelta(seconds=int(rng.integers(0, 3 * 3600 - 1200)))
        steps = ["view"] * int(rng.integers(1, 5))
        if session in buying or rng.random() < 0.08:
            steps += ["cart"]
            if rng.random() < 0.3:
                steps += ["remove_from_cart", "view", "cart"]
        if session in buying:
            steps += ["purchase"]
        at = start
        for step in steps:
            rows.append((f"s{session:05d}", step, at, 500 + session % 97, round(float(rng.uniform(5, 500)), 2)))
            at += pd.Timedelta(seconds=int(rng.integers(5, 120)))
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "user_id", "price"])
    return frame.assign(
        timestamp=frame["timestamp"].dt.as_unit("us"),
        channel=pd.array(["web"] * len(frame), dtype="str"),
        source_row=np.arange(len(frame)),
        user_id=frame["user_id"].astype("Int64"),
        price=frame["price"].astype("Float64"),
    )[["case_id", "activity", "timestamp", "channel", "source_row", "user_id", "price"]]


def ecommerce_export(frame: pd.DataFrame) -> str:
    """Return `ecommerce_sessions` as the CSV an analytics export writes (times ending in ` UTC`)."""
    export = pd.DataFrame(
        {
            "event_time": frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "event_type": frame["activity"],
            "price": frame["price"],
            "user_id": frame["user_id"],
            "user_session": frame["case_id"],
        }
    )
    return export.to_csv(index=False)


def marketplace_visits(visitors: int = 600, seed: int = 0) -> pd.DataFrame:
    """A canonical frame of marketplace visitors over two days: browse, search, view listings, message hosts, ask to
    book, book. About one visitor in ten books; more message a host than book."""
    rng = np.random.default_rng(seed)
    rows = []
    for visitor in range(visitors):
        at = START + pd.Timedelta(minutes=int(rng.integers(0, 2 * 24 * 60 - 120)))
        steps = ["browse"] + ["search", "view_listing"] * int(rng.integers(1, 3))
        if rng.random() < 0.2:
            steps.append("message_host")
            if rng.random() < 0.7:
                steps.append("booking_request")
                if rng.random() < 0.7:
                    steps.append("booking")
        for step in steps:
            rows.append((f"v{visitor:04d}", step, at, "app" if visitor % 3 else "web"))
            at += pd.Timedelta(minutes=int(rng.integers(1, 15)))
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "channel"])
    return frame.assign(timestamp=frame["timestamp"].dt.as_unit("us"), source_row=np.arange(len(frame)))
