"""The measured effect of an improvement action: its KPI before and after the go-live, for the customers it targets
and, as a control, for those it does not.

Journeys are split by the day they started: those that started in the `window_days` before the go-live against
those that started in the `window_days` from it. The KPIs, per customer (one journey each), compose the words of
`discovery._relations` and `discovery._churn`:

- conversion: converted journeys over decided ones; churn: churned over decided ones (the churn rate), or — with a
  touchpoint — the journeys that churned right after it over the decided ones that did it (the churn points' rate);
- drop-off at stage S: of the decided journeys that got at least as far as the stage before S (every decided
  journey for the first stage), the share that never got as far as S (the funnel's drop-off);
- time to stage S: the median days from a decided journey's start to the first event of S or a later stage;
- score: each customer's mean answer of a score attribute, summed up as its scale says (NPS: % promoters −
  % detractors, CSAT: share satisfied, else the mean).

Censoring follows the journey definition: a journey still open (censored) may yet convert, churn or move on, so it
is left out of the outcome KPIs rather than counted as a success or a failure too early; the number left out is
reported. A score, once given, is final, so score KPIs leave nobody out. Intervals are 95 %: Wilson for a share,
Newcombe's hybrid score interval for a difference of shares and its MOVER extension for the difference in
differences; normal (Welch) intervals for means; seeded percentile bootstrap intervals for medians.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._actions import Action
from discovery._churn import CHURNED_STEPS, wilson_interval
from discovery._conformance import conformance
from discovery._definition import NPS_DETRACTOR_UP_TO, NPS_PROMOTER_FROM, JourneyDefinition, outcome_relation
from discovery._designed import DesignedJourney
from discovery._maps import json_records
from discovery._relations import CHURNED_OUTCOMES, CONVERTED_OUTCOMES
from discovery._stages import closest_names

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "GROUPS",
    "PERIODS",
    "ActionEffect",
    "action_effect",
    "change_text",
    "interval_text",
]

DEFAULT_WINDOW_DAYS = 90
GROUPS = ("targeted", "untargeted")
PERIODS = ("before", "after")
BOOTSTRAP_SAMPLES = 1_000
_Z_95 = 1.959963984540054
_EVERY_JOURNEY = Filters()
_ONE_DAY_US = 86_400_000_000
CAVEAT = (
    "This is an observational comparison, not an experiment: customers who started after the go-live may differ "
    "from those before in other ways (season, campaigns, prices, the mix of channels), so a difference is not proof "
    "that the action caused it. The difference in differences nets out what changed for targeted and untargeted "
    "customers alike, if both would otherwise have moved in parallel. Journeys that started late in the log have had "
    "less time to churn, so churn reads lower near the log's end, and more so for customers who churn late: read an "
    "effect whose after-window ends near the log's end with care."
)

# One row per journey started in the two windows; `measured_kept` holds those the KPI is measured on.
_MEASURED = """measured AS MATERIALIZED (
    SELECT j.case_code, j.start_time, j.start_time >= ?::TIMESTAMPTZ AS after, coalesce({targeted}, FALSE) AS targeted,
           {left_out} AS left_out, coalesce({eligible}, FALSE) AS eligible, ({value})::DOUBLE AS value
    FROM journeys j JOIN outcomes o USING (case_code) {joins}
    WHERE j.start_time >= ?::TIMESTAMPTZ AND j.start_time < ?::TIMESTAMPTZ
), measured_kept AS (
    SELECT * FROM measured WHERE eligible AND NOT left_out
)"""
# The rows by period give the figures, those by the week the journeys started the chart, and the last ones count the
# journeys left out as still open.
_EFFECT_SQL = """
WITH {ctes}, {measured}
SELECT 'period' AS grain, targeted, after, NULL::TIMESTAMPTZ AS week, count(*) AS customers, sum(value) AS total,
       avg(value) AS mean, var_samp(value) AS variance, median(value) AS median
FROM measured_kept GROUP BY targeted, after
UNION ALL
SELECT 'week', targeted, NULL, date_trunc('week', start_time), count(*), sum(value), avg(value), NULL, median(value)
FROM measured_kept GROUP BY targeted, date_trunc('week', start_time)
UNION ALL
SELECT 'excluded', targeted, after, NULL, count(*), NULL, NULL, NULL, NULL
FROM measured WHERE eligible AND left_out GROUP BY targeted, after
"""
_VALUES_SQL = "WITH {ctes}, {measured} SELECT targeted, after, value FROM measured_kept"
_TOUCHPOINT_CTE = "{name} AS (SELECT activity FROM all_activities WHERE activity::VARCHAR = ?)"
# Per journey, the offset (µs after its start) of its first event of each stage from `index` on: reaching stage k
# is "getting at least this far" (`discovery._relations`), so stage k is reached at the first event of a later one.
_REACH_CTE = """reach AS (
    SELECT a.case_code, min(a.first_offset_us) FILTER (WHERE m.stage >= ?) AS reached_us,
           min(a.first_offset_us) FILTER (WHERE m.stage >= ?) AS previous_us
    FROM journey_activities a JOIN touchpoint_marks m USING (activity) WHERE m.stage IS NOT NULL
    GROUP BY a.case_code
)"""
_SCORE_CTE = """answers AS (
    SELECT case_code, avg({column}::DOUBLE) AS answer FROM steps WHERE {column} IS NOT NULL GROUP BY case_code
)"""


@dataclass(frozen=True)
class _Measure:
    """How one KPI is measured: extra CTEs and their parameters, the SQL saying which journeys it is defined for
    and their value, whether censored journeys are left out, and how it is summed up."""

    label: str
    statistic: str  # "proportion", "mean" or "median"
    unit: str
    ctes: tuple[str, ...] = ()
    params: tuple = ()
    joins: str = ""
    eligible: str = "TRUE"
    value: str = "0"
    uses_censoring: bool = True
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionEffect:
    """The KPI of an action's targeted and untargeted customers before and after its go-live.

    `groups`: group (targeted, untargeted), period (before, after), customers (unique customers measured),
    excluded (still open under the churn rule, so left out), successes (shares only), value (the KPI: a share,
    NPS points, days or a mean) and its 95 % interval ci_low, ci_high. `difference`: the targeted customers' after −
    before, with its interval; `did`: that difference minus the untargeted customers' own (None when there are no
    untargeted customers to compare with). `weekly`: week (the Monday the journeys started), group, customers,
    value — for the chart.
    """

    action: Action
    kpi: str
    statistic: str
    unit: str
    interval_method: str
    window_days: int
    before_start: pd.Timestamp
    go_live: pd.Timestamp
    after_end: pd.Timestamp
    groups: pd.DataFrame
    difference: tuple[float, float, float]
    did: tuple[float, float, float] | None
    untargeted: str
    censoring: str
    weekly: pd.DataFrame
    caveat: str = CAVEAT

    @property
    def excluded(self) -> int:
        """Journeys left out because they are still open (censored), in every group."""
        return int(self.groups["excluded"].sum())

    def figure(self, group: str, period: str) -> pd.Series:
        """The row of `groups` for one group and period."""
        rows = self.groups
        return rows[(rows["group"] == group) & (rows["period"] == period)].iloc[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.to_dict(),
            "kpi": self.kpi,
            "statistic": self.statistic,
            "unit": self.unit,
            "interval_method": self.interval_method,
            "window_days": self.window_days,
            "before_start": self.before_start.isoformat(),
            "go_live": self.go_live.isoformat(),
            "after_end": self.after_end.isoformat(),
            "groups": json_records(self.groups),
            "difference": _interval_dict(self.difference),
            "difference_in_differences": _interval_dict(self.did),
            "untargeted": self.untargeted,
            "censoring": self.censoring,
            "excluded_censored": self.excluded,
            "caveat": self.caveat,
            "weekly": json_records(self.weekly),
        }


def action_effect(
    engine: Engine,
    definition: JourneyDefinition,
    action: Action,
    filters: Filters = _EVERY_JOURNEY,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    segment: Filters | None = None,
    designed: DesignedJourney | None = None,
) -> ActionEffect:
    """Return the action's KPI for the journeys that started in the `window_days` before its go-live against those
    that started in the `window_days` from it, for its targeted customers and the others, among `filters`' journeys.

    A persona or segment target's customers are the ones `segment` selects (the dashboard and the CLI find them
    from the saved segment or persona); other targets are found in the log. The conformance KPI needs the `designed`
    journey (the dataset's saved one: `designed_of`). LogError says what cannot be measured.

    >>> effect = action_effect(engine, definition, action, window_days=60)  # doctest: +SKIP
    >>> effect.difference  # (after − before, 95 % low, 95 % high) for the targeted customers  # doctest: +SKIP
    """
    if not isinstance(action, Action):
        raise TypeError(f"action must be an Action, not {type(action).__name__}")
    problems = []
    if action.go_live is None:
        problems.append(Problem("The action has no go-live date, so there is no before and after.", fix="Set one."))
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        problems.append(Problem("The window must be a whole number of days, at least 1.", value=str(window_days)))
    if action.kpi == "conformance" and designed is None:
        problems.append(
            Problem(
                "Conformance is measured against the designed journey, and none is given.",
                fix="Save the designed journey on the Designed vs actual page first.",
            )
        )
    if problems:
        raise LogError(problems)
    measure = _measure(engine, definition, action, designed)
    targeted, target_ctes, target_params, tables = _targeted(engine, definition, action, segment)
    tables = {**(tables or {}), **measure.tables} or None
    outcomes, outcome_params = outcome_relation(engine, definition)
    ctes = ", ".join((outcomes, *target_ctes, *measure.ctes))
    go_live = pd.Timestamp(action.go_live, tz="UTC")
    window = pd.Timedelta(days=window_days)
    params = [*outcome_params, *target_params, *measure.params, go_live, go_live - window, go_live + window]
    measured = _MEASURED.format(
        targeted=targeted,
        eligible=measure.eligible,
        value=measure.value,
        joins=measure.joins,
        left_out="o.outcome = 'censored'" if measure.uses_censoring else "FALSE",
    )
    rows = engine.query(_EFFECT_SQL.format(ctes=ctes, measured=measured), params, filters, tables=tables)
    values = None
    if measure.statistic == "median":
        values = engine.query(_VALUES_SQL.format(ctes=ctes, measured=measured), params, filters, tables=tables)
    groups = _groups(rows, measure.statistic, values)
    difference, did, method = _differences(groups, measure.statistic, values)
    weekly = rows[rows["grain"] == "week"]
    weekly = pd.DataFrame(
        {
            "week": weekly["week"],
            "group": np.where(weekly["targeted"].astype(bool), GROUPS[0], GROUPS[1]),
            "customers": weekly["customers"].astype(np.int64),
            "value": weekly["median" if measure.statistic == "median" else "mean"].astype(float),
        }
    ).sort_values(["group", "week"], ignore_index=True)
    return ActionEffect(
        action=action,
        kpi=measure.label,
        statistic=measure.statistic,
        unit=measure.unit,
        interval_method=method,
        window_days=window_days,
        before_start=go_live - window,
        go_live=go_live,
        after_end=go_live + window,
        groups=groups,
        difference=difference,
        did=did,
        untargeted=_untargeted_words(action),
        censoring=(
            "Journeys still open under the journey definition's churn rule (censored) are left out: they may yet "
            "convert, churn or move on."
            if measure.uses_censoring
            else "No journey is left out: an answer, once given, is final."
        ),
        weekly=weekly,
    )


def _measure(
    engine: Engine, definition: JourneyDefinition, action: Action, designed: DesignedJourney | None
) -> _Measure:
    """How the action's KPI is measured on this log, or LogError saying what it lacks."""
    kpi, target = action.kpi, action.target
    if kpi == "conformance":
        # pm4py's fitness of every variant the check reaches (the Designed vs actual page's), joined to the journeys.
        checked = conformance(engine, definition, designed).variants.dropna(subset=["fitness"])
        return _Measure(
            "conformance: decided journeys that keep to the designed steps, of those checked",
            "proportion",
            "share",
            joins="LEFT JOIN conformance_fitness f ON f.variant_id = j.variant_id",
            eligible="f.fitness IS NOT NULL",
            value="f.steps_fitness >= 1",
            tables={"conformance_fitness": checked[["variant_id", "fitness", "steps_fitness"]]},
        )
    if kpi == "conversion":
        if not definition.goal:
            raise LogError(Problem("No goal is chosen, so conversion cannot be measured.", fix="Choose the goal."))
        return _Measure(
            "conversion: converted journeys over decided ones",
            "proportion",
            "share",
            value=f"o.outcome IN {_sql_words(CONVERTED_OUTCOMES)}",
        )
    if kpi == "churn":
        if not definition.goal:
            # Nobody converts, so every ended journey is a churn: the rate would read 100 % before and after alike.
            raise LogError(Problem("No goal is chosen, so churn cannot be measured.", fix="Choose the goal."))
        touchpoint = action.kpi_on or (target.value if target.kind in ("touchpoint", "churn point") else None)
        if touchpoint is None:
            return _Measure(
                "churn: churned journeys over decided ones",
                "proportion",
                "share",
                value=f"o.outcome IN {_sql_words(CHURNED_OUTCOMES)}",
            )
        _check_touchpoints(engine, [touchpoint], "kpi_on")
        return _Measure(
            f"churn right after {touchpoint!r}: of the decided journeys that did it, those that churned right after it",
            "proportion",
            "share",
            ctes=(CHURNED_STEPS, _TOUCHPOINT_CTE.format(name="kpi_touchpoint")),
            params=(touchpoint,),
            joins="LEFT JOIN churned_steps c USING (case_code)",
            eligible=_did_touchpoint("kpi_touchpoint"),
            value="coalesce(c.activity = (SELECT activity::VARCHAR FROM kpi_touchpoint), FALSE)",
        )
    if kpi in ("drop-off", "time to stage"):
        stage = action.kpi_on or (target.value if target.kind == "stage" else None)
        index = _stage_index(definition, stage, "kpi_on")
        reach = {
            "ctes": (_REACH_CTE,),
            "params": (index, max(index - 1, 0)),
            "joins": "LEFT JOIN reach r USING (case_code)",
        }
        if kpi == "drop-off":
            return _Measure(
                f"drop-off at stage {stage!r}: of the decided journeys that got at least as far as the stage before, "
                "those that never got this far",
                "proportion",
                "share",
                eligible="TRUE" if index == 0 else "r.previous_us IS NOT NULL",
                value="r.reached_us IS NULL",
                **reach,
            )
        return _Measure(
            f"time to stage {stage!r}: median days from a decided journey's start to getting this far",
            "median",
            "days",
            eligible="r.reached_us IS NOT NULL",
            value=f"r.reached_us / {_ONE_DAY_US}",
            **reach,
        )
    return _score_measure(engine, definition, action.kpi_on)


def _score_measure(engine: Engine, definition: JourneyDefinition, attribute: str | None) -> _Measure:
    stored_as = engine.attribute_columns.get(attribute) if attribute else None
    if stored_as is None:
        known = [
            name for name, kind in engine.attribute_columns.items() if definition.role_of(name, kind).role == "score"
        ]
        raise LogError(
            Problem(
                "A score KPI needs the score attribute it is measured on (the action's kpi_on).",
                fix=closest_names(attribute or "", known)
                if known
                else "Mark an attribute as a score on the Journey definition page first.",
                value=attribute,
            )
        )
    role = definition.role_of(attribute, stored_as)
    if role.role != "score":
        raise LogError(
            Problem(
                f"The attribute is a {role}, not a score.",
                fix="Mark it as a score (NPS, CSAT or mean) on the Journey definition page.",
                value=attribute,
            )
        )
    column = engine.attribute_column(attribute)
    parts = {
        "ctes": (_SCORE_CTE.format(column=column),),
        "joins": "LEFT JOIN answers s USING (case_code)",
        "eligible": "s.answer IS NOT NULL",
        "uses_censoring": False,
    }
    if role.scale == "nps":
        value = (
            f"CASE WHEN s.answer >= {NPS_PROMOTER_FROM} THEN 100 WHEN s.answer <= {NPS_DETRACTOR_UP_TO} THEN -100 "
            "ELSE 0 END"
        )
        return _Measure(
            f"NPS of {attribute!r}: % promoters − % detractors, one mean answer per customer", "mean", "NPS points",
            value=value, **parts,
        )  # fmt: skip
    if role.scale == "csat":
        return _Measure(
            f"CSAT of {attribute!r}: share of customers whose mean answer is at least {role.satisfied_from:g}",
            "proportion",
            "share",
            value=f"s.answer >= {float(role.satisfied_from)!r}",
            **parts,
        )
    return _Measure(f"mean of {attribute!r}, one mean answer per customer", "mean", "points", value="s.answer", **parts)


def _targeted(
    engine: Engine, definition: JourneyDefinition, action: Action, segment: Filters | None
) -> tuple[str, tuple[str, ...], tuple, dict[str, pd.DataFrame] | None]:
    """The SQL telling a targeted journey, its CTEs and parameters, and the frame of targeted customers it reads."""
    target = action.target
    if target.kind in ("touchpoint", "churn point"):
        _check_touchpoints(engine, [target.value], "target")
        return (
            _did_touchpoint("target_touchpoint"),
            (_TOUCHPOINT_CTE.format(name="target_touchpoint"),),
            (target.value,),
            None,
        )
    if target.kind == "transition":
        source, to = target.transition
        _check_touchpoints(engine, [source, to], "target")
        ctes = (_TOUCHPOINT_CTE.format(name="target_source"), _TOUCHPOINT_CTE.format(name="target_to"))
        went = (
            "j.case_code IN (SELECT case_code FROM journey_pairs WHERE source = (SELECT activity FROM target_source) "
            "AND target = (SELECT activity FROM target_to))"
        )
        return went, ctes, (source, to), None
    if target.kind == "stage":
        index = _stage_index(definition, target.value, "target")
        did = (
            "j.case_code IN (SELECT a.case_code FROM journey_activities a JOIN touchpoint_marks m USING (activity) "
            "WHERE m.stage = (SELECT stage FROM target_stage))"
        )
        return did, ("target_stage AS (SELECT ?::INTEGER AS stage)",), (index,), None
    if segment is None:
        raise LogError(
            Problem(
                f"The customers of the {target.kind} {target.value!r} are not given.",
                fix="Measure it on the Actions page, or give its filters with --segment.",
            )
        )
    if not isinstance(segment, Filters):
        raise TypeError(f"segment must be a Filters value, not {type(segment).__name__}")
    members = engine.cases(segment)[["case_id"]]
    return "j.case_id IN (SELECT case_id FROM targeted_ids)", (), (), {"targeted_ids": members}


def _did_touchpoint(cte: str) -> str:
    return f"j.case_code IN (SELECT case_code FROM journey_activities WHERE activity = (SELECT activity FROM {cte}))"


def _check_touchpoints(engine: Engine, names: list[str], part: str) -> None:
    problems = [
        Problem(
            f"The log has no touchpoint of this name (the action's {part}).",
            fix=closest_names(name, engine.activity_names),
            value=name,
        )
        for name in names
        if name not in engine.activity_names
    ]
    if problems:
        raise LogError(problems)


def _stage_index(definition: JourneyDefinition, stage: str | None, part: str) -> int:
    stages = definition.stages.stages
    if stage not in stages:
        raise LogError(
            Problem(
                f"The journey definition has no such stage (the action's {part}).",
                fix=closest_names(stage or "", stages) if stage else f"Name one of {', '.join(stages)}.",
                value=stage,
            )
        )
    return stages.index(stage)


def _groups(rows: pd.DataFrame, statistic: str, values: pd.DataFrame | None) -> pd.DataFrame:
    """One row per group and period: customers, excluded, successes, value and its interval."""
    figures = rows[rows["grain"] == "period"].set_index(["targeted", "after"])
    excluded = rows[rows["grain"] == "excluded"].set_index(["targeted", "after"])["customers"]
    records = []
    for group in GROUPS:
        for period in PERIODS:
            key = (group == GROUPS[0], period == PERIODS[1])
            row = figures.loc[key] if key in figures.index else None
            customers = 0 if row is None else int(row["customers"])
            record = {
                "group": group,
                "period": period,
                "customers": customers,
                "excluded": int(excluded.get(key, 0)),
                "successes": None,
                "value": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
            }
            if customers and statistic == "proportion":
                successes = round(float(row["total"]))
                low, high = wilson_interval(np.array([successes]), np.array([customers]))
                record.update(successes=successes, value=successes / customers, ci_low=low[0], ci_high=high[0])
            elif customers and statistic == "mean":
                half = _Z_95 * math.sqrt(row["variance"] / customers) if customers > 1 else math.nan
                record.update(value=float(row["mean"]), ci_low=row["mean"] - half, ci_high=row["mean"] + half)
            elif customers:
                medians = _bootstrap_medians(_values_of(values, *key), _rng((group, period)))
                low, high = np.percentile(medians, [2.5, 97.5])
                record.update(value=float(row["median"]), ci_low=low, ci_high=high)
            records.append(record)
    table = pd.DataFrame(records)
    return table.astype({"customers": np.int64, "excluded": np.int64, "successes": "Int64"})


def _differences(
    groups: pd.DataFrame, statistic: str, values: pd.DataFrame | None
) -> tuple[tuple[float, float, float], tuple[float, float, float] | None, str]:
    """The targeted customers' after − before, the difference in differences (None without untargeted customers
    in both periods) and, in words, how their intervals were computed."""
    row = {
        (group, period): groups.iloc[index]
        for index, (group, period) in enumerate(zip(groups["group"], groups["period"], strict=True))
    }
    changes = {}
    for group in GROUPS:
        before, after = row[(group, "before")], row[(group, "after")]
        if statistic == "proportion":
            changes[group] = _newcombe(before, after)
        elif statistic == "mean":
            variance = _mean_variance(before) + _mean_variance(after)
            change = after["value"] - before["value"]
            changes[group] = (change, change - _Z_95 * math.sqrt(variance), change + _Z_95 * math.sqrt(variance))
    has_control = all(row[("untargeted", period)]["customers"] > 0 for period in PERIODS)
    if statistic == "median":
        medians = {
            key: _bootstrap_medians(_values_of(values, key[0] == GROUPS[0], key[1] == PERIODS[1]), _rng(key))
            for key in row
            if row[key]["customers"] > 0
        }
        for group in GROUPS:
            before, after = row[(group, "before")], row[(group, "after")]
            if before["customers"] and after["customers"]:
                spread = medians[(group, "after")] - medians[(group, "before")]
                changes[group] = (after["value"] - before["value"], *np.percentile(spread, [2.5, 97.5]))
            else:
                changes[group] = (math.nan, math.nan, math.nan)
        did = None
        if has_control and "targeted" in changes and not math.isnan(changes["targeted"][0]):
            spread = (medians[("targeted", "after")] - medians[("targeted", "before")]) - (
                medians[("untargeted", "after")] - medians[("untargeted", "before")]
            )
            did = (changes["targeted"][0] - changes["untargeted"][0], *np.percentile(spread, [2.5, 97.5]))
        method = (
            f"medians; 95 % intervals by percentile bootstrap ({BOOTSTRAP_SAMPLES:,} resamples of the customers of "
            "each group, seeded)"
        )
        return tuple(map(float, changes["targeted"])), None if did is None else tuple(map(float, did)), method
    did = None
    if has_control:
        treated, control = changes["targeted"], changes["untargeted"]
        if statistic == "proportion":
            did = _mover(treated, control)
        else:
            variance = sum(_mean_variance(row[key]) for key in row)
            change = treated[0] - control[0]
            did = (change, change - _Z_95 * math.sqrt(variance), change + _Z_95 * math.sqrt(variance))
    method = (
        "shares; Wilson 95 % intervals, Newcombe's hybrid score interval for the difference and its MOVER extension "
        "for the difference in differences"
        if statistic == "proportion"
        else "means; normal 95 % intervals (Welch standard errors)"
    )
    return tuple(map(float, changes["targeted"])), None if did is None else tuple(map(float, did)), method


def _newcombe(before: pd.Series, after: pd.Series) -> tuple[float, float, float]:
    """Newcombe's hybrid score interval of after − before, from each share's Wilson interval (NaN without data)."""
    if not before["customers"] or not after["customers"]:
        return math.nan, math.nan, math.nan
    change = after["value"] - before["value"]
    low = change - math.hypot(after["value"] - after["ci_low"], before["ci_high"] - before["value"])
    high = change + math.hypot(after["ci_high"] - after["value"], before["value"] - before["ci_low"])
    return change, low, high


def _mover(treated: tuple[float, float, float], control: tuple[float, float, float]) -> tuple[float, float, float]:
    """The interval of a difference of two independent differences from their own intervals (Zou & Donner's MOVER)."""
    change = treated[0] - control[0]
    low = change - math.hypot(treated[0] - treated[1], control[2] - control[0])
    high = change + math.hypot(treated[2] - treated[0], control[0] - control[1])
    return change, low, high


def _mean_variance(row: pd.Series) -> float:
    """The squared standard error of a group's mean, read back from its normal interval (NaN without one)."""
    return ((row["ci_high"] - row["value"]) / _Z_95) ** 2 if row["customers"] else math.nan


def _values_of(values: pd.DataFrame, targeted: bool, after: bool) -> np.ndarray:
    chosen = values[(values["targeted"] == targeted) & (values["after"] == after)]
    return chosen["value"].to_numpy(np.float64)


def _rng(key: tuple[str, str]) -> np.random.Generator:
    """A generator seeded by the group and period, so that the same log always gives the same bootstrap intervals."""
    group, period = key
    return np.random.default_rng([GROUPS.index(group), PERIODS.index(period)])


def _bootstrap_medians(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The medians of `BOOTSTRAP_SAMPLES` resamples of `values`, drawn a few at a time to bound memory."""
    chunk = max(1, min(BOOTSTRAP_SAMPLES, 5_000_000 // max(values.size, 1)))
    medians = []
    for start in range(0, BOOTSTRAP_SAMPLES, chunk):
        draws = rng.integers(0, values.size, (min(chunk, BOOTSTRAP_SAMPLES - start), values.size))
        medians.append(np.median(values[draws], axis=1))
    return np.concatenate(medians)


def _untargeted_words(action: Action) -> str:
    target = action.target
    return {
        "touchpoint": f"customers who never did {target.value!r}",
        "churn point": f"customers who never did {target.value!r}",
        "transition": f"customers who never went {target.value}",
        "stage": f"customers who never did a touchpoint of stage {target.value!r}",
    }.get(target.kind, f"customers outside the {target.kind} {target.value!r}")


def _sql_words(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{word}'" for word in words) + ")"


def _interval_dict(figures: tuple[float, float, float] | None) -> dict[str, float | None] | None:
    if figures is None:
        return None
    names = ("value", "ci_low", "ci_high")
    return {name: None if math.isnan(value) else value for name, value in zip(names, figures, strict=True)}


def change_text(value: float, unit: str) -> str:
    """A change in the KPI's unit: percentage points for a share, else the unit itself ("+1.5 days")."""
    if value != value:
        return "—"
    if unit == "share":
        return f"{100 * value:+.1f} pts"
    return f"{value:+.3g} {unit}"


def interval_text(low: float, high: float, unit: str) -> str:
    return f"{change_text(low, unit)} to {change_text(high, unit)}"
