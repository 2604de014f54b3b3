"""Stage models and stage KPIs on hand-made logs, and the planted stages of the demo logs recovered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import (
    DEFAULT_STAGES,
    AttributeRole,
    ChurnRule,
    JourneyDefinition,
    StageModel,
    funnel,
    stage_kpis,
    stage_reach,
    suggest_definition,
    suggest_stages,
)
from discovery._funnel import _funnel_table, _stage_steps
from tests.discovery import demo_frame, journeys

MINUTE = 60.0

NAMED = journeys(
    ("anna", "ad_click", 0),
    ("anna", "add_to_cart", 1),
    ("anna", "read_reviews", 2),
    ("anna", "Souscription offre", 3),
    ("anna", "livraison_colis", 4),
    ("anna", "write_review", 5),
    ("anna", "repeat_purchase", 6),
    ("anna", "cancel_subscription", 7),
    ("anna", "Résiliation", 8),
    ("anna", "Demande de devis", 9),
    ("anna", "ParrainageAmi", 10),
)

# Nothing in these names is a keyword: only the position can tell.
UNNAMED = journeys(
    ("anna", "alpha", 0),
    ("anna", "beta", 1),
    ("anna", "gamma", 2),
    ("bob", "alpha", 0),
    ("bob", "beta", 1),
    ("bob", "gamma", 2),
    ("carl", "beta", 0),
)

# anna goes through every stage up to post-purchase and adds to her cart twice; bob leaves after his cart;
# carl buys in the store with no consideration step in the log.
MODEL = StageModel(
    stage_of={
        "ad": "discovery",
        "visit_store": "discovery",
        "cart": "consideration",
        "checkout": "purchase",
        "buy_in_store": "purchase",
        "delivery": "post-purchase",
    }
)
DEFINITION = JourneyDefinition(goal=("checkout", "buy_in_store"), stages=MODEL)
SHOP = journeys(
    ("anna", "ad", 0, "web"),
    ("anna", "cart", 10, "web"),
    ("anna", "cart", 15, "web"),
    ("anna", "checkout", 20, "web"),
    ("anna", "delivery", 60, "email"),
    ("bob", "ad", 0, "social"),
    ("bob", "cart", 5, "app"),
    ("carl", "visit_store", 0, "store"),
    ("carl", "buy_in_store", 30, "store"),
).assign(
    satisfaction=pd.array([None, None, None, None, 4, None, 2, None, 5], dtype="Int64"),
    region=pd.array(["north"] * 5 + ["south"] * 2 + ["east"] * 2, dtype="str"),
)


@pytest.fixture
def named(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(NAMED, settings) as engine:
        yield engine


@pytest.fixture
def unnamed(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(UNNAMED, settings) as engine:
        yield engine


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


# --- suggesting a stage model ------------------------------------------------------------------------------------


def test_keywords_in_english_and_french_decide_the_stage(named: Engine) -> None:
    model = suggest_stages(named)
    assert model.stage_of == {
        "ad_click": "discovery",
        "Demande de devis": "consideration",
        "add_to_cart": "consideration",
        "read_reviews": "consideration",
        "Souscription offre": "purchase",
        "Résiliation": "post-purchase",
        "cancel_subscription": "post-purchase",
        "livraison_colis": "post-purchase",
        "ParrainageAmi": "loyalty",
        "repeat_purchase": "loyalty",
        "write_review": "loyalty",
    }


def test_a_longer_phrase_then_the_later_stage_settles_a_conflict(named: Engine) -> None:
    model = suggest_stages(named)
    assert model.reasons["read_reviews"].keyword == "read review"  # not loyalty's "review"
    assert model.reasons["repeat_purchase"].keyword == "repeat"  # loyalty, later than purchase
    assert model.reasons["cancel_subscription"].keyword == "cancel"  # post-purchase, later than purchase


def test_a_later_stages_keyword_on_what_nearly_every_journey_starts_with_gives_way_to_the_first_stage(
    settings: Settings,
) -> None:
    """The receipt log: every journey starts with "Confirmation of receipt", which its keyword put in post-purchase."""
    permits = journeys(
        *((f"c{index}", "Confirmation of receipt", 0) for index in range(10)),
        *((f"c{index}", "Send confirmation", 1) for index in range(10)),
        ("c0", "Check file", 2),
    )
    with Engine.from_frame(permits, settings) as engine:
        model = suggest_stages(engine)
    assert model.stage_of["Confirmation of receipt"] == "discovery"
    assert model.why("Confirmation of receipt") == (
        "its name contains 'confirmation', but nearly every journey starts with it: the first stage"
    )
    assert model.stage_of["Send confirmation"] == "post-purchase"  # the keyword still decides what does not start them


def test_short_keywords_match_whole_words_only(named: Engine) -> None:
    model = suggest_stages(named)
    assert model.why("ad_click") == "its name contains 'ad'"
    assert model.why("add_to_cart") == "its name contains 'cart'"


def test_without_a_keyword_a_guess_from_the_position_never_reaches_the_goal_stage(unnamed: Engine) -> None:
    model = suggest_stages(unnamed)
    # alpha is first (0), beta in the middle (0.5, and 0 in carl's one-event journey: median 0.5), gamma last (1):
    # banded over the two stages before the goal stage (purchase), never into it or after it.
    assert model.stage_of == {"alpha": "discovery", "beta": "consideration", "gamma": "consideration"}
    assert model.reasons["beta"].median_position == 0.5
    assert model.why("gamma") == "a guess: no keyword, and it typically comes 100% of the way through a journey"
    assert model.reasons["gamma"].is_guess


def test_custom_stages_are_banded_before_the_goal_stage(unnamed: Engine) -> None:
    model = suggest_stages(unnamed, stages=("first", "second", "goal", "after"), goal_stage="goal")
    assert model.stage_of == {"alpha": "first", "beta": "second", "gamma": "second"}


def test_the_goal_goes_to_the_goal_stage_and_steps_towards_it_before(settings: Settings) -> None:
    log = journeys(
        ("a", "page_view", 0), ("a", "begin_checkout", 1), ("a", "add_payment_info", 2), ("a", "pay_deposit", 3),
        ("a", "purchase", 4), ("a", "mystery_step", 5), ("b", "page_view", 0), ("b", "purchase", 1),
        ("b", "mystery_step", 2),
    )  # fmt: skip
    with Engine.from_frame(log, settings) as engine:
        model = suggest_stages(engine, goal=["purchase"])
    assert model.stage_of == {
        "page_view": "discovery",
        "add_payment_info": "consideration",
        "begin_checkout": "consideration",
        "pay_deposit": "consideration",  # a purchase word, but not the goal: a step towards it
        "purchase": "purchase",
    }
    assert model.why("purchase") == "it is the journey's goal"
    assert model.reasons["pay_deposit"].kind == "before_goal"
    # No keyword, always after the goal: left for a person to place, never guessed past the goal.
    assert model.unstaged == ("mystery_step",)
    assert model.why("mystery_step") == "no keyword, and it mostly comes after the goal: choose its stage"


def test_bad_stage_names_are_all_reported(unnamed: Engine) -> None:
    with pytest.raises(LogError) as caught:
        suggest_stages(unnamed, stages=("discovery", "", "discovery"))
    assert len(caught.value.problems) == 2


# --- editing a stage model --------------------------------------------------------------------------------------


def test_overrides_return_a_new_model_and_say_it_was_by_hand() -> None:
    edited = MODEL.with_overrides({"cart": "purchase", "delivery": None, "survey": "loyalty"})
    assert edited.stage_of["cart"] == "purchase"
    assert "delivery" not in edited.stage_of
    assert edited.activities_in("loyalty") == ("survey",)
    assert edited.why("cart") == "set by hand"
    assert edited.why("delivery") == "it is in no stage"
    assert MODEL.stage_of["cart"] == "consideration"


def test_overrides_to_unknown_stages_list_every_one() -> None:
    with pytest.raises(LogError) as caught:
        MODEL.with_overrides({"cart": "wishing", "ad": "awareness"})
    assert sorted(problem.value for problem in caught.value.problems) == ["awareness", "wishing"]


def test_a_model_survives_a_round_trip_through_json(named: Engine) -> None:
    model = suggest_stages(named)
    assert StageModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model


def test_stages_can_be_renamed_added_removed_and_reordered() -> None:
    edited = MODEL.with_stages(["awareness", "purchase", "consideration", "advocacy"], {"discovery": "awareness"})
    assert edited.stages == ("awareness", "purchase", "consideration", "advocacy")
    assert edited.activities_in("awareness") == ("ad", "visit_store")
    assert "delivery" not in edited.stage_of  # its stage, post-purchase, was removed
    assert edited.activities_in("advocacy") == ()


# --- stage KPIs --------------------------------------------------------------------------------------------------


def test_stage_kpis_count_customers_reaching_each_stage_in_order(shop: Engine) -> None:
    table = stage_kpis(shop, DEFINITION).table.set_index("stage")
    # carl skipped consideration but reached purchase, so he got at least as far as consideration too, without
    # doing a consideration step.
    assert list(table["customers"]) == [3, 3, 2, 1, 0]
    assert list(table["did_stage"]) == [3, 2, 2, 1, 0]
    assert list(table["touchpoints"]) == [2, 1, 2, 1, 0]
    assert list(table["conversion_from_previous"])[:4] == [1.0, 1.0, 2 / 3, 1 / 2]
    assert list(table["drop_off"])[:4] == [0, 0, 1, 1]
    # loyalty holds no touchpoint: nobody gets that far, and nobody drops there (anna's journey ended after delivery).
    assert pd.isna(table.loc["loyalty", "conversion_from_previous"]) and pd.isna(table.loc["loyalty", "drop_off"])
    assert list(table["events"]) == [3, 3, 2, 1, 0]


def test_a_stage_without_touchpoints_is_skipped_not_dropped_at(shop: Engine) -> None:
    """Found on the receipt log, whose suggested purchase stage held no touchpoint: its card read "1,434 dropped" and
    the next stage's "— of the previous stage", though every customer went on to a later stage."""
    model = StageModel(
        stage_of={"ad": "discovery", "visit_store": "discovery", "cart": "consideration", "delivery": "post-purchase"}
    )
    table = stage_kpis(shop, JourneyDefinition(stages=model)).table.set_index("stage")
    # got at least this far: 3 (every one did discovery), 2 (anna and bob carted), nobody in the empty purchase
    # stage, anna alone as far as post-purchase (her delivery).
    assert list(table["customers"]) == [3, 2, 0, 1, 0]
    # post-purchase is compared with consideration, the last stage with touchpoints: 1 of 2 went on, bob dropped.
    assert table.loc["post-purchase", "conversion_from_previous"] == 1 / 2
    assert table.loc["post-purchase", "drop_off"] == 1
    assert pd.isna(table.loc["purchase", "conversion_from_previous"]) and pd.isna(table.loc["purchase", "drop_off"])
    assert list(table["drop_off"].iloc[:2]) == [0, 1]


@pytest.mark.parametrize("filters", [Filters(), Filters(channels={"web"}), Filters(case_ids={"bob", "carl"})])
def test_stage_reach_counts_what_the_stage_kpis_count(shop: Engine, filters: Filters) -> None:
    reach = stage_reach(shop, DEFINITION, filters)
    table = stage_kpis(shop, DEFINITION, filters).table
    assert list(reach.columns) == ["stage", "customers", "did_stage"]
    pd.testing.assert_frame_equal(reach, table[["stage", "customers", "did_stage"]], check_exact=True)


def test_stage_kpis_give_median_times_to_reach_and_in_stage(shop: Engine) -> None:
    table = stage_kpis(shop, DEFINITION).table.set_index("stage")
    # consideration reached after 10 (anna), 5 (bob) and 30 (carl, by buying) minutes; purchase after 20 and 30.
    assert table["median_seconds_to_reach"].tolist()[:4] == [0.0, 10 * MINUTE, 25 * MINUTE, 60 * MINUTE]
    # anna's two carts are 5 minutes apart, bob's single cart takes no time.
    assert table.loc["consideration", "median_seconds_in_stage"] == 2.5 * MINUTE
    assert table.loc["discovery", "median_seconds_in_stage"] == 0.0
    assert pd.isna(table.loc["loyalty", "median_seconds_to_reach"])


def test_stage_kpis_mix_channels_and_average_numbers_without_a_role(shop: Engine) -> None:
    kpis = stage_kpis(shop, DEFINITION)
    mix = kpis.channel_mix.set_index(["stage", "channel"])["share"]
    assert mix["discovery"].to_dict() == {"social": 1 / 3, "store": 1 / 3, "web": 1 / 3}
    assert mix["consideration"].to_dict() == {"web": 2 / 3, "app": 1 / 3}
    figures = kpis.attributes.set_index(["stage", "attribute", "figure"])
    assert set(kpis.attributes["attribute"]) == {"satisfaction"}  # region is a category: nothing to sum up
    assert figures.loc[("consideration", "satisfaction", "mean"), "value"] == 2.0
    assert figures.loc[("purchase", "satisfaction", "mean"), "value"] == 5.0
    assert figures.loc[("discovery", "satisfaction", "mean"), "values"] == 0


def test_stage_kpis_sum_the_selected_customers_values_only(shop: Engine) -> None:
    # Only anna has a web event: her delivery's 4; bob's 2 and carl's 5 are not selected.
    figures = stage_kpis(shop, DEFINITION, Filters(channels={"web"})).attributes
    figures = figures.set_index(["stage", "attribute", "figure"])
    assert figures.loc[("post-purchase", "satisfaction", "mean"), "value"] == 4.0
    assert figures.loc[("consideration", "satisfaction", "mean"), "values"] == 0
    assert figures.loc[("purchase", "satisfaction", "mean"), "values"] == 0


def test_a_customers_own_value_counts_once_per_customer_of_each_stage(settings: Settings) -> None:
    # A loan's requested amount, repeated on each of its events (an XES case attribute): anna 1,000 on five events,
    # bob 500 on two, carl 300 on two. Summed per event, consideration would read 2 × 1,000 + 500.
    log = SHOP.assign(
        requested=pd.array([1000.0] * 5 + [500.0] * 2 + [300.0] * 2, dtype="Float64"),
        score=pd.array([9] * 5 + [3] * 2 + [None] * 2, dtype="Int64"),
    )
    roles = {
        "requested": AttributeRole("amount", per_customer=True),
        "score": AttributeRole("score", "nps", per_customer=True),
        "satisfaction": AttributeRole("score", "csat", 4),
    }
    definition = JourneyDefinition(goal=DEFINITION.goal, stages=MODEL, attribute_roles=roles)
    with Engine.from_frame(log, settings) as engine:
        figures = stage_kpis(engine, definition).attributes.set_index(["stage", "attribute", "figure"])
    assert figures.loc[("consideration", "requested", "total"), "value"] == 1500.0  # anna's and bob's, once each
    assert figures.loc[("consideration", "requested", "per customer"), "value"] == 750.0
    assert ("consideration", "requested", "per event") not in figures.index
    assert figures.loc[("discovery", "requested", "total"), ["value", "values"]].tolist() == [1800.0, 3]
    assert figures.loc[("discovery", "score", "NPS"), "value"] == 0.0  # anna promotes, bob detracts, carl has none
    assert figures.loc[("post-purchase", "satisfaction", "share satisfied"), "value"] == 1.0  # per event, as before
    assert figures.loc[("consideration", "requested", "total"), "role"] == "amount, once per customer"


def test_each_attribute_role_sums_a_stage_up_its_own_way(settings: Settings) -> None:
    """Amounts are summed (total, per customer who did the stage, per event), NPS is % promoters − % detractors,
    CSAT the share satisfied, and an identifier is never averaged."""
    log = SHOP.assign(
        user_id=pd.array([531796160] * 5 + [9] * 2 + [7] * 2, dtype="Int64"),
        revenue=pd.array([None, None, None, 120.0, None, None, None, None, 80.0], dtype="Float64"),
        nps=pd.array([None, 10, 6, None, 9, None, 3, None, 8], dtype="Int64"),
    )
    roles = {
        "user_id": AttributeRole("identifier"),
        "revenue": AttributeRole("amount"),
        "nps": AttributeRole("score", "nps"),
        "satisfaction": AttributeRole("score", "csat", 4),
    }
    definition = JourneyDefinition(goal=DEFINITION.goal, stages=MODEL, attribute_roles=roles)
    with Engine.from_frame(log, settings) as engine:
        figures = stage_kpis(engine, definition).attributes.set_index(["stage", "attribute", "figure"])["value"]
    assert "user_id" not in figures.index.get_level_values("attribute")
    assert figures[("purchase", "revenue", "total")] == 200.0
    assert figures[("purchase", "revenue", "per customer")] == 100.0  # anna and carl did a purchase step
    assert figures[("purchase", "revenue", "per event")] == 100.0
    # consideration: anna's 10 and 6, bob's 3 → 1 promoter, 2 detractors of 3 answers.
    assert figures[("consideration", "nps", "NPS")] == pytest.approx(100 * (1 - 2) / 3)
    assert figures[("post-purchase", "nps", "NPS")] == 100.0
    assert figures[("consideration", "satisfaction", "share satisfied")] == 0.0  # bob's 2
    assert figures[("post-purchase", "satisfaction", "share satisfied")] == 1.0  # anna's 4


def test_a_stage_without_touchpoints_is_reached_by_nobody(shop: Engine) -> None:
    no_consideration = JourneyDefinition(goal=DEFINITION.goal, stages=MODEL.with_overrides({"cart": None}))
    table = stage_kpis(shop, no_consideration).table.set_index("stage")
    assert list(table["customers"]) == [3, 0, 2, 1, 0]
    assert list(table["did_stage"]) == [3, 0, 2, 1, 0]
    # Nobody drops at the empty stages (not 3 at consideration): purchase is compared with discovery, where bob
    # dropped (2 of 3 got as far as purchase), and post-purchase with purchase (carl dropped).
    assert table["drop_off"].tolist() == [0, pd.NA, 1, 1, pd.NA]
    assert table.loc["purchase", "conversion_from_previous"] == 2 / 3
    assert np.isnan(table.loc["consideration", "conversion_from_previous"])
    # The stage funnel skips the empty stages as the cards do, where it used to stop at the first: (3, 0, 0, 0, 0).
    stage_funnel = funnel(shop, list(MODEL.stages), by="stage", model=no_consideration.stages)
    pd.testing.assert_frame_equal(stage_funnel.table[SHARED_COLUMNS], table[SHARED_COLUMNS].reset_index(drop=True))
    # purchase from discovery (anna 20, carl 30 minutes), post-purchase from purchase (anna's 40).
    from_previous = stage_funnel.table["median_seconds_from_previous"]
    assert from_previous.isna().tolist() == [True, True, False, False, True]
    assert from_previous.tolist()[2:4] == [25 * MINUTE, 40 * MINUTE]


def test_a_direct_stage_funnel_skips_a_stage_without_touchpoints(shop: Engine) -> None:
    """Directly, purchase must come right after discovery: carl's store visit then purchase; anna's cart (no stage
    now) comes between her ad and her checkout, and bob never buys."""
    model = MODEL.with_overrides({"cart": None})
    table = funnel(shop, list(MODEL.stages), by="stage", model=model, directly=True).table.set_index("step")
    assert table["customers"].tolist() == [3, 0, 1, 0, 0]
    assert table["drop_off"].tolist() == [0, pd.NA, 2, 1, pd.NA]
    assert table.loc["purchase", "conversion_from_previous"] == 1 / 3
    assert table["conversion_from_first"].isna().tolist() == [False, True, False, False, True]
    assert table.loc["purchase", "median_seconds_from_previous"] == 30 * MINUTE


SHARED_COLUMNS = ["customers", "conversion_from_previous", "drop_off", "median_seconds_to_reach"]


def test_stage_counts_equal_the_funnel_over_the_stages(shop: Engine) -> None:
    stage_funnel = funnel(shop, list(MODEL.stages), by="stage", model=MODEL)
    kpis = stage_kpis(shop, DEFINITION)
    assert tuple(kpis.table["customers"]) == stage_funnel.customers
    pd.testing.assert_frame_equal(kpis.table[SHARED_COLUMNS], stage_funnel.table[SHARED_COLUMNS])


def test_stage_kpis_follow_the_filters(shop: Engine) -> None:
    kpis = stage_kpis(shop, DEFINITION, Filters(case_ids={"carl"}))
    assert kpis.customers_selected == 1
    assert list(kpis.table["customers"]) == [1, 1, 1, 0, 0]


def test_stage_kpis_are_json_safe(shop: Engine) -> None:
    assert json.loads(json.dumps(stage_kpis(shop, DEFINITION).to_dict()))["table"][4]["median_seconds_to_reach"] is None


# --- the demo logs -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["telecom", "shop"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    log = generate_demo(2000, scenario=request.param, seed=0)
    settings = Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=2)
    with Engine.from_frame(demo_frame(log), settings) as engine:
        yield log, engine


def test_the_planted_stages_are_recovered(demo: tuple) -> None:
    log, engine = demo
    model = suggest_definition(engine).stages
    assert model.stages == DEFAULT_STAGES == log.stages
    recovered = sum(model.stage_of[touchpoint] == stage for touchpoint, stage in log.stage_of.items())
    assert recovered / len(log.stage_of) >= 0.9
    assert not model.unstaged


def test_demo_stage_counts_equal_the_stage_funnel(demo: tuple) -> None:
    _, engine = demo
    definition = suggest_definition(engine)
    model = definition.stages
    kpis = stage_kpis(engine, definition)
    stage_funnel = funnel(engine, list(model.stages), by="stage", model=model)
    pd.testing.assert_frame_equal(kpis.table[SHARED_COLUMNS], stage_funnel.table[SHARED_COLUMNS])
    assert kpis.table["customers"].is_monotonic_decreasing


@pytest.mark.parametrize(
    "steps", [list(DEFAULT_STAGES), ["discovery", "purchase"], ["consideration", "post-purchase", "loyalty"]]
)
@pytest.mark.parametrize("within_seconds", [None, 3 * 86_400.0])
@pytest.mark.parametrize("filters", [Filters(), Filters(channels={"store"})], ids=["everyone", "store"])
def test_forward_stage_funnels_read_off_the_journeys_equal_the_chained_funnel(
    demo: tuple, steps: list[str], within_seconds: float | None, filters: Filters
) -> None:
    """Stage funnels that go forward are read from each journey's first event per stage; the chained funnel over
    the events, step after step, is the oracle."""
    _, engine = demo
    model = suggest_definition(engine).stages
    read_off = funnel(engine, steps, by="stage", model=model, within_seconds=within_seconds, filters=filters)
    chained_steps = _stage_steps(model, steps, directly=False)
    chained, selected = _funnel_table(engine, chained_steps, False, within_seconds, filters)
    assert read_off.customers_selected == selected
    pd.testing.assert_frame_equal(read_off.table, chained)


def test_only_converted_customers_get_as_far_as_the_goal_stage_or_past_it(settings: Settings) -> None:
    """A trial user who cancels, or a prospect who calls support, did a post-purchase step, but never got as far as
    the purchase: found on a subscription log, where 486 "reached purchase" and 409 subscribed."""
    log = journeys(
        ("a", "visit", 0), ("a", "trial", 1), ("a", "subscribe", 2), ("a", "support", 3),
        ("b", "visit", 0), ("b", "trial", 1), ("b", "cancel", 2),
        ("c", "visit", 0), ("c", "support", 1),
    )  # fmt: skip
    model = StageModel(
        stage_of={
            "visit": "discovery",
            "trial": "consideration",
            "subscribe": "purchase",
            "support": "post-purchase",
            "cancel": "post-purchase",
        }
    )
    definition = JourneyDefinition(goal=("subscribe",), stages=model, churn=ChurnRule(("cancel",)))
    with Engine.from_frame(log, settings) as engine:
        table = stage_kpis(engine, definition).table.set_index("stage")
        steps = funnel(engine, list(DEFAULT_STAGES), by="stage", model=model, goal=definition.goal)
        ungated = funnel(engine, list(DEFAULT_STAGES), by="stage", model=model)
    assert table["did_stage"].tolist() == [3, 2, 1, 3, 0]
    # c got at least as far as consideration (a later step), but only a converted: a alone is past the purchase.
    assert table["customers"].tolist() == [3, 3, 1, 1, 0]
    assert table.loc["purchase", "median_seconds_to_reach"] == 120  # a subscribed two minutes in
    assert list(steps.customers) == table["customers"].tolist()
    assert list(ungated.customers) == [3, 3, 3, 3, 0]  # without the goal, the old reading: any later step
