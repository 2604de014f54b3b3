"""The journey map on hand-made logs: counts, times, the two sliders, lanes and churn figures."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from types import SimpleNamespace

import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.filters import Filters
from data.first_look import FirstLook
from data.settings import Settings
from discovery import (
    ChurnRule,
    JourneyDefinition,
    JourneyMap,
    StageModel,
    churn_points,
    first_look_map,
    journey_map,
    map_caption,
    simplified_map,
)
from tests.discovery import demo_frame, journeys

# anna comes back to the website after a call, bob buys straight away, carl calls before buying.
SHOP = journeys(
    ("anna", "visit", 0),
    ("anna", "call", 10),
    ("anna", "visit", 30),
    ("anna", "buy", 90),
    ("bob", "visit", 0),
    ("bob", "buy", 20),
    ("carl", "visit", 0),
    ("carl", "call", 5),
    ("carl", "buy", 65),
)
MINUTE = 60.0


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def edge_table(result: JourneyMap) -> dict[tuple, tuple]:
    """(source, target) -> (events, cases), with None for the start and end of journeys."""
    edges = result.edges.astype({"source": "object", "target": "object"}).replace({pd.NA: None, float("nan"): None})
    return {
        (source, target): (events, cases)
        for source, target, events, cases in zip(
            edges["source"], edges["target"], edges["events"], edges["cases"], strict=True
        )
    }


def edge(result: JourneyMap, source: str | None, target: str | None) -> pd.Series:
    edges = result.edges
    wanted = (edges["source"].isna() if source is None else edges["source"].eq(source)) & (
        edges["target"].isna() if target is None else edges["target"].eq(target)
    )
    matches = edges[wanted.fillna(False)]
    assert len(matches) == 1
    return matches.iloc[0]


def test_edges_count_events_customers_and_start_and_end(shop: Engine) -> None:
    assert edge_table(journey_map(shop)) == {
        (None, "visit"): (3, 3),
        ("buy", None): (3, 3),
        ("visit", "buy"): (2, 2),
        ("visit", "call"): (2, 2),
        ("call", "buy"): (1, 1),
        ("call", "visit"): (1, 1),
    }


def test_edge_times_are_mean_median_and_p90_of_the_waits(shop: Engine) -> None:
    visit_call = edge(journey_map(shop), "visit", "call")  # anna waits 10 min, carl 5 min
    assert visit_call["mean_seconds"] == 7.5 * MINUTE
    assert visit_call["median_seconds"] == 7.5 * MINUTE
    assert visit_call["p90_seconds"] == pytest.approx(9.5 * MINUTE)
    start = edge(journey_map(shop), None, "visit")
    assert pd.isna(start["median_seconds"])


def test_nodes_count_customers_and_median_time_to_first_reach(shop: Engine) -> None:
    nodes = journey_map(shop).nodes.set_index("activity")
    assert list(nodes.index) == ["visit", "buy", "call"]  # visit and buy tie on customers, visit has more events
    assert nodes.loc["visit", ["events", "cases"]].tolist() == [4, 3]
    assert nodes.loc["call", "share"] == pytest.approx(2 / 3)
    assert nodes.loc["visit", "median_seconds_to_reach"] == 0
    assert nodes.loc["call", "median_seconds_to_reach"] == 7.5 * MINUTE  # anna's first call at 10, carl's at 5
    assert nodes.loc["buy", "median_seconds_to_reach"] == 65 * MINUTE  # 90, 20 and 65 minutes


def test_full_map_agrees_with_the_engine_dfg_start_and_end_activities(shop: Engine) -> None:
    for filters in (Filters(), Filters(with_activities={"call"})):
        result = journey_map(shop, filters)
        inner = result.edges.dropna(subset=["source", "target"]).set_index(["source", "target"]).sort_index()
        dfg = shop.dfg(filters).set_index(["source", "target"]).sort_index()
        pd.testing.assert_frame_equal(
            inner[["events", "cases", "mean_seconds", "median_seconds", "p90_seconds"]],
            dfg[["events", "cases", "mean_seconds", "median_seconds", "p90_seconds"]],
            check_dtype=False,
        )
        starts = result.edges[result.edges["source"].isna()].set_index("target")["cases"]
        assert starts.to_dict() == shop.start_activities(filters).set_index("activity")["cases"].to_dict()
        ends = result.edges[result.edges["target"].isna()].set_index("source")["cases"]
        assert ends.to_dict() == shop.end_activities(filters).set_index("activity")["cases"].to_dict()


def test_filters_keep_whole_journeys(shop: Engine) -> None:
    result = journey_map(shop, Filters(with_activities={"call"}))
    assert (result.cases, result.events) == (2, 7)
    assert edge(result, "visit", "buy")["cases"] == 1  # anna only: bob never called
    assert edge(result, "visit", "buy")["share"] == 0.5


def test_activity_slider_keeps_the_most_frequent_activities_up_to_the_coverage(shop: Engine) -> None:
    # customer-activity pairs: visit 3, buy 3, call 2; keeping visit and buy covers 6 of 8 = 75 %.
    result = journey_map(shop, activity_coverage=0.75)
    assert list(result.nodes["activity"]) == ["visit", "buy"]
    assert result.hidden_activities == ("call",)
    assert journey_map(shop, activity_coverage=0.76).hidden_activities == ()
    assert list(journey_map(shop, activity_coverage=0.0).nodes["activity"]) == ["visit"]


def test_hidden_activities_are_skipped_so_the_kept_ones_stay_linked(shop: Engine) -> None:
    result = journey_map(shop, activity_coverage=0.75)
    assert edge_table(result) == {
        (None, "visit"): (3, 3),
        ("buy", None): (3, 3),
        ("visit", "buy"): (3, 3),  # carl's visit → call → buy counts as visit → buy
        ("visit", "visit"): (1, 1),  # anna's visit → call → visit
    }
    assert edge(result, "visit", "buy")["median_seconds"] == 60 * MINUTE  # 60 (anna), 20 (bob), 65 (carl)
    assert result.covered_cases == 1  # only bob never called
    assert result.covered_share == pytest.approx(1 / 3)


def test_path_slider_at_zero_keeps_only_each_nodes_strongest_edges(shop: Engine) -> None:
    result = journey_map(shop, path_coverage=0.0)
    assert set(edge_table(result)) == {
        (None, "visit"),
        ("buy", None),
        ("visit", "buy"),
        ("visit", "call"),
        ("call", "buy"),  # call's strongest way out; call → visit is as strong but sorts after
    }
    assert result.hidden_edges == 1
    assert result.covered_cases == 2  # anna's call → visit is hidden


def test_a_loop_is_no_touchpoints_way_in_or_out(settings: Settings) -> None:
    # dan and eve call again right after calling: call → call (2 customers, 3 moves) is call's strongest edge both
    # in and out, and at zero coverage it used to be call's only edge: call was drawn floating, linked to nothing.
    log = journeys(
        ("anna", "visit", 0), ("anna", "buy", 1), ("bob", "visit", 0), ("bob", "buy", 1),
        ("dan", "visit", 0), ("dan", "call", 1), ("dan", "call", 2), ("dan", "call", 3), ("dan", "buy", 4),
        ("eve", "visit", 0), ("eve", "call", 1), ("eve", "call", 2),
    )  # fmt: skip
    with Engine.from_frame(log, settings) as engine:
        kept = set(edge_table(journey_map(engine, path_coverage=0.0)))
    assert ("call", "call") not in kept
    assert ("visit", "call") in kept
    assert {target for source, target in kept if source == "call"} == {None}  # eve's end, before dan's buy


def test_path_slider_keeps_edges_until_the_stronger_ones_reach_the_coverage(shop: Engine) -> None:
    # traversals by customers: 3 + 3 + 2 + 2 + 1 + 1 = 12; the weakest, call → visit, is no node's strongest edge.
    assert journey_map(shop, path_coverage=0.9).hidden_edges == 1  # the stronger edges cover 11/12 ≥ 90 %
    assert journey_map(shop, path_coverage=0.95).hidden_edges == 0


@pytest.mark.parametrize("coverages", [(0.75, 1.0), (1.0, 0.0), (0.75, 0.0), (1.0, 1.0)])
@pytest.mark.parametrize("filters", [Filters(), Filters(with_activities={"call"})], ids=["everyone", "callers"])
def test_the_sliders_simplify_the_full_map_of_the_same_filters(
    shop: Engine, coverages: tuple[float, float], filters: Filters
) -> None:
    activity_coverage, path_coverage = coverages
    lanes = {"stage_of": {"visit": "discovery", "call": "consideration", "buy": "purchase"}}
    full = journey_map(shop, filters, **lanes)
    simplified = simplified_map(shop, full, filters, activity_coverage=activity_coverage, path_coverage=path_coverage)
    direct = journey_map(shop, filters, activity_coverage=activity_coverage, path_coverage=path_coverage, **lanes)
    assert simplified.to_dict() == direct.to_dict()


def test_only_a_full_map_can_be_simplified(shop: Engine) -> None:
    with pytest.raises(ValueError, match="every activity and path"):
        simplified_map(shop, journey_map(shop, path_coverage=0.0), path_coverage=0.5)
    with pytest.raises(ValueError, match="path_coverage"):
        simplified_map(shop, journey_map(shop), path_coverage=2.0)


@pytest.mark.parametrize("coverage", [-0.1, 1.5, float("nan"), "all", True])
def test_coverage_outside_zero_to_one_is_refused(shop: Engine, coverage: object) -> None:
    with pytest.raises(ValueError, match="activity_coverage"):
        journey_map(shop, activity_coverage=coverage)


def test_stages_label_nodes_and_order_the_lanes(shop: Engine) -> None:
    stage_of = {"buy": "purchase", "visit": "discover", "call": "consider"}
    result = journey_map(shop, stage_of=stage_of)
    assert result.stages == ("purchase", "discover", "consider")  # as they first appear
    assert result.nodes.set_index("activity")["stage"].to_dict() == {
        "visit": "discover",
        "buy": "purchase",
        "call": "consider",
    }
    ordered = journey_map(shop, stage_of=stage_of, stages=["discover", "consider", "purchase", "loyalty"])
    assert ordered.stages == ("discover", "consider", "purchase", "loyalty")
    assert journey_map(shop, stage_of={"visit": "discover"}).nodes["stage"].isna().sum() == 2


def test_lanes_must_name_every_stage(shop: Engine) -> None:
    with pytest.raises(ValueError, match="stages"):
        journey_map(shop, stage_of={"visit": "discover"}, stages=["purchase"])


def test_churn_figures_are_read_from_any_object_with_churned_and_churn_rate(shop: Engine) -> None:
    churn = {
        "visit": SimpleNamespace(churned=0, churn_rate=0.0),
        "call": SimpleNamespace(churned=1, churn_rate=0.5),
        "buy": SimpleNamespace(churned=0, churn_rate=0.0),
    }
    nodes = journey_map(shop, churn=churn).nodes.set_index("activity")
    assert nodes.loc["call", "churned"] == 1
    assert nodes.loc["call", "churn_rate"] == 0.5
    # 1 churned over 3 + 2 + 3 customers passing: call's 50 % is 4 times the 12.5 % of an average step.
    assert nodes.loc["call", "lift"] == 4.0
    assert nodes["churn_point"].to_dict() == {"visit": False, "buy": False, "call": True}
    assert pd.isna(journey_map(shop, churn={"call": churn["call"]}).nodes.set_index("activity").loc["buy", "churned"])


def test_a_lift_given_with_the_churn_figures_decides_the_churn_points(shop: Engine) -> None:
    churn = {
        "call": SimpleNamespace(churned=1, churn_rate=0.5, lift=1.5),
        "visit": SimpleNamespace(churned=1, churn_rate=0.3, lift=2.5),
    }
    nodes = journey_map(shop, churn=churn).nodes.set_index("activity")
    assert nodes.loc[["call", "visit"], "lift"].tolist() == [1.5, 2.5]
    assert nodes["churn_point"].to_dict() == {"visit": True, "buy": False, "call": False}


def test_churn_without_the_two_figures_is_refused(shop: Engine) -> None:
    with pytest.raises(ValueError, match="churn"):
        journey_map(shop, churn={"call": 0.5})


def test_to_dict_is_json(shop: Engine) -> None:
    result = journey_map(shop, activity_coverage=0.75).to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["edges"][0] == {
        "source": None,
        "target": "visit",
        "events": 3,
        "cases": 3,
        "share": 1.0,
        "mean_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }


# --- on the demo log, with its planted ground truth -----------------------------------------------------------


@pytest.fixture(scope="module")
def telecom() -> Iterator[tuple]:
    demo = generate_demo(2000, scenario="telecom", seed=3)
    with Engine.from_frame(demo_frame(demo), Settings(duckdb_threads=2)) as engine:
        yield demo, engine


def test_planted_channel_switches_and_churn_activities_appear_on_the_map(telecom: tuple) -> None:
    demo, engine = telecom
    edges = edge_table(journey_map(engine, stage_of=demo.stage_of))
    for switch in demo.channel_switches.itertuples():
        assert (switch.from_touchpoint, switch.to_touchpoint) in edges
    for touchpoint, planted in demo.churn_points.iterrows():
        assert (touchpoint, planted["churn_activity"]) in edges
        assert (planted["churn_activity"], None) in edges


def test_planted_churn_points_stand_out_on_the_map(telecom: tuple) -> None:
    demo, engine = telecom
    full = journey_map(engine)
    into_churn = full.edges[full.edges["target"].isin(demo.churn_activities)].groupby("source")["cases"].sum()
    reached = full.nodes.set_index("activity")["cases"]
    churn = {
        activity: SimpleNamespace(churned=int(churned), churn_rate=churned / reached[activity])
        for activity, churned in into_churn.items()
    }
    nodes = journey_map(engine, churn=churn).nodes.set_index("activity")
    assert set(nodes.index[nodes["churn_point"]]) == set(demo.churn_points.index)


def test_churn_points_of_the_churn_analysis_mark_the_planted_ones(telecom: tuple) -> None:
    demo, engine = telecom
    model = StageModel(stages=demo.stages, stage_of=demo.stage_of)
    goal = model.activities_in(demo.goal_stage)
    points = churn_points(engine, JourneyDefinition(goal, model, ChurnRule(demo.churn_activities, 60)))
    result = journey_map(engine, stage_of=model.stage_of, stages=model.stages, churn=points.by_activity)
    nodes = result.nodes.set_index("activity")
    assert set(nodes.index[nodes["churn_point"]]) == set(demo.churn_points.index)
    assert result.stages == demo.stages


@pytest.mark.parametrize(("activity_coverage", "path_coverage"), itertools.product([0.0, 0.5, 0.9], [0.0, 0.3, 0.8]))
def test_no_shown_node_is_left_disconnected(telecom: tuple, activity_coverage: float, path_coverage: float) -> None:
    _demo, engine = telecom
    result = journey_map(engine, activity_coverage=activity_coverage, path_coverage=path_coverage)
    edges = result.edges
    shown = set(result.nodes["activity"])
    assert set(edges["target"].dropna()) == shown  # every node has a way in …
    assert set(edges["source"].dropna()) == shown  # … and a way out
    assert edges["source"].isna().any() and edges["target"].isna().any()


@pytest.mark.parametrize(("activity_coverage", "path_coverage"), [(1.0, 0.8), (0.9, 0.5), (0.6, 1.0), (0.8, 0.9)])
@pytest.mark.parametrize("filters", [Filters(), Filters(channels={"store"})], ids=["every journey", "store"])
def test_covered_customers_are_the_journeys_walked_whole_on_the_drawn_map(
    telecom: tuple, activity_coverage: float, path_coverage: float, filters: Filters
) -> None:
    """Each selected journey, its hidden steps dropped, walked in pandas: start, every move and end on a drawn edge."""
    _demo, engine = telecom
    result = journey_map(engine, filters, activity_coverage=activity_coverage, path_coverage=path_coverage)
    drawn = set(edge_table(result))
    shown = set(result.nodes["activity"])
    walked = 0
    for _case, steps in engine.events(filters).groupby("case_id", sort=False):
        activities = list(steps["activity"])
        kept = [activity for activity in activities if activity in shown]
        moves = list(itertools.pairwise([None, *kept, None]))
        walked += len(kept) == len(activities) and all(move in drawn for move in moves)
    assert result.covered_cases == walked


# --- the import's first look (its counts are the full map's: tests/data/test_first_look.py) -------------------------


def look_of(full: JourneyMap) -> FirstLook:
    """The first look an import hands over for the log `full` maps."""
    return FirstLook(
        touchpoints=full.nodes[["activity", "events", "cases"]],
        steps=full.edges[["source", "target", "events", "cases"]],
        cases=full.cases,
        events=full.events,
        activities=len(full.nodes),
    )


@pytest.mark.parametrize("path_coverage", [0.0, 0.3, 0.8, 1.0])
def test_a_first_look_draws_the_paths_the_page_draws_at_the_same_coverage(telecom: tuple, path_coverage: float) -> None:
    _demo, engine = telecom
    full = journey_map(engine)
    page = simplified_map(engine, full, path_coverage=path_coverage)
    look = first_look_map(look_of(full), path_coverage=path_coverage)
    assert edge_table(look) == edge_table(page)
    counted = ["activity", "events", "cases", "share"]
    assert look.nodes[counted].equals(page.nodes[counted])
    assert (look.hidden_edges, look.cases, look.events) == (page.hidden_edges, page.cases, page.events)
    assert look.edges["share"].tolist() == page.edges["share"].tolist()


def test_a_first_look_has_no_lanes_churn_points_times_or_whole_journeys_counted(shop: Engine) -> None:
    look = first_look_map(look_of(journey_map(shop)), path_coverage=0.5)
    assert look.stages == () and not look.nodes["churn_point"].any() and look.nodes["stage"].isna().all()
    assert look.edges[["mean_seconds", "median_seconds", "p90_seconds"]].isna().all().all()
    assert (look.covered_cases, look.covered_share) == (None, None)
    assert "counted once the import ends" in map_caption(look, "cases")
    assert json.loads(json.dumps(look.to_dict()))["covered_cases"] is None


@pytest.mark.parametrize("coverage", [-0.1, 1.5, float("nan"), "all", True])
def test_a_first_look_refuses_a_coverage_outside_zero_to_one(shop: Engine, coverage: object) -> None:
    with pytest.raises(ValueError, match="path_coverage must be a number from 0 to 1"):
        first_look_map(look_of(journey_map(shop)), path_coverage=coverage)
    with pytest.raises(TypeError, match="needs a FirstLook"):
        first_look_map(journey_map(shop))
