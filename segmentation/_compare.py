"""Any two segments side by side: headline KPIs, stage funnels, channels, the map difference and the variants, each
difference with its size, its 95 % interval, the test that judged it and the correction it is part of.

**What is compared.** Conversion and churn are the journey definition's, exactly as `discovery.outcome_counts`
counts them: conversion over every journey of the segment, churn over its decided journeys (the censored, still
open ones left out) and not given while more than half are still open. The stage funnel counts the customers who
got at least this far, from `discovery.stage_kpis` as the Stages page does, with those who did a step of the
stage beside them. A journey's duration runs from its first to its last event; its length counts its events.

**Tests.** A share (conversion, churn, reaching a stage, using a channel, taking a map edge, following a variant)
is compared with Fisher's exact test when an expected count of its 2 × 2 table is below `MIN_EXPECTED_COUNT`
(two-sided: the probability, given both margins, of every table no likelier than the one seen), else with the
pooled two-proportion z-test (the p-value of a chi-square test without continuity correction). Its effect is the
difference in proportions A − B with Newcombe's hybrid score interval (his method 10, built from the two Wilson
score intervals). A duration or a length is compared with the two-sided Mann–Whitney U test (exact when a segment
has at most `EXACT_RANK_TEST_SIZE` customers and no value repeats, else the normal approximation with tie and
continuity corrections — SciPy's rule). Its effect is the Hodges–Lehmann shift, the median of the differences
between an A journey and a B journey, with Moses' interval: the differences of ranks k and n_a·n_b + 1 − k among
all n_a·n_b of them, k = ⌊n_a·n_b / 2 − 1.96 σ⌋, σ the tie-corrected standard deviation of U under no difference.
With too few customers (k < 1) there is no interval.

**Families.** Each table is one family of tests with its own Benjamini–Hochberg correction (false discovery rate
`ALPHA`): the headline KPIs, the stage funnel, the channels, the map edges, and the variants (every variant either
segment follows, though only the `VARIANTS_SHOWN` whose shares differ most are kept). A hundred map edges thus
never drown a conversion difference; `families` says how many tests each correction covers.

The tests assume two independent samples. `caveats` says in words when they are not (the segments share
customers), when a segment is small, and when two personas of one run are compared on the very behaviour that
defined them (`defined_by_behaviour=True`), where differences are there by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from data.engine import Engine, python_lists
from data.errors import EmptyLog, Problem
from data.filters import Filters
from discovery import (
    JourneyDefinition,
    Outcomes,
    duration_words,
    json_records,
    outcome_counts,
    stage_reach,
    wilson_interval,
)

__all__ = [
    "ALPHA",
    "CORRECTION",
    "FAMILIES",
    "SegmentComparison",
    "compare_segments",
    "percent_text",
    "points_text",
    "readable_kpis",
    "seconds_text",
]

ALPHA = 0.05
CONFIDENCE = 0.95
_Z = float(stats.norm.ppf(1 - (1 - CONFIDENCE) / 2))
MIN_EXPECTED_COUNT = 5
EXACT_RANK_TEST_SIZE = 8
VARIANTS_SHOWN = 20
# Below this many customers a segment gets a caveat: only large differences can stand out from chance.
SMALL_SEGMENT = 30
FISHER, Z_TEST = "Fisher's exact", "two-proportion z"
RANK_EXACT, RANK_NORMAL = "Mann–Whitney U (exact)", "Mann–Whitney U (normal approximation)"
PROPORTION_EFFECT = "difference in proportions (Newcombe interval)"
SHIFT_EFFECT = "Hodges–Lehmann shift (Moses interval)"
CORRECTION = "Benjamini–Hochberg"
# Each table's family of tests, in the order the page shows them.
FAMILIES = {
    "kpis": "headline KPIs",
    "funnel": "stage funnel",
    "channels": "channels",
    "edges": "map edges",
    "variants": "variants",
}
A_ONLY, B_ONLY, COMMON = "A only", "B only", "common"
MORE_IN_A, LESS_IN_A, NOT_SIGNIFICANT = "more in A", "less in A", "not significant"
# Fisher's p-value sums the tables no likelier than the one seen, allowing for rounding in their probabilities.
_LOG_TOLERANCE = math.log1p(1e-7)
_MILLISECONDS = 1_000
# The Hodges–Lehmann shift lists the pairs of journeys once a bracket holds this few, after a first guess from the
# differences of this many quantiles of each segment; below this many pairs of values (the product of the two
# ranges of values) it counts every difference instead.
_LISTED_PAIRS = 1_000_000
_GRID_STEPS = 2_000
_BINNED_PAIRS = 1 << 22

JOURNEYS_SQL = "SELECT case_code, events, duration_seconds FROM journeys ORDER BY case_code"
# Both segments at once: `sides` holds each segment's case codes (side 0 is A, 1 is B; a customer in both is in
# both), read against every journey's tables, so that each table is one query rather than one per segment.
_BY_SIDE = "count(*) FILTER (s.side = 0) AS customers_a, count(*) FILTER (s.side = 1) AS customers_b"
EDGES_SQL = f"""
    SELECT p.source::VARCHAR AS source, p.target::VARCHAR AS target, {_BY_SIDE}
    FROM sides s JOIN journey_pairs p USING (case_code) GROUP BY ALL ORDER BY source, target
"""
VARIANTS_SQL = f"""
    SELECT j.variant_id, {_BY_SIDE} FROM sides s JOIN journeys j USING (case_code) GROUP BY ALL ORDER BY variant_id
"""
# The activities of the variants shown, looked up by id (not a selection of their journeys).
_SHOWN_VARIANTS_SQL = """
    SELECT variant_id, activities FROM all_variants WHERE variant_id IN (SELECT unnest(?::VARCHAR[]))
"""
# The channels a journey used are its own: listed once per engine (`Engine.journey_channels`), then counted.
CHANNELS_SQL = f"""
    SELECT c.channel::VARCHAR AS channel, {_BY_SIDE}
    FROM sides s JOIN {{journey_channels}} c USING (case_code) GROUP BY ALL ORDER BY channel
"""

PERSONAS_CAVEAT = (
    "A and B are personas of one run. The clustering grouped customers by the behaviour in their journeys — "
    "touchpoints, paths, channels, length and duration, stages reached, outcome — so differences in these are how "
    "the personas were drawn: the tests find them by construction, however small their p-values. Read them as a "
    "description of the personas, not as evidence that the two groups differ beyond this clustering."
)
_TEST_COLUMNS = ["difference", "ci_low", "ci_high", "test", "statistic", "p_value"]
_KPI_COLUMNS = [
    "kpi", "unit", "a", "b", "count_a", "out_of_a", "count_b", "out_of_b", "difference", "effect", "effect_measure",
    "ci_low", "ci_high", "test", "statistic", "p_value", "note",
]  # fmt: skip


@dataclass(frozen=True, eq=False)
class SegmentComparison:
    """Two segments compared under one journey definition.

    `kpis` (the headline family): kpi, unit ("customers", "share", "seconds" or "events"), a, b (the segment's
    customers, rate, or median duration or length), count_a, out_of_a, count_b, out_of_b (a rate's numerator
    and denominator: converted of every journey, churned of the decided ones), difference (a − b), effect and
    effect_measure (the difference in proportions, or the Hodges–Lehmann shift), ci_low and ci_high (its 95 %
    interval), test, statistic (z, or U of A; none for Fisher's test), p_value, q_value, significant, and note
    (why a row is not tested).
    `funnel`: stage, touchpoints (how many the stage holds: none, and the stage is not tested), customers_a (who
    got at least this far), share_a, did_stage_a (who did a step of the stage), the same for B, then difference
    (of the shares), ci_low, ci_high, test, statistic, p_value, q_value, significant. `channels` (channel),
    `edges` (source, target, …, presence, change) and `variants` (variant_id, activities, …) have customers_a,
    share_a, customers_b, share_b and the same test columns. Shares are of each segment's customers. `families`:
    family, table, tests, rows_shown and correction, one row per table.
    `caveats`: what to keep in mind, in words. `rules`: what converted and churned mean under the definition.
    """

    a: str
    b: str
    customers_a: int
    customers_b: int
    customers_in_both: int
    kpis: pd.DataFrame
    funnel: pd.DataFrame
    channels: pd.DataFrame
    edges: pd.DataFrame
    variants: pd.DataFrame
    families: pd.DataFrame
    caveats: tuple[str, ...]
    rules: str

    @property
    def significant(self) -> pd.DataFrame:
        """Every significant row of every table, as family, what, difference (A − B, effect size), q_value."""
        described = (
            ("kpis", self.kpis["kpi"], self.kpis["effect"]),
            ("funnel", self.funnel["stage"], self.funnel["difference"]),
            ("channels", self.channels["channel"], self.channels["difference"]),
            ("edges", self.edges["source"] + " → " + self.edges["target"], self.edges["difference"]),
            ("variants", self.variants["activities"].map(" → ".join), self.variants["difference"]),
        )
        found = []
        for table, what, effect in described:
            rows = getattr(self, table)
            kept = rows["significant"].astype(bool).to_numpy()
            found.append(
                pd.DataFrame(
                    {
                        "family": FAMILIES[table],
                        "what": what.to_numpy()[kept],
                        "difference": effect.to_numpy()[kept],
                        "q_value": rows["q_value"].to_numpy()[kept],
                    }
                )
            )
        return pd.concat(found, ignore_index=True)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (NaN becomes None)."""
        return {
            "a": self.a,
            "b": self.b,
            "customers_a": self.customers_a,
            "customers_b": self.customers_b,
            "customers_in_both": self.customers_in_both,
            "rules": self.rules,
            "caveats": list(self.caveats),
            **{name: json_records(getattr(self, name)) for name in ("families", *FAMILIES)},
        }


def compare_segments(
    engine: Engine,
    a: Filters,
    b: Filters,
    *,
    definition: JourneyDefinition,
    defined_by_behaviour: bool = False,
) -> SegmentComparison:
    """Compare the customers `a` selects with those `b` selects, under the journey definition `definition`.

    `defined_by_behaviour=True` says that A and B are personas of one run, found from the behaviour compared here;
    the result then carries a caveat saying so.

    >>> comparison = compare_segments(  # doctest: +SKIP
    ...     engine, Filters(channels={"store"}), Filters(channels={"web"}), definition=suggest_definition(engine)
    ... )
    >>> comparison.kpis[comparison.kpis["significant"]]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"compare_segments needs an Engine, not {type(engine).__name__}")
    for name, segment in (("a", a), ("b", b)):
        if not isinstance(segment, Filters):
            raise TypeError(f"{name} must be a Filters value, not {type(segment).__name__}")
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    journeys = {side: engine.query(JOURNEYS_SQL, filters=f) for side, f in (("a", a), ("b", b))}
    empty = [side.upper() for side, frame in journeys.items() if frame.empty]
    if empty:
        raise EmptyLog([Problem(f"Segment {side} selects no customer.", fix="Widen its filters.") for side in empty])
    return _compare(engine, {"a": a, "b": b}, journeys, definition, bool(defined_by_behaviour))


def _compare(
    engine: Engine,
    segments: dict[str, Filters],
    journeys: dict[str, pd.DataFrame],
    definition: JourneyDefinition,
    defined_by_behaviour: bool,
) -> SegmentComparison:
    sizes = {side: len(frame) for side, frame in journeys.items()}
    outcomes = {side: outcome_counts(engine, definition, f) for side, f in segments.items()}
    codes = [journeys[side]["case_code"].to_numpy() for side in ("a", "b")]
    side = np.repeat(np.int8([0, 1]), [code.size for code in codes])
    sides = pd.DataFrame({"case_code": np.concatenate(codes), "side": side})
    channels_sql = CHANNELS_SQL.format(journey_channels=engine.journey_channels())
    tables = {
        "kpis": _kpis(journeys, outcomes, has_goal=bool(definition.goal)),
        "funnel": _funnel(engine, segments, sizes, definition),
        "channels": _with_tests(_merged(engine, sides, channels_sql), sizes),
        "edges": _with_tests(_merged(engine, sides, EDGES_SQL), sizes),
        "variants": _with_tests(_merged(engine, sides, VARIANTS_SQL), sizes),
    }
    tests = {name: _correct(table) for name, table in tables.items()}
    edges = tables["edges"]
    edges["presence"] = np.select(
        [edges["customers_b"].eq(0), edges["customers_a"].eq(0)], [A_ONLY, B_ONLY], default=COMMON
    )
    edges["change"] = np.select(
        [edges["significant"] & (edges["difference"] > 0), edges["significant"] & (edges["difference"] < 0)],
        [MORE_IN_A, LESS_IN_A],
        default=NOT_SIGNIFICANT,
    )
    variants = _most_different_variants(engine, tables["variants"])
    in_both = int(np.intersect1d(*codes, assume_unique=True).size)
    shown = {**{name: len(table) for name, table in tables.items()}, "variants": len(variants)}
    return SegmentComparison(
        a=segments["a"].describe(),
        b=segments["b"].describe(),
        customers_a=sizes["a"],
        customers_b=sizes["b"],
        customers_in_both=in_both,
        kpis=tables["kpis"],
        funnel=tables["funnel"],
        channels=tables["channels"],
        edges=edges.sort_values(["q_value", "source", "target"], kind="stable", ignore_index=True),
        variants=variants,
        families=pd.DataFrame(
            {
                "family": list(FAMILIES.values()),
                "table": list(FAMILIES),
                "tests": [tests[name] for name in FAMILIES],
                "rows_shown": [shown[name] for name in FAMILIES],
                "correction": CORRECTION,
            }
        ),
        caveats=_caveats(sizes, in_both, defined_by_behaviour),
        rules=definition.rules_in_words(),
    )


def _caveats(sizes: dict[str, int], in_both: int, defined_by_behaviour: bool) -> tuple[str, ...]:
    caveats = []
    if defined_by_behaviour:
        caveats.append(PERSONAS_CAVEAT)
    if in_both:
        caveats.append(
            f"{in_both:,} customers are in both segments: the tests assume two separate groups, so read their "
            "p-values with care."
        )
    caveats += [
        f"Segment {side.upper()} has only {size:,} customers: exact tests are used where counts are small, and only "
        "large differences can stand out from chance."
        for side, size in sizes.items()
        if size < SMALL_SEGMENT
    ]
    return tuple(caveats)


# --- the tables -------------------------------------------------------------------------------------------------------


def _kpis(journeys: dict[str, pd.DataFrame], outcomes: dict[str, Outcomes], *, has_goal: bool) -> pd.DataFrame:
    """The headline KPIs: customers, conversion and churn rates, median journey duration and length."""
    a, b = outcomes["a"], outcomes["b"]
    rows = [_row("customers", "customers", a.journeys, b.journeys, note="counted, not tested")]
    if has_goal:
        rows.append(_rate_row("conversion rate", a.converted_total, a.journeys, b.converted_total, b.journeys))
    else:
        rows.append(_row("conversion rate", "share", math.nan, math.nan, note="no goal is chosen in the definition"))
    if not has_goal:  # every decided journey would be a churn: 100 % on both sides, whatever they did
        rows.append(_row("churn rate", "share", math.nan, math.nan, note="no goal is chosen in the definition"))
    elif a.churn_estimable and b.churn_estimable:
        rows.append(_rate_row("churn rate", a.churned_total, a.decided, b.churned_total, b.decided))
    else:
        still_open = "; ".join(
            f"{side}: {counted.censored:,} of {counted.journeys:,} journeys still open"
            for side, counted in (("A", a), ("B", b))
            if not counted.churn_estimable
        )
        rate = {side: counted.churn_rate for side, counted in (("a", a), ("b", b))}
        rows.append(_row("churn rate", "share", rate["a"], rate["b"], note=f"cannot be estimated yet ({still_open})"))
    for kpi, column, unit, scale in (
        ("median journey duration", "duration_seconds", "seconds", _MILLISECONDS),
        ("median journey length", "events", "events", 1),
    ):
        x, y = (journeys[side][column].to_numpy(np.float64) for side in ("a", "b"))
        rows.append(_rank_row(kpi, unit, x, y, scale))
    kpis = pd.DataFrame(rows).reindex(columns=_KPI_COLUMNS)
    kpis["difference"] = kpis["a"] - kpis["b"]
    counts = ["count_a", "out_of_a", "count_b", "out_of_b"]
    return kpis.astype({**dict.fromkeys(counts, "Int64"), "note": "str", "test": "str", "effect_measure": "str"})


def _row(kpi: str, unit: str, a: float, b: float, **values) -> dict:
    return {"kpi": kpi, "unit": unit, "a": a, "b": b, "test": "", "effect_measure": "", "note": "", **values}


def _rate_row(kpi: str, x_a: int, n_a: int, x_b: int, n_b: int) -> dict:
    """A rate of the headline family: x of n journeys in each segment, tested as every share is."""
    tested = _proportion_tests(*(np.array([value]) for value in (x_a, n_a, x_b, n_b))).iloc[0]
    return _row(
        kpi,
        "share",
        x_a / n_a,
        x_b / n_b,
        count_a=x_a,
        out_of_a=n_a,
        count_b=x_b,
        out_of_b=n_b,
        effect=tested["difference"],
        effect_measure=PROPORTION_EFFECT,
        **{name: tested[name] for name in ("ci_low", "ci_high", "test", "statistic", "p_value")},
    )


def _rank_row(kpi: str, unit: str, x: np.ndarray, y: np.ndarray, scale: int) -> dict:
    """A median compared with the Mann–Whitney U test, its effect the Hodges–Lehmann shift with Moses' interval.

    The shift is found exactly on whole multiples of 1/`scale` (milliseconds for durations).
    """
    tied = np.unique(np.concatenate([x, y])).size < x.size + y.size
    exact = min(x.size, y.size) <= EXACT_RANK_TEST_SIZE and not tied
    tested = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact" if exact else "asymptotic")
    shift, low, high = _hodges_lehmann(*(np.rint(values * scale).astype(np.int64) for values in (x, y)))
    return _row(
        kpi,
        unit,
        float(np.median(x)),
        float(np.median(y)),
        effect=shift / scale,
        effect_measure=SHIFT_EFFECT,
        ci_low=low / scale,
        ci_high=high / scale,
        test=RANK_EXACT if exact else RANK_NORMAL,
        statistic=float(tested.statistic),
        p_value=float(tested.pvalue),
        note="" if math.isfinite(low) else "too few customers for an interval",
    )


def _funnel(
    engine: Engine, segments: dict[str, Filters], sizes: dict[str, int], definition: JourneyDefinition
) -> pd.DataFrame:
    """Customers of each segment who got at least as far as each stage (and who did a step of it), as the Stages
    page counts them; empty when no touchpoint has a stage."""
    counts = ["touchpoints", "customers_a", "did_stage_a", "customers_b", "did_stage_b"]
    if not definition.stages.stage_of:
        empty = pd.DataFrame({"stage": pd.Series(dtype="str"), **{name: pd.Series(dtype=np.int64) for name in counts}})
        return _with_tests(empty, sizes)
    reached = {side: stage_reach(engine, definition, f) for side, f in segments.items()}
    funnel = pd.DataFrame({"stage": reached["a"]["stage"]})
    funnel["touchpoints"] = [len(definition.stages.activities_in(stage)) for stage in funnel["stage"]]
    for side, table in reached.items():
        funnel[f"customers_{side}"] = table["customers"].to_numpy(np.int64)
        funnel[f"did_stage_{side}"] = table["did_stage"].to_numpy(np.int64)
    tested = _with_tests(funnel, sizes)
    # A stage without touchpoints is reached by nobody in either segment: nothing to test, and no test to count
    # in the family's correction (Fisher's p = 1 there only diluted the others).
    empty = tested["touchpoints"] == 0
    tested.loc[empty, ["difference", "ci_low", "ci_high", "statistic", "p_value"]] = np.nan
    tested.loc[empty, "test"] = ""
    return tested


def _merged(engine: Engine, sides: pd.DataFrame, sql: str) -> pd.DataFrame:
    """Customers per key in each segment (0 where a segment has none), by key, from one query over both."""
    counted = engine.query(sql, tables={"sides": sides})
    return counted.astype({"customers_a": np.int64, "customers_b": np.int64})


def _with_tests(frame: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """Add each segment's share of its customers and the test of their difference, row by row."""
    frame = frame.copy()
    frame.insert(frame.columns.get_loc("customers_a") + 1, "share_a", frame["customers_a"] / sizes["a"])
    frame.insert(frame.columns.get_loc("customers_b") + 1, "share_b", frame["customers_b"] / sizes["b"])
    counts = [frame["customers_a"], sizes["a"], frame["customers_b"], sizes["b"]]
    tested = _proportion_tests(*(np.broadcast_to(np.asarray(count, np.int64), len(frame)) for count in counts))
    return pd.concat([frame, tested.set_axis(frame.index)], axis=1)


def _most_different_variants(engine: Engine, variants: pd.DataFrame) -> pd.DataFrame:
    """The `VARIANTS_SHOWN` variants whose shares differ most, with their activities."""
    order = variants["difference"].abs().sort_values(ascending=False, kind="stable").index
    shown = variants.loc[order[:VARIANTS_SHOWN]].reset_index(drop=True)
    listed = engine.query(_SHOWN_VARIANTS_SQL, [shown["variant_id"].tolist()])
    activities = dict(zip(listed["variant_id"], python_lists(listed["activities"]), strict=True))
    shown.insert(1, "activities", [tuple(activities[variant]) for variant in shown["variant_id"]])
    return shown


def _correct(table: pd.DataFrame) -> int:
    """Add q_value (Benjamini–Hochberg over the table's tested rows) and significant; return how many were tested."""
    p_values = table["p_value"].to_numpy(np.float64)
    q_values = np.full(p_values.size, np.nan)
    tested = ~np.isnan(p_values)
    if tested.any():
        q_values[tested] = stats.false_discovery_control(p_values[tested], method="bh")
    table["q_value"] = q_values
    table["significant"] = q_values < ALPHA
    return int(tested.sum())


# --- the statistics ---------------------------------------------------------------------------------------------------


def _proportion_tests(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray) -> pd.DataFrame:
    """Compare x_a / n_a with x_b / n_b row by row (every n > 0): `_TEST_COLUMNS`.

    Fisher's exact test where an expected count of the 2 × 2 table is below `MIN_EXPECTED_COUNT`, else the pooled
    two-proportion z-test; the difference with Newcombe's hybrid score interval. Rows with the same four counts
    are tested once: of 300,000 variants, most are followed by one customer of one segment, and a few hundred
    distinct tables remain.
    """
    counts = pd.DataFrame(
        {name: np.asarray(values, dtype=np.int64) for name, values in zip("abcd", (x_a, n_a, x_b, n_b), strict=True)}
    )
    table = counts.groupby(list(counts.columns), sort=False).ngroup().to_numpy()
    _, first = np.unique(table, return_index=True)
    tested = _distinct_proportion_tests(*(counts[name].to_numpy()[first] for name in counts.columns))
    return tested.iloc[table].reset_index(drop=True)


def _distinct_proportion_tests(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray) -> pd.DataFrame:
    """`_proportion_tests` of each row, one row per distinct table."""
    share_a, share_b = x_a / n_a, x_b / n_b
    (low_a, high_a), (low_b, high_b) = wilson_interval(x_a, n_a), wilson_interval(x_b, n_b)
    difference = share_a - share_b
    total, successes = n_a + n_b, x_a + x_b
    smallest_expected = np.minimum(n_a, n_b) * np.minimum(successes, total - successes) / total
    exact = smallest_expected < MIN_EXPECTED_COUNT
    pooled = successes / total
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(exact, np.nan, difference / np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b)))
    p_values = 2 * stats.norm.sf(np.abs(z))
    p_values[exact] = _fisher_exact(x_a[exact], n_a[exact], x_b[exact], n_b[exact])
    return pd.DataFrame(
        {
            "difference": difference,
            "ci_low": difference - np.sqrt((share_a - low_a) ** 2 + (high_b - share_b) ** 2),
            "ci_high": difference + np.sqrt((high_a - share_a) ** 2 + (share_b - low_b) ** 2),
            "test": np.where(exact, FISHER, Z_TEST),
            "statistic": z,
            "p_value": p_values,
        }
    )


def _fisher_exact(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """Two-sided p-values of Fisher's exact test, row by row: given both margins of the table, the probability
    of every table no likelier than the one seen (A's successes follow a hypergeometric law)."""
    total, successes = n_a + n_b, x_a + x_b
    lowest, highest = np.maximum(0, successes - n_b), np.minimum(successes, n_a)
    sizes = highest - lowest + 1
    row = np.repeat(np.arange(sizes.size), sizes)
    first = np.cumsum(sizes) - sizes
    possible = lowest[row] + np.arange(sizes.sum()) - first[row]
    log_p = stats.hypergeom.logpmf(possible, total[row], successes[row], n_a[row])
    seen = stats.hypergeom.logpmf(x_a, total, successes, n_a)
    no_likelier = np.where(log_p <= seen[row] + _LOG_TOLERANCE, np.exp(log_p), 0.0)
    return np.minimum(np.bincount(row, weights=no_likelier, minlength=sizes.size), 1.0)


def _hodges_lehmann(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """The Hodges–Lehmann shift of x against y (integers) and Moses' 95 % interval (NaN when too few values)."""
    x, y = np.sort(x), np.sort(y)
    pairs, total = x.size * y.size, x.size + y.size
    # Two sorted runs: a stable sort merges them.
    _, tied = _runs(np.sort(np.concatenate([x, y]), kind="stable"))
    tied = tied.astype(np.float64)
    variance = pairs / 12 * ((total + 1) - (tied**3 - tied).sum() / (total * (total - 1)))
    k = math.floor(pairs / 2 - _Z * math.sqrt(max(variance, 0.0)))
    ranks = [(pairs + 1) // 2, pairs // 2 + 1, *((k, pairs + 1 - k) if k >= 1 else ())]
    found = _pair_differences_at(x, y, np.array(ranks, dtype=np.int64))
    low, high = (float(found[2]), float(found[3])) if k >= 1 else (math.nan, math.nan)
    return (float(found[0]) + float(found[1])) / 2, low, high


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how many times each comes (`np.unique` without its sort)."""
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return values[starts], np.diff(np.append(starts, values.size))


def _pair_differences_at(x: np.ndarray, y: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The differences x_i − y_j of the given ranks (1: the smallest) among all x.size · y.size pairs (x and y sorted
    integers), without listing a trillion differences for two segments of a million customers.

    Values within a short range (journey lengths) are counted exactly by convolving the two histograms; others
    (durations in milliseconds) are searched for (`_searched_differences_at`).
    """
    if (int(x[-1] - x[0]) + 1) * (int(y[-1] - y[0]) + 1) <= _BINNED_PAIRS:
        # Pairs by difference: x's histogram convolved with y's reversed one, from x[0] − y[-1] up.
        pairs_by_difference = np.convolve(np.bincount(x - x[0]), np.bincount(y[-1] - y))
        return int(x[0] - y[-1]) + np.searchsorted(np.cumsum(pairs_by_difference), ranks)
    return _searched_differences_at(x, y, ranks)


def _searched_differences_at(x: np.ndarray, y: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """`_pair_differences_at` over a wide range of values: each rank is searched for over whole numbers, counting
    the pairs at most a value apart, until few enough pairs are left to list them.

    The search starts from one range the segments' quantiles suggest for every rank (checked by counting; every
    difference when it misses), splits it where ranks fall apart, and guesses each next value where the counts so
    far put the rank (by interpolation: two or three counts where halving took nine), halving when a guess gains
    less than halving would.
    """
    values, weights = _runs(x)

    def at_most(limit: int) -> int:
        return int((weights * (y.size - np.searchsorted(y, values - limit, side="left"))).sum())

    pairs = x.size * y.size
    everything = (int(x[0] - y[-1] - 1), int(x[-1] - y[0]), 0, pairs)
    wanted = sorted(set(ranks.tolist()))
    start = everything
    if pairs > _LISTED_PAIRS:
        low, high = _quantile_bracket(x, y, np.array(wanted, dtype=np.int64))
        below, up_to = at_most(low), at_most(high)
        if below < wanted[0] and wanted[-1] <= up_to:
            start = (low, high, below, up_to)
    found: dict[int, int] = {}

    def search(wanted: list[int], low: int, high: int, below: int, up_to: int) -> None:
        """Find the wanted ranks, each in (below, up_to], whose differences lie in (low, high]."""
        halve, aim_above, quarter = False, True, _LISTED_PAIRS // 4
        while up_to - below > _LISTED_PAIRS and high - low > 1:
            if halve:
                middle = low + (high - low) // 2
            else:
                target = wanted[0] + (quarter if aim_above else -quarter)
                if len(wanted) > 1:
                    target = (wanted[0] + wanted[-1]) // 2
                share = (target - below) / (up_to - below)
                middle = min(max(low + round((high - low) * share), low + 1), high - 1)
            counted, before = at_most(middle), up_to - below
            lower = [rank for rank in wanted if rank <= counted]
            if len(lower) == len(wanted):
                high, up_to = middle, counted
            else:
                if lower:
                    search(lower, low, middle, below, counted)
                    wanted = wanted[len(lower) :]
                low, below = middle, counted
            halve = not halve and up_to - below > before // 2
            aim_above = not aim_above
        if high - low == 1:
            found.update(dict.fromkeys(wanted, high))
        else:
            listed = _listed_differences(values, weights, y, low, high)
            kth = np.array(wanted, dtype=np.int64) - below - 1
            found.update(zip(wanted, np.partition(listed, kth)[kth].tolist(), strict=True))

    search(wanted, *start)
    return np.array([found[rank] for rank in ranks.tolist()], dtype=np.int64)


def _quantile_bracket(x: np.ndarray, y: np.ndarray, ranks: np.ndarray) -> tuple[int, int]:
    """A range of differences (low, high] that likely holds every rank, from the differences of `_GRID_STEPS` evenly
    spaced quantiles of x and of y (sorted): each grid point stands for the values up to the next, so a grid
    difference's share of the grid's is within about two steps of its share of all pairs (three are allowed)."""
    steps = np.linspace(0, 1, _GRID_STEPS)
    x_grid, y_grid = (values[np.rint(steps * (values.size - 1)).astype(np.int64)] for values in (x, y))
    sample = np.subtract.outer(x_grid, y_grid).ravel()
    share = ranks / (x.size * y.size)
    margin = 3 / _GRID_STEPS
    lowest = int(np.floor(np.clip(share[0] - margin, 0, 1) * (sample.size - 1)))
    highest = int(np.ceil(np.clip(share[-1] + margin, 0, 1) * (sample.size - 1)))
    low, high = np.partition(sample, [lowest, highest])[[lowest, highest]]
    return int(low) - 1, int(high)


def _listed_differences(values: np.ndarray, weights: np.ndarray, y: np.ndarray, low: int, high: int) -> np.ndarray:
    """Every difference in (low, high], listed (each x value `weights` times)."""
    start = np.searchsorted(y, values - high, side="left")
    lengths = np.searchsorted(y, values - low, side="left") - start
    of_value = np.repeat(np.arange(values.size), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(values[of_value] - y[start[of_value] + offsets], weights[of_value])


# --- in words ---------------------------------------------------------------------------------------------------------


def readable_kpis(comparison: SegmentComparison) -> pd.DataFrame:
    """The headline KPIs as a reader takes them: rates in %, durations in hours or days, the effect with its 95 %
    interval, the test used, p- and q-values and the verdict (for tables, exports and the command line)."""
    kpis = comparison.kpis
    rows = []
    for row in kpis.itertuples(index=False):
        value = _value_text(row.unit)
        change = _change_text(row.unit)
        rows.append(
            {
                "KPI": row.kpi,
                "A": value(row.a, row.count_a, row.out_of_a),
                "B": value(row.b, row.count_b, row.out_of_b),
                "Effect (A − B)": change(row.effect),
                "95 % interval": _interval_text(change(row.ci_low), change(row.ci_high)),
                "Significant": _verdict(row.p_value, row.significant),
                "q-value": row.q_value,
                "p-value": row.p_value,
                "Test": row.test,
                "Effect measure": row.effect_measure,
                "Note": row.note,
            }
        )
    return pd.DataFrame(rows)


def percent_text(share: float) -> str:
    return "" if pd.isna(share) else f"{100 * share:.1f} %"


def points_text(difference: float) -> str:
    """A difference of two shares, in percentage points."""
    return "" if pd.isna(difference) else f"{100 * difference:+.1f} pts"


def seconds_text(seconds: float, *, signed: bool = False) -> str:
    """A duration in the largest unit that keeps it readable ('3.5 hours'), signed when asked."""
    if pd.isna(seconds):
        return ""
    sign = ("+" if seconds > 0 else "−" if seconds < 0 else "") if signed else ""
    return sign + duration_words(abs(seconds) / 86_400)


def events_text(events: float, *, signed: bool = False) -> str:
    if pd.isna(events):
        return ""
    text = f"{events:+,g}" if signed and events else f"{events:,g}"
    return f"{text.replace('-', '−')} event{'' if abs(events) == 1 else 's'}"


def _value_text(unit: str):
    if unit == "share":
        return lambda share, count, out_of: (
            f"{percent_text(share)} ({count:,} of {out_of:,})" if pd.notna(count) else percent_text(share)
        )
    if unit == "seconds":
        return lambda seconds, count, out_of: seconds_text(seconds)
    if unit == "events":
        return lambda events, count, out_of: events_text(events)
    return lambda value, count, out_of: f"{value:,.0f}"


def _change_text(unit: str):
    if unit == "share":
        return lambda difference: points_text(difference).replace("-", "−")
    if unit == "seconds":
        return lambda seconds: seconds_text(seconds, signed=True)
    if unit == "events":
        return lambda events: events_text(events, signed=True)
    return lambda value: ""


def _interval_text(low: str, high: str) -> str:
    """'−9.9 to −2.9 pts' when both ends have one unit, else both units ('−23 hours to −2.5 days')."""
    if not low:
        return ""
    (low_number, _, low_unit), (high_number, _, high_unit) = low.partition(" "), high.partition(" ")
    if low_unit.rstrip("s") == high_unit.rstrip("s"):
        return f"{low_number} to {high_number} {low_unit.rstrip('s')}s"
    return f"{low} to {high}"


def _verdict(p_value: float, significant: bool) -> str:
    if pd.isna(p_value):
        return "not tested"
    return "yes" if significant else "no"
