"""Segment comparison: statistics equal to hand and SciPy computations, and no false alarms between halves of one
population."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data.engine import Engine
from data.errors import EmptyLog
from data.filters import Filters
from data.importing import DEMO_SAMPLES, load_log
from data.settings import Settings
from segmentation import compare_segments
from tests.data.test_engine import journeys

# Segment A mostly visits on the web and buys quickly; segment B visits the store, calls, and takes hours.
# a2 alone writes a review (an A-only path), b6 alone complains (a B-only path).
ROWS = [
    ("a1", "visit", 0, "web"),
    ("a1", "buy", 10, "web"),
    ("a2", "visit", 0, "web"),
    ("a2", "buy", 20, "web"),
    ("a2", "review", 25, "web"),
    ("a3", "visit", 0, "web"),
    ("a3", "call", 5, "phone"),
    ("a3", "buy", 30, "web"),
    ("a4", "visit", 0, "web"),
    ("a4", "buy", 40, "store"),
    ("a5", "visit", 0, "web"),
    ("a5", "buy", 50, "web"),
    ("a6", "visit", 0, "store"),
    ("a6", "call", 10, "phone"),
    ("a6", "buy", 60, "store"),
    ("b1", "visit", 0, "store"),
    ("b1", "call", 30, "phone"),
    ("b1", "buy", 100, "store"),
    ("b2", "visit", 0, "store"),
    ("b2", "call", 40, "phone"),
    ("b2", "buy", 200, "store"),
    ("b3", "visit", 0, "store"),
    ("b3", "buy", 300, "store"),
    ("b4", "visit", 0, "web"),
    ("b4", "call", 50, "phone"),
    ("b4", "buy", 400, "store"),
    ("b5", "visit", 0, "store"),
    ("b5", "call", 60, "phone"),
    ("b5", "buy", 500, "store"),
    ("b6", "visit", 0, "store"),
    ("b6", "call", 70, "phone"),
    ("b6", "buy", 600, "store"),
    ("b6", "complain", 610, "phone"),
]
LOG = journeys(*ROWS, group=[row[0][0] for row in ROWS])
A, B = Filters(attributes={"group": {"a"}}), Filters(attributes={"group": {"b"}})
STAGE_OF = {"visit": "discovery", "call": "consideration", "buy": "purchase"}
OUTCOMES = pd.Series(
    {"a1": "converted", "a2": "converted", "a3": "converted", "a4": "converted", "a5": "churned"}
    | {"b1": "converted", "b2": "churned", "b3": "churned", "b4": "censored", "b5": "active"}
)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


@pytest.fixture
def comparison(engine: Engine):
    return compare_segments(engine, A, B, outcomes=OUTCOMES, stage_of=STAGE_OF)


def chi_square_p(x_a: int, n_a: int, x_b: int, n_b: int) -> float:
    table = [[x_a, n_a - x_a], [x_b, n_b - x_b]]
    return stats.chi2_contingency(table, correction=False).pvalue


def test_segments_are_described_and_counted(comparison) -> None:
    assert comparison.customers_a == comparison.customers_b == 6
    assert comparison.customers_in_both == 0
    assert comparison.a == "customers whose group is a"


def test_rates_are_compared_with_the_two_proportion_test(comparison) -> None:
    kpis = comparison.kpis.set_index("kpi")
    # conversion among customers with a known outcome: A 4 of 5 (a6 unknown), B 1 of 5 (b6 unknown)
    assert kpis.loc["conversion rate", "a"] == 0.8
    assert kpis.loc["conversion rate", "b"] == 0.2
    assert kpis.loc["conversion rate", "p_value"] == pytest.approx(chi_square_p(4, 5, 1, 5))
    assert kpis.loc["churn rate", "p_value"] == pytest.approx(chi_square_p(1, 5, 2, 5))
    # web: a1–a5 against b4
    assert kpis.loc["uses web", ["a", "b"]].tolist() == [5 / 6, 1 / 6]
    assert kpis.loc["uses web", "difference"] == pytest.approx(4 / 6)
    assert kpis.loc["uses web", "p_value"] == pytest.approx(chi_square_p(5, 6, 1, 6))
    z = (5 / 6 - 1 / 6) / np.sqrt(0.5 * 0.5 * (1 / 6 + 1 / 6))
    assert kpis.loc["uses web", "statistic"] == pytest.approx(z)


def test_durations_and_lengths_are_compared_with_mann_whitney(comparison) -> None:
    kpis = comparison.kpis.set_index("kpi")
    minutes_a, minutes_b = [10, 25, 30, 40, 50, 60], [100, 200, 300, 400, 500, 610]
    duration = kpis.loc["median journey duration (seconds)"]
    assert (duration["a"], duration["b"]) == (35 * 60, 350 * 60)
    assert duration["p_value"] == pytest.approx(stats.mannwhitneyu(minutes_a, minutes_b).pvalue)
    assert duration["test"] == "Mann-Whitney U"
    length = kpis.loc["median journey length (events)"]
    assert length["p_value"] == pytest.approx(stats.mannwhitneyu([2, 3, 3, 2, 2, 3], [3, 3, 2, 3, 3, 4]).pvalue)


def test_benjamini_hochberg_runs_over_every_test_of_the_comparison(comparison) -> None:
    tables = [comparison.kpis, comparison.funnel, comparison.edges, comparison.variants]
    p_values = pd.concat([table["p_value"] for table in tables]).dropna()
    q_values = pd.concat([table["q_value"] for table in tables]).dropna()
    # 7 tested KPIs (2 rates, 2 rank tests, 3 channels), 3 stages, 5 edges and all 4 variants (all shown here)
    assert len(p_values) == len(q_values) == 7 + 3 + 5 + 4
    np.testing.assert_allclose(q_values, stats.false_discovery_control(p_values, method="bh"))
    for table in tables:
        assert table["significant"].eq(table["q_value"] < 0.05).all()
    assert comparison.kpis.loc[0, "kpi"] == "customers" and np.isnan(comparison.kpis.loc[0, "p_value"])


def test_stage_funnels_stand_side_by_side(comparison) -> None:
    funnel = comparison.funnel.set_index("stage")
    assert list(funnel.index) == ["discovery", "consideration", "purchase"]
    assert funnel["customers_a"].tolist() == [6, 2, 6]
    assert funnel["customers_b"].tolist() == [6, 5, 6]
    assert funnel.loc["consideration", "p_value"] == pytest.approx(chi_square_p(2, 6, 5, 6))
    assert funnel.loc["discovery", "p_value"] == 1.0


def test_the_map_difference_flags_one_sided_and_shifted_edges(comparison) -> None:
    edges = comparison.edges.set_index(["source", "target"])
    assert edges.loc[("buy", "review"), "presence"] == "A only"
    assert edges.loc[("buy", "complain"), "presence"] == "B only"
    assert edges.loc[("visit", "buy"), "presence"] == "common"
    # visit → buy: a1, a2, a4, a5 against b3
    assert edges.loc[("visit", "buy"), ["customers_a", "customers_b"]].tolist() == [4, 1]
    assert edges.loc[("visit", "buy"), "p_value"] == pytest.approx(chi_square_p(4, 6, 1, 6))
    assert set(edges["change"]) <= {"more in A", "less in A", "not significant"}
    assert edges["change"].eq("not significant").eq(~edges["significant"]).all()


def test_clear_differences_are_significant_in_both_directions(settings: Settings) -> None:
    rows = [(f"a{i}", "visit", 0, "web") for i in range(60)] + [(f"b{i}", "visit", 0, "store") for i in range(60)]
    rows += [(f"a{i}", "buy", 5, "web") for i in range(60)] + [(f"b{i}", "call", 5, "phone") for i in range(60)]
    log = journeys(*rows, group=[row[0][0] for row in rows])
    with Engine.from_frame(log, settings) as engine:
        edges = compare_segments(engine, A, B).edges.set_index(["source", "target"])
    assert edges.loc[("visit", "buy"), "change"] == "more in A"
    assert edges.loc[("visit", "call"), "change"] == "less in A"
    assert edges.loc[("visit", "call"), "presence"] == "B only"


def test_the_variants_whose_share_differs_most_come_first(comparison) -> None:
    variants = comparison.variants
    differences = variants["difference"].abs().to_numpy()
    assert (differences[:-1] >= differences[1:]).all()
    # visit → buy: 3 of 6 in A, 1 of 6 in B; visit → call → buy: 2 against 4; the others 1 against 0.
    top = {row.activities: [row.customers_a, row.customers_b] for row in variants.head(2).itertuples()}
    assert top == {("visit", "buy"): [3, 1], ("visit", "call", "buy"): [2, 4]}


def test_without_outcomes_and_stages_there_are_no_rates_and_no_funnel(engine: Engine) -> None:
    comparison = compare_segments(engine, A, B)
    assert "conversion rate" not in set(comparison.kpis["kpi"])
    assert comparison.funnel.empty


def test_empty_segments_are_all_reported(engine: Engine) -> None:
    with pytest.raises(EmptyLog) as raised:
        compare_segments(engine, Filters(channels={"fax"}), Filters(channels={"telex"}))
    assert len(raised.value.problems) == 2


def test_two_halves_of_one_population_are_not_reported_as_different() -> None:
    with Engine.from_frame(load_log(DEMO_SAMPLES["telecom"]).frame) as engine:
        customers = np.array(engine.cases()["case_id"])
        rng = np.random.default_rng(0)
        for _ in range(5):
            half = rng.permutation(customers.size) < customers.size // 2
            comparison = compare_segments(engine, Filters(case_ids=customers[half]), Filters(case_ids=customers[~half]))
            assert comparison.significant.empty, comparison.significant
