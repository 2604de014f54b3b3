"""Churn: the outcome of each journey, the steps customers churn right after, and where non-converters went.

A journey's outcome follows four rules, in this order:

1. it has an explicit churn activity (a cancellation, an unsubscribe, a number ported out) → "churned";
2. it reached the goal stage, or a later one → "converted";
3. its last event is at least `inactivity_days` before the log's end (the last event of the whole log, whatever
   the filters) → "churned": the customer left silently before converting;
4. otherwise → "censored": the customer was last seen inside that window and may still convert, so the journey
   is neither churned nor converted yet. With `inactivity_days=None` there is no silence rule and such journeys
   are "active".

Churn rates only count journeys whose outcome is known (churned or converted): censored and active journeys are
left out of every denominator, because counting them as "not churned" would understate churn near the log's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._maps import json_records
from discovery._stages import CHURN_KEYWORDS, StageModel, check_model, closest_names, keyword_matcher, plain_words

__all__ = [
    "ActivityChurn",
    "ChurnDefinition",
    "ChurnPoints",
    "WhereTheyWent",
    "churn_points",
    "journey_outcomes",
    "where_they_went",
]

_EVERY_JOURNEY = Filters()
_Z_95 = 1.959963984540054
_MICROSECONDS_PER_DAY = 86_400_000_000
_CHURN_MATCHER = keyword_matcher(CHURN_KEYWORDS)

# `outcomes` binds: churn activities, converting activities, then (with a silence rule) the log's end and the
# silence in microseconds.
# Both CTEs read more than once or joined to millions of rows are materialised: `marked` so that the optimiser
# cannot move its text comparisons onto the journeys' activities, `outcomes` so that it is computed once.
_OUTCOMES_CTES = """
marked AS MATERIALIZED (
    SELECT activity, list_contains(?::VARCHAR[], activity::VARCHAR) AS is_churn,
           list_contains(?::VARCHAR[], activity::VARCHAR) AS is_goal
    FROM all_activities
), journey_facts AS (
    SELECT a.case_code, min(a.first_pos) FILTER (WHERE m.is_churn) AS churn_pos, bool_or(m.is_goal) AS reached_goal
    FROM journey_activities a JOIN marked m USING (activity) GROUP BY a.case_code
), outcomes AS MATERIALIZED (
    SELECT f.case_code, f.churn_pos, CASE
        WHEN f.churn_pos IS NOT NULL THEN 'churned'
        WHEN f.reached_goal THEN 'converted'
        {silence_rule}
    END AS outcome
    FROM journey_facts f JOIN journeys j USING (case_code)
)
"""
_SILENCE_RULE = "WHEN epoch_us(?::TIMESTAMPTZ) - epoch_us(j.end_time) >= ? THEN 'churned' ELSE 'censored'"
_NO_SILENCE_RULE = "ELSE 'active'"

_OUTCOME_OF_EACH_SQL = """
WITH {outcomes}
SELECT j.case_id, o.outcome FROM outcomes o JOIN journeys j USING (case_code) ORDER BY o.case_code
"""

# The step a churned customer churned right after: the event before the first churn activity, or the last event
# of a silent churn; with the event before it, for transitions. Both are read off one row, the event before the
# churned step, which holds its successor (the journey's first event when it churned at once). The rows with an
# `outcome` count the journeys of each outcome, so that the outcomes are computed once.
_CHURN_POINTS_SQL = """
WITH {outcomes}, judged AS (
    SELECT case_code FROM outcomes WHERE outcome IN ('churned', 'converted')
), churned_at AS (
    SELECT o.case_code, coalesce(o.churn_pos, j.events) - 1 AS pos
    FROM outcomes o JOIN journeys j USING (case_code) WHERE o.outcome = 'churned'
), last_steps AS (
    SELECT s.case_code, (CASE WHEN c.pos = 0 THEN s.activity ELSE s.next_activity END)::VARCHAR AS activity,
           (CASE WHEN c.pos > 0 THEN s.activity END)::VARCHAR AS previous
    FROM churned_at c JOIN steps s ON s.case_code = c.case_code AND s.pos = greatest(c.pos - 1, 0)
    WHERE c.pos >= 0
), passing_activities AS (
    SELECT a.activity::VARCHAR AS target, count(*) AS customers
    FROM journey_activities a JOIN judged USING (case_code) GROUP BY a.activity
), passing_pairs AS (
    SELECT p.source::VARCHAR AS source, p.target::VARCHAR AS target, count(*) AS customers
    FROM journey_pairs p JOIN judged USING (case_code) GROUP BY p.source, p.target
), churned_activities AS (
    SELECT activity AS target, count(*) AS churned FROM last_steps GROUP BY activity
), churned_pairs AS (
    SELECT previous AS source, activity AS target, count(*) AS churned
    FROM last_steps WHERE previous IS NOT NULL GROUP BY previous, activity
)
SELECT NULL::VARCHAR AS source, p.target, p.customers, coalesce(c.churned, 0) AS churned, NULL AS outcome
FROM passing_activities p LEFT JOIN churned_activities c USING (target)
UNION ALL
SELECT p.source, p.target, p.customers, coalesce(c.churned, 0) AS churned, NULL AS outcome
FROM passing_pairs p LEFT JOIN churned_pairs c USING (source, target)
UNION ALL
SELECT NULL, NULL, count(*), 0, outcome FROM outcomes GROUP BY outcome
"""

# For each non-converted customer who did the activity: what came right after its last occurrence (NULL: nothing),
# which that occurrence's row holds.
_NEXT_STEPS_SQL = """
WITH {outcomes}, last_visits AS (
    SELECT arg_max_null(s.next_activity, s.pos) AS next_activity
    FROM steps s JOIN outcomes o USING (case_code)
    WHERE o.outcome <> 'converted' AND s.activity = (SELECT activity FROM all_activities WHERE activity::VARCHAR = ?)
    GROUP BY s.case_code
)
SELECT next_activity::VARCHAR AS next_activity, count(*) AS customers
FROM last_visits GROUP BY 1 ORDER BY customers DESC, next_activity NULLS FIRST
"""


def _is_non_negative(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


@dataclass(frozen=True)
class ChurnDefinition:
    """What counts as churn: explicit churn activities, the goal stage, and how long a silence lasts.

    `churn_activities=None` recognises them in the log by keyword (cancel, unsubscribe, churn, résiliation,
    résilier, portabilité, désabonnement, port out, close account…). `inactivity_days=None` turns the silence
    rule off.
    """

    churn_activities: tuple[str, ...] | None = None
    goal_stage: str = "purchase"
    inactivity_days: float | None = 60

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.churn_activities, str):
            object.__setattr__(self, "churn_activities", (self.churn_activities,))
        elif self.churn_activities is not None:
            object.__setattr__(self, "churn_activities", tuple(self.churn_activities))
        if self.inactivity_days is not None and not _is_non_negative(self.inactivity_days):
            problems.append(
                Problem(
                    "The silence that counts as churn must be a number of days, 0 or more.",
                    fix="Give e.g. inactivity_days=60, or None for no silence rule.",
                    value=str(self.inactivity_days),
                )
            )
        if not isinstance(self.goal_stage, str) or not self.goal_stage:
            problems.append(Problem("The goal stage must be a stage name.", value=str(self.goal_stage)))
        if problems:
            raise LogError(problems)

    def churn_activities_in(self, activities: Iterable[str]) -> tuple[str, ...]:
        """Return the churn activities among `activities`: the chosen ones, or those a churn keyword names."""
        if self.churn_activities is not None:
            return self.churn_activities
        return tuple(activity for activity in activities if _CHURN_MATCHER.search(plain_words(activity)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "churn_activities": None if self.churn_activities is None else list(self.churn_activities),
            "goal_stage": self.goal_stage,
            "inactivity_days": self.inactivity_days,
        }


@dataclass(frozen=True)
class ActivityChurn:
    """The churn figures of one activity, as the journey map shows them."""

    activity: str
    customers: int
    churned: int
    churn_rate: float
    lift: float


@dataclass(frozen=True)
class ChurnPoints:
    """Where churned customers left: per activity and per transition a → b, most telling first.

    Both tables have customers (journeys through the step whose outcome is known: censored and active ones are
    left out), churned (churned journeys whose last step before churning was this one), churn_rate
    (churned / customers), ci_low and ci_high (Wilson 95 % interval of the rate), stage (of the activity, of b for
    a transition), base_rate, lift (churn_rate / base_rate) and score. `base_rate` is the churn rate of the stage:
    churned over customers, pooled over the stage's activities (activities in no stage pool together), because
    leaving right after a step is much likelier before the purchase than after it and a step should stand out
    against its own stage. `score` is the lift at the low end of the interval (ci_low / base_rate): how many times
    its stage's churn a step surely has, so a handful of customers cannot top the table by chance; rows are sorted
    by score, then churned. Churn activities themselves are left out.
    `base_churn_rate` is the share of known outcomes that are churn.
    """

    activities: pd.DataFrame
    transitions: pd.DataFrame
    churn_activities: tuple[str, ...]
    churned: int
    converted: int
    censored: int
    active: int
    base_churn_rate: float

    @property
    def by_activity(self) -> dict[str, ActivityChurn]:
        """Return each activity's churn figures by name (for the journey map)."""
        rows = self.activities
        return {
            activity: ActivityChurn(activity, int(customers), int(churned), float(rate), float(lift))
            for activity, customers, churned, rate, lift in zip(
                rows["activity"], rows["customers"], rows["churned"], rows["churn_rate"], rows["lift"], strict=True
            )
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "churn_activities": list(self.churn_activities),
            "churned": self.churned,
            "converted": self.converted,
            "censored": self.censored,
            "active": self.active,
            "base_churn_rate": _json_float(self.base_churn_rate),
            "activities": json_records(self.activities),
            "transitions": json_records(self.transitions),
        }


@dataclass(frozen=True)
class WhereTheyWent:
    """What non-converted customers did right after (their last occurrence of) an activity.

    `next_activities`: activity, customers, share (of `customers`) for the `top` most frequent next steps;
    `stopped` customers did nothing after it, `others` went on to one of the less frequent next steps, so
    next_activities' customers + stopped + others = customers.
    """

    activity: str
    customers: int
    stopped: int
    others: int
    next_activities: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "customers": self.customers,
            "stopped": self.stopped,
            "others": self.others,
            "next_activities": json_records(self.next_activities),
        }


def journey_outcomes(
    engine: Engine,
    model: StageModel,
    definition: ChurnDefinition = ChurnDefinition(),
    filters: Filters = _EVERY_JOURNEY,
) -> pd.Series:
    """Return each selected journey's outcome ("converted", "churned", "censored" or "active"), by case_id."""
    outcomes, params = _outcome_ctes(engine, model, definition)
    frame = engine.query(_OUTCOME_OF_EACH_SQL.format(outcomes=outcomes), params, filters)
    return frame.set_index("case_id")["outcome"]


def churn_points(
    engine: Engine,
    model: StageModel,
    definition: ChurnDefinition = ChurnDefinition(),
    filters: Filters = _EVERY_JOURNEY,
) -> ChurnPoints:
    """Return the churn figures of every activity and transition of the selected journeys."""
    outcomes, params = _outcome_ctes(engine, model, definition)
    rows = engine.query(_CHURN_POINTS_SQL.format(outcomes=outcomes), params, filters)
    is_count = rows["outcome"].notna()
    count = dict(zip(rows.loc[is_count, "outcome"], rows.loc[is_count, "customers"].astype(int), strict=True))
    figures = rows[~is_count].drop(columns="outcome")
    churn_names = params[0]
    figures = figures[~figures["target"].isin(churn_names) & ~figures["source"].isin(churn_names)]
    figures = figures.assign(stage=figures["target"].map(dict(model.stage_of)).astype("str"))
    is_activity = figures["source"].isna()
    activities = figures[is_activity].rename(columns={"target": "activity"}).drop(columns="source")
    base = _stage_base_rates(activities)
    judged = count.get("churned", 0) + count.get("converted", 0)
    return ChurnPoints(
        activities=_rated(activities, base, ["activity"]),
        transitions=_rated(figures[~is_activity], base, ["source", "target"]),
        churn_activities=tuple(churn_names),
        churned=count.get("churned", 0),
        converted=count.get("converted", 0),
        censored=count.get("censored", 0),
        active=count.get("active", 0),
        base_churn_rate=count.get("churned", 0) / judged if judged else math.nan,
    )


def where_they_went(
    engine: Engine,
    activity: str,
    model: StageModel,
    definition: ChurnDefinition = ChurnDefinition(),
    filters: Filters = _EVERY_JOURNEY,
    top: int = 10,
) -> WhereTheyWent:
    """Return what the customers who did `activity` and did not convert did right after it, instead."""
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
    outcomes, params = _outcome_ctes(engine, model, definition)
    counted = engine.query(_NEXT_STEPS_SQL.format(outcomes=outcomes), [*params, activity], filters)
    stopped = counted["next_activity"].isna()
    went = counted[~stopped].rename(columns={"next_activity": "activity"}).reset_index(drop=True)
    customers = int(counted["customers"].sum())
    shown = went.head(top).assign(share=lambda rows: rows["customers"] / customers)
    return WhereTheyWent(
        activity=activity,
        customers=customers,
        stopped=int(counted.loc[stopped, "customers"].sum()),
        others=int(went["customers"].iloc[top:].sum()),
        next_activities=shown,
    )


def _outcome_ctes(engine: Engine, model: StageModel, definition: ChurnDefinition) -> tuple[str, list]:
    """Return the `outcomes` CTEs for this log and definition, and their parameters (churn activities first)."""
    check_model(model)
    if not isinstance(definition, ChurnDefinition):
        raise TypeError(f"definition must be a ChurnDefinition, not {type(definition).__name__}")
    known = engine.activity_names
    churn = definition.churn_activities_in(known)
    problems = [
        Problem("The log has no such activity.", fix=closest_names(name, known), value=name)
        for name in dict.fromkeys(churn)
        if name not in known
    ]
    if definition.goal_stage not in model.stages:
        problems.append(
            Problem(
                "The goal stage is not a stage of the model.",
                fix=closest_names(definition.goal_stage, model.stages),
                value=definition.goal_stage,
            )
        )
    if problems:
        raise LogError(problems)
    goal_rank = model.stages.index(definition.goal_stage)
    converting = [activity for activity, stage in model.stage_of.items() if model.stages.index(stage) >= goal_rank]
    params: list = [list(churn), converting]
    if definition.inactivity_days is None:
        return _OUTCOMES_CTES.format(silence_rule=_NO_SILENCE_RULE), params
    log_end = engine.summary().end_time
    params += [log_end, float(definition.inactivity_days) * _MICROSECONDS_PER_DAY]
    return _OUTCOMES_CTES.format(silence_rule=_SILENCE_RULE), params


def _stage_base_rates(activities: pd.DataFrame) -> pd.Series:
    """Return the pooled churn rate of each stage's activities, by stage (activities in no stage under NaN)."""
    pooled = activities.groupby("stage", dropna=False)[["churned", "customers"]].sum()
    return pooled["churned"] / pooled["customers"]


def _rated(figures: pd.DataFrame, base: pd.Series, names: list[str]) -> pd.DataFrame:
    """Add rate, Wilson interval, base rate, lift and score to (names…, customers, churned, stage) and sort."""
    customers = figures["customers"].to_numpy(dtype=float)
    churned = figures["churned"].to_numpy(dtype=float)
    rate = churned / customers
    low, high = _wilson(churned, customers)
    base_rate = figures["stage"].map(base).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(base_rate > 0, rate / base_rate, np.nan)
        score = np.where(base_rate > 0, low / base_rate, 0.0)
    rated = figures.assign(
        churn_rate=rate, ci_low=low, ci_high=high, base_rate=base_rate, lift=lift, score=score
    ).sort_values(["score", "churned", *names], ascending=[False, False, *[True] * len(names)], ignore_index=True)
    columns = [*names, "stage", "customers", "churned", "churn_rate", "ci_low", "ci_high", "base_rate", "lift"]
    return rated[[*columns, "score"]].astype({"customers": np.int64, "churned": np.int64})


def _wilson(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score 95 % interval of successes / trials (trials > 0)."""
    rate = successes / trials
    z_squared = _Z_95**2
    centre = (rate + z_squared / (2 * trials)) / (1 + z_squared / trials)
    half = _Z_95 * np.sqrt(rate * (1 - rate) / trials + z_squared / (4 * trials**2)) / (1 + z_squared / trials)
    # The bounds are exactly 0 with no success and 1 with no failure; the formula leaves rounding dust there.
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(successes == trials, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value
