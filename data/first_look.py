"""The journey map's first look: counted from the events sorted by journey, while the import goes on.

At 10M events, sorting the events by journey is about half of an import; the per-journey tables, the variants, the
stats and the quality report are the rest. From the sorted events alone, the first look counts what the journey map
shows with every customer selected: the customers and events of each touchpoint and of each step straight from one
touchpoint to the next, and where journeys start and end. Those are the finished map's numbers
(`discovery.journey_map`); what it lacks (stage lanes, churn points, the time between steps, how many journeys a
simplified map draws whole) needs the per-journey tables, which come after.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

__all__ = ["FIRST_LOOK_TOUCHPOINTS", "FirstLook", "first_look"]

FIRST_LOOK_TOUCHPOINTS = 80
"""The most touchpoints a first look counts: as many as a journey map draws before anyone moves its slider
(`discovery.DRAWN_TOUCHPOINTS`). A log of more (a hostile one may have millions) has none counted, and nothing large
crosses from the import's child to the server."""

# Each journey's touchpoints and steps are counted once per journey first (the distinct customers), then summed.
_TOUCHPOINTS_SQL = """
SELECT activity::VARCHAR AS activity, sum(events)::BIGINT AS events, count(*) AS cases
FROM (SELECT case_code, activity, count(*) AS events FROM {events} GROUP BY ALL)
GROUP BY activity
ORDER BY cases DESC, events DESC, activity
"""
_STEPS_SQL = """
SELECT source::VARCHAR AS source, target::VARCHAR AS target, sum(events)::BIGINT AS events, count(*) AS cases
FROM (
    SELECT case_code, activity AS source, next_activity AS target, count(*) AS events
    FROM {events} WHERE next_activity IS NOT NULL GROUP BY ALL
)
GROUP BY ALL
UNION ALL
SELECT NULL, activity::VARCHAR, count(*), count(*) FROM {events} WHERE pos = 0 GROUP BY activity
UNION ALL
SELECT activity::VARCHAR, NULL, count(*), count(*) FROM {events} WHERE next_activity IS NULL GROUP BY activity
ORDER BY cases DESC, events DESC, source NULLS FIRST, target NULLS FIRST
"""
_TOTALS_SQL = "SELECT count(*) FILTER (pos = 0), count(*), count(DISTINCT activity) FROM {events}"


@dataclass(frozen=True)
class FirstLook:
    """The journey map's counts, every customer selected, before the per-journey tables exist.

    `touchpoints`: activity, events, cases (customers who did it at least once) — most customers first.
    `steps`: source, target, events, cases (customers going straight from source to target at least once) — most
    customers first; a missing source is the journeys' start, a missing target their end.
    `cases`, `events` and `activities` count the whole log's customers (journeys), events and touchpoints; past
    `FIRST_LOOK_TOUCHPOINTS` touchpoints, `touchpoints` and `steps` have no rows.
    """

    touchpoints: pd.DataFrame
    steps: pd.DataFrame
    cases: int
    events: int
    activities: int


def first_look(connection: duckdb.DuckDBPyConnection, events: str) -> FirstLook:
    """Return the first look at the journey map of `events`, a layout's events table (sorted, with `pos` and
    `next_activity`) as `connection` names it.

    About a second at 10M events on two cores: two group-bys over the events, one a journey's touchpoints, one its
    steps.
    """
    cases, total_events, activities = connection.execute(_TOTALS_SQL.format(events=events)).fetchone()
    counted = activities <= FIRST_LOOK_TOUCHPOINTS
    touchpoints, steps = (
        connection.execute(f"{sql.format(events=events)} {'' if counted else 'LIMIT 0'}").df()
        for sql in (_TOUCHPOINTS_SQL, _STEPS_SQL)
    )
    return FirstLook(touchpoints, steps, cases=int(cases), events=int(total_events), activities=int(activities))
