"""What the words mean: "converted", "churned", "censored", "did a stage" and "got at least this far", as SQL.

Every view that counts outcomes or stages composes these pieces into its own `Engine.query`, so that each word
is defined here once and means the same on every page, in every CLI and in the API. Each piece is a pair of CTE
text and the parameters it binds, in order.

A journey's **outcome** is one of four, decided in this order:

- `converted_then_churned`: it did a goal touchpoint, and later a churn touchpoint (after its last goal event);
- `converted`: it did a goal touchpoint (and did not churn after its last one): converted and stayed;
- `churned`: it did not convert and did a churn touchpoint, or fell silent: its last event is at least the
  churn rule's inactivity window before the end of the whole log (whatever the filters);
- `censored`: none of these yet. The journey is still open: it may convert or churn later. Without an
  inactivity window every journey that neither converted nor did a churn touchpoint is censored.

The **conversion rate** is converted journeys (both converted outcomes) over every selected journey. The **churn
rate** is churned journeys (both churned outcomes) over the decided ones (every outcome but censored), because
counting the open journeys as "not churned" would understate churn near the log's end; when more than half the
journeys are censored it cannot be estimated yet. Without a goal neither rate is given: nobody converts, so every
decided journey is a churn and the churn rate would read 100 % whatever the customers did.

A journey **did a stage** when it has an event of one of the stage's touchpoints; it **got at least this far**
when it did this stage or any later one — and, for the goal stage and every stage after it, converted: a prospect
who cancelled a trial or called support did a post-purchase step but never got as far as the purchase, so the goal
stage is reached by exactly the converted journeys. A stage with no touchpoints is reached by nobody, under either
reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from data.engine import Engine
from data.errors import LogError, Problem

__all__ = [
    "CENSORED_MAJORITY",
    "CHURNED_OUTCOMES",
    "CONVERTED_OUTCOMES",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "Outcomes",
    "furthest_stage_sql",
    "goal_stage_index",
    "got_this_far_sql",
    "outcome_ctes",
    "outcome_sentence",
    "stage_relation",
]

OUTCOMES = ("converted", "converted_then_churned", "churned", "censored")
# Each outcome in words, for tables and exports.
OUTCOME_LABELS = {
    "converted": "converted (stayed)",
    "converted_then_churned": "converted, then churned",
    "churned": "churned without converting",
    "censored": "still open (censored)",
}
CONVERTED_OUTCOMES = ("converted", "converted_then_churned")
CHURNED_OUTCOMES = ("converted_then_churned", "churned")
# Above this share of censored journeys a churn rate says more about the log's end than about customers.
CENSORED_MAJORITY = 0.5
MICROSECONDS_PER_DAY = 86_400_000_000

# `touchpoint_marks` binds: goal touchpoints, churn touchpoints, then the staged touchpoints and their stage indexes.
# Materialised, so that the optimiser cannot move its text comparisons onto the millions of rows joined to it.
_MARKS = """touchpoint_marks AS MATERIALIZED (
    SELECT a.activity, list_contains(?::VARCHAR[], a.activity::VARCHAR) AS is_goal,
           list_contains(?::VARCHAR[], a.activity::VARCHAR) AS is_churn, m.stage
    FROM all_activities a
    LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS name, unnest(?::INTEGER[]) AS stage) m ON m.name = a.activity::VARCHAR
)"""

# `outcomes`: one row per selected journey with its outcome, the position of its last goal event (NULL: none) and
# of its first churn event (NULL: none, or churned silently). A silence rule binds the log's end and the window.
_OUTCOMES = """marked_facts AS (
    SELECT a.case_code, max(a.last_pos) FILTER (WHERE m.is_goal) AS last_goal_pos,
           max(a.last_pos) FILTER (WHERE m.is_churn) AS last_churn_pos,
           min(a.first_pos) FILTER (WHERE m.is_churn) AS first_churn_pos
    FROM journey_activities a JOIN touchpoint_marks m USING (activity)
    WHERE m.is_goal OR m.is_churn
    GROUP BY a.case_code
), outcomes AS MATERIALIZED (
    SELECT j.case_code, f.last_goal_pos, f.first_churn_pos, CASE
        WHEN f.last_goal_pos IS NOT NULL AND f.last_churn_pos > f.last_goal_pos THEN 'converted_then_churned'
        WHEN f.last_goal_pos IS NOT NULL THEN 'converted'
        WHEN f.last_churn_pos IS NOT NULL THEN 'churned'
        {silence_rule}
        ELSE 'censored'
    END AS outcome
    FROM journeys j LEFT JOIN marked_facts f USING (case_code)
)"""
_SILENCE_RULE = "WHEN epoch_us(?::TIMESTAMPTZ) - epoch_us(j.end_time) >= ? THEN 'churned'"

_COUNTS_SQL = "WITH {outcomes} SELECT outcome, count(*) AS journeys FROM outcomes GROUP BY outcome"


@dataclass(frozen=True)
class Outcomes:
    """How many of the selected journeys ended in each outcome, and the rates the dashboard headlines.

    `conversion_rate` is over every selected journey; `churn_rate` over the decided ones, NaN when nothing is
    decided or when `churn_estimable` is False (more than half the journeys are censored). Both are NaN without a
    goal: nobody converts then, so every decided journey is a churn and a churn rate would read 100 % whatever the
    customers did.
    """

    journeys: int
    converted: int
    converted_then_churned: int
    churned: int
    censored: int
    has_goal: bool = True

    @property
    def converted_total(self) -> int:
        """Journeys that did a goal touchpoint, whatever came after."""
        return self.converted + self.converted_then_churned

    @property
    def churned_total(self) -> int:
        """Journeys that churned, before or after converting."""
        return self.converted_then_churned + self.churned

    @property
    def decided(self) -> int:
        """Journeys whose outcome is known: every one but the censored."""
        return self.journeys - self.censored

    @property
    def censored_share(self) -> float:
        return self.censored / self.journeys if self.journeys else math.nan

    @property
    def churn_estimable(self) -> bool:
        """Whether few enough journeys are still open for a churn rate to mean something."""
        return self.decided > 0 and self.censored_share <= CENSORED_MAJORITY

    @property
    def conversion_rate(self) -> float:
        if not self.has_goal or not self.journeys:
            return math.nan
        return self.converted_total / self.journeys

    @property
    def churn_rate(self) -> float:
        return self.churned_total / self.decided if self.has_goal and self.churn_estimable else math.nan

    def to_dict(self) -> dict[str, Any]:
        rates = {"conversion_rate": self.conversion_rate, "churn_rate": self.churn_rate}
        return {
            "journeys": self.journeys,
            "converted": self.converted,
            "converted_then_churned": self.converted_then_churned,
            "churned": self.churned,
            "censored": self.censored,
            "converted_total": self.converted_total,
            "churned_total": self.churned_total,
            "decided": self.decided,
            "churn_estimable": self.churn_estimable,
            **{name: None if math.isnan(rate) else rate for name, rate in rates.items()},
        }


def touchpoint_marks(
    engine: Engine, goal: Sequence[str], churn: Sequence[str], stages: Sequence[str], stage_of: dict[str, str]
) -> tuple[str, list]:
    """Return the `touchpoint_marks` CTE (activity, is_goal, is_churn, stage index or NULL) and its parameters.

    Raises LogError naming every goal or churn touchpoint the log does not have, with the closest names.
    """
    known = set(engine.activity_names)
    problems = [
        Problem(f"The log has no {role} touchpoint of this name.", fix=_closest(name, engine), value=name)
        for role, names in (("goal", goal), ("churn", churn))
        for name in dict.fromkeys(names)
        if name not in known
    ]
    if problems:
        raise LogError(problems)
    index = {stage: position for position, stage in enumerate(stages)}
    return _MARKS, [list(goal), list(churn), list(stage_of), [index[stage] for stage in stage_of.values()]]


def outcome_sentence(outcomes: Outcomes) -> str:
    """Return the headline figures of a definition in plain words (no Markdown)."""
    if not outcomes.has_goal:
        converted = "No goal: nobody converts."
    else:
        converted = (
            f"{outcomes.converted_total:,} of {outcomes.journeys:,} journeys converted "
            f"({outcomes.conversion_rate:.1%}), {outcomes.converted_then_churned:,} of them churned later."
        )
    if not outcomes.has_goal:
        churned = f"{outcomes.churned_total:,} journeys churned; without a goal there is no churn rate."
    elif outcomes.churn_estimable:
        churned = (
            f"{outcomes.churned_total:,} of {outcomes.decided:,} decided journeys churned ({outcomes.churn_rate:.1%})."
        )
    else:
        churned = "Churn cannot be estimated yet: more than half the journeys are still open."
    return f"{converted} {churned} {outcomes.censored:,} journeys are still open (censored)."


def outcome_ctes(engine: Engine, marks: tuple[str, list], inactivity_days: float | None) -> tuple[str, list]:
    """Return the `touchpoint_marks` and `outcomes` CTEs with their parameters (see the module docstring).

    A journey's outcome depends on its own events and the log's end only, never on the filters: the outcomes of
    every journey are computed once per engine (`Engine.per_journey`) and each view reads those it selects.
    """
    marks_sql, params = marks
    rule, silence = "", []
    if inactivity_days is not None:
        rule, silence = _SILENCE_RULE, [engine.summary().end_time, float(inactivity_days) * MICROSECONDS_PER_DAY]
    every = engine.per_journey(
        f"WITH {marks_sql}, {_OUTCOMES.format(silence_rule=rule)} SELECT * FROM outcomes", [*params, *silence]
    )
    selected = f"outcomes AS MATERIALIZED (SELECT * FROM {every} WHERE case_code IN (SELECT case_code FROM journeys))"
    return f"{marks_sql}, {selected}", params


def count_outcomes(engine: Engine, ctes: tuple[str, list], filters: Any, *, has_goal: bool) -> Outcomes:
    """Return the outcome counts of the selected journeys."""
    sql, params = ctes
    counted = engine.query(_COUNTS_SQL.format(outcomes=sql), params, filters)
    count = dict(zip(counted["outcome"], counted["journeys"].astype(int), strict=True))
    return Outcomes(
        journeys=sum(count.values()),
        converted=count.get("converted", 0),
        converted_then_churned=count.get("converted_then_churned", 0),
        churned=count.get("churned", 0),
        censored=count.get("censored", 0),
        has_goal=has_goal,
    )


def got_this_far_sql(stage: int, staged: Sequence[bool], goal_stage: int | None) -> str:
    """Return the SQL offset at which a journey got at least as far as stage number `stage` (NULL: it did not).

    It reads a row of the journey's stage bounds: `first_K`, the offset of its first event in stage K (NULL: none),
    for every stage, and `goal_first`, that of its first goal event. `staged` says which stages hold touchpoints;
    `goal_stage` is the goal's stage number (None: no goal in a stage). From the goal stage on, a journey gets this
    far when it converted, and not before its first goal event.
    """
    if not staged[stage]:
        return "NULL::BIGINT"
    reached = f"least({', '.join(f'first_{later}' for later in range(stage, len(staged)))})"
    if goal_stage is None or stage < goal_stage:
        return reached
    return f"CASE WHEN goal_first IS NOT NULL AND {reached} IS NOT NULL THEN greatest(goal_first, {reached}) END"


def furthest_stage_sql(goal_stage: int | None) -> str:
    """Return the query of each journey's furthest stage number (`case_code`, `furthest`) over `touchpoint_marks`:
    the latest stage it did, held below the goal stage when it never converted (see the module docstring). A
    journey got at least as far as every stage with touchpoints up to its furthest."""
    furthest = "max(m.stage)"
    if goal_stage is not None:
        furthest = f"CASE WHEN bool_or(m.is_goal) THEN {furthest} ELSE least({furthest}, {goal_stage - 1}) END"
    return f"""SELECT a.case_code, {furthest} AS furthest
FROM journey_activities a JOIN touchpoint_marks m USING (activity)
WHERE m.stage IS NOT NULL OR m.is_goal
GROUP BY a.case_code"""


def stage_relation(
    engine: Engine, stages: Sequence[str], stage_of: dict[str, str], goal: Sequence[str] = ()
) -> tuple[str, list]:
    """Return the `touchpoint_marks` CTE with stages and the goal (no churn), for views of stage reach alone."""
    return touchpoint_marks(engine, goal, (), stages, stage_of)


def goal_stage_index(stages: Sequence[str], stage_of: dict[str, str], goal: Sequence[str]) -> int | None:
    """Return the number of the earliest stage holding a goal touchpoint (None: no goal is in a stage)."""
    staged = [stages.index(stage_of[name]) for name in goal if name in stage_of]
    return min(staged) if staged else None


def _closest(name: str, engine: Engine) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(engine.activity_names), n=3)
    return "Did you mean " + " or ".join(map(repr, close)) + "?" if close else "Pick one of the log's touchpoints."
