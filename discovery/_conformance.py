"""Designed against actual: how many customers follow the designed journey, and where the others leave it.

Fitness comes from pm4py's conformance checking of the designed path (`DesignedJourney`, as a workflow net) run
on the **variants** of the selected journeys, each once, weighted by its customers: the cost grows with the
number of distinct variants, never with the events. The `MAX_ALIGNED` most frequent variants are aligned
(optimal alignments: exact fitness, the reference measure); the next `MAX_REPLAYED` get token-based replay,
about three times cheaper per variant on the demo's design (0.8 ms against 2.3 ms, see benchmarks/README.md) and
exact on whether a variant fits, while its fitness between 0 and 1 is an approximation; rarer variants are left
unchecked and said so. Every result states the method used and why.

A customer **follows** the design when the journey's variant has fitness 1: it did the required touchpoints in
the designed order, optional ones or not, and nothing else. A customer **kept to the designed steps** when the
variant without the touchpoints the design does not have fits: the designed steps done as designed, whatever else
the customer did around them (a design rarely covers a whole customer life).

Per designed step, in DuckDB over the per-journey activity table (so every figure lists its customers, see
`conformance_customers`):

- **skipped**: did not do it, yet went on to a later step of the design;
- **out of order**: did it before a step designed to come earlier, or after one designed to come later (first
  times compared);
- **other channel**: did it at least once on a channel that is neither the expected one nor in the expected
  channel group (events without a channel do not count);
- **repeated**: did it more than once.

**Unexpected** touchpoints are those not in the design; **loops** are steps straight from a designed touchpoint
back to itself or to one designed earlier. The **time to reach a stage** is from the journey's start to its
first designed touchpoint of the stage, against the stage's target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._customers import DEFAULT_LIMIT, CustomersBehind, journeys_behind
from discovery._definition import OTHER_CHANNELS, JourneyDefinition
from discovery._designed import DesignedJourney, designed_net
from discovery._maps import json_records

__all__ = [
    "CONFORMANCE_FIGURES",
    "MAX_ALIGNED",
    "MAX_REPLAYED",
    "OVERLAY_COLOURS",
    "STEP_CHECKS",
    "Conformance",
    "conformance",
    "conformance_by",
    "conformance_customers",
    "conformance_overlay",
    "designed_steps",
]

MAX_ALIGNED = 1_000
MAX_REPLAYED = 50_000
STEP_CHECKS = ("skipped", "out_of_order", "other_channel", "repeated")
# What `conformance_customers` can list, and what the subject of each is.
CONFORMANCE_FIGURES = {
    "follows": None,
    "deviates": None,
    "keeps_to_steps": None,
    "unchecked": None,
    **dict.fromkeys(("did", *STEP_CHECKS), "touchpoint"),
    "unexpected": "touchpoint",
    "loop": "(source, target)",
    "reached": "stage",
    "within_target": "stage",
    "late": "stage",
}
# The designed journey drawn over the journey map (`conformance_overlay`): its path, and two kinds of deviation.
OVERLAY_COLOURS = {"designed": "#2e7d32", "unexpected": "#ef6c00", "loop": "#8e24aa"}
MONTH = "month"
# The most a replayed variant that does not fit may score, so that only fitting variants count as following.
NEARLY_FITS = 0.999_999
_US_PER_DAY = 86_400_000_000
_EVERY_JOURNEY = Filters()

# The design over this log: each designed touchpoint with its position on the designed path, its stage's index,
# expected channel and whether it is required; the definition's channel groups.
_DESIGN = """design AS MATERIALIZED (
    SELECT a.activity, d.name, d.position, d.stage, d.channel, d.required
    FROM all_activities a JOIN (
        SELECT unnest(?::VARCHAR[]) AS name, unnest(?::INTEGER[]) AS position, unnest(?::INTEGER[]) AS stage,
               unnest(?::VARCHAR[]) AS channel, unnest(?::BOOLEAN[]) AS required
    ) d ON d.name = a.activity::VARCHAR
), channel_groups AS (
    SELECT unnest(?::VARCHAR[]) AS channel, unnest(?::VARCHAR[]) AS channel_group
)"""
# One row per journey and designed step it did, skipped, did out of order, on another channel or repeatedly.
_FLAGS = f"""done AS MATERIALIZED (
    SELECT a.case_code, d.position, d.stage, a.events, a.first_offset_us,
           coalesce(max(d.position) OVER before_it > d.position, FALSE)
               OR coalesce(min(d.position) OVER after_it < d.position, FALSE) AS out_of_order
    FROM journey_activities a JOIN design d USING (activity)
    WINDOW before_it AS (
               PARTITION BY a.case_code ORDER BY a.first_pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ),
           after_it AS (
               PARTITION BY a.case_code ORDER BY a.first_pos ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
           )
), elsewhere AS (
    SELECT DISTINCT c.case_code, c.position
    FROM (
        SELECT s.case_code, d.position, d.channel AS expected, s.channel::VARCHAR AS channel
        FROM steps s JOIN design d USING (activity)
        WHERE d.channel IS NOT NULL AND s.channel IS NOT NULL
        GROUP BY ALL
    ) c LEFT JOIN channel_groups g USING (channel)
    WHERE c.channel <> c.expected AND coalesce(g.channel_group, '{OTHER_CHANNELS}') <> c.expected
), furthest AS (
    SELECT case_code, max(position) AS position FROM done GROUP BY case_code
), flags AS (
    SELECT case_code, position, 'did' AS flag FROM done
    UNION ALL SELECT case_code, position, 'repeated' FROM done WHERE events > 1
    UNION ALL SELECT case_code, position, 'out_of_order' FROM done WHERE out_of_order
    UNION ALL SELECT case_code, position, 'other_channel' FROM elsewhere
    UNION ALL
    SELECT f.case_code, d.position, 'skipped'
    FROM furthest f JOIN design d ON d.position < f.position
    LEFT JOIN done x ON x.case_code = f.case_code AND x.position = d.position
    WHERE x.case_code IS NULL
)"""
# Per journey and designed stage, when it first did a designed touchpoint of the stage, and the stage's target.
_REACH = """reach AS (
    SELECT case_code, stage, min(first_offset_us) AS reach_us, list_extract(?::DOUBLE[], stage + 1) AS target_days
    FROM done GROUP BY case_code, stage
)"""
_STEP_COUNTS_SQL = f"WITH {_DESIGN}, {_FLAGS} SELECT position, flag, count(*) AS customers FROM flags GROUP BY ALL"
_STAGE_TIMES_SQL = f"""WITH {_DESIGN}, {_FLAGS}, {_REACH}
SELECT stage, count(*) AS reached, median(reach_us) / {_US_PER_DAY} AS median_days,
       count(*) FILTER (reach_us <= target_days * {_US_PER_DAY}) AS within_target
FROM reach GROUP BY stage
"""
_UNEXPECTED_SQL = f"""WITH {_DESIGN}
SELECT a.activity::VARCHAR AS touchpoint, count(*) AS customers
FROM journey_activities a ANTI JOIN design d USING (activity)
GROUP BY a.activity ORDER BY customers DESC, touchpoint
"""
_LOOPS_SQL = f"""WITH {_DESIGN}
SELECT s.name AS source, t.name AS target, count(*) AS customers
FROM journey_pairs p JOIN design s ON p.source = s.activity JOIN design t ON p.target = t.activity
WHERE t.position <= s.position
GROUP BY ALL ORDER BY customers DESC, source, target
"""
# Per group of journeys, the customers who follow the design and the fitness of those checked.
_BREAKDOWN_SQL = """WITH segments AS ({segments})
SELECT coalesce(g.segment, '(none)') AS segment, count(*) AS customers,
       count(*) FILTER (f.fitness >= 1) AS follows,
       count(*) FILTER (f.fitness IS NOT NULL AND f.steps_fitness >= 1) AS keeps_to_steps, count(f.fitness) AS checked,
       sum(f.fitness * 1.0) / nullif(count(f.fitness), 0) AS mean_fitness
FROM journeys j LEFT JOIN variant_fitness f USING (variant_id) LEFT JOIN segments g USING (case_code)
GROUP BY ALL ORDER BY segment
"""
_BY_MONTH = "SELECT case_code, strftime(start_time, '%Y-%m') AS segment FROM journeys"
_BY_ATTRIBUTE = """
SELECT case_code, arg_min({column}, pos)::VARCHAR AS segment FROM steps WHERE {column} IS NOT NULL GROUP BY ALL
"""
_BY_MAPPING = "SELECT j.case_code, g.segment FROM journeys j JOIN segment_of g USING (case_id)"
_FITNESS = "SELECT j.case_code FROM journeys j LEFT JOIN variant_fitness f USING (variant_id) WHERE {condition}"
_FITNESS_CONDITIONS = {
    "follows": "f.fitness >= 1",
    "deviates": "f.fitness < 1",
    "keeps_to_steps": "f.fitness IS NOT NULL AND f.steps_fitness >= 1",
    "unchecked": "f.fitness IS NULL",
}
_STAGE_CONDITIONS = {
    "reached": "TRUE",
    "within_target": "reach_us <= target_days * {us}",
    "late": "reach_us > target_days * {us}",
}


@dataclass(frozen=True)
class Conformance:
    """The selected journeys measured against a designed journey; every count is of unique customers.

    `customers`: journeys selected; `checked`: those whose variant was checked; `follows`: those whose variant
    fits the design (fitness 1); `keeps_to_steps`: those whose variant fits once the touchpoints the design does not
    have are left out; `mean_fitness`: pm4py's fitness averaged over the checked customers.
    `method` and `why` say how fitness was found. `variants`: variant_id, activities, cases, fitness, method
    ("alignments", "token replay" or "not checked") and steps_fitness (of the designed steps alone). `steps`: one
    row per designed touchpoint in designed order with stage, touchpoint, required, channel, did and the
    `STEP_CHECKS`. `unexpected`: touchpoint, customers.
    `loops`: source, target, customers. `stage_times`: stage, target_days, reached (customers who did a designed
    step of the stage), median_days (to their first one, from the journey's start), within_target,
    share_within_target. `breakdown` (when `by` was given): segment, customers, follows, keeps_to_steps, checked,
    share_follows, share_keeps_to_steps, mean_fitness.
    """

    designed: DesignedJourney
    filters: Filters
    customers: int
    checked: int
    follows: int
    mean_fitness: float
    keeps_to_steps: int
    method: str
    why: str
    variants: pd.DataFrame
    steps: pd.DataFrame
    unexpected: pd.DataFrame
    loops: pd.DataFrame
    stage_times: pd.DataFrame
    by: str | None = None
    breakdown: pd.DataFrame | None = None

    @property
    def share_follows(self) -> float:
        """Share of the checked customers who follow the designed journey."""
        return self.follows / self.checked if self.checked else math.nan

    @property
    def share_keeps_to_steps(self) -> float:
        """Share of the checked customers who did the designed steps as designed, whatever else they did."""
        return self.keeps_to_steps / self.checked if self.checked else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "designed": self.designed.to_dict(),
            "customers": self.customers,
            "checked": self.checked,
            "follows": self.follows,
            "share_follows": None if math.isnan(self.share_follows) else self.share_follows,
            "mean_fitness": None if math.isnan(self.mean_fitness) else self.mean_fitness,
            "keeps_to_steps": self.keeps_to_steps,
            "share_keeps_to_steps": None if math.isnan(self.share_keeps_to_steps) else self.share_keeps_to_steps,
            "method": self.method,
            "why": self.why,
            "steps": json_records(self.steps),
            "unexpected": json_records(self.unexpected),
            "loops": json_records(self.loops),
            "stage_times": json_records(self.stage_times),
            "variants": json_records(self.variants),
            "by": self.by,
            "breakdown": None if self.breakdown is None else json_records(self.breakdown),
        }


def conformance(
    engine: Engine,
    definition: JourneyDefinition,
    designed: DesignedJourney,
    filters: Filters | None = None,
    *,
    by: str | Mapping[str, str] | pd.Series | None = None,
    max_aligned: int = MAX_ALIGNED,
    max_replayed: int = MAX_REPLAYED,
) -> Conformance:
    """Measure the selected journeys against `designed`; `definition` gives the channel groups an expected
    channel may name.

    `by` breaks the share who follow down: "month" (of the journey's start), an attribute's name (its first value
    in the journey), or a mapping from case id to a group (a persona assignment, say). Fitness: alignments on the
    `max_aligned` most frequent variants, token replay on the next `max_replayed` (see the module docstring).

    >>> result = conformance(engine, definition, read_designed("designed.json"), by="month")  # doctest: +SKIP
    >>> result.share_follows, result.steps  # doctest: +SKIP
    """
    if not isinstance(designed, DesignedJourney):
        raise TypeError(f"designed must be a DesignedJourney, not {type(designed).__name__}")
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    for name, limit in (("max_aligned", max_aligned), ("max_replayed", max_replayed)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"{name} must be a whole number, 0 or more, not {limit!r}")
    filters = _EVERY_JOURNEY if filters is None else filters
    variants, method, why = _variant_fitness(engine, designed, filters, max_aligned, max_replayed)
    checked = variants.dropna(subset=["fitness"])
    customers = int(variants["cases"].sum())
    weights = checked["cases"]
    weighted = float((checked["fitness"] * weights).sum() / weights.sum()) if len(checked) else math.nan
    design = _design_params(designed, definition)
    result = Conformance(
        designed=designed,
        filters=filters,
        customers=customers,
        checked=int(checked["cases"].sum()),
        follows=int(checked.loc[checked["fitness"] >= 1, "cases"].sum()),
        mean_fitness=weighted,
        keeps_to_steps=int(checked.loc[checked["steps_fitness"] >= 1, "cases"].sum()),
        method=method,
        why=why,
        variants=variants,
        steps=_steps(engine, designed, filters, design),
        unexpected=engine.query(_UNEXPECTED_SQL, design, filters),
        loops=engine.query(_LOOPS_SQL, design, filters),
        stage_times=_stage_times(engine, designed, filters, design),
    )
    return result if by is None else conformance_by(engine, result, by)


def conformance_customers(
    engine: Engine,
    definition: JourneyDefinition,
    result: Conformance,
    figure: str,
    subject: str | tuple[str, str] | None = None,
    *,
    by: str | Mapping[str, str] | pd.Series | None = None,
    segment: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> CustomersBehind:
    """Return the customers behind one figure of `result` (see `CONFORMANCE_FIGURES`): e.g. ("skipped",
    "add_to_cart"), ("loop", ("view_product", "ad_click")), ("late", "purchase"), ("follows", None); with `by` and
    `segment`, only those of one group of the breakdown. Their number is the figure.
    """
    if figure not in CONFORMANCE_FIGURES:
        raise ValueError(f"figure must be one of {', '.join(CONFORMANCE_FIGURES)}, not {figure!r}")
    designed, filters = result.designed, result.filters
    design = _design_params(designed, definition)
    tables: dict[str, pd.DataFrame] = {}
    if figure in _FITNESS_CONDITIONS:
        condition = (_FITNESS.format(condition=_FITNESS_CONDITIONS[figure]), [])
        tables["variant_fitness"] = result.variants[["variant_id", "fitness", "steps_fitness"]]
        what = _FITNESS_WORDS[figure]
    elif figure in ("did", *STEP_CHECKS):
        position = _position(designed, subject)
        condition = (
            f"WITH {_DESIGN}, {_FLAGS} SELECT case_code FROM flags WHERE position = ? AND flag = ?",
            [*design, position, figure],
        )
        what = _STEP_WORDS[figure].format(touchpoint=subject)
    elif figure == "unexpected":
        if subject not in engine.activity_names or subject in designed.stage_of:
            raise LogError(Problem("This is not an unexpected touchpoint of the log.", value=str(subject)))
        condition = (
            "SELECT case_code FROM journey_activities WHERE activity::VARCHAR = ?",
            [subject],
        )
        what = f"did {subject}, which the design does not expect"
    elif figure == "loop":
        if not (isinstance(subject, tuple) and len(subject) == 2):
            raise TypeError("a loop's subject is its (source, target) pair")
        _position(designed, subject[0]), _position(designed, subject[1])
        condition = (
            f"""WITH {_DESIGN} SELECT p.case_code FROM journey_pairs p
            JOIN design s ON p.source = s.activity JOIN design t ON p.target = t.activity
            WHERE s.name = ? AND t.name = ? AND t.position <= s.position""",
            [*design, *subject],
        )
        what = f"went from {subject[0]} back to {subject[1]}"
    else:
        stage = _stage(designed, subject)
        if figure != "reached" and designed.stages[stage].target_days is None:
            raise LogError(Problem("This stage has no target time.", value=str(subject)))
        stage_condition = _STAGE_CONDITIONS[figure].format(us=_US_PER_DAY)
        condition = (
            f"WITH {_DESIGN}, {_FLAGS}, {_REACH} SELECT case_code FROM reach WHERE stage = ? AND {stage_condition}",
            [*design, _targets(designed), stage],
        )
        what = {
            "reached": "did a step of",
            "within_target": "did a first step within its target in",
            "late": "did a first step after its target in",
        }[figure] + f" stage {subject}"
    if segment is not None:
        if by is None:
            raise ValueError("a segment needs the `by` of its breakdown")
        sql, params = condition
        segments, tables_by = _segments(engine, by)
        tables.update(tables_by)
        sql = f"SELECT case_code FROM ({sql}) WHERE case_code IN (SELECT case_code FROM ({segments}) WHERE "
        sql += "coalesce(segment, '(none)') = ?)"
        condition = (sql, [*params, str(segment)])
        what += f" ({_by_name(by)}: {segment})"
    return journeys_behind(engine, definition, filters, condition, what, limit, tables)


def designed_steps(designed: DesignedJourney) -> set[tuple[str | None, str | None]]:
    """The steps of the designed path as (source, target), None for the start or the end: each touchpoint to the
    next, and past optional ones to the first required one."""
    names: list[str | None] = [None, *(touchpoint.name for touchpoint in designed.path), None]
    optional = [False, *(not touchpoint.required for touchpoint in designed.path), False]
    steps = set()
    for index, source in enumerate(names[:-1]):
        for following in range(index + 1, len(names)):
            steps.add((source, names[following]))
            if not optional[following]:
                break
    return steps


def conformance_overlay(result: Conformance) -> dict[object, str]:
    """Colours for `map_to_dot(overlay=…)`: the designed touchpoints and steps, unexpected touchpoints and loops."""
    colours: dict[object, str] = dict.fromkeys(result.designed.stage_of, OVERLAY_COLOURS["designed"])
    colours.update(dict.fromkeys(designed_steps(result.designed), OVERLAY_COLOURS["designed"]))
    colours.update(dict.fromkeys(result.unexpected["touchpoint"], OVERLAY_COLOURS["unexpected"]))
    colours.update(
        dict.fromkeys(zip(result.loops["source"], result.loops["target"], strict=True), OVERLAY_COLOURS["loop"])
    )
    return colours


_FITNESS_WORDS = {
    "follows": "follow the designed journey",
    "deviates": "leave the designed journey",
    "keeps_to_steps": "did the designed steps as designed",
    "unchecked": "have a variant too rare to be checked",
}
_STEP_WORDS = {
    "did": "did {touchpoint}",
    "skipped": "skipped {touchpoint} and went on",
    "out_of_order": "did {touchpoint} out of the designed order",
    "other_channel": "did {touchpoint} on another channel than expected",
    "repeated": "did {touchpoint} more than once",
}


def _variant_fitness(
    engine: Engine, designed: DesignedJourney, filters: Filters, max_aligned: int, max_replayed: int
) -> tuple[pd.DataFrame, str, str]:
    """Fitness of each variant, the most frequent first: aligned, replayed or unchecked (NaN); and the fitness of
    its designed steps alone (the variant without the touchpoints the design does not have)."""
    variants = engine.variants(filters)[["variant_id", "activities", "cases"]]
    net, initial, final = designed_net(designed)
    fitness, methods = _fitness(variants["activities"], (net, initial, final), max_aligned, max_replayed)
    names = set(designed.stage_of)
    projected = variants["activities"].map(lambda activities: tuple(a for a in activities if a in names))
    distinct = variants.groupby(projected, sort=False)["cases"].sum().sort_values(ascending=False, kind="stable")
    steps_fitness, _ = _fitness(pd.Series(distinct.index), (net, initial, final), max_aligned, max_replayed)
    variants = variants.assign(
        fitness=fitness,
        method=methods,
        steps_fitness=projected.map(dict(zip(distinct.index, steps_fitness, strict=True))).astype("float64"),
    )
    aligned, replayed = methods.count("alignments"), methods.count("token replay")
    if not replayed:
        method = "alignments"
        why = f"all {aligned:,} variants were aligned (optimal alignments: exact fitness)."
    else:
        method = "alignments and token replay"
        why = (
            f"the {aligned:,} most frequent variants were aligned (exact fitness) and the next {replayed:,} "
            f"replayed (token replay: exact on who fits, approximate fitness), so that the page answers in seconds "
            f"however many variants the log has."
        )
    unchecked = variants["fitness"].isna()
    if unchecked.any():
        why += f" {unchecked.sum():,} rarer variants ({variants.loc[unchecked, 'cases'].sum():,} customers)"
        why += " were not checked."
    return variants.reset_index(drop=True), method, why


def _fitness(sequences: pd.Series, model: tuple, max_aligned: int, max_replayed: int) -> tuple[list[float], list[str]]:
    """Fitness of each sequence (the most frequent first) and how it was found: the first `max_aligned` aligned,
    the next `max_replayed` replayed, the rest NaN."""
    aligned = sequences.iloc[:max_aligned]
    replayed = sequences.iloc[max_aligned : max_aligned + max_replayed]
    fitness = _aligned_fitness(aligned, *model) + _replayed_fitness(replayed, *model)
    unchecked = len(sequences) - len(fitness)
    methods = ["alignments"] * len(aligned) + ["token replay"] * len(replayed) + ["not checked"] * unchecked
    return fitness + [math.nan] * unchecked, methods


def _as_log(sequences: pd.Series):
    from pm4py.objects.log.obj import Event, EventLog, Trace

    return EventLog([Trace([Event({"concept:name": name}) for name in sequence]) for sequence in sequences])


def _aligned_fitness(sequences: pd.Series, net, initial, final) -> list[float]:
    """pm4py's alignment fitness of each sequence: the code path `pm4py.conformance_diagnostics_alignments` takes
    on a raw log, which also aligns one trace per variant."""
    if not len(sequences):
        return []
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments

    results = alignments.apply_log(_as_log(sequences), net, initial, final, parameters={"show_progress_bar": False})
    return [float(result["fitness"]) for result in results]


def _replayed_fitness(sequences: pd.Series, net, initial, final) -> list[float]:
    """pm4py's token-replay fitness of each sequence, exactly 1 when it fits. Token replay skips the touchpoints the
    design does not have, so a sequence with any does not fit, and its fitness shrinks by their share of its steps."""
    if not len(sequences):
        return []
    from pm4py.algo.conformance.tokenreplay import algorithm as token_replay

    known = {transition.label for transition in net.transitions if transition.label is not None}
    results = token_replay.apply(_as_log(sequences), net, initial, final, parameters={"show_progress_bar": False})
    fitness = []
    for sequence, result in zip(sequences, results, strict=True):
        designed_share = sum(name in known for name in sequence) / len(sequence) if len(sequence) else 1.0
        fits = result["trace_is_fit"] and designed_share == 1
        fitness.append(1.0 if fits else min(float(result["trace_fitness"]) * designed_share, NEARLY_FITS))
    return fitness


def _design_params(designed: DesignedJourney, definition: JourneyDefinition) -> list:
    path = designed.path
    stage_index = {stage.name: index for index, stage in enumerate(designed.stages)}
    stage_of = designed.stage_of
    groups = dict(definition.channel_groups)
    return [
        [touchpoint.name for touchpoint in path],
        list(range(len(path))),
        [stage_index[stage_of[touchpoint.name]] for touchpoint in path],
        [touchpoint.channel for touchpoint in path],
        [touchpoint.required for touchpoint in path],
        list(groups),
        list(groups.values()),
    ]


def _targets(designed: DesignedJourney) -> list[float | None]:
    return [stage.target_days for stage in designed.stages]


def _steps(engine: Engine, designed: DesignedJourney, filters: Filters, design: list) -> pd.DataFrame:
    counts = engine.query(_STEP_COUNTS_SQL, design, filters)
    wide = counts.pivot_table(index="position", columns="flag", values="customers", aggfunc="sum")
    wide = wide.reindex(index=range(len(designed.path)), columns=["did", *STEP_CHECKS]).fillna(0).astype("int64")
    stage_of = designed.stage_of
    frame = pd.DataFrame(
        {
            "stage": [stage_of[touchpoint.name] for touchpoint in designed.path],
            "touchpoint": [touchpoint.name for touchpoint in designed.path],
            "required": [touchpoint.required for touchpoint in designed.path],
            "channel": pd.Series([touchpoint.channel for touchpoint in designed.path], dtype="object"),
        }
    )
    return pd.concat([frame, wide.reset_index(drop=True)], axis=1)


def _stage_times(engine: Engine, designed: DesignedJourney, filters: Filters, design: list) -> pd.DataFrame:
    counts = engine.query(_STAGE_TIMES_SQL, [*design, _targets(designed)], filters).set_index("stage")
    counts = counts.reindex(range(len(designed.stages)))
    frame = pd.DataFrame(
        {
            "stage": [stage.name for stage in designed.stages],
            "target_days": pd.Series(_targets(designed), dtype="float64"),
            "reached": counts["reached"].fillna(0).astype("int64").to_numpy(),
            "median_days": counts["median_days"].astype("float64").to_numpy(),
            "within_target": counts["within_target"].fillna(0).astype("int64").to_numpy(),
        }
    )
    frame.loc[frame["target_days"].isna(), "within_target"] = pd.NA
    frame["within_target"] = frame["within_target"].astype("Int64")
    frame["share_within_target"] = (frame["within_target"] / frame["reached"].where(frame["reached"] > 0)).astype(
        "Float64"
    )
    return frame


def _segments(engine: Engine, by: str | Mapping[str, str] | pd.Series) -> tuple[str, dict[str, pd.DataFrame]]:
    """The SQL of (case_code, segment) for a breakdown `by`, and the frames it reads."""
    if isinstance(by, str):
        if by == MONTH:
            return _BY_MONTH, {}
        return _BY_ATTRIBUTE.format(column=engine.attribute_column(by)), {}
    if isinstance(by, Mapping | pd.Series):
        mapping = pd.Series(by, dtype="object") if isinstance(by, Mapping) else by
        frame = pd.DataFrame({"case_id": mapping.index.astype(str), "segment": mapping.astype(str).to_numpy()})
        return _BY_MAPPING, {"segment_of": frame}
    raise TypeError("by must be 'month', an attribute's name, or a mapping from case id to group")


def _by_name(by: object) -> str | None:
    if by is None or isinstance(by, str):
        return by
    return getattr(by, "name", None) or "group"


def conformance_by(engine: Engine, result: Conformance, by: str | Mapping[str, str] | pd.Series) -> Conformance:
    """Return `result` broken down `by` (see `conformance`), from the fitness it already holds: a breakdown costs
    one GROUP BY, not another conformance check."""
    if not isinstance(result, Conformance):
        raise TypeError(f"result must be a Conformance, not {type(result).__name__}")
    breakdown = _breakdown(engine, result.filters, result.variants, _segments(engine, by))
    return replace(result, by=_by_name(by), breakdown=breakdown)


def _breakdown(
    engine: Engine, filters: Filters, variants: pd.DataFrame, segments: tuple[str, dict[str, pd.DataFrame]]
) -> pd.DataFrame:
    sql, tables = segments
    frame = engine.query(
        _BREAKDOWN_SQL.format(segments=sql),
        filters=filters,
        tables={**tables, "variant_fitness": variants[["variant_id", "fitness", "steps_fitness"]]},
    )
    checked = frame["checked"].where(frame["checked"] > 0)
    frame["share_follows"] = frame["follows"] / checked
    frame["share_keeps_to_steps"] = frame["keeps_to_steps"] / checked
    columns = ["segment", "customers", "follows", "keeps_to_steps", "checked", "share_follows", "share_keeps_to_steps"]
    return frame[[*columns, "mean_fitness"]]


def _position(designed: DesignedJourney, touchpoint: object) -> int:
    return _index_of([step.name for step in designed.path], touchpoint, "touchpoint")


def _stage(designed: DesignedJourney, stage: object) -> int:
    return _index_of([one.name for one in designed.stages], stage, "stage")


def _index_of(names: list[str], name: object, what: str) -> int:
    if name not in names:
        fix = f"Use one of {', '.join(names)}."
        raise LogError(Problem(f"The design has no such {what}.", fix=fix, value=str(name)))
    return names.index(name)
