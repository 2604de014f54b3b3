"""Segment comparison: the journey definition's own figures, one correction per family of tests, exact tests for
small counts, effect sizes with intervals — each recomputed here independently — and caveats in words."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from data.engine import Engine
from data.errors import EmptyLog
from data.filters import Filters
from data.importing import DEMO_SAMPLES, load_log
from data.settings import Settings
from discovery import ChurnRule, JourneyDefinition, StageModel, outcome_counts, stage_kpis, suggest_definition
from segmentation import compare_segments, readable_kpis
from segmentation._compare import PERSONAS_CAVEAT
from tests.data.test_engine import journeys

# A buys more and faster on the web; B visits the store and calls, takes hours, and two of B cancel (b5 after
# buying). a5, a6, b4 and b6 neither buy nor cancel: without an inactivity window they are still open (censored).
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
    ("a5", "visit", 50, "web"),
    ("a6", "visit", 0, "store"),
    ("a6", "call", 60, "phone"),
    ("b1", "visit", 0, "store"),
    ("b1", "call", 30, "phone"),
    ("b1", "buy", 100, "store"),
    ("b2", "visit", 0, "store"),
    ("b2", "call", 40, "phone"),
    ("b2", "cancel", 200, "phone"),
    ("b3", "visit", 0, "store"),
    ("b3", "buy", 300, "store"),
    ("b4", "visit", 0, "web"),
    ("b4", "call", 400, "phone"),
    ("b5", "visit", 0, "store"),
    ("b5", "call", 60, "phone"),
    ("b5", "buy", 500, "store"),
    ("b5", "cancel", 510, "phone"),
    ("b6", "visit", 0, "store"),
    ("b6", "call", 70, "phone"),
    ("b6", "call", 600, "phone"),
]
LOG = journeys(*ROWS, group=[row[0][0] for row in ROWS])
A, B = Filters(attributes={"group": {"a"}}), Filters(attributes={"group": {"b"}})
STAGES = StageModel(
    stages=("discovery", "consideration", "purchase"),
    stage_of={"visit": "discovery", "call": "consideration", "buy": "purchase"},
)
DEFINITION = JourneyDefinition(goal=("buy",), stages=STAGES, churn=ChurnRule(("cancel",)))
PROPORTION_TABLES = ("funnel", "channels", "edges", "variants")
Z_95 = stats.norm.ppf(0.975)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


@pytest.fixture
def comparison(engine: Engine):
    return compare_segments(engine, A, B, definition=DEFINITION)


def test_segments_are_described_and_counted(comparison) -> None:
    assert comparison.customers_a == comparison.customers_b == 6
    assert comparison.customers_in_both == 0
    assert comparison.a == "customers whose group is a"
    assert comparison.rules == DEFINITION.rules_in_words()


def test_conversion_counts_every_journey_and_churn_only_the_decided_ones(comparison) -> None:
    kpis = comparison.kpis.set_index("kpi")
    conversion, churn = kpis.loc["conversion rate"], kpis.loc["churn rate"]
    # A: a1–a4 bought, of 6; B: b1, b3 and b5 (who cancelled after buying), of 6
    assert [conversion[name] for name in ("count_a", "out_of_a", "count_b", "out_of_b")] == [4, 6, 3, 6]
    assert (conversion["a"], conversion["b"]) == (4 / 6, 3 / 6)
    # churn leaves the still-open a5, a6, b4, b6 out: B's b2 and b5 of its 4 decided journeys, A none of 4
    assert [churn[name] for name in ("count_a", "out_of_a", "count_b", "out_of_b")] == [0, 4, 2, 4]
    assert (churn["a"], churn["b"]) == (0.0, 0.5)


def test_rates_are_those_of_the_stages_page_for_the_same_filters(engine: Engine, comparison) -> None:
    kpis = comparison.kpis.set_index("kpi")
    for side, filters in (("a", A), ("b", B)):
        outcomes = outcome_counts(engine, DEFINITION, filters)
        assert kpis.loc["conversion rate", side] == outcomes.conversion_rate
        assert kpis.loc["churn rate", side] == outcomes.churn_rate
        assert kpis.loc["churn rate", f"out_of_{side}"] == outcomes.decided


def test_churn_that_cannot_be_estimated_is_not_tested(engine: Engine) -> None:
    # Without a churn rule only the buyers are decided: A's a5 and a6 are open (2 of 6), and of b1, b2, b4 and b6
    # all but b1 (3 of 4): more than half, so B's churn cannot be estimated yet.
    definition = JourneyDefinition(goal=("buy",), stages=STAGES)
    most_open = Filters(case_ids=frozenset({"b1", "b2", "b4", "b6"}))
    churn = compare_segments(engine, A, most_open, definition=definition).kpis.set_index("kpi").loc["churn rate"]
    assert np.isnan(churn["b"]) and np.isnan(churn["p_value"])
    assert churn["note"] == "cannot be estimated yet (B: 3 of 4 journeys still open)"


def test_without_a_goal_neither_conversion_nor_churn_is_tested(engine: Engine) -> None:
    # Nobody converts, so every decided journey is a churn: both sides would read 100 % whatever they did.
    kpis = compare_segments(engine, A, B, definition=JourneyDefinition(stages=STAGES)).kpis.set_index("kpi")
    for kpi in ("conversion rate", "churn rate"):
        assert kpis.loc[kpi, "note"] == "no goal is chosen in the definition"
        assert np.isnan(kpis.loc[kpi, "a"]) and np.isnan(kpis.loc[kpi, "p_value"])


def test_the_stage_funnel_counts_who_got_at_least_this_far_as_the_stages_page(engine: Engine, comparison) -> None:
    funnel = comparison.funnel.set_index("stage")
    assert list(funnel.index) == ["discovery", "consideration", "purchase"]
    # a5 only visited; everyone else called or bought, which is further
    assert funnel["customers_a"].tolist() == [6, 5, 4]
    assert funnel["customers_b"].tolist() == [6, 6, 3]
    assert funnel["did_stage_a"].tolist() == [6, 2, 4]
    assert funnel["did_stage_b"].tolist() == [6, 5, 3]
    for side, filters in (("a", A), ("b", B)):
        table = stage_kpis(engine, DEFINITION, filters).table
        assert funnel[f"customers_{side}"].tolist() == table["customers"].tolist()
        assert funnel[f"did_stage_{side}"].tolist() == table["did_stage"].tolist()
    assert funnel["share_a"].tolist() == [1.0, 5 / 6, 4 / 6]


def test_a_stage_without_touchpoints_is_not_tested_nor_counted_in_the_correction(engine: Engine) -> None:
    # Nobody in either segment gets as far as an empty stage: Fisher's p = 1 there is no finding, and counting it
    # in Benjamini–Hochberg would raise every other stage's q-value.
    stages = STAGES.with_overrides({"call": None})
    definition = JourneyDefinition(goal=("buy",), stages=stages, churn=ChurnRule(("cancel",)))
    comparison = compare_segments(engine, A, B, definition=definition)
    funnel = comparison.funnel.set_index("stage")
    assert funnel["touchpoints"].tolist() == [1, 0, 1]
    assert funnel.loc["consideration", ["customers_a", "customers_b"]].tolist() == [0, 0]
    assert np.isnan(funnel.loc["consideration", "p_value"]) and funnel.loc["consideration", "test"] == ""
    assert not funnel.loc["consideration", "significant"]
    assert comparison.families.set_index("table").loc["funnel", "tests"] == 2


def test_without_staged_touchpoints_there_is_no_funnel(engine: Engine) -> None:
    definition = JourneyDefinition(goal=("buy",), churn=ChurnRule(("cancel",)))
    comparison = compare_segments(engine, A, B, definition=definition)
    assert comparison.funnel.empty
    assert comparison.families.set_index("table").loc["funnel", "tests"] == 0


def test_each_table_is_a_family_corrected_on_its_own(comparison) -> None:
    families = comparison.families.set_index("table")
    # 4 KPIs tested (conversion, churn, duration, length; customers is only counted), 3 stages, 3 channels, 8 edges,
    # 8 variants
    assert families["tests"].to_dict() == {"kpis": 4, "funnel": 3, "channels": 3, "edges": 8, "variants": 8}
    assert families["family"].tolist() == ["headline KPIs", "stage funnel", "channels", "map edges", "variants"]
    assert set(families["correction"]) == {"Benjamini–Hochberg"}
    for name in families.index:
        table = getattr(comparison, name)
        tested = table["p_value"].notna()
        assert tested.sum() == families.loc[name, "tests"]
        np.testing.assert_allclose(table.loc[tested, "q_value"], benjamini_hochberg(table.loc[tested, "p_value"]))
        np.testing.assert_allclose(
            table.loc[tested, "q_value"], stats.false_discovery_control(table.loc[tested, "p_value"], method="bh")
        )
        assert table["significant"].eq(table["q_value"] < 0.05).all()


def test_a_clear_conversion_difference_is_not_drowned_by_many_edges(settings: Settings) -> None:
    # 1,000 customers a side, 66.3 % against 72.7 % converting, each through a page of their own: 3,390 edges
    rows = []
    for side, buyers in (("a", 663), ("b", 727)):
        for index in range(1000):
            case = f"{side}{index}"
            rows += [(case, "visit", 0), (case, f"{side}_page_{index}", 1)]
            rows += [(case, "buy", 2)] if index < buyers else []
    log = journeys(*rows, group=[row[0][0] for row in rows])
    definition = JourneyDefinition(goal=("buy",), stages=STAGES)
    with Engine.from_frame(log, settings) as engine:
        comparison = compare_segments(engine, A, B, definition=definition)
    conversion = comparison.kpis.set_index("kpi").loc["conversion rate"]
    assert conversion["test"] == "two-proportion z"
    assert conversion["p_value"] == pytest.approx(chi_square_p(663, 1000, 727, 1000))
    # one correction over the KPIs and the edges would hide it
    pooled = benjamini_hochberg(pd.concat([comparison.kpis["p_value"].dropna(), comparison.edges["p_value"]]))
    assert conversion["significant"] and conversion["q_value"] < 0.05 < pooled[0]
    assert comparison.families.set_index("table").loc["edges", "tests"] == 2000 + 663 + 727


def test_small_counts_use_fishers_exact_test_and_large_ones_the_z_test(comparison) -> None:
    # 6 customers a side: every share table has an expected count below 5
    for name in PROPORTION_TABLES:
        assert set(getattr(comparison, name)["test"]) == {"Fisher's exact"}
    kpis = comparison.kpis.set_index("kpi")
    assert kpis.loc["median journey duration", "test"] == "Mann–Whitney U (exact)"
    assert kpis.loc["median journey length", "test"] == "Mann–Whitney U (normal approximation)"  # ties


def test_durations_and_lengths_are_medians_with_a_hodges_lehmann_shift(comparison) -> None:
    kpis = comparison.kpis.set_index("kpi")
    duration, length = kpis.loc["median journey duration"], kpis.loc["median journey length"]
    assert (duration["a"], duration["b"]) == (35 * 60, 350 * 60)
    assert (length["a"], length["b"]) == (2, 3)
    assert duration["unit"] == "seconds" and length["unit"] == "events"
    assert duration["effect_measure"] == "Hodges–Lehmann shift (Moses interval)"
    assert kpis.loc["conversion rate", "effect_measure"] == "difference in proportions (Newcombe interval)"


@pytest.mark.parametrize("path", ["counted", "searched", "searched from the quantiles"])
@pytest.mark.parametrize("seed", range(12))
def test_the_hodges_lehmann_shift_and_moses_interval_are_ranks_of_every_pair_difference(
    monkeypatch: pytest.MonkeyPatch, path: str, seed: int
) -> None:
    """Exactly the ranks of the listed differences, ties included, whichever way they are found: counted from the
    two histograms, or searched for (forced here on small samples by tiny thresholds), from the range the
    quantiles suggest (a coarse grid, often missing the ranks) or from every difference."""
    import segmentation._compare as compare

    if path != "counted":
        monkeypatch.setattr(compare, "_BINNED_PAIRS", 0)
        monkeypatch.setattr(compare, "_LISTED_PAIRS", 7 if path == "searched" else 300)
        monkeypatch.setattr(compare, "_GRID_STEPS", 9)  # a rough first range, often missed
    rng = np.random.default_rng(seed)
    spread = (3, 60, 10**7)[seed % 3]  # ties everywhere, some ties, hardly any
    x = rng.integers(-spread, spread, int(rng.integers(1, 120)))
    y = rng.integers(-spread, spread, int(rng.integers(1, 120))) + int(rng.integers(-spread, spread))

    differences = np.sort(np.subtract.outer(x, y).ravel())
    m, n = x.size, y.size
    _, tied = np.unique(np.concatenate([x, y]), return_counts=True)
    sigma = math.sqrt(max(m * n / 12 * ((m + n + 1) - sum(t**3 - t for t in tied) / ((m + n) * (m + n - 1))), 0))
    k = math.floor(m * n / 2 - Z_95 * sigma)
    shift, low, high = compare._hodges_lehmann(x, y)
    assert shift == np.median(differences)
    if k < 1:
        assert math.isnan(low) and math.isnan(high)
    else:
        assert (low, high) == (differences[k - 1], differences[m * n - k])


def test_every_test_effect_and_interval_is_recomputed_independently(comparison) -> None:
    check_every_figure(comparison, LOG, *(LOG.loc[LOG["group"] == side, "case_id"] for side in "ab"))


def test_every_figure_of_two_demo_segments_is_recomputed_independently() -> None:
    log = load_log(DEMO_SAMPLES["telecom"]).frame
    plan_of = log.groupby("case_id")["plan"].first()
    first, second = plan_of.value_counts().index[:2]
    members = [plan_of.index[plan_of == plan] for plan in (first, second)]
    with Engine.from_frame(log) as engine:
        a, b = (Filters(case_ids=frozenset(cases)) for cases in members)
        comparison = compare_segments(engine, a, b, definition=suggest_definition(engine))
    tests = pd.concat([getattr(comparison, name)["test"] for name in PROPORTION_TABLES])
    assert {"Fisher's exact", "two-proportion z"} <= set(tests)
    check_every_figure(comparison, log, *members)


def test_edges_one_sided_and_shifted_are_flagged(comparison) -> None:
    edges = comparison.edges.set_index(["source", "target"])
    assert edges.loc[("buy", "review"), "presence"] == "A only"
    assert edges.loc[("call", "cancel"), "presence"] == "B only"
    assert edges.loc[("visit", "buy"), "presence"] == "common"
    assert edges.loc[("visit", "buy"), ["customers_a", "customers_b"]].tolist() == [3, 1]
    assert set(edges["change"]) <= {"more in A", "less in A", "not significant"}
    assert edges["change"].eq("not significant").eq(~edges["significant"]).all()


def test_clear_differences_are_significant_in_both_directions(settings: Settings) -> None:
    rows = [(f"a{i}", "visit", 0, "web") for i in range(60)] + [(f"b{i}", "visit", 0, "store") for i in range(60)]
    rows += [(f"a{i}", "buy", 5, "web") for i in range(60)] + [(f"b{i}", "call", 5, "phone") for i in range(60)]
    log = journeys(*rows, group=[row[0][0] for row in rows])
    with Engine.from_frame(log, settings) as engine:
        comparison = compare_segments(engine, A, B, definition=JourneyDefinition(goal=("buy",), stages=STAGES))
    edges = comparison.edges.set_index(["source", "target"])
    assert edges.loc[("visit", "buy"), "change"] == "more in A"
    assert edges.loc[("visit", "call"), "change"] == "less in A"
    assert edges.loc[("visit", "call"), "presence"] == "B only"
    conversion = comparison.kpis.set_index("kpi").loc["conversion rate"]
    assert (conversion["effect"], conversion["significant"]) == (1.0, True)
    assert conversion["ci_low"] > 0.9


def test_the_variants_whose_share_differs_most_come_first(comparison) -> None:
    variants = comparison.variants
    differences = variants["difference"].abs().to_numpy()
    assert (differences[:-1] >= differences[1:]).all()
    assert variants.loc[0, "activities"] == ("visit", "buy")  # a1, a4 against b3
    assert variants.loc[0, ["customers_a", "customers_b"]].tolist() == [2, 1]


def test_two_personas_compared_on_their_own_behaviour_carry_a_caveat(engine: Engine) -> None:
    plain = compare_segments(engine, A, B, definition=DEFINITION)
    personas = compare_segments(engine, A, B, definition=DEFINITION, defined_by_behaviour=True)
    assert PERSONAS_CAVEAT not in plain.caveats
    assert personas.caveats[0] == PERSONAS_CAVEAT
    assert "by construction" in PERSONAS_CAVEAT


def test_shared_customers_and_small_segments_are_said_in_words(engine: Engine) -> None:
    caveats = compare_segments(engine, A, Filters(), definition=DEFINITION).caveats
    assert caveats[0].startswith("6 customers are in both segments")
    assert caveats[1].startswith("Segment A has only 6 customers")


def test_kpis_read_as_percentages_and_readable_durations(comparison) -> None:
    shown = readable_kpis(comparison).set_index("KPI")
    assert shown.loc["conversion rate", "A"] == "66.7 % (4 of 6)"
    assert shown.loc["churn rate", "B"] == "50.0 % (2 of 4)"
    assert shown.loc["conversion rate", "Effect (A − B)"] == "+16.7 pts"
    assert re.fullmatch(r"[−+]\d+\.\d to [−+]\d+\.\d pts", shown.loc["conversion rate", "95 % interval"])
    assert shown.loc["median journey duration", "A"] == "35 minutes"
    assert shown.loc["median journey duration", "B"] == "5.8 hours"
    assert shown.loc["median journey duration", "Effect (A − B)"].startswith("−")
    assert shown.loc["median journey duration", "95 % interval"].endswith("hours")
    assert shown.loc["customers", "Significant"] == "not tested"
    assert shown.loc["median journey length", "A"] == "2 events"


def test_the_result_is_plain_json(comparison) -> None:
    document = comparison.to_dict()
    assert document["families"][0] == {
        "family": "headline KPIs",
        "table": "kpis",
        "tests": 4,
        "rows_shown": 5,
        "correction": "Benjamini–Hochberg",
    }
    assert document["variants"][0]["activities"] == ["visit", "buy"]
    assert document["kpis"][0]["p_value"] is None


def test_empty_segments_are_all_reported(engine: Engine) -> None:
    with pytest.raises(EmptyLog) as raised:
        compare_segments(engine, Filters(channels={"fax"}), Filters(channels={"telex"}), definition=DEFINITION)
    assert len(raised.value.problems) == 2


def test_the_definition_is_required(engine: Engine) -> None:
    with pytest.raises(TypeError, match="JourneyDefinition"):
        compare_segments(engine, A, B, definition=STAGES)


@pytest.mark.slow
def test_two_halves_of_one_population_are_rarely_reported_as_different() -> None:
    # At a false discovery rate of 5 %, a family of tests between two random halves raises an alarm in about one
    # split of 20 (measured: 5.6 % of 2,000 splits for the channels); 4 alarms or more in 20 splits would happen by
    # chance 3 % of the time, and a family of a hundred tests left uncorrected would alarm in nearly every split.
    with Engine.from_frame(load_log(DEMO_SAMPLES["telecom"]).frame) as engine:
        definition = suggest_definition(engine)
        customers = np.array(engine.cases()["case_id"])
        rng = np.random.default_rng(0)
        alarms = pd.Series(0, index=["headline KPIs", "stage funnel", "channels", "map edges", "variants"])
        for _ in range(20):
            half = rng.permutation(customers.size) < customers.size // 2
            comparison = compare_segments(
                engine, Filters(case_ids=customers[half]), Filters(case_ids=customers[~half]), definition=definition
            )
            alarms[comparison.significant["family"].unique()] += 1
    assert alarms.max() <= 3, alarms


# --- independent recomputation ----------------------------------------------------------------------------------------


def check_every_figure(comparison, log: pd.DataFrame, members_a, members_b) -> None:
    """Recompute every p-value, q-value, effect and interval of `comparison` from its counts and from the journeys
    of `log` whose case ids are `members_a` and `members_b`."""
    kpis = comparison.kpis.set_index("kpi")
    for kpi in ("conversion rate", "churn rate"):
        row = kpis.loc[kpi]
        if pd.notna(row["p_value"]):
            check_proportion(row, int(row["count_a"]), int(row["out_of_a"]), int(row["count_b"]), int(row["out_of_b"]))
    per_case = log.groupby("case_id").agg(
        start=("timestamp", "min"), end=("timestamp", "max"), events=("activity", "size")
    )
    per_case["seconds"] = (per_case["end"] - per_case["start"]).dt.total_seconds()
    for kpi, column in (("median journey duration", "seconds"), ("median journey length", "events")):
        x, y = (per_case.loc[sorted(set(members)), column].to_numpy(float) for members in (members_a, members_b))
        check_rank_row(kpis.loc[kpi], x, y)
    for name in PROPORTION_TABLES:
        table = getattr(comparison, name)
        for row in table.to_dict(orient="records"):
            check_proportion(
                row, row["customers_a"], comparison.customers_a, row["customers_b"], comparison.customers_b
            )
    for name in ("kpis", "funnel", "channels", "edges"):
        table = getattr(comparison, name)
        tested = table["p_value"].notna()
        np.testing.assert_allclose(table.loc[tested, "q_value"], benjamini_hochberg(table.loc[tested, "p_value"]))
    # the variants shown were corrected with every variant either segment follows
    q_values = variant_q_values(log, members_a, members_b)
    np.testing.assert_allclose(comparison.variants["q_value"], q_values.loc[list(comparison.variants["activities"])])
    assert comparison.families.set_index("table").loc["variants", "tests"] == len(q_values)


def check_proportion(row, x_a: int, n_a: int, x_b: int, n_b: int) -> None:
    test, p_value, z = independent_test(x_a, n_a, x_b, n_b)
    assert row["test"] == test
    assert row["p_value"] == pytest.approx(p_value, rel=1e-9)
    if test == "two-proportion z":
        assert row["statistic"] == pytest.approx(z)
    low, high = newcombe(x_a, n_a, x_b, n_b)
    effect = row["effect"] if "effect" in row else row["difference"]
    assert effect == pytest.approx(x_a / n_a - x_b / n_b)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


def independent_test(x_a: int, n_a: int, x_b: int, n_b: int) -> tuple[str, float, float]:
    """The test the expected counts call for, its p-value and (z-test) its signed statistic, by SciPy."""
    table = np.array([[x_a, n_a - x_a], [x_b, n_b - x_b]])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    if expected.min() < 5:
        return "Fisher's exact", stats.fisher_exact(table).pvalue, math.nan
    chi2 = stats.chi2_contingency(table, correction=False)
    return "two-proportion z", chi2.pvalue, math.copysign(math.sqrt(chi2.statistic), x_a / n_a - x_b / n_b)


def variant_q_values(log: pd.DataFrame, members_a, members_b) -> pd.Series:
    """Every variant's q-value, Benjamini–Hochberg over all the variants either segment follows, by activities."""
    ordered = log.sort_values(["case_id", "timestamp", "source_row"])
    sequence = ordered.groupby("case_id")["activity"].agg(tuple)
    counts = pd.DataFrame(
        {
            side: sequence.loc[sorted(set(members))].value_counts()
            for side, members in (("a", members_a), ("b", members_b))
        }
    ).fillna(0)
    sizes = {"a": len(set(members_a)), "b": len(set(members_b))}
    p_values = [
        independent_test(int(x_a), sizes["a"], int(x_b), sizes["b"])[1]
        for x_a, x_b in zip(counts["a"], counts["b"], strict=True)
    ]
    return pd.Series(benjamini_hochberg(p_values), index=counts.index)


def check_rank_row(row, x: np.ndarray, y: np.ndarray) -> None:
    method = "exact" if row["test"] == "Mann–Whitney U (exact)" else "asymptotic"
    ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    assert (method == "exact") == (min(len(x), len(y)) <= 8 and not ties)
    tested = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
    assert row["p_value"] == pytest.approx(tested.pvalue, rel=1e-9)
    assert row["statistic"] == tested.statistic
    assert (row["a"], row["b"]) == (np.median(x), np.median(y))
    differences = np.sort(np.subtract.outer(x, y).ravel())
    assert row["effect"] == pytest.approx(np.median(differences), abs=1e-3)
    m, n = len(x), len(y)
    _, tied = np.unique(np.concatenate([x, y]), return_counts=True)
    sigma = math.sqrt(m * n / 12 * ((m + n + 1) - sum(t**3 - t for t in tied) / ((m + n) * (m + n - 1))))
    k = math.floor(m * n / 2 - Z_95 * sigma)
    if k < 1:
        assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    else:
        assert row["ci_low"] == pytest.approx(differences[k - 1], abs=1e-3)
        assert row["ci_high"] == pytest.approx(differences[m * n - k], abs=1e-3)


def chi_square_p(x_a: int, n_a: int, x_b: int, n_b: int) -> float:
    return stats.chi2_contingency([[x_a, n_a - x_a], [x_b, n_b - x_b]], correction=False).pvalue


def benjamini_hochberg(p_values: pd.Series) -> np.ndarray:
    """q_(i) = min over j ≥ i of m · p_(j) / j, capped at 1, back in the original order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q[np.argsort(order)]


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The score interval by its definition: the rates p0 the score test does not reject, found as roots."""
    share = successes / trials

    def score(p0: float) -> float:
        return abs(share - p0) - Z_95 * math.sqrt(p0 * (1 - p0) / trials)

    # the score test rejects p0 = 0 and p0 = 1 (unless seen) and accepts p0 just beside the share seen
    low = 0.0 if successes == 0 else optimize.brentq(score, 0.0, share - 1e-12, xtol=1e-15)
    high = 1.0 if successes == trials else optimize.brentq(score, share + 1e-12, 1.0, xtol=1e-15)
    return low, high


def newcombe(x_a: int, n_a: int, x_b: int, n_b: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) of x_a / n_a − x_b / n_b."""
    p_a, p_b = x_a / n_a, x_b / n_b
    (l_a, u_a), (l_b, u_b) = wilson(x_a, n_a), wilson(x_b, n_b)
    difference = p_a - p_b
    return (
        difference - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2),
        difference + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2),
    )
