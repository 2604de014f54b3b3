"""Churn: the outcome of each journey, the steps customers churn right after, and where they went after a step.

Outcomes follow the journey definition (`discovery._relations` defines "converted", "churned" and "censored" once,
for every view). A churned journey churned right after one step: the step before its churn touchpoint (the first
one after its last goal event) or, when it fell silent, its last step. Churn rates only count decided journeys:
censored ones are left out of every denominator, because counting them as "not churned" would understate churn
near the log's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._definition import JourneyDefinition, outcome_relation
from discovery._maps import json_records
from discovery._relations import OUTCOMES, Outcomes
from discovery._stages import closest_names

__all__ = [
    "CHURNED_STEPS",
    "NO_GOAL_CHURN_POINTS",
    "ActivityChurn",
    "ChurnPoints",
    "WhereTheyWent",
    "churn_points",
    "journey_outcomes",
    "where_they_went",
    "wilson_interval",
]

_EVERY_JOURNEY = Filters()
_Z_95 = 1.959963984540054

_OUTCOME_OF_EACH_SQL = """
WITH {outcomes}
SELECT j.case_id, o.outcome FROM outcomes o JOIN journeys j USING (case_code) ORDER BY o.case_code
"""

# `churned_steps`: the step a churned customer churned right after (`activity`): the event before its churn event —
# the first churn event after its last goal event, read off the events only for the journeys that converted before
# churning — or the last event of a silent churn; with the event before it (`previous`), for transitions. Both are
# read off one row, the event before the churned step, which holds its successor (the journey's first event when it
# churned at once). Composed after the `outcomes` CTEs, by every view that says "churned right after".
CHURNED_STEPS = """churned_after_goal AS (
    SELECT s.case_code, min(s.pos) AS churn_pos
    FROM steps s JOIN outcomes o USING (case_code) JOIN touchpoint_marks m USING (activity)
    WHERE o.outcome = 'converted_then_churned' AND m.is_churn AND s.pos > o.last_goal_pos
    GROUP BY s.case_code
), churned_at AS (
    SELECT o.case_code, coalesce(a.churn_pos, o.first_churn_pos, j.events) - 1 AS pos
    FROM outcomes o JOIN journeys j USING (case_code) LEFT JOIN churned_after_goal a USING (case_code)
    WHERE o.outcome IN ('churned', 'converted_then_churned')
), churned_steps AS (
    SELECT s.case_code, (CASE WHEN c.pos = 0 THEN s.activity ELSE s.next_activity END)::VARCHAR AS activity,
           (CASE WHEN c.pos > 0 THEN s.activity END)::VARCHAR AS previous
    FROM churned_at c JOIN steps s ON s.case_code = c.case_code AND s.pos = greatest(c.pos - 1, 0)
    WHERE c.pos >= 0
)"""

# The rows with an `outcome` count the journeys of each outcome, so that the outcomes are computed once.
_CHURN_POINTS_SQL = """
WITH {outcomes}, decided AS (
    SELECT case_code FROM outcomes WHERE outcome <> 'censored'
), {churned_steps}, passing_activities AS (
    SELECT a.activity::VARCHAR AS target, count(*) AS customers
    FROM all_journey_activities a JOIN decided USING (case_code) GROUP BY a.activity
), passing_pairs AS (
    SELECT p.source::VARCHAR AS source, p.target::VARCHAR AS target, count(*) AS customers
    FROM all_journey_pairs p JOIN decided USING (case_code) GROUP BY p.source, p.target
), churned_activities AS (
    SELECT activity AS target, count(*) AS churned FROM churned_steps GROUP BY activity
), churned_pairs AS (
    SELECT previous AS source, activity AS target, count(*) AS churned
    FROM churned_steps WHERE previous IS NOT NULL GROUP BY previous, activity
)
SELECT NULL::VARCHAR AS source, p.target, p.customers, coalesce(c.churned, 0) AS churned, NULL AS outcome
FROM passing_activities p LEFT JOIN churned_activities c USING (target)
UNION ALL
SELECT p.source, p.target, p.customers, coalesce(c.churned, 0) AS churned, NULL AS outcome
FROM passing_pairs p LEFT JOIN churned_pairs c USING (source, target)
UNION ALL
SELECT NULL, NULL, count(*), 0, outcome FROM outcomes GROUP BY outcome
"""

# For each customer who did the activity: what came right after its last occurrence (NULL: nothing), which that
# occurrence's row holds; the journey's own, whatever the filters, so found once per engine for every journey.
_NEXT_STEP_SQL = """
WITH visits AS (
    SELECT case_code, last_pos FROM journey_activities
    WHERE activity = (SELECT activity FROM all_activities WHERE activity::VARCHAR = ?)
)
SELECT v.case_code, s.next_activity FROM visits v JOIN steps s ON s.case_code = v.case_code AND s.pos = v.last_pos
"""
# Then by outcome, for the selected journeys (those `outcomes` holds).
_NEXT_STEPS_SQL = """
WITH {outcomes}
SELECT o.outcome, n.next_activity::VARCHAR AS next_activity, count(*) AS customers
FROM {next_steps} n JOIN outcomes o USING (case_code)
GROUP BY ALL
ORDER BY o.outcome, customers DESC, next_activity NULLS FIRST
"""


@dataclass(frozen=True)
class ActivityChurn:
    """The churn figures of one activity, as the journey map shows them."""

    activity: str
    customers: int
    churned: int
    churn_rate: float
    lift: float


# Why no churn point is given without a goal: the pages and the reports say it in these words.
NO_GOAL_CHURN_POINTS = (
    "No goal is chosen, so no touchpoint is a churn point: every journey that ended would count as churned right after "
    "its last step."
)


@dataclass(frozen=True)
class ChurnPoints:
    """Where churned customers left: per activity and per transition a → b, most telling first.

    Both tables have customers (decided journeys through the step: censored ones are left out), churned (churned
    journeys whose last step before churning was this one), churn_rate (churned / customers), ci_low and ci_high
    (Wilson 95 % interval of the rate), stage (of the activity, of b for a transition), base_rate, lift
    (churn_rate / base_rate), lift_overall (churn_rate / the churn rate of every decided journey; NaN without a goal,
    which has no such rate) and score.
    `base_rate` is the churn rate of the stage: churned over customers, pooled over the stage's activities
    (activities in no stage pool together), because leaving right after a step is much likelier before the goal
    than after it and a step should stand out against its own stage; a stage of one touchpoint always gives it
    lift 1, which `lift_overall` does not. `score` is the stage lift at the low end of the interval
    (ci_low / base_rate): how many times its stage's churn a step surely has, so a handful of customers cannot top
    the table by chance; rows are sorted by score, then churned. Churn touchpoints themselves are left out.
    `outcomes` counts the selected journeys by outcome.
    """

    activities: pd.DataFrame
    transitions: pd.DataFrame
    churn_touchpoints: tuple[str, ...]
    outcomes: Outcomes

    @property
    def base_churn_rate(self) -> float:
        """Churned journeys over decided ones (NaN when too many are still open to say)."""
        return self.outcomes.churn_rate

    @property
    def by_activity(self) -> dict[str, ActivityChurn]:
        """Return each activity's churn figures by name (for the journey map); none without a goal.

        With no goal nobody converts, so every journey that ended "churned" right after its last step, and a map
        would paint a process's usual last step as its worst churn point ("churn 31 %" on a permit log's final
        letter): where journeys end is no churn until a goal says what success is.
        """
        if not self.outcomes.has_goal:
            return {}
        rows = self.activities
        return {
            activity: ActivityChurn(activity, int(customers), int(churned), float(rate), float(lift))
            for activity, customers, churned, rate, lift in zip(
                rows["activity"], rows["customers"], rows["churned"], rows["churn_rate"], rows["lift"], strict=True
            )
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "churn_touchpoints": list(self.churn_touchpoints),
            "outcomes": self.outcomes.to_dict(),
            "activities": json_records(self.activities),
            "transitions": json_records(self.transitions),
        }


@dataclass(frozen=True)
class WhereTheyWent:
    """What the customers who did an activity did right after (their last occurrence of) it, by outcome.

    `groups`: outcome (converted, converted_then_churned, churned, censored, in that order), customers, stopped
    (did nothing after it), others (went on to a next step beyond the `top` shown). `next_steps`: outcome, activity,
    customers, share (of the group's customers) for each group's `top` most frequent next steps. Per group,
    next_steps' customers + stopped + others = customers.
    """

    activity: str
    groups: pd.DataFrame
    next_steps: pd.DataFrame = field(repr=False)

    @property
    def customers(self) -> int:
        """Customers who did the activity (every outcome)."""
        return int(self.groups["customers"].sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "customers": self.customers,
            "groups": json_records(self.groups),
            "next_steps": json_records(self.next_steps),
        }


def journey_outcomes(engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY) -> pd.Series:
    """Return each selected journey's outcome (`discovery._relations.OUTCOMES`), by case_id."""
    outcomes, params = outcome_relation(engine, definition)
    frame = engine.query(_OUTCOME_OF_EACH_SQL.format(outcomes=outcomes), params, filters)
    return frame.set_index("case_id")["outcome"]


def churn_points(engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY) -> ChurnPoints:
    """Return the churn figures of every activity and transition of the selected journeys."""
    outcomes, params = outcome_relation(engine, definition)
    # The step a journey churned after is its own, whatever the filters: found once per engine among every journey.
    every = engine.per_journey(f"WITH {outcomes}, {CHURNED_STEPS} SELECT * FROM churned_steps", params)
    churned = f"churned_steps AS ({engine.selected(every, filters)})"
    rows = engine.query(_CHURN_POINTS_SQL.format(outcomes=outcomes, churned_steps=churned), params, filters)
    is_count = rows["outcome"].notna()
    count = dict(zip(rows.loc[is_count, "outcome"], rows.loc[is_count, "customers"].astype(int), strict=True))
    counted = Outcomes(
        journeys=sum(count.values()),
        **{outcome: count.get(outcome, 0) for outcome in OUTCOMES},
        has_goal=bool(definition.goal),
    )
    figures = rows[~is_count].drop(columns="outcome")
    churn_names = definition.churn.touchpoints
    figures = figures[~figures["target"].isin(churn_names) & ~figures["source"].isin(churn_names)]
    figures = figures.assign(stage=figures["target"].map(dict(definition.stages.stage_of)).astype("str"))
    is_activity = figures["source"].isna()
    activities = figures[is_activity].rename(columns={"target": "activity"}).drop(columns="source")
    base = _stage_base_rates(activities)
    overall = counted.churned_total / counted.decided if counted.decided and counted.has_goal else math.nan
    return ChurnPoints(
        activities=_rated(activities, base, overall, ["activity"]),
        transitions=_rated(figures[~is_activity], base, overall, ["source", "target"]),
        churn_touchpoints=tuple(churn_names),
        outcomes=counted,
    )


def where_they_went(
    engine: Engine,
    activity: str,
    definition: JourneyDefinition,
    filters: Filters = _EVERY_JOURNEY,
    top: int = 10,
) -> WhereTheyWent:
    """Return what the customers who did `activity` did right after it, split by how their journey ended."""
    problems = []
    if activity not in engine.activity_names:
        problems.append(
            Problem(
                "The log has no such activity.",
                fix=closest_names(str(activity), engine.activity_names),
                value=str(activity),
            )
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        problems.append(Problem("top must be a whole number of at least 1.", value=str(top)))
    if problems:
        raise LogError(problems)
    outcomes, params = outcome_relation(engine, definition)
    next_steps = engine.per_journey(_NEXT_STEP_SQL, [activity])
    counted = engine.query(_NEXT_STEPS_SQL.format(outcomes=outcomes, next_steps=next_steps), params, filters)
    stopped = counted["next_activity"].isna()
    went = counted[~stopped].rename(columns={"next_activity": "activity"})
    rank = went.groupby("outcome").cumcount()
    customers = counted.groupby("outcome")["customers"].sum()
    groups = pd.DataFrame(
        {
            "outcome": pd.array(OUTCOMES, dtype="str"),
            "customers": customers.reindex(OUTCOMES, fill_value=0).to_numpy(np.int64),
            "stopped": counted[stopped]
            .set_index("outcome")["customers"]
            .reindex(OUTCOMES, fill_value=0)
            .to_numpy(np.int64),
            "others": went[rank >= top]
            .groupby("outcome")["customers"]
            .sum()
            .reindex(OUTCOMES, fill_value=0)
            .to_numpy(np.int64),
        }
    )
    shown = went[rank < top].assign(
        share=lambda rows: rows["customers"] / rows["outcome"].map(customers).astype("float64")
    )
    order = {outcome: index for index, outcome in enumerate(OUTCOMES)}
    shown = shown.sort_values("outcome", key=lambda column: column.map(order), kind="stable", ignore_index=True)
    return WhereTheyWent(
        activity=activity, groups=groups, next_steps=shown[["outcome", "activity", "customers", "share"]]
    )


def _stage_base_rates(activities: pd.DataFrame) -> pd.Series:
    """Return the pooled churn rate of each stage's activities, by stage (activities in no stage under NaN)."""
    pooled = activities.groupby("stage", dropna=False)[["churned", "customers"]].sum()
    return pooled["churned"] / pooled["customers"]


def _rated(figures: pd.DataFrame, base: pd.Series, overall: float, names: list[str]) -> pd.DataFrame:
    """Add rate, Wilson interval, base rate, both lifts and score to (names…, customers, churned, stage) and sort."""
    customers = figures["customers"].to_numpy(dtype=float)
    churned = figures["churned"].to_numpy(dtype=float)
    rate = churned / customers
    low, high = wilson_interval(churned, customers)
    base_rate = figures["stage"].map(base).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(base_rate > 0, rate / base_rate, np.nan)
        lift_overall = rate / overall if overall > 0 else np.full(rate.shape, np.nan)
        score = np.where(base_rate > 0, low / base_rate, 0.0)
    rated = figures.assign(
        churn_rate=rate,
        ci_low=low,
        ci_high=high,
        base_rate=base_rate,
        lift=lift,
        lift_overall=lift_overall,
        score=score,
    ).sort_values(["score", "churned", *names], ascending=[False, False, *[True] * len(names)], ignore_index=True)
    columns = [*names, "stage", "customers", "churned", "churn_rate", "ci_low", "ci_high", "base_rate", "lift"]
    return rated[[*columns, "lift_overall", "score"]].astype({"customers": np.int64, "churned": np.int64})


def wilson_interval(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score 95 % interval of successes / trials (trials > 0)."""
    rate = successes / trials
    z_squared = _Z_95**2
    centre = (rate + z_squared / (2 * trials)) / (1 + z_squared / trials)
    half = _Z_95 * np.sqrt(rate * (1 - rate) / trials + z_squared / (4 * trials**2)) / (1 + z_squared / trials)
    # The bounds are exactly 0 with no success and 1 with no failure; the formula leaves rounding dust there.
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(successes == trials, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high
