"""The journey map: the directly-follows graph of the selected journeys, simplified like Disco's sliders.

Nodes are activities with the customers who did them; edges are "b came right after a" with the customers
doing so, plus a start edge into each journey's first step and an end edge out of its last. Two sliders
simplify the map:

- `activity_coverage` keeps the activities done by the most customers, in that order, until the kept ones
  account for that share of all (customer, activity) pairs; at least one activity is always kept. Hidden
  activities are skipped as if they were not in the journeys, so the kept ones stay linked: on a simplified
  map an edge a → b counts customers in whom b follows a with only hidden steps between.
- `path_coverage` then keeps the edges followed by the most customers until they account for that share of
  all edge traversals by customers, plus each node's strongest incoming and outgoing edge, so that no kept
  node (start and end included) is left hanging.

With every activity shown (the default), an edge is exactly the directly-follows pair of `Engine.dfg`, so its
customers equal those of the two-step funnel a → b.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.filters import Filters
from data.first_look import FirstLook

__all__ = [
    "CHURN_POINT_LIFT",
    "DRAWN_TOUCHPOINTS",
    "JourneyMap",
    "drawable_coverage",
    "first_look_map",
    "journey_map",
    "simplified_map",
]

_EVERY_JOURNEY = Filters()
# A churn point is an activity after which customers churn at least this many times more often than its base rate.
CHURN_POINT_LIFT = 2.0
# The most touchpoints a map shows before anyone moves its slider: Graphviz lays out BPIC 2011's 73 busiest of 624 in
# about a second, 113 in 4 s, 169 in half a minute, and gives up on all of them.
DRAWN_TOUCHPOINTS = 80
_NODE_COLUMNS = (
    "activity",
    "events",
    "cases",
    "share",
    "median_seconds_to_reach",
    "stage",
    "churned",
    "churn_rate",
    "lift",
    "churn_point",
)
_EDGE_COLUMNS = ("source", "target", "events", "cases", "share", "mean_seconds", "median_seconds", "p90_seconds")
_EDGE_ORDER = ["cases", "events", "source", "target"]
_EDGE_ASCENDING = [False, False, True, True]

_NODES_SQL = """
SELECT * FROM (SELECT activity::VARCHAR AS activity, events, cases, median_seconds_to_reach FROM activity_stats)
ORDER BY cases DESC, events DESC, activity
"""

# With every activity shown, edges are the journeys' directly-follows pairs with their times, plus start and end
# edges from each journey's first and last activity.
_FULL_EDGES_SQL = """
SELECT source::VARCHAR AS source, target::VARCHAR AS target, events, cases, mean_seconds, median_seconds, p90_seconds
FROM pair_stats
UNION ALL
SELECT NULL, first_activity::VARCHAR, count(*), count(*), NULL, NULL, NULL FROM journeys GROUP BY ALL
UNION ALL
SELECT last_activity::VARCHAR, NULL, count(*), count(*), NULL, NULL, NULL FROM journeys GROUP BY ALL
"""

# Only the steps of the shown activities, each followed by the next shown step.
_SHOWN_STEPS = """
SELECT case_code, activity, timestamp, row_number() OVER journey = 1 AS is_first,
       lead(activity) OVER journey AS next_activity, lead(timestamp) OVER journey AS next_timestamp
FROM steps WHERE activity::VARCHAR IN (SELECT unnest(?::VARCHAR[]))
WINDOW journey AS (PARTITION BY case_code ORDER BY pos)
"""

_SHOWN_EDGES_SQL = f"""
WITH walked AS ({_SHOWN_STEPS}), moves AS (
    SELECT case_code, activity::VARCHAR AS source, next_activity::VARCHAR AS target,
           (epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6 AS seconds
    FROM walked WHERE next_activity IS NOT NULL
    UNION ALL
    SELECT case_code, NULL, activity::VARCHAR, NULL FROM walked WHERE is_first
    UNION ALL
    SELECT case_code, activity::VARCHAR, NULL, NULL FROM walked WHERE next_activity IS NULL
)
SELECT source, target, count(*) AS events, count(DISTINCT case_code) AS cases, avg(seconds) AS mean_seconds,
       quantile_cont(seconds, 0.5) AS median_seconds, quantile_cont(seconds, 0.9) AS p90_seconds
FROM moves GROUP BY source, target
"""

# Journeys drawn in full: no hidden activity and every move (start and end included) on a shown edge. The few shown
# names are marked in the layout's activity type first, so the journeys' millions of rows are compared as codes.
# With every activity shown, the journeys' activities are not read (a third of the query at 10M events).
_NAMED_ACTIVITIES = "SELECT activity FROM all_activities WHERE activity::VARCHAR IN (SELECT unnest(?::VARCHAR[]))"
_COVERED_SQL = f"""
WITH shown_edges AS MATERIALIZED (
    SELECT a.activity AS source, b.activity AS target
    FROM (SELECT unnest(?::VARCHAR[]) AS source, unnest(?::VARCHAR[]) AS target) e
    JOIN all_activities a ON a.activity::VARCHAR = e.source JOIN all_activities b ON b.activity::VARCHAR = e.target
), shown AS MATERIALIZED ({_NAMED_ACTIVITIES}),
starts AS MATERIALIZED ({_NAMED_ACTIVITIES}),
ends AS MATERIALIZED ({_NAMED_ACTIVITIES})
SELECT count(*) AS cases FROM journeys
WHERE first_activity IN (SELECT activity FROM starts) AND last_activity IN (SELECT activity FROM ends)
  {{hidden_activities}}
  AND case_code NOT IN (
      SELECT p.case_code FROM journey_pairs p ANTI JOIN shown_edges e ON p.source = e.source AND p.target = e.target
  )
"""
_WITHOUT_HIDDEN_ACTIVITIES = (
    "AND case_code NOT IN (SELECT case_code FROM journey_activities WHERE activity NOT IN (SELECT activity FROM shown))"
)


@dataclass(frozen=True)
class JourneyMap:
    """The (simplified) journey map of the selected customers.

    `nodes`: activity, events, cases (customers), share (of the selected customers), median_seconds_to_reach
    (from journey start to the first time the activity happens), stage, churned, churn_rate, lift, churn_point —
    most customers first. A churn point is an activity whose churn lift is at least CHURN_POINT_LIFT: the lift
    given with its churn figures, or else its churn rate over that of an average step (churned customers over
    customers passing, summed over every activity with churn figures).
    `edges`: source, target, events, cases, share, mean_seconds, median_seconds, p90_seconds — most customers
    first; a missing source is the journeys' start, a missing target their end (those edges carry no time).
    `hidden_activities` and `hidden_edges` say what the sliders took out; `covered_cases` counts the customers
    whose whole journey is drawn (None on a first look, drawn before the journeys are stored). `stages` orders the
    stage lanes.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    cases: int
    events: int
    stages: tuple[str, ...]
    hidden_activities: tuple[str, ...]
    hidden_edges: int
    covered_cases: int | None
    activity_coverage: float
    path_coverage: float

    @property
    def covered_share(self) -> float | None:
        """Share of the selected customers whose whole journey is drawn (1.0 when none is selected; None when not
        counted)."""
        if self.covered_cases is None:
            return None
        return self.covered_cases / self.cases if self.cases else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "events": self.events,
            "activity_coverage": self.activity_coverage,
            "path_coverage": self.path_coverage,
            "stages": list(self.stages),
            "hidden_activities": list(self.hidden_activities),
            "hidden_edges": self.hidden_edges,
            "covered_cases": self.covered_cases,
            "covered_share": self.covered_share,
            "nodes": json_records(self.nodes),
            "edges": json_records(self.edges),
        }


def journey_map(
    engine: Engine,
    filters: Filters = _EVERY_JOURNEY,
    *,
    activity_coverage: float = 1.0,
    path_coverage: float = 1.0,
    stage_of: Mapping[str, str] | None = None,
    stages: Sequence[str] | None = None,
    churn: Mapping[str, Any] | None = None,
) -> JourneyMap:
    """Return the journey map of the journeys selected by `filters`, simplified by the two coverage sliders.

    `stage_of` maps activities to stages, drawn as lanes in the order of `stages` (by default, the order the
    stages first appear in `stage_of`). `churn` maps activities to objects with `churned` (customers who churned
    right after the activity), `churn_rate` and optionally `lift` attributes, such as `ChurnPoints.by_activity`.

    >>> journey_map(engine, activity_coverage=0.8, path_coverage=0.5).edges.head()  # doctest: +SKIP
    """
    problems = _coverage_problems(activity_coverage, path_coverage)
    stage_of = {} if stage_of is None else stage_of
    if not (isinstance(stage_of, Mapping) and all(isinstance(stage, str) for stage in stage_of.values())):
        problems.append("stage_of must map activity names to stage names")
    elif stages is not None and (isinstance(stages, str) or not set(stage_of.values()) <= set(stages)):
        problems.append("stages must list every stage named in stage_of, in lane order")
    if churn is not None and not (
        isinstance(churn, Mapping)
        and all(hasattr(figures, "churned") and hasattr(figures, "churn_rate") for figures in churn.values())
    ):
        problems.append("churn must map activity names to objects with `churned` and `churn_rate`")
    if problems:
        raise ValueError("; ".join(problems))
    lanes = tuple(dict.fromkeys(stage_of.values() if stages is None else stages))
    full = _full_map(engine, filters, (stage_of, lanes), churn or {})
    return _simplified(engine, full, filters, float(activity_coverage), float(path_coverage))


def simplified_map(
    engine: Engine,
    full: JourneyMap,
    filters: Filters = _EVERY_JOURNEY,
    *,
    activity_coverage: float = 1.0,
    path_coverage: float = 1.0,
) -> JourneyMap:
    """Return `full`, the unsimplified map of the journeys `filters` selects, simplified by the two sliders.

    What the dashboard redraws when a slider moves: dropping paths only reads `full`, hiding activities draws the
    edges between the shown ones again from the selected events.

    >>> full = journey_map(engine, filters)  # doctest: +SKIP
    >>> simplified_map(engine, full, filters, path_coverage=0.8).edges.head()  # doctest: +SKIP
    """
    problems = _coverage_problems(activity_coverage, path_coverage)
    if full.hidden_activities or full.hidden_edges:
        problems.append("full must be a map with every activity and path (journey_map's default coverages)")
    if problems:
        raise ValueError("; ".join(problems))
    return _simplified(engine, full, filters, float(activity_coverage), float(path_coverage))


def first_look_map(first_look: FirstLook, *, path_coverage: float = 1.0) -> JourneyMap:
    """Return the map of an import's first look (every customer selected), its paths simplified by `path_coverage`.

    Its boxes and arrows count what `journey_map` counts with every activity shown; it has no stage lanes, no churn
    points, no time between steps, and does not say how many journeys it draws whole (`covered_cases` is None):
    those need the per-journey tables the import builds next.
    """
    if not isinstance(first_look, FirstLook):
        raise TypeError(f"first_look_map needs a FirstLook, not {type(first_look).__name__}")
    if problems := _coverage_problems(1.0, path_coverage):
        raise ValueError("; ".join(problems))
    cases = first_look.cases
    nodes = first_look.touchpoints.assign(median_seconds_to_reach=math.nan)
    steps = first_look.steps
    no_time = dict.fromkeys(("mean_seconds", "median_seconds", "p90_seconds"), math.nan)
    edges = steps.assign(share=steps["cases"] / cases if cases else 0.0, **no_time)[list(_EDGE_COLUMNS)]
    kept = _kept_edges(edges, float(path_coverage))
    return JourneyMap(
        nodes=_decorated_nodes(nodes, cases, {}, {}),
        edges=edges[kept].reset_index(drop=True),
        cases=cases,
        events=first_look.events,
        stages=(),
        hidden_activities=(),
        hidden_edges=int((~kept).sum()),
        covered_cases=None,
        activity_coverage=1.0,
        path_coverage=float(path_coverage),
    )


def drawable_coverage(full: JourneyMap, most: int = DRAWN_TOUCHPOINTS, step: float = 0.05) -> float:
    """Return the largest touchpoint coverage, a multiple of `step` from `step` to 1, whose simplified map keeps at
    most `most` touchpoints (`step` when none does): the map to draw first, every touchpoint when they are few."""
    coverages = np.round(np.arange(1.0, 0.0, -step), 10)
    drawable = [coverage for coverage in coverages if _within_coverage(full.nodes["cases"], coverage).sum() <= most]
    return float(drawable[0]) if drawable else float(coverages[-1])


def _coverage_problems(activity_coverage: float, path_coverage: float) -> list[str]:
    return [
        f"{name} must be a number from 0 to 1, not {value!r}"
        for name, value in (("activity_coverage", activity_coverage), ("path_coverage", path_coverage))
        if not _is_share(value)
    ]


def _full_map(
    engine: Engine, filters: Filters, lanes: tuple[Mapping[str, str], tuple[str, ...]], churn: Mapping[str, Any]
) -> JourneyMap:
    """Return the map with every activity and every directly-follows pair (and the journeys' starts and ends)."""
    stage_of, stages = lanes
    summary = engine.summary(filters)
    nodes = _decorated_nodes(engine.query(_NODES_SQL, filters=filters), summary.cases, stage_of, churn)
    edges = engine.query(_FULL_EDGES_SQL, filters=filters)
    edges = edges.sort_values(_EDGE_ORDER, ascending=_EDGE_ASCENDING, na_position="first").reset_index(drop=True)
    return JourneyMap(
        nodes=nodes,
        edges=edges.assign(share=edges["cases"] / summary.cases)[list(_EDGE_COLUMNS)],
        cases=summary.cases,
        events=summary.events,
        stages=stages,
        hidden_activities=(),
        hidden_edges=0,
        covered_cases=summary.cases,
        activity_coverage=1.0,
        path_coverage=1.0,
    )


def _simplified(
    engine: Engine, full: JourneyMap, filters: Filters, activity_coverage: float, path_coverage: float
) -> JourneyMap:
    shown = _within_coverage(full.nodes["cases"], activity_coverage)
    nodes, hidden = full.nodes[shown].reset_index(drop=True), tuple(full.nodes.loc[~shown, "activity"])
    shown_names = list(nodes["activity"])
    every_edge = full.edges
    if hidden:
        every_edge = engine.query(_SHOWN_EDGES_SQL, [shown_names], filters=filters)
        every_edge = every_edge.sort_values(_EDGE_ORDER, ascending=_EDGE_ASCENDING, na_position="first")
        every_edge = every_edge.assign(share=every_edge["cases"] / full.cases)[list(_EDGE_COLUMNS)]
    edges = every_edge[_kept_edges(every_edge, path_coverage)].reset_index(drop=True)
    hidden_edges = len(every_edge) - len(edges)
    drawn_in_full = (
        _covered_cases(engine, filters, shown_names, edges, every_activity_shown=not hidden)
        if hidden or hidden_edges
        else full.cases
    )
    return replace(
        full,
        nodes=nodes,
        edges=edges,
        hidden_activities=hidden,
        hidden_edges=hidden_edges,
        covered_cases=drawn_in_full,
        activity_coverage=activity_coverage,
        path_coverage=path_coverage,
    )


def _within_coverage(customers: pd.Series, coverage: float) -> pd.Series:
    """Flag the leading rows needed to reach `coverage` of the total (rows sorted strongest first; one at least)."""
    before = customers.cumsum() - customers
    return (before < coverage * customers.sum()) | (np.arange(len(customers)) == 0)


def _kept_edges(edges: pd.DataFrame, coverage: float) -> pd.Series:
    """Flag the strongest edges up to `coverage`, plus every node's strongest incoming and outgoing edge.

    A loop (a touchpoint repeated) is no way in or out: on BPIC 2012 a touchpoint whose strongest edge was its
    own loop was drawn floating, linked to nothing else.
    """
    between = edges[edges["source"].isna() | edges["target"].isna() | (edges["source"] != edges["target"])]
    strongest_in = edges.index.isin(between.index[~between["target"].duplicated(keep="first")])
    strongest_out = edges.index.isin(between.index[~between["source"].duplicated(keep="first")])
    return _within_coverage(edges["cases"], coverage) | strongest_in | strongest_out


def _covered_cases(
    engine: Engine, filters: Filters, shown_names: list[str], edges: pd.DataFrame, *, every_activity_shown: bool
) -> int:
    inner = edges.dropna(subset=["source", "target"])
    starts = list(edges.loc[edges["source"].isna(), "target"])
    ends = list(edges.loc[edges["target"].isna(), "source"])
    params = [list(inner["source"]), list(inner["target"]), shown_names, starts, ends]
    sql = _COVERED_SQL.format(hidden_activities="" if every_activity_shown else _WITHOUT_HIDDEN_ACTIVITIES)
    return int(engine.query(sql, params, filters=filters)["cases"].iloc[0])


def _decorated_nodes(
    nodes: pd.DataFrame, cases: int, stage_of: Mapping[str, str], churn: Mapping[str, Any]
) -> pd.DataFrame:
    """Add each node's share of customers, stage, churn figures and whether it is a churn point."""
    activity = nodes["activity"]
    churned = activity.map({name: figures.churned for name, figures in churn.items()}).astype("Int64")
    churn_rate = activity.map({name: figures.churn_rate for name, figures in churn.items()}).astype("float64")
    measured = churn_rate.notna()
    average_rate = churned[measured].sum() / nodes.loc[measured, "cases"].sum() if measured.any() else 0.0
    given_lift = activity.map({name: getattr(figures, "lift", math.nan) for name, figures in churn.items()})
    lift = given_lift.astype("float64").fillna(churn_rate / average_rate if average_rate else math.nan)
    return nodes.assign(
        share=nodes["cases"] / cases,
        stage=activity.map(dict(stage_of)).astype("str"),
        churned=churned,
        churn_rate=churn_rate,
        lift=lift,
        churn_point=(churn_rate > 0) & (lift >= CHURN_POINT_LIFT),
    )[list(_NODE_COLUMNS)]


def _is_share(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(value) and 0 <= value <= 1


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of `frame` as JSON-safe dicts (missing values as None, timestamps in ISO 8601)."""
    return json.loads(frame.to_json(orient="records", date_format="iso", double_precision=15))
