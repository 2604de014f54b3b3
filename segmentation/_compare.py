"""Any two segments side by side: KPIs with significance, stage funnels, the map difference and the variants.

Rates are compared with the two-proportion z-test (pooled; the same p-value as a chi-square test on the 2 × 2 table
without continuity correction), durations and lengths with the two-sided Mann-Whitney U test. Every p-value of one
comparison (KPIs, funnel stages, map edges, variants) forms one family, corrected with Benjamini–Hochberg, so that
two samples of one population are reported as different no more often than `ALPHA` of the time whatever the number
of edges. The tests assume the two segments are independent samples: when they overlap, `customers_in_both` says
how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from data.engine import Engine
from data.errors import EmptyLog, Problem
from data.filters import Filters
from segmentation._features import _checked_outcomes, _checked_stage_of
from segmentation._profiles import _records

__all__ = ["ALPHA", "SegmentComparison", "compare_segments"]

ALPHA = 0.05
VARIANTS_SHOWN = 20
PROPORTION_TEST = "two-proportion z"
RANK_TEST = "Mann-Whitney U"
A_ONLY, B_ONLY, COMMON = "A only", "B only", "common"
MORE_IN_A, LESS_IN_A, NOT_SIGNIFICANT = "more in A", "less in A", "not significant"
EDGES_SQL = """
    SELECT source::VARCHAR AS source, target::VARCHAR AS target, count(*) AS customers FROM journey_pairs GROUP BY ALL
"""
VARIANTS_SQL = "SELECT variant_id, count(*) AS customers FROM journeys GROUP BY ALL"
CHANNELS_SQL = """
    SELECT channel::VARCHAR AS channel, count(DISTINCT case_code) AS customers FROM steps
    WHERE channel IS NOT NULL GROUP BY ALL
"""


@dataclass(frozen=True, eq=False)
class SegmentComparison:
    """Two segments compared; every table has a, b, difference (a − b), p_value, q_value and significant.

    `kpis`: kpi, a, b, difference, test, statistic, p_value, q_value, significant.
    `funnel` (empty without stage_of): stage, customers_a, share_a, customers_b, share_b, difference, ….
    `edges`: source, target, customers_a, share_a, customers_b, share_b, difference, …, presence, change.
    `variants`: the VARIANTS_SHOWN variants whose share differs most, with activities.
    Shares are of each segment's customers.
    """

    a: str
    b: str
    customers_a: int
    customers_b: int
    customers_in_both: int
    kpis: pd.DataFrame
    funnel: pd.DataFrame
    edges: pd.DataFrame
    variants: pd.DataFrame

    @property
    def significant(self) -> pd.DataFrame:
        """Every significant row of every table, as table, what, difference, q_value."""
        described = (
            ("kpis", self.kpis, self.kpis["kpi"]),
            ("funnel", self.funnel, self.funnel["stage"]),
            ("edges", self.edges, self.edges["source"] + " → " + self.edges["target"]),
            ("variants", self.variants, self.variants["activities"].map(" → ".join)),
        )
        return pd.concat(
            [
                pd.DataFrame(
                    {"table": name, "what": what, "difference": table["difference"], "q_value": table["q_value"]}
                )[table["significant"].astype(bool)]
                for name, table, what in described
            ],
            ignore_index=True,
        )

    def to_dict(self) -> dict:
        """Plain JSON-ready data (NaN becomes None)."""
        return {
            "a": self.a,
            "b": self.b,
            "customers_a": self.customers_a,
            "customers_b": self.customers_b,
            "customers_in_both": self.customers_in_both,
            **{name: _records(getattr(self, name)) for name in ("kpis", "funnel", "edges", "variants")},
        }


def compare_segments(
    engine: Engine,
    a: Filters,
    b: Filters,
    *,
    outcomes: pd.Series | Mapping[str, str] | None = None,
    stage_of: Mapping[str, str] | None = None,
) -> SegmentComparison:
    """Compare the customers `a` selects with those `b` selects.

    `outcomes` (case id → "converted", "churned", …) adds conversion and churn rates; `stage_of` (activity →
    stage, stages in order of first appearance) adds the stage funnels.

    >>> comparison = compare_segments(engine, Filters(channels={"store"}), Filters(channels={"web"}))  # doctest: +SKIP
    >>> comparison.kpis[comparison.kpis["significant"]]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"compare_segments needs an Engine, not {type(engine).__name__}")
    for name, segment in (("a", a), ("b", b)):
        if not isinstance(segment, Filters):
            raise TypeError(f"{name} must be a Filters value, not {type(segment).__name__}")
    outcome_series = _checked_outcomes(outcomes)
    stage_table = _checked_stage_of(stage_of)
    journeys = {
        side: engine.query("SELECT case_id, events, duration_seconds FROM journeys ORDER BY case_code", filters=f)
        for side, f in (("a", a), ("b", b))
    }
    empty = [side.upper() for side, frame in journeys.items() if frame.empty]
    if empty:
        raise EmptyLog([Problem(f"Segment {side} selects no customer.", fix="Widen its filters.") for side in empty])
    return _compare(engine, a, b, journeys, outcome_series, stage_table)


def _compare(
    engine: Engine,
    a: Filters,
    b: Filters,
    journeys: dict[str, pd.DataFrame],
    outcomes: pd.Series | None,
    stage_table: pd.DataFrame | None,
) -> SegmentComparison:
    sizes = {side: len(frame) for side, frame in journeys.items()}
    kpis = _kpis(engine, a, b, journeys, outcomes)
    funnel = _funnel(engine, a, b, sizes, stage_table)
    edges = _with_tests(_merged(engine, a, b, EDGES_SQL, ["source", "target"]), sizes)
    variants = _with_tests(_merged(engine, a, b, VARIANTS_SQL, ["variant_id"]), sizes)
    tables = [kpis, funnel, edges, variants]
    p_values = np.concatenate([table["p_value"].to_numpy(np.float64) for table in tables])
    q_values = np.full(p_values.size, np.nan)
    tested = ~np.isnan(p_values)
    if tested.any():
        q_values[tested] = stats.false_discovery_control(p_values[tested], method="bh")
    offsets = np.cumsum([0, *(len(table) for table in tables)])
    for table, start, stop in zip(tables, offsets[:-1], offsets[1:], strict=True):
        table["q_value"] = q_values[start:stop]
        table["significant"] = table["q_value"] < ALPHA
    edges["presence"] = np.select(
        [edges["customers_b"].eq(0), edges["customers_a"].eq(0)], [A_ONLY, B_ONLY], default=COMMON
    )
    edges["change"] = np.select(
        [edges["significant"] & (edges["difference"] > 0), edges["significant"] & (edges["difference"] < 0)],
        [MORE_IN_A, LESS_IN_A],
        default=NOT_SIGNIFICANT,
    )
    variants = variants.reindex(variants["difference"].abs().sort_values(ascending=False, kind="stable").index)
    variants = variants.head(VARIANTS_SHOWN).reset_index(drop=True)
    listed = engine.variants(Filters(variant_ids=frozenset(variants["variant_id"]))).set_index("variant_id")
    variants.insert(1, "activities", variants["variant_id"].map(lambda v: tuple(listed.loc[v, "activities"])))
    return SegmentComparison(
        a=a.describe(),
        b=b.describe(),
        customers_a=sizes["a"],
        customers_b=sizes["b"],
        customers_in_both=len(set(journeys["a"]["case_id"].tolist()).intersection(journeys["b"]["case_id"].tolist())),
        kpis=kpis,
        funnel=funnel,
        edges=edges.sort_values(["q_value", "source", "target"], kind="stable").reset_index(drop=True),
        variants=variants,
    )


def _kpis(
    engine: Engine, a: Filters, b: Filters, journeys: dict[str, pd.DataFrame], outcomes: pd.Series | None
) -> pd.DataFrame:
    rows = [_untested_row("customers", len(journeys["a"]), len(journeys["b"]))]
    if outcomes is not None:
        known = {side: outcomes.reindex(frame["case_id"]).dropna() for side, frame in journeys.items()}
        for kpi, outcome in (("conversion rate", "converted"), ("churn rate", "churned")):
            counts = {side: int(values.eq(outcome).sum()) for side, values in known.items()}
            rows.append(_proportion_row(kpi, counts["a"], len(known["a"]), counts["b"], len(known["b"])))
    for kpi, column in (
        ("median journey duration (seconds)", "duration_seconds"),
        ("median journey length (events)", "events"),
    ):
        x, y = (journeys[side][column].to_numpy(np.float64) for side in ("a", "b"))
        test = stats.mannwhitneyu(x, y, alternative="two-sided")
        rows.append(_tested_row(kpi, float(np.median(x)), float(np.median(y)), RANK_TEST, test.statistic, test.pvalue))
    used = _merged(engine, a, b, CHANNELS_SQL, ["channel"])
    for channel, x, y in zip(used["channel"], used["customers_a"], used["customers_b"], strict=True):
        rows.append(_proportion_row(f"uses {channel}", x, len(journeys["a"]), y, len(journeys["b"])))
    kpis = pd.DataFrame(rows, columns=["kpi", "a", "b", "test", "statistic", "p_value"])
    kpis.insert(3, "difference", kpis["a"] - kpis["b"])
    return kpis


def _proportion_row(kpi: str, x_a: int, n_a: int, x_b: int, n_b: int) -> dict:
    """A rate KPI: x of n customers in each segment (NaN when a segment has no one to count)."""
    z, p = _two_proportion(np.array([x_a]), n_a, np.array([x_b]), n_b)
    share_a = x_a / n_a if n_a else np.nan
    share_b = x_b / n_b if n_b else np.nan
    return _tested_row(kpi, share_a, share_b, PROPORTION_TEST, z[0], p[0])


def _tested_row(kpi: str, a: float, b: float, test: str, statistic: float, p_value: float) -> dict:
    return {"kpi": kpi, "a": a, "b": b, "test": test, "statistic": float(statistic), "p_value": float(p_value)}


def _untested_row(kpi: str, a: float, b: float) -> dict:
    return {"kpi": kpi, "a": a, "b": b, "test": "", "statistic": np.nan, "p_value": np.nan}


def _funnel(
    engine: Engine, a: Filters, b: Filters, sizes: dict[str, int], stage_table: pd.DataFrame | None
) -> pd.DataFrame:
    columns = ["stage", "customers_a", "share_a", "customers_b", "share_b", "difference", "statistic", "p_value"]
    if stage_table is None:
        return pd.DataFrame(columns=columns).astype({"p_value": np.float64, "difference": np.float64})
    reached = {
        side: engine.query(
            """
            WITH stage_of AS (SELECT unnest(?::VARCHAR[]) AS activity, unnest(?::INTEGER[]) AS stage_index)
            SELECT s.stage_index, count(DISTINCT a.case_code) AS customers
            FROM journey_activities a JOIN stage_of s ON a.activity::VARCHAR = s.activity GROUP BY ALL
            """,
            [list(stage_table["activity"]), list(stage_table["stage_index"])],
            filters=f,
        ).set_index("stage_index")["customers"]
        for side, f in (("a", a), ("b", b))
    }
    stages = stage_table.drop_duplicates("stage_index").set_index("stage_index")["stage"]
    funnel = pd.DataFrame({"stage": stages})
    for side in ("a", "b"):
        funnel[f"customers_{side}"] = reached[side].reindex(stages.index, fill_value=0).astype(np.int64)
    return _with_tests(funnel.reset_index(drop=True), sizes)[columns]


def _merged(engine: Engine, a: Filters, b: Filters, sql: str, keys: list[str]) -> pd.DataFrame:
    """Customers per key in both segments (0 where a segment has none), by key."""
    counted = [engine.query(sql, filters=f).set_index(keys)["customers"] for f in (a, b)]
    merged = pd.concat(counted, axis=1, keys=["customers_a", "customers_b"]).fillna(0).astype(np.int64)
    return merged.sort_index().reset_index()


def _with_tests(frame: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """Add each segment's share of its customers, the difference and a two-proportion test per row."""
    frame = frame.copy()
    frame.insert(frame.columns.get_loc("customers_a") + 1, "share_a", frame["customers_a"] / sizes["a"])
    frame["share_b"] = frame["customers_b"] / sizes["b"]
    frame["difference"] = frame["share_a"] - frame["share_b"]
    z, p = _two_proportion(frame["customers_a"].to_numpy(), sizes["a"], frame["customers_b"].to_numpy(), sizes["b"])
    frame["statistic"], frame["p_value"] = z, p
    return frame


def _two_proportion(x_a: np.ndarray, n_a: int, x_b: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z statistic and two-sided p-value; p = 1 when both shares are 0 or both 1."""
    x_a, x_b = np.asarray(x_a, dtype=np.float64), np.asarray(x_b, dtype=np.float64)
    if n_a == 0 or n_b == 0:
        return np.full(x_a.shape, np.nan), np.full(x_a.shape, np.nan)
    pooled = (x_a + x_b) / (n_a + n_b)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, (x_a / n_a - x_b / n_b) / spread, 0.0)
    return z, 2 * stats.norm.sf(np.abs(z))
