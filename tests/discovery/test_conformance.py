"""Designed against actual: hand-computed figures, an independent computation on the variants, the planted demo
deviation, and pm4py's own fitness on a shared real log."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import pandas as pd
import pm4py
import pytest

from data.demo import designed_journey, generate_demo
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import (
    OVERLAY_COLOURS,
    STEP_CHECKS,
    DesignedJourney,
    DesignedStage,
    DesignedTouchpoint,
    JourneyDefinition,
    conformance,
    conformance_by,
    conformance_customers,
    conformance_overlay,
    designed_from_main_path,
    designed_steps,
    journey_map,
    map_to_dot,
)
from discovery.__main__ import main
from discovery._designed import designed_net
from tests.discovery import demo_frame, journeys
from tests.oracle import ORACLES, load_oracle_frame

MINUTE_IN_DAYS = 1 / 1440
# ann and ben follow the design (ben with the optional compare); cat skips cart; dan carts before visiting; eve
# visits in the store, pays in the store and reaches "buy" after its one-day target; fay carts twice; gus chats
# (unexpected); hal goes back from cart to visit and never pays; ivy only visits.
LOG = journeys(
    ("ann", "visit", 0, "web"),
    ("ann", "cart", 10, "web"),
    ("ann", "pay", 20, "web"),
    ("ben", "visit", 0, "web"),
    ("ben", "compare", 5, "web"),
    ("ben", "cart", 10, "web"),
    ("ben", "pay", 30, "web"),
    ("cat", "visit", 0, "web"),
    ("cat", "pay", 60, "web"),
    ("dan", "cart", 0, "web"),
    ("dan", "visit", 5, "web"),
    ("dan", "pay", 10, "web"),
    ("eve", "visit", 0, "store"),
    ("eve", "cart", 1500, "web"),
    ("eve", "pay", 2000, "store"),
    ("fay", "visit", 0, "web"),
    ("fay", "cart", 10, "web"),
    ("fay", "cart", 20, "web"),
    ("fay", "pay", 30, "web"),
    ("gus", "visit", 0, "web"),
    ("gus", "chat", 5, "web"),
    ("gus", "cart", 10, "web"),
    ("gus", "pay", 20, "web"),
    ("hal", "visit", 0, "web"),
    ("hal", "cart", 10, "web"),
    ("hal", "visit", 15, "web"),
    ("hal", "cart", 20, "web"),
    ("ivy", "visit", 0, "web"),
)
DESIGN = DesignedJourney(
    (
        DesignedStage(
            "explore", (DesignedTouchpoint("visit", channel="web"), DesignedTouchpoint("compare", False, order=2))
        ),
        DesignedStage("buy", (DesignedTouchpoint("cart"), DesignedTouchpoint("pay", order=2, channel="online")), 1),
    )
)
DEFINITION = JourneyDefinition(channel_groups={"web": "online", "store": "offline"})


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


def behind(engine: Engine, result, figure: str, subject=None, **options) -> list[str]:
    return sorted(conformance_customers(engine, DEFINITION, result, figure, subject, **options).customers["case_id"])


def test_the_share_who_follow_counts_customers_whose_variant_fits(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN)
    assert (result.customers, result.checked, result.follows) == (9, 9, 3)
    assert result.share_follows == pytest.approx(3 / 9)
    assert behind(shop, result, "follows") == ["ann", "ben", "eve"]
    assert len(behind(shop, result, "deviates")) == 6
    # gus chats (not in the design) around steps done as designed
    assert result.keeps_to_steps == 4
    assert behind(shop, result, "keeps_to_steps") == ["ann", "ben", "eve", "gus"]
    assert result.method == "alignments"


def test_each_designed_step_counts_skips_order_channel_and_repeats(shop: Engine) -> None:
    steps = conformance(shop, DEFINITION, DESIGN).steps.set_index("touchpoint")
    expected = {
        # did, skipped, out of order, other channel, repeated
        "visit": (9, 0, 1, 1, 1),
        "compare": (1, 7, 0, 0, 0),
        "cart": (7, 1, 1, 0, 2),
        "pay": (7, 0, 0, 1, 0),
    }
    assert {name: tuple(int(row[c]) for c in ("did", *STEP_CHECKS)) for name, row in steps.iterrows()} == expected
    assert list(steps["stage"]) == ["explore", "explore", "buy", "buy"]


def test_every_step_figure_lists_its_customers(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN)
    assert behind(shop, result, "skipped", "cart") == ["cat"]
    assert behind(shop, result, "out_of_order", "visit") == ["dan"]
    assert behind(shop, result, "out_of_order", "cart") == ["dan"]
    assert behind(shop, result, "other_channel", "visit") == ["eve"]
    assert behind(shop, result, "other_channel", "pay") == ["eve"]  # the store is offline, not online
    assert behind(shop, result, "repeated", "cart") == ["fay", "hal"]
    for _, row in result.steps.iterrows():
        for figure in ("did", *STEP_CHECKS):
            assert conformance_customers(shop, DEFINITION, result, figure, row["touchpoint"]).total == row[figure]


def test_unexpected_touchpoints_and_loops_have_their_customers(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN)
    assert list(result.unexpected.itertuples(index=False, name=None)) == [("chat", 1)]
    assert list(result.loops.itertuples(index=False, name=None)) == [("cart", "visit", 2), ("cart", "cart", 1)]
    assert behind(shop, result, "unexpected", "chat") == ["gus"]
    assert behind(shop, result, "loop", ("cart", "visit")) == ["dan", "hal"]
    with pytest.raises(LogError, match="not an unexpected touchpoint"):
        conformance_customers(shop, DEFINITION, result, "unexpected", "visit")


def test_time_to_reach_a_stage_against_its_target(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN)
    buy = result.stage_times.set_index("stage").loc["buy"]
    # First cart or pay: 10 min for six customers, 60 for cat, 0 for dan, 1500 (over a day) for eve.
    assert (buy["reached"], buy["within_target"]) == (8, 7)
    assert buy["median_days"] == pytest.approx(10 * MINUTE_IN_DAYS)
    assert behind(shop, result, "late", "buy") == ["eve"]
    assert len(behind(shop, result, "within_target", "buy")) == 7
    explore = result.stage_times.set_index("stage").loc["explore"]
    assert explore["reached"] == 9 and pd.isna(explore["within_target"])
    with pytest.raises(LogError, match="no target"):
        conformance_customers(shop, DEFINITION, result, "late", "explore")


def test_fitness_per_variant_equals_the_alignment_cost_by_hand(shop: Engine) -> None:
    fitness = conformance(shop, DEFINITION, DESIGN).variants.set_index(
        conformance(shop, DEFINITION, DESIGN).variants["activities"].map(tuple)
    )["fitness"]
    # 1 - (log moves + model moves) / (trace length + the 3 required steps)
    assert fitness[("visit", "pay")] == pytest.approx(1 - 1 / 5)
    assert fitness[("visit",)] == pytest.approx(1 - 2 / 4)
    assert fitness[("cart", "visit", "pay")] == pytest.approx(1 - 2 / 6)
    assert fitness[("visit", "compare", "cart", "pay")] == 1


def test_token_replay_past_the_alignment_cap_finds_the_same_fitting_customers(shop: Engine) -> None:
    aligned = conformance(shop, DEFINITION, DESIGN)
    replayed = conformance(shop, DEFINITION, DESIGN, max_aligned=0)
    assert replayed.method == "alignments and token replay"
    assert replayed.follows == aligned.follows
    unchecked = conformance(shop, DEFINITION, DESIGN, max_aligned=2, max_replayed=0)
    assert unchecked.checked == int(unchecked.variants["cases"].iloc[:2].sum())
    assert "not checked" in unchecked.why
    assert len(behind(shop, unchecked, "unchecked")) == unchecked.customers - unchecked.checked


def test_breakdowns_by_group_month_and_attribute(settings: Settings) -> None:
    frame = LOG.assign(region=["north" if case < "e" else "south" for case in LOG["case_id"]])
    with Engine.from_frame(frame, settings) as engine:
        personas = pd.Series({"ann": "A", "ben": "A", "cat": "B"}, name="persona")
        by_persona = conformance(engine, DEFINITION, DESIGN, by=personas).breakdown.set_index("segment")
        assert by_persona.loc["A", ["customers", "follows"]].tolist() == [2, 2]
        assert by_persona.loc["(none)", ["customers", "follows"]].tolist() == [6, 1]
        result = conformance(engine, DEFINITION, DESIGN, by="region")
        by_region = result.breakdown.set_index("segment")
        assert by_region.loc["north", ["customers", "follows"]].tolist() == [4, 2]
        assert by_region["customers"].sum() == 9
        south = behind(engine, result, "follows", by="region", segment="south")
        assert south == ["eve"]
        by_month = conformance(engine, DEFINITION, DESIGN, by="month").breakdown
        assert by_month["customers"].tolist() == [9]
        assert by_month["mean_fitness"].iloc[0] == pytest.approx(conformance(engine, DEFINITION, DESIGN).mean_fitness)


def test_filters_restrict_every_figure(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN, Filters(case_ids=frozenset({"ann", "cat"})))
    assert (result.customers, result.follows) == (2, 1)
    assert behind(shop, result, "skipped", "cart") == ["cat"]
    assert behind(shop, result, "deviates") == ["cat"]


def test_the_main_path_starts_a_draft_in_the_definitions_stages(shop: Engine) -> None:
    definition = JourneyDefinition.from_dict(
        {
            "format": "parcours.journey-definition",
            "format_version": 1,
            "stages": [{"name": "explore", "touchpoints": ["visit"]}, {"name": "buy", "touchpoints": ["cart"]}],
        }
    )
    draft = designed_from_main_path(shop, definition)
    assert [(stage.name, [t.name for t in stage.touchpoints]) for stage in draft.stages] == [
        ("explore", ["visit"]),
        ("buy", ["cart", "pay"]),
    ]
    assert all(touchpoint.required and touchpoint.channel is None for touchpoint in draft.path)


def test_json_output_of_the_command(run_cli, tmp_path) -> None:
    log = tmp_path / "log.csv"
    LOG.to_csv(log, index=False)
    designed = tmp_path / "designed.json"
    designed.write_text(json.dumps(DESIGN.to_dict()))
    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps(DEFINITION.to_dict()))
    result = run_cli(
        main, "conformance", str(log), "--designed", str(designed), "--definition", str(definition), "--json",
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["customers"], document["follows"]) == (9, 3)
    assert [step["skipped"] for step in document["steps"]] == [0, 7, 1, 0]
    bad = run_cli(main, "conformance", str(log), "--designed", str(log), home=tmp_path)
    assert bad.returncode == 2 and "not JSON" in bad.stderr


# --- an independent computation on the variants of a demo -----------------------------------------------------------


@functools.cache
def shop_demo(plant: bool) -> pd.DataFrame:
    return demo_frame(generate_demo(1500, scenario="shop", seed=4, plant_deviation=plant))


def alignment_cost(trace: tuple[str, ...], path: list[tuple[str, bool]]) -> int:
    """Fewest log moves plus moves on required model steps aligning `trace` with the sequential design."""
    rows, columns = len(trace), len(path)
    cost = [[0] * (columns + 1) for _ in range(rows + 1)]
    for j in range(1, columns + 1):
        cost[0][j] = cost[0][j - 1] + path[j - 1][1]
    for i in range(1, rows + 1):
        cost[i][0] = i
        for j in range(1, columns + 1):
            name, required = path[j - 1]
            options = [cost[i - 1][j] + 1, cost[i][j - 1] + required]
            if trace[i - 1] == name:
                options.append(cost[i - 1][j - 1])
            cost[i][j] = min(options)
    return cost[rows][columns]


def expected_steps(variants: pd.DataFrame, design: DesignedJourney) -> dict[str, tuple[int, ...]]:
    """did, skipped, out of order and repeated per designed step, in plain Python over (activities, cases)."""
    names = [touchpoint.name for touchpoint in design.path]
    counts = {name: [0, 0, 0, 0] for name in names}
    for activities, cases in zip(variants["activities"], variants["cases"], strict=True):
        first = {}
        for index, activity in enumerate(activities):
            first.setdefault(activity, index)
        done = [names.index(a) for a in first if a in names]
        furthest = max(done, default=-1)
        for position, name in enumerate(names):
            if name in first:
                counts[name][0] += cases
                earlier = [p for p in done if first[names[p]] < first[name]]
                later = [p for p in done if first[names[p]] > first[name]]
                if any(p > position for p in earlier) or any(p < position for p in later):
                    counts[name][2] += cases
                if activities.count(name) > 1:
                    counts[name][3] += cases
            elif furthest > position:
                counts[name][1] += cases
    return {name: tuple(values) for name, values in counts.items()}


@pytest.mark.slow  # pm4py alignments on the demo: 13 s
def test_demo_conformance_equals_an_independent_computation_on_the_variants(settings: Settings) -> None:
    design = DesignedJourney.from_dict(designed_journey("shop"))
    with Engine.from_frame(shop_demo(False), settings) as engine:
        result = conformance(engine, DEFINITION, design)
    variants = result.variants
    path = [(touchpoint.name, touchpoint.required) for touchpoint in design.path]
    required = sum(flag for _, flag in path)
    by_hand = pd.Series([1 - alignment_cost(tuple(a), path) / (len(a) + required) for a in variants["activities"]])
    aligned = variants["method"] == "alignments"
    assert aligned.sum() == 1000 and (variants.loc[~aligned, "method"] == "token replay").all()
    assert variants.loc[aligned, "fitness"].tolist() == pytest.approx(by_hand[aligned].tolist())
    fits = by_hand > 1 - 1e-9
    assert ((variants["fitness"] == 1) == fits).all()  # token replay is exact on who fits
    names = {name for name, _ in path}
    keeps = variants["activities"].map(lambda a: alignment_cost(tuple(x for x in a if x in names), path) == 0)
    assert result.keeps_to_steps == int(variants.loc[keeps, "cases"].sum()) > result.follows
    assert result.follows == int(variants.loc[fits, "cases"].sum()) > 0
    steps = result.steps.set_index("touchpoint")
    columns = ["did", "skipped", "out_of_order", "repeated"]
    assert {name: tuple(int(v) for v in row[columns]) for name, row in steps.iterrows()} == expected_steps(
        variants, design
    )
    names = set(steps.index)
    unexpected: dict[str, int] = {}
    for activities, cases in zip(variants["activities"], variants["cases"], strict=True):
        for activity in set(activities) - names:
            unexpected[activity] = unexpected.get(activity, 0) + cases
    assert dict(zip(result.unexpected["touchpoint"], result.unexpected["customers"], strict=True)) == unexpected


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_other_channel_equals_a_count_over_the_events(settings: Settings) -> None:
    design = DesignedJourney.from_dict(designed_journey("shop"))
    frame = shop_demo(False)
    with Engine.from_frame(frame, settings) as engine:
        steps = conformance(engine, DEFINITION, design).steps.set_index("touchpoint")
    for touchpoint in design.path:
        events = frame[(frame["activity"] == touchpoint.name) & frame["channel"].notna()]
        if touchpoint.channel is not None:
            group = events["channel"].map(DEFINITION.channel_groups).fillna("other")
            events = events[(events["channel"] != touchpoint.channel) & (group != touchpoint.channel)]
        else:
            events = events.iloc[:0]
        assert steps.loc[touchpoint.name, "other_channel"] == events["case_id"].nunique()


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_the_planted_deviation_is_found_customer_for_customer(settings: Settings) -> None:
    planted = generate_demo(1500, scenario="shop", seed=4, plant_deviation=True).deviation
    assert planted and generate_demo(300, scenario="shop", seed=4).deviation == frozenset()
    design = DesignedJourney.from_dict(designed_journey("shop"))
    found = {}
    for plant in (False, True):
        with Engine.from_frame(shop_demo(plant), settings) as engine:
            result = conformance(engine, DEFINITION, design)
            other = conformance_customers(engine, DEFINITION, result, "other_channel", "checkout", limit=10_000)
            found[plant] = set(other.customers["case_id"])
    assert found[True] == found[False] | planted


def test_the_deviation_option_leaves_the_default_demo_as_it_was() -> None:
    assert generate_demo(400, scenario="telecom", seed=2).events.equals(
        generate_demo(400, scenario="telecom", seed=2, plant_deviation=False).events
    )
    for scenario in ("telecom", "shop"):
        design = DesignedJourney.from_dict(designed_journey(scenario))
        assert {t.name for t in design.path} <= set(generate_demo(300, scenario=scenario).events["touchpoint"])


# --- pm4py on a shared real log -------------------------------------------------------------------------------------


def test_fitness_per_variant_equals_pm4py_alignments_on_the_raw_log(settings: Settings) -> None:
    (oracle,) = (oracle for oracle in ORACLES if oracle.name == "helpdesk/helpdesk_tax2017")
    frame = load_oracle_frame(oracle)
    with Engine.from_frame(frame, settings) as engine:
        definition = JourneyDefinition()
        draft = designed_from_main_path(engine, definition)
        # The main path with its second step optional, so that both kinds of step are checked.
        first, second, *rest = draft.path
        design = DesignedJourney(
            (DesignedStage("all", (first, DesignedTouchpoint(second.name, False, second.order), *rest)),)
        )
        result = conformance(engine, definition, design)
    net, initial, final = designed_net(design)
    diagnostics = pm4py.conformance_diagnostics_alignments(
        frame, net, initial, final, activity_key="activity", case_id_key="case_id", timestamp_key="timestamp"
    )
    traces = frame.groupby("case_id", sort=True)["activity"].agg(tuple)
    raw = pd.Series([d["fitness"] for d in diagnostics], index=traces.index)
    by_variant = raw.groupby(traces).agg(["min", "max", "size"])
    assert (by_variant["min"] == by_variant["max"]).all()
    ours = result.variants.set_index(result.variants["activities"].map(tuple))
    assert ours["fitness"].to_dict() == pytest.approx(by_variant["min"].to_dict())
    assert ours["cases"].to_dict() == by_variant["size"].to_dict()
    assert result.follows == int((raw == 1).sum())


def test_the_overlay_colours_the_designed_path_and_the_deviations_on_the_map(shop: Engine) -> None:
    assert designed_steps(DESIGN) == {
        (None, "visit"),
        ("visit", "compare"),
        ("visit", "cart"),  # past the optional compare
        ("compare", "cart"),
        ("cart", "pay"),
        ("pay", None),
    }
    result = conformance(shop, DEFINITION, DESIGN)
    overlay = conformance_overlay(result)
    assert overlay["chat"] == OVERLAY_COLOURS["unexpected"]
    assert overlay[("cart", "visit")] == overlay[("cart", "cart")] == OVERLAY_COLOURS["loop"]
    assert overlay[("visit", "cart")] == overlay["pay"] == OVERLAY_COLOURS["designed"]
    drawn = map_to_dot(journey_map(shop), overlay=overlay)
    assert drawn.count(OVERLAY_COLOURS["loop"]) == 2
    assert drawn.count(OVERLAY_COLOURS["unexpected"]) == 1
    assert map_to_dot(journey_map(shop)).count(OVERLAY_COLOURS["designed"]) == 0


def test_a_breakdown_of_a_result_reuses_its_fitness(shop: Engine) -> None:
    result = conformance(shop, DEFINITION, DESIGN)
    by_month = conformance_by(shop, result, "month")
    assert by_month.breakdown.equals(conformance(shop, DEFINITION, DESIGN, by="month").breakdown)
    assert by_month.variants is result.variants and result.breakdown is None
    assert by_month.breakdown["keeps_to_steps"].tolist() == [4]


def test_the_command_prints_the_figures_in_words_and_needs_a_design(run_cli, tmp_path) -> None:
    log = tmp_path / "log.csv"
    LOG.to_csv(log, index=False)
    designed = tmp_path / "designed.json"
    designed.write_text(json.dumps(DESIGN.to_dict()))
    result = run_cli(main, "conformance", str(log), "--designed", str(designed), "--by", "month", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 of 9 customers follow the designed journey (33%)")
    assert "4 kept to the designed steps" in result.stdout
    assert "  cart: did 7, skipped 1, out of order 1, other channel 0, repeated 2" in result.stdout
    missing = run_cli(main, "conformance", str(log), home=tmp_path)
    assert missing.returncode == 2 and "No designed journey" in missing.stderr
