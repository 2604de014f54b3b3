"""Funnels over activities or stages, and the KPIs of each stage (the funnel over a stage model).

A customer completes step k of a funnel when, after completing step k-1, the journey has an event of step k:
"eventually follows" takes the first such event after the previous step's, "directly follows" (`directly=True`)
needs the steps as consecutive events, so that a two-step direct funnel a → b counts exactly the customers of
the journey-map edge a → b. Events with equal timestamps keep the file order, as everywhere in Parcours.

In an eventually-follows funnel over stages, a stage is reached by an event of that stage or of a later one,
and one event may complete several steps when it skips ahead: a store customer who buys without any logged
consideration step has still passed consideration. Over the stages of a model, in order, a customer therefore
reaches a stage when the journey "got at least this far" (`discovery._relations`), and `stage_kpis` counts
exactly these customers, beside those who "did a step of the stage". A stage with no touchpoints is reached by
nobody.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._definition import _INTEGER_TYPES, JourneyDefinition, _is_numeric_type, suggest_definition
from discovery._maps import json_records
from discovery._relations import goal_stage_index, got_this_far_sql, stage_relation
from discovery._stages import STAGE_OF, StageModel, check_model, closest_names, stage_channel_mix, stage_steps_params

__all__ = ["Funnel", "StageKPIs", "funnel", "stage_kpis", "stage_reach"]

_EVERY_JOURNEY = Filters()
_BY = ("activity", "stage")

_IN_STEP = "list_contains(?::VARCHAR[], {activity}::VARCHAR)"

# Times are microseconds since the epoch: `start_us` of the journey, and of the events reaching each step.
_STEP_TIMES_SQL = """
WITH {reached}
SELECT step, count(*) AS customers,
       median((reached_us - previous_us) / 1e6) AS median_seconds_from_previous,
       median((reached_us - first_us) / 1e6) AS median_seconds_from_first,
       median((reached_us - start_us) / 1e6) AS median_seconds_to_reach
FROM reached
GROUP BY step
"""

# A stage funnel read off the per-journey activity table in one pass: per journey, the first and last event of
# each stage (offsets in microseconds since the journey's start). When the steps go forward through the model, a
# journey completes step k at its first event of that stage or of a later one (`at_k`, see the module docstring),
# and stays in a stage from its first to its last event there. The same counts and times as the chained funnel,
# without scanning the events; `selected` counts the selected journeys.
_STAGED_SQL = """
WITH {marks}
SELECT a.case_code, {bounds}, min(a.first_offset_us) FILTER (m.is_goal) AS goal_first
FROM journey_activities a JOIN touchpoint_marks m USING (activity)
WHERE m.stage IS NOT NULL OR m.is_goal
GROUP BY a.case_code
"""
# Each journey's stage bounds are its own, whatever the filters: found once per engine for every journey
# (`_STAGED_SQL`), then read for the selected journeys by the stage KPIs and the stage funnel of every filter.
_STAGE_REACH_SQL = """
WITH staged AS (
    SELECT * EXCLUDE (case_code) FROM ({staged})
), steps_at AS (
    SELECT {steps_at} FROM staged
), reached AS (
    SELECT {reached} FROM steps_at
)
SELECT (SELECT count(*) FROM journeys) AS selected, {figures} FROM reached
"""
# What a stage funnel can say of each step; the funnel asks for the first four, the stage KPIs for the time in it.
_STEP_FIGURES = {
    "customers": "count(reached_{step})",
    "did_stage": "count(first_{step})",
    "median_seconds_from_previous": "median((reached_{step} - reached_{previous}) / 1e6)",
    "median_seconds_from_first": "median((reached_{step} - reached_{first}) / 1e6)",
    "median_seconds_to_reach": "median(reached_{step} / 1e6)",
    "median_seconds_in_stage": "median((last_{step} - first_{step}) / 1e6)",
}
_FUNNEL_FIGURES = ("customers", "median_seconds_from_previous", "median_seconds_from_first", "median_seconds_to_reach")
_KPI_FIGURES = ("customers", "did_stage", "median_seconds_to_reach", "median_seconds_in_stage")

# Per stage and attribute: the sum and count of its values, and the counts above and below a score's thresholds.
# Only the steps that carry a value are read (a stage none of whose steps does gets no row: no values), each
# attribute's on its own: one scan of the steps with any value took twice as long at 10M events. An event's value
# counts once per event (summed per touchpoint, then per stage), a customer's own value (`AttributeRole.per_customer`)
# once per customer who did a step of the stage.
_ATTRIBUTE_SQL = "WITH {stage_of} {branches}"
_PER_EVENT_SQL = """
SELECT m.step, p.attribute, sum(p.total)::DOUBLE AS total, sum(p.answered) AS answered, sum(p.high) AS high,
       sum(p.low) AS low
FROM ({per_activity}) p JOIN stage_steps m USING (activity) GROUP BY m.step, p.attribute
"""
_ATTRIBUTE_SUMS_SQL = """
SELECT activity, {index} AS attribute, total_{index} AS total, values_{index} AS answered, high_{index} AS high,
       low_{index} AS low
FROM (SELECT activity, {sums} FROM steps WHERE {column} IS NOT NULL GROUP BY activity)
"""
_PER_CUSTOMER_SUMS_SQL = """
SELECT step, {index} AS attribute, total_{index}::DOUBLE AS total, values_{index} AS answered, high_{index} AS high,
       low_{index} AS low
FROM (
    SELECT step, {sums}
    FROM (
        SELECT m.step, s.case_code, min(s.{column}) AS {column}
        FROM steps s JOIN stage_steps m USING (activity) WHERE s.{column} IS NOT NULL GROUP BY m.step, s.case_code
    )
    GROUP BY step
)
"""


@dataclass(frozen=True)
class Funnel:
    """Customers completing each step in order, with conversion and times.

    `table`: step, customers, conversion_from_previous (customers / customers of the previous step; for the first
    step, of every selected customer), conversion_from_first, drop_off (customers of the previous step who never
    complete this one), median_seconds_from_previous, median_seconds_from_first and median_seconds_to_reach
    (from journey start).
    """

    steps: tuple[str, ...]
    by: str
    directly: bool
    within_seconds: float | None
    customers_selected: int
    table: pd.DataFrame

    @property
    def customers(self) -> tuple[int, ...]:
        """Customers completing each step, in step order."""
        return tuple(int(count) for count in self.table["customers"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "by": self.by,
            "directly": self.directly,
            "within_seconds": self.within_seconds,
            "customers_selected": self.customers_selected,
            "table": json_records(self.table),
        }


@dataclass(frozen=True)
class StageKPIs:
    """The KPIs of each stage of a model, in stage order.

    `table`: stage, touchpoints (how many the stage holds), did_stage (customers with an event of the stage),
    customers (who got at least this far: an event of the stage or a later one — the stage funnel's count),
    conversion_from_previous, drop_off and median_seconds_to_reach (from journey start, of the customers who got
    this far), plus median_seconds_in_stage (first to last event of the stage, over the customers who did it) and
    events (of the stage's touchpoints). `channel_mix`: stage, channel, events, share of the stage's events (events
    without a channel count in the total, so shares may add up to less than one). `attributes`: stage, attribute,
    role, figure, value, values — what each attribute's role says of the stage's events (an amount's total, per
    customer who did the stage and per event; a score's NPS, share satisfied or mean; a number's mean; identifiers,
    categories and dates say nothing), `values` counting the stage's events that carry one — or, for a customer's
    own value (`AttributeRole.per_customer`), the stage's customers that have one, with no per-event figure.
    """

    stages: tuple[str, ...]
    customers_selected: int
    table: pd.DataFrame
    channel_mix: pd.DataFrame
    attributes: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.stages),
            "customers_selected": self.customers_selected,
            "table": json_records(self.table),
            "channel_mix": json_records(self.channel_mix),
            "attributes": json_records(self.attributes),
        }


def funnel(
    engine: Engine,
    steps: Sequence[str],
    *,
    by: str = "activity",
    model: StageModel | None = None,
    within_seconds: float | None = None,
    directly: bool = False,
    filters: Filters = _EVERY_JOURNEY,
    goal: Sequence[str] = (),
) -> Funnel:
    """Return the customers completing each of `steps` in order, among the journeys selected by `filters`.

    `by="stage"` makes each step a stage of `model` (the journey definition's `stages`; suggested from the log
    when None). `within_seconds` is a
    conversion window opened by the first step: a later step counts only when it happens at most that long after
    the customer's first occurrence of the first step. `goal` (the definition's): in a stage funnel going forward,
    only the journeys that converted get as far as the goal's stage or a later one, as on the stage cards.

    >>> funnel(engine, ["visit_website", "add_to_cart", "checkout"], within_seconds=7 * 86400)  # doctest: +SKIP
    """
    problems = []
    if by not in _BY:
        problems.append(Problem("A funnel goes by 'activity' or by 'stage'.", fix="Pass by='activity' or 'stage'."))
    if isinstance(steps, str) or not isinstance(steps, Sequence) or not steps:
        problems.append(Problem("A funnel needs a list of steps.", fix="Give e.g. ['visit', 'buy']."))
    if within_seconds is not None and not _is_positive(within_seconds):
        problems.append(
            Problem("The conversion window must be a positive number of seconds.", value=str(within_seconds))
        )
    if problems:
        raise LogError(problems)
    if model is not None:
        check_model(model)
    window = None if within_seconds is None else float(within_seconds)
    if by == "stage":
        model = suggest_definition(engine).stages if model is None else model
        described = _stage_steps(model, steps, directly=bool(directly))
        indexes = [model.stages.index(step) for step in steps]
        if not directly and all(before < after for before, after in pairwise(indexes)):
            times, selected = _stage_reach(engine, model, indexes, window, filters, _FUNNEL_FIGURES, goal=tuple(goal))
            measured = [bool(step.activities) for step in described]
            return Funnel(tuple(steps), by, False, window, selected, _table(list(steps), times, selected, measured))
    else:
        described = _activity_steps(engine, steps)
    table, selected = _funnel_table(engine, described, bool(directly), window, filters)
    return Funnel(tuple(steps), by, bool(directly), window, selected, table)


def stage_kpis(engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY) -> StageKPIs:
    """Return the KPIs of each stage of the definition over the journeys selected by `filters`.

    The customers who got at least as far as each stage are those of
    `funnel(engine, stages, by="stage", model=definition.stages, goal=definition.goal)`; the attribute figures
    follow each attribute's role in the definition.
    """
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    model = definition.stages
    times, selected = _stage_reach(
        engine, model, range(len(model.stages)), None, filters, _KPI_FIGURES, goal=definition.goal
    )
    touchpoints = [len(model.activities_in(stage)) for stage in model.stages]
    table = _table(list(model.stages), times, selected, [count > 0 for count in touchpoints])
    channel_mix, stage_events = stage_channel_mix(engine, model, filters)
    did_stage = times["did_stage"].fillna(0).to_numpy(dtype=np.int64)
    table = table.rename(columns={"step": "stage"})[
        ["stage", "customers", "conversion_from_previous", "drop_off", "median_seconds_to_reach"]
    ]
    table.insert(1, "touchpoints", touchpoints)
    table.insert(2, "did_stage", did_stage)
    table = table.assign(
        median_seconds_in_stage=times["median_seconds_in_stage"].to_numpy(dtype=float),
        events=stage_events.to_numpy(),
    )
    return StageKPIs(
        stages=model.stages,
        customers_selected=selected,
        table=table,
        channel_mix=channel_mix,
        attributes=_attribute_figures(engine, definition, filters, did_stage),
    )


def stage_reach(engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
    """Return stage, customers (who got at least this far) and did_stage (who did a step of it), one row per stage.

    The counts of `stage_kpis`, without its times, channel mix and attribute figures: what comparing two segments
    reads, at a third of the cost.
    """
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    model = definition.stages
    figures = ("customers", "did_stage")
    times, _ = _stage_reach(engine, model, range(len(model.stages)), None, filters, figures, goal=definition.goal)
    return pd.DataFrame(
        {
            "stage": pd.array(model.stages, dtype="str"),
            **{name: times[name].fillna(0).to_numpy(dtype=np.int64) for name in figures},
        }
    )


def _stage_reach(
    engine: Engine,
    model: StageModel,
    steps: Sequence[int],
    within_seconds: float | None,
    filters: Filters,
    figures: Sequence[str],
    *,
    goal: Sequence[str] = (),
) -> tuple[pd.DataFrame, int]:
    """Return `figures` (names of `_STEP_FIGURES`) by step and the selected count, for steps given as stage indexes.

    The steps must go forward through the model (increasing indexes); a conversion window keeps a step when it
    is reached at most `within_seconds` after the first step with touchpoints. A stage without touchpoints is
    completed by nobody and skipped: the next step's time from the previous one is from the last step with
    touchpoints, so the stage funnel and the stage KPIs count the same customers.
    """
    stages = range(len(model.stages))
    kept = "" if within_seconds is None else " AND at_{step} - at_{first} <= ?"
    bounds = ", ".join(
        f"min(a.first_offset_us) FILTER (m.stage = {stage}) AS first_{stage},"
        f" max(a.last_offset_us) FILTER (m.stage = {stage}) AS last_{stage}"
        for stage in stages
    )
    marks, marks_params = stage_relation(engine, model.stages, dict(model.stage_of), goal)
    staged = engine.per_journey(_STAGED_SQL.format(marks=marks, bounds=bounds), marks_params)
    has_stage = [_has_touchpoints(model, stage) for stage in stages]
    goal_stage = goal_stage_index(model.stages, dict(model.stage_of), goal)
    measured = [step for step, stage in enumerate(steps) if has_stage[stage]]
    sql = _STAGE_REACH_SQL.format(
        staged=engine.selected(staged, filters),
        steps_at=", ".join(
            f"{got_this_far_sql(stage, has_stage, goal_stage)} AS at_{i}, first_{stage} AS first_{i},"
            f" last_{stage} AS last_{i}"
            for i, stage in enumerate(steps)
        ),
        reached=", ".join(
            f"CASE WHEN at_{step} IS NOT NULL{kept.format(step=step, first=_first(measured))} THEN at_{step} END"
            f" AS reached_{step}, first_{step}, last_{step}"
            for step in range(len(steps))
        ),
        figures=", ".join(
            f"{_step_figure(name, step, measured)} AS {name}_{step}" for step in range(len(steps)) for name in figures
        ),
    )
    params = [] if within_seconds is None else [within_seconds * 1e6] * len(steps)
    row = engine.query(sql, params, filters).iloc[0]
    by_step = {name: [row[f"{name}_{step}"] for step in range(len(steps))] for name in figures}
    return pd.DataFrame(by_step, dtype=float), int(row["selected"])


def _has_touchpoints(model: StageModel, stage: int) -> bool:
    return bool(model.activities_in(model.stages[stage]))


def _first(measured: Sequence[int]) -> int:
    """The first step with touchpoints, which opens a conversion window (the first step when none has any)."""
    return measured[0] if measured else 0


def _step_figure(name: str, step: int, measured: Sequence[int]) -> str:
    """The SQL of a step's figure; times from the previous step or the first are from the steps with touchpoints."""
    earlier = [index for index in measured if index < step]
    if name == "median_seconds_from_previous" and not earlier:
        return "NULL"
    return _STEP_FIGURES[name].format(step=step, previous=earlier[-1] if earlier else None, first=_first(measured))


@dataclass(frozen=True)
class _Step:
    """One funnel step: its name, the activities completing it, and whether the event that completed the previous
    step may complete it too (a stage skipped ahead to)."""

    name: str
    activities: list[str]
    shares_previous_event: bool = False


def _funnel_table(
    engine: Engine, steps: list[_Step], directly: bool, within_seconds: float | None, filters: Filters
) -> tuple[pd.DataFrame, int]:
    """Return the funnel table of the steps and the number of selected customers.

    A step no activity completes (a stage without touchpoints) is left out of the query and skipped in the table.
    """
    measured = [index for index, step in enumerate(steps) if step.activities]
    times = pd.DataFrame(columns=list(_FUNNEL_FIGURES), dtype=float)
    if measured:
        reached, params = _reached_ctes(
            [steps[index] for index in measured], directly=directly, within_seconds=within_seconds
        )
        times = engine.query(_STEP_TIMES_SQL.format(reached=reached), params, filters).set_index("step")
        times.index = [measured[step] for step in times.index]
    selected = engine.summary(filters).cases
    table = _table(
        [step.name for step in steps],
        times.reindex(range(len(steps))),
        selected,
        [bool(step.activities) for step in steps],
    )
    return table, selected


def _table(
    steps: list[str], times: pd.DataFrame, selected: int, measured: Sequence[bool] | None = None
) -> pd.DataFrame:
    """Return the funnel table from the customers and median times of each step (one row per step, in order).

    Median times `times` lacks (stage KPIs only need the time to reach) are left out of the table. A step that is
    not `measured` (a stage without touchpoints, which nobody reaches) has no conversion and no drop-off, and the
    next step is compared with the last measured one: its customers skipped the empty stage, they did not drop.
    """
    customers = times["customers"].fillna(0).to_numpy(dtype=np.int64)
    measured = np.ones(len(steps), dtype=bool) if measured is None else np.asarray(measured, dtype=bool)
    # The customers of the last measured step before each step (the selected customers before the first).
    counted = np.concatenate([[selected], customers])
    last_measured = np.maximum.accumulate(np.where(np.concatenate([[True], measured]), np.arange(len(steps) + 1), 0))
    previous = counted[last_measured[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        from_previous = np.where(measured & (previous > 0), customers / previous, np.nan)
        first = customers[measured][0] if measured.any() else 0
        from_first = np.where(measured & (first > 0), customers / first, np.nan)
    # Customers of the previous measured step who never got this far (never fewer than none).
    drop_off = pd.array(np.maximum(previous - customers, 0), dtype="Int64")
    drop_off[~measured] = pd.NA
    medians = ["median_seconds_from_previous", "median_seconds_from_first", "median_seconds_to_reach"]
    return pd.DataFrame(
        {
            "step": pd.array(steps, dtype="str"),
            "customers": customers,
            "conversion_from_previous": from_previous,
            "conversion_from_first": from_first,
            "drop_off": drop_off,
            **{name: times[name].to_numpy(dtype=float) for name in medians if name in times},
        }
    )


def _reached_ctes(steps: list[_Step], *, directly: bool, within_seconds: float | None) -> tuple[str, list]:
    """Return CTEs ending in `reached` and their parameters.

    `reached` has one row per customer and step completed: step (0-based), case_code, and in microseconds since
    the epoch `reached_us` of the event completing it, `previous_us` (of the previous step, in the same run for
    direct funnels), `first_us` (of the first step) and `start_us` (of the journey's first event).
    """
    if directly:
        ctes, params = _direct_reach(steps, within_seconds)
    else:
        ctes, params = _eventual_reach(steps, within_seconds)
    union = " UNION ALL ".join(
        f"SELECT {index} AS step, case_code, reached_us, previous_us, first_us, start_us FROM reach_{index}"
        for index in range(len(steps))
    )
    return f"{ctes}, reached AS ({union})", params


def _eventual_reach(steps: list[_Step], within_seconds: float | None) -> tuple[str, list]:
    """Chain one CTE per step: the first event of the step after the event completing the previous one.

    The first step is read off the per-journey activity table (a journey's first event of an activity is its
    first occurrence there); each later one joins the events of its own activities only, marked in the layout's
    activity type so that no event's activity is turned into text.
    """
    in_window = "" if within_seconds is None else "WHERE epoch_us(s.timestamp) - r.first_us <= ?"
    in_step = _IN_STEP.format(activity="activity")
    marks = [
        f"step_{index} AS MATERIALIZED (SELECT activity FROM all_activities WHERE {in_step})"
        for index in range(len(steps))
    ]
    params: list = [step.activities for step in steps]
    reach = [
        """reach_0 AS (
            SELECT *, reached_us AS first_us FROM (
                SELECT a.case_code, min(a.first_pos) AS pos, any_value(epoch_us(j.start_time)) AS start_us,
                       any_value(epoch_us(j.start_time)) + arg_min(a.first_offset_us, a.first_pos) AS reached_us,
                       NULL::BIGINT AS previous_us
                FROM journey_activities a JOIN step_0 USING (activity) JOIN journeys j USING (case_code)
                GROUP BY a.case_code
            )
        )"""
    ]
    for index, step in enumerate(steps[1:], start=1):
        after = ">=" if step.shares_previous_event else ">"
        reach.append(
            f"""reach_{index} AS (
                SELECT r.case_code, min(s.pos) AS pos, epoch_us(arg_min(s.timestamp, s.pos)) AS reached_us,
                       any_value(r.reached_us) AS previous_us, any_value(r.first_us) AS first_us,
                       any_value(r.start_us) AS start_us
                FROM reach_{index - 1} r JOIN steps s ON s.case_code = r.case_code AND s.pos {after} r.pos
                JOIN step_{index} USING (activity)
                {in_window}
                GROUP BY r.case_code
            )"""
        )
        if within_seconds is not None:
            params.append(within_seconds * 1e6)
    return ", ".join(marks + reach), params


def _direct_reach(steps: list[_Step], within_seconds: float | None) -> tuple[str, list]:
    """Match every run of consecutive events against the steps; each step keeps the customer's earliest run."""
    looked_ahead = "".join(
        f", lead(activity::VARCHAR, {offset}) OVER journey AS activity_{offset},"
        f" epoch_us(lead(timestamp, {offset}) OVER journey) AS at_{offset}"
        for offset in range(1, len(steps))
    )
    ctes = [
        f"""runs AS (
            SELECT case_code, pos, epoch_us(first_value(timestamp) OVER journey) AS start_us,
                   activity::VARCHAR AS activity_0, epoch_us(timestamp) AS at_0{looked_ahead}
            FROM steps WINDOW journey AS (PARTITION BY case_code ORDER BY pos)
        )"""
    ]
    params: list = []
    for index in range(len(steps)):
        matched = " AND ".join(_IN_STEP.format(activity=f"activity_{offset}") for offset in range(index + 1))
        params.extend(step.activities for step in steps[: index + 1])
        if within_seconds is not None:
            matched += f" AND at_{index} - at_0 <= ?"
            params.append(within_seconds * 1e6)
        previous_us = "NULL::BIGINT" if index == 0 else f"arg_min(at_{index - 1}, pos)"
        ctes.append(
            f"""reach_{index} AS (
                SELECT case_code, arg_min(at_{index}, pos) AS reached_us, {previous_us} AS previous_us,
                       arg_min(at_0, pos) AS first_us, any_value(start_us) AS start_us
                FROM runs WHERE {matched} GROUP BY case_code
            )"""
        )
    return ", ".join(ctes), params


def _activity_steps(engine: Engine, steps: Sequence[str]) -> list[_Step]:
    """Return one step per activity, or raise LogError naming every activity the log does not have."""
    known = engine.activity_names
    problems = [
        Problem("The log has no such activity.", fix=closest_names(str(step), known), value=str(step))
        for step in dict.fromkeys(steps)
        if step not in known
    ]
    if problems:
        raise LogError(problems)
    return [_Step(step, [step]) for step in steps]


def _stage_steps(model: StageModel, steps: Sequence[str], *, directly: bool) -> list[_Step]:
    """Return one step per stage, or raise LogError naming every step that is not a stage of `model`.

    Eventually, a stage is completed by an activity of it or of a later stage, even by the very event that
    completed the previous step when the stage comes later in the model (the customer skipped ahead); directly,
    only by its own activities. A stage without activities is completed by nobody (no activities), and skipped:
    the step after it follows the step before it.
    """
    problems = [
        Problem("The stage model has no such stage.", fix=closest_names(str(step), model.stages), value=str(step))
        for step in dict.fromkeys(steps)
        if step not in model.stages
    ]
    if problems:
        raise LogError(problems)
    rank = {stage: index for index, stage in enumerate(model.stages)}
    if directly:
        return [_Step(stage, list(model.activities_in(stage))) for stage in steps]
    described = []
    previous = None  # the last step with touchpoints
    for stage in steps:
        if not model.activities_in(stage):
            described.append(_Step(stage, []))
            continue
        activities = [activity for activity, assigned in model.stage_of.items() if rank[assigned] >= rank[stage]]
        described.append(_Step(stage, activities, previous is not None and rank[stage] > rank[previous]))
        previous = stage
    return described


def _attribute_figures(
    engine: Engine, definition: JourneyDefinition, filters: Filters, did_stage: np.ndarray
) -> pd.DataFrame:
    """Return stage, attribute, role, figure, value, values for every stage and every attribute whose role says
    something (amounts, scores, numbers), in stage then attribute order."""
    columns = engine.attribute_columns
    roles = {name: definition.role_of(name, stored_as) for name, stored_as in columns.items()}
    summed = {name: role for name, role in roles.items() if role.is_summed and _is_numeric_type(columns[name])}
    empty = pd.DataFrame(
        {
            "stage": pd.Series(dtype="str"),
            "attribute": pd.Series(dtype="str"),
            "role": pd.Series(dtype="str"),
            "figure": pd.Series(dtype="str"),
            "value": pd.Series(dtype=float),
            "values": pd.Series(dtype=np.int64),
        }
    )
    if not summed:
        return empty
    event_sums, branches = [], []
    for index, (name, role) in enumerate(summed.items()):
        column = engine.attribute_column(name)
        sums = role.sums_sql(column, index, partial=True, whole=columns[name] in _INTEGER_TYPES)
        if role.per_customer:
            branches.append(_PER_CUSTOMER_SUMS_SQL.format(index=index, sums=sums, column=column))
        else:
            event_sums.append(_ATTRIBUTE_SUMS_SQL.format(index=index, sums=sums, column=column))
    if event_sums:
        branches.append(_PER_EVENT_SQL.format(per_activity=" UNION ALL ".join(event_sums)))
    sql = _ATTRIBUTE_SQL.format(stage_of=STAGE_OF, branches=" UNION ALL ".join(branches))
    model = definition.stages
    sums = engine.query(sql, stage_steps_params(model), filters).set_index(["step", "attribute"])
    rows = []
    for step, stage in enumerate(model.stages):
        for index, (name, role) in enumerate(summed.items()):
            if (step, index) in sums.index:
                total, values, high, low = sums.loc[(step, index), ["total", "answered", "high", "low"]]
                total, values, high, low = float(total), int(values), int(high), int(low)
            else:
                total, values, high, low = 0.0, 0, 0, 0
            for figure, value in role.figures(total, values, high, low, int(did_stage[step])):
                rows.append((stage, name, str(role), figure, value if values else math.nan, values))
    return pd.DataFrame(rows, columns=list(empty.columns)).astype(empty.dtypes.to_dict())


def _is_positive(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
