"""The customers behind a figure, and one customer's journey read event by event.

Every count the pages show is a count of journeys; `customers_behind` lists exactly those journeys for a
touchpoint or a step of the journey map (one arrow: the journeys that moved directly from one touchpoint to the
next, or started or ended there), so their number is the figure on the map and the two-step funnel it implies.
`customer_journey` is one of them as a timeline: touchpoints, channels, stages, attributes and the gaps between.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._definition import JourneyDefinition, outcome_relation

__all__ = ["CustomerJourney", "CustomersBehind", "customer_journey", "customers_behind"]

_EVERY_JOURNEY = Filters()
DEFAULT_LIMIT = 1_000
# A touchpoint, or one end of a step, marked in the layout's own activity type (see `Engine.query`).
_NAMED = "SELECT activity FROM all_activities WHERE activity::VARCHAR = ?"
_DID_TOUCHPOINT = f"SELECT a.case_code FROM journey_activities a JOIN ({_NAMED}) m USING (activity)"
_TOOK_STEP = f"""SELECT p.case_code FROM journey_pairs p
    JOIN ({_NAMED}) s ON p.source = s.activity JOIN ({_NAMED}) t ON p.target = t.activity"""
_STARTED_AT = f"SELECT case_code FROM journeys WHERE first_activity IN ({_NAMED})"
_ENDED_AT = f"SELECT case_code FROM journeys WHERE last_activity IN ({_NAMED})"
_SELECTED = "SELECT case_code FROM journeys"
_BEHIND_SQL = """
WITH {outcomes}, behind AS MATERIALIZED ({condition})
SELECT j.case_id, j.start_time, j.end_time, j.events, j.duration_seconds, o.outcome, count(*) OVER () AS total
FROM journeys j JOIN behind b USING (case_code) JOIN outcomes o USING (case_code)
ORDER BY j.start_time, j.case_id
LIMIT ?
"""
_COLUMNS = ["case_id", "start_time", "end_time", "events", "duration_seconds", "outcome"]


@dataclass(frozen=True)
class CustomersBehind:
    """The journeys behind one figure: `customers` (case_id, start_time, end_time, events, duration_seconds,
    outcome — the earliest first, at most `limit` of them) out of `total`, and `what` they did, in words."""

    customers: pd.DataFrame
    total: int
    what: str

    @property
    def complete(self) -> bool:
        """Whether every journey behind the figure is listed."""
        return len(self.customers) == self.total


@dataclass(frozen=True)
class CustomerJourney:
    """One customer's journey: `events` (pos, timestamp, activity, channel, stage, is_goal, is_churn,
    seconds_since_previous, seconds_since_start, then the log's attributes), its `outcome` under the definition,
    and the stages it did a step of (not "got at least this far"), in the definition's order."""

    case_id: str
    events: pd.DataFrame
    outcome: str
    stages_done: tuple[str, ...]

    @property
    def duration_seconds(self) -> float:
        return float(self.events["seconds_since_start"].iloc[-1])

    @property
    def longest_gap_seconds(self) -> float:
        """The longest silence between two of the customer's events (0 for a one-event journey)."""
        gaps = self.events["seconds_since_previous"].dropna()
        return float(gaps.max()) if len(gaps) else 0.0


def customers_behind(
    engine: Engine,
    definition: JourneyDefinition,
    filters: Filters = _EVERY_JOURNEY,
    *,
    touchpoint: str | None = None,
    step: tuple[str | None, str | None] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> CustomersBehind:
    """Return the selected journeys that did `touchpoint`, or took `step` (source, target) of the journey map, or
    (given neither) every selected journey.

    A step's source None is the journeys' start and its target None their end, as on the map. Give at most one of
    `touchpoint` and `step`. Raises LogError when a touchpoint is not in the log.

    >>> customers_behind(engine, definition, step=("add_to_cart", "checkout")).total  # doctest: +SKIP
    """
    condition, names = _condition(touchpoint, step)
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, Integral) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
    _check_known(engine, names)
    return journeys_behind(engine, definition, filters, (condition, names), _what(touchpoint, step), limit)


def journeys_behind(
    engine: Engine,
    definition: JourneyDefinition,
    filters: Filters,
    condition: tuple[str, list],
    what: str,
    limit: int = DEFAULT_LIMIT,
    tables: dict[str, pd.DataFrame] | None = None,
) -> CustomersBehind:
    """Return the selected journeys whose `case_code` the SQL `condition` (text, parameters) selects, for the
    views that trace their own figures to customers; `tables` are frames the condition reads."""
    sql, names = condition
    outcomes, params = outcome_relation(engine, definition)
    rows = engine.query(
        _BEHIND_SQL.format(outcomes=outcomes, condition=sql), [*params, *names, int(limit)], filters, tables=tables
    )
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    return CustomersBehind(rows[_COLUMNS].reset_index(drop=True), total, what)


def customer_journey(engine: Engine, case_id: str, definition: JourneyDefinition) -> CustomerJourney:
    """Return the journey of customer `case_id` as a timeline, under `definition`.

    Raises LogError when the log has no such customer (a link kept after its log was re-imported, say).
    """
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    selection = Filters(case_ids=frozenset({str(case_id)}))
    events = engine.events(selection).drop(columns=["case_id", "source_row"])
    if events.empty:
        raise LogError(
            Problem("The log has no customer of this id.", fix="Open a customer from a list.", value=str(case_id))
        )
    stage_of = dict(definition.stages.stage_of)
    since_start = (events["timestamp"] - events["timestamp"].iloc[0]).dt.total_seconds()
    timeline = pd.concat(
        [
            events[["pos", "timestamp", "activity", "channel"]],
            pd.DataFrame(
                {
                    "stage": events["activity"].map(stage_of),
                    "is_goal": events["activity"].isin(definition.goal),
                    "is_churn": events["activity"].isin(definition.churn.touchpoints),
                    "seconds_since_previous": events["timestamp"].diff().dt.total_seconds(),
                    "seconds_since_start": since_start,
                },
                index=events.index,
            ),
            events.drop(columns=["pos", "timestamp", "activity", "channel"]),
        ],
        axis=1,
    ).reset_index(drop=True)
    reached = set(timeline["stage"].dropna())
    outcomes, params = outcome_relation(engine, definition)
    outcome = engine.query(f"WITH {outcomes} SELECT outcome FROM outcomes", params, selection)["outcome"].iloc[0]
    return CustomerJourney(
        case_id=str(case_id),
        events=timeline,
        outcome=outcome,
        stages_done=tuple(stage for stage in definition.stages.stages if stage in reached),
    )


def _condition(touchpoint: str | None, step: tuple[str | None, str | None] | None) -> tuple[str, list[str]]:
    if touchpoint is not None and step is not None:
        raise ValueError("give at most one of touchpoint and step")
    if touchpoint is None and step is None:
        return _SELECTED, []
    if touchpoint is not None:
        if not isinstance(touchpoint, str):
            raise TypeError(f"touchpoint must be a touchpoint's name, not {type(touchpoint).__name__}")
        return _DID_TOUCHPOINT, [touchpoint]
    if not (isinstance(step, tuple) and len(step) == 2 and all(end is None or isinstance(end, str) for end in step)):
        raise TypeError("step must be a (source, target) pair of touchpoint names, None for the start or the end")
    source, target = step
    if source is None and target is None:
        raise ValueError("a step goes from the start or a touchpoint to a touchpoint or the end, not start to end")
    if source is None:
        return _STARTED_AT, [target]
    if target is None:
        return _ENDED_AT, [source]
    return _TOOK_STEP, [source, target]


def _check_known(engine: Engine, names: list[str]) -> None:
    known = set(engine.activity_names)
    unknown = [name for name in dict.fromkeys(names) if name not in known]
    if unknown:
        raise LogError(
            [
                Problem("The log has no touchpoint of this name.", fix="Pick one from the map.", value=name)
                for name in unknown
            ]
        )


def _what(touchpoint: str | None, step: tuple[str | None, str | None] | None) -> str:
    if touchpoint is None and step is None:
        return "are selected"
    if touchpoint is not None:
        return f"did {touchpoint}"
    source, target = step
    if source is None:
        return f"started with {target}"
    if target is None:
        return f"ended with {source}"
    return f"went from {source} directly to {target}"
