"""Paths around an anchor activity, ready for a Sankey diagram.

Every journey is anchored at the *first* time it does the anchor activity: later repeats are steps like any
other. From there the steps after (or before) it are followed for a few steps; at each step the `top` most
common activities keep their name and the rest are grouped as "(other)", and a journey that ends (or starts)
within reach flows into "(end)" (or from "(start)"). `paths_between` follows the steps from the first
occurrence of a source activity to the first occurrence of a target activity after it. An activity that is
itself named like one of these three labels is not told apart from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._maps import json_records

__all__ = ["END_LABEL", "OTHER_LABEL", "START_LABEL", "PathFlows", "paths", "paths_between"]

OTHER_LABEL = "(other)"
START_LABEL = "(start)"
END_LABEL = "(end)"
DIRECTIONS = ("after", "before")
_EVERY_JOURNEY = Filters()

# Each journey's first occurrence of the anchor, which the per-journey activity table holds. An activity is looked up
# by name once, in the few rows of `all_activities`, rather than naming each step's activity.
_ACTIVITY_NAMED = "(SELECT activity FROM all_activities WHERE activity::VARCHAR = ?)"
_ANCHORS_SQL = f"""
anchors AS (
    SELECT case_code, first_pos AS anchor_pos FROM journey_activities WHERE activity = {_ACTIVITY_NAMED}
)"""

# depth counts steps away from the anchor; a journey's end (or start) is one step past its last (or first) step.
# `around` holds the steps within reach, each with the activity after it (stored on its row), so that a move from one
# depth to the next is read off one row: after the anchor, a step and the one after it (or the end); before it, the
# step after a step is the one nearer the anchor, and a journey's first step comes from its start.
_AROUND_SQL = """
around AS (
    SELECT s.case_code, {sign} * (s.pos - a.anchor_pos) AS depth, s.pos, s.activity, s.next_activity
    FROM steps s JOIN anchors a USING (case_code)
    WHERE {sign} * (s.pos - a.anchor_pos) BETWEEN 0 AND ?
), depths AS (
    SELECT case_code, depth, activity::VARCHAR AS label, depth = 0 AS pinned, FALSE AS is_boundary FROM around
    UNION ALL
    SELECT case_code, depth, ? AS label, TRUE AS pinned, TRUE AS is_boundary
    FROM (SELECT j.case_code, {boundary_distance} + 1 AS depth FROM journeys j JOIN anchors a USING (case_code))
    WHERE depth <= ?
), moves AS ({moves})"""
_BOUNDARY_DISTANCE = {"after": "j.events - 1 - a.anchor_pos", "before": "a.anchor_pos"}
# Each move: the nearer step's depth, its label and whether it is pinned, then the farther step's (one depth further).
_MOVES = {
    "after": """
    SELECT case_code, depth AS near_depth, activity::VARCHAR AS near_label, depth = 0 AS near_pinned,
           coalesce(next_activity::VARCHAR, ?) AS far_label, next_activity IS NULL AS far_pinned
    FROM around WHERE depth < ?
""",
    "before": """
    SELECT case_code, depth - 1 AS near_depth, next_activity::VARCHAR AS near_label, depth = 1 AS near_pinned,
           activity::VARCHAR AS far_label, FALSE AS far_pinned
    FROM around WHERE depth >= 1
    UNION ALL
    SELECT case_code, depth, activity::VARCHAR, depth = 0, ?, TRUE FROM around WHERE pos = 0 AND depth < ?
""",
}

# The steps from the source's first occurrence to the target's first occurrence after it, when within reach.
_BETWEEN_SQL = f"""
arrivals AS (
    SELECT s.case_code, min(s.pos) AS target_pos FROM steps s JOIN anchors a USING (case_code)
    WHERE s.activity = {_ACTIVITY_NAMED} AND s.pos > a.anchor_pos GROUP BY s.case_code
), around AS (
    SELECT s.case_code, s.pos - a.anchor_pos AS depth, s.activity, s.next_activity,
           r.target_pos - a.anchor_pos AS target_depth
    FROM steps s JOIN anchors a USING (case_code) JOIN arrivals r USING (case_code)
    WHERE r.target_pos - a.anchor_pos <= ? AND s.pos BETWEEN a.anchor_pos AND r.target_pos
), depths AS (
    SELECT case_code, depth, activity::VARCHAR AS label, depth IN (0, target_depth) AS pinned, FALSE AS is_boundary
    FROM around
), moves AS (
    SELECT case_code, depth AS near_depth, activity::VARCHAR AS near_label, depth = 0 AS near_pinned,
           next_activity::VARCHAR AS far_label, depth + 1 = target_depth AS far_pinned
    FROM around WHERE depth < target_depth
)"""

# Labels outside each depth's `top` (anchor, target and boundaries excepted) become OTHER_LABEL; one link per journey
# and step, from the step nearer the anchor to the farther one. The customers reached at each depth come in the same
# query (the rows without a source), so that the depths are found once.
_LINKS_SQL = """
ranked AS (
    SELECT depth, label, row_number() OVER (PARTITION BY depth ORDER BY count(*) DESC, label) AS rank
    FROM depths WHERE NOT pinned GROUP BY depth, label
), links AS (
    SELECT near_depth + 1 AS step, {source} AS source, {target} AS target, count(*) AS customers
    FROM (
        SELECT m.near_depth, CASE WHEN m.near_pinned OR n.rank <= ? THEN m.near_label ELSE ? END AS near,
               CASE WHEN m.far_pinned OR f.rank <= ? THEN m.far_label ELSE ? END AS far
        FROM moves m
        LEFT JOIN ranked n ON n.depth = m.near_depth AND n.label = m.near_label
        LEFT JOIN ranked f ON f.depth = m.near_depth + 1 AND f.label = m.far_label
    )
    GROUP BY ALL
), reached AS (
    SELECT r.depth, count(d.case_code) AS reached
    FROM range(0, ? + 1) r(depth) LEFT JOIN depths d ON d.depth = r.depth AND NOT d.is_boundary
    GROUP BY r.depth
)
SELECT step, source, target, customers FROM links
UNION ALL
SELECT depth, NULL, NULL, reached FROM reached
UNION ALL
SELECT NULL, NULL, NULL, count(*) FROM anchors
ORDER BY source IS NOT NULL, step NULLS FIRST, customers DESC, source, target
"""


@dataclass(frozen=True)
class PathFlows:
    """Sankey-ready flows around an anchor.

    `links`: step (1 = the step next to the anchor), source, target, customers. After the anchor, step k links
    the activity k-1 steps after it to the one k steps after it; before it, step k links the activity k steps
    before it to the one k-1 steps before it, so flows always run forwards in time. `customers` did the anchor
    (for `paths_between`, the source); `reached[k]` is how many of the drawn customers have a step k steps away
    (`reached[0]`: customers drawn). `direction` is "after", "before" or "between".
    """

    anchor: str
    direction: str
    target: str | None
    links: pd.DataFrame
    customers: int
    reached: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "anchor": self.anchor,
            "direction": self.direction,
            "target": self.target,
            "customers": self.customers,
            "reached": list(self.reached),
            "links": json_records(self.links),
        }


def paths(
    engine: Engine,
    anchor: str,
    *,
    direction: str = "after",
    steps: int = 3,
    top: int = 10,
    filters: Filters = _EVERY_JOURNEY,
) -> PathFlows:
    """Return the flows of up to `steps` steps after (or before) each journey's first `anchor`.

    >>> paths(engine, "billing_dispute", steps=2, top=5).links  # doctest: +SKIP
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'after' or 'before', not {direction!r}")
    _check_counts(steps=steps, top=top)
    _check_activities(engine, anchor)
    after = direction == "after"
    depths = _AROUND_SQL.format(
        sign=1 if after else -1, boundary_distance=_BOUNDARY_DISTANCE[direction], moves=_MOVES[direction]
    )
    boundary = END_LABEL if after else START_LABEL
    flows = _flows(engine, filters, anchor, (depths, [steps, boundary, steps, boundary, steps]), top, steps, after)
    return PathFlows(anchor, direction, None, *flows)


def paths_between(
    engine: Engine,
    source: str,
    target: str,
    *,
    max_steps: int = 5,
    top: int = 10,
    filters: Filters = _EVERY_JOURNEY,
) -> PathFlows:
    """Return the flows from each journey's first `source` to the first `target` after it, within `max_steps`.

    >>> paths_between(engine, "visit_website", "subscribe", max_steps=4).reached  # doctest: +SKIP
    """
    _check_counts(max_steps=max_steps, top=top)
    _check_activities(engine, source, target)
    flows = _flows(engine, filters, source, (_BETWEEN_SQL, [target, max_steps]), top, max_steps, True)
    return PathFlows(source, "between", target, *flows)


def _flows(
    engine: Engine,
    filters: Filters,
    anchor: str,
    depths: tuple[str, list],
    top: int,
    steps: int,
    forward: bool,
) -> tuple[pd.DataFrame, int, tuple[int, ...]]:
    """Return the links, the customers at the anchor and those reached at each depth of the `depths` CTE, whose
    moves link a depth to the next."""
    depths_sql, depths_params = depths
    scope, params = f"WITH {_ANCHORS_SQL}, {depths_sql}", [anchor, *depths_params]
    ends = {"source": "near", "target": "far"} if forward else {"source": "far", "target": "near"}
    grouping = [top, OTHER_LABEL] * 2  # the nearer step's label, then the farther one's
    rows = engine.query(f"{scope}, {_LINKS_SQL.format(**ends)}", [*params, *grouping, steps], filters=filters)
    customers, reached, links = rows.iloc[:1], rows.iloc[1 : steps + 2], rows.iloc[steps + 2 :]
    links = links.astype({"step": "int64"}).reset_index(drop=True)
    return links, int(customers["customers"].iloc[0]), tuple(int(count) for count in reached["customers"])


def _check_counts(**counts: object) -> None:
    wrong = [
        f"{name} must be a whole number of at least 1, not {value!r}"
        for name, value in counts.items()
        if isinstance(value, bool) or not isinstance(value, int) or value < 1
    ]
    if wrong:
        raise ValueError("; ".join(wrong))


def _check_activities(engine: Engine, *activities: str) -> None:
    """Raise LogError naming every activity the log does not have."""
    known = set(engine.activity_names)
    problems = [
        Problem("This log has no such activity.", fix="Pick one of the log's activities.", value=str(activity))
        for activity in dict.fromkeys(activities)
        if activity not in known
    ]
    if problems:
        raise LogError(problems)
