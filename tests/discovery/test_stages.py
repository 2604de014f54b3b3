"""Stage models and stage KPIs on hand-made logs, and the planted stages of the demo logs recovered."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import LogError, MappingError
from data.filters import Filters
from data.settings import Settings
from discovery import DEFAULT_STAGES, StageModel, funnel, stage_kpis, suggest_stages
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


def test_short_keywords_match_whole_words_only(named: Engine) -> None:
    model = suggest_stages(named)
    assert model.why("ad_click") == "its name contains 'ad'"
    assert model.why("add_to_cart") == "its name contains 'cart'"


def test_without_a_keyword_the_typical_position_decides(unnamed: Engine) -> None:
    model = suggest_stages(unnamed)
    # alpha is first (0), beta in the middle (0.5, and 0 in carl's one-event journey: median 0.5), gamma last (1).
    assert model.stage_of == {"alpha": "discovery", "beta": "purchase", "gamma": "loyalty"}
    assert model.reasons["beta"].median_position == 0.5
    assert model.why("gamma") == "it typically comes 100% of the way through a journey"


def test_custom_stages_are_banded_by_position(unnamed: Engine) -> None:
    model = suggest_stages(unnamed, stages=("before", "after"))
    assert model.stage_of == {"alpha": "before", "beta": "after", "gamma": "after"}


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


# --- stage KPIs --------------------------------------------------------------------------------------------------


def test_stage_kpis_count_customers_reaching_each_stage_in_order(shop: Engine) -> None:
    table = stage_kpis(shop, MODEL).table.set_index("stage")
    # carl skipped consideration but reached purchase, so he passed consideration too.
    assert list(table["customers"]) == [3, 3, 2, 1, 0]
    assert list(table["conversion_from_previous"]) == [1.0, 1.0, 2 / 3, 1 / 2, 0.0]
    assert list(table["drop_off"]) == [0, 0, 1, 1, 1]
    assert list(table["events"]) == [3, 3, 2, 1, 0]


def test_stage_kpis_give_median_times_to_reach_and_in_stage(shop: Engine) -> None:
    table = stage_kpis(shop, MODEL).table.set_index("stage")
    # consideration reached after 10 (anna), 5 (bob) and 30 (carl, by buying) minutes; purchase after 20 and 30.
    assert table["median_seconds_to_reach"].tolist()[:4] == [0.0, 10 * MINUTE, 25 * MINUTE, 60 * MINUTE]
    # anna's two carts are 5 minutes apart, bob's single cart takes no time.
    assert table.loc["consideration", "median_seconds_in_stage"] == 2.5 * MINUTE
    assert table.loc["discovery", "median_seconds_in_stage"] == 0.0
    assert pd.isna(table.loc["loyalty", "median_seconds_to_reach"])


def test_stage_kpis_mix_channels_and_average_numeric_attributes(shop: Engine) -> None:
    kpis = stage_kpis(shop, MODEL)
    mix = kpis.channel_mix.set_index(["stage", "channel"])["share"]
    assert mix["discovery"].to_dict() == {"social": 1 / 3, "store": 1 / 3, "web": 1 / 3}
    assert mix["consideration"].to_dict() == {"web": 2 / 3, "app": 1 / 3}
    means = kpis.attribute_means.set_index(["stage", "attribute"])
    assert set(kpis.attribute_means["attribute"]) == {"satisfaction"}  # region is text
    assert means.loc[("consideration", "satisfaction"), "mean"] == 2.0
    assert means.loc[("purchase", "satisfaction"), "mean"] == 5.0
    assert means.loc[("discovery", "satisfaction"), "values"] == 0


SHARED_COLUMNS = ["customers", "conversion_from_previous", "drop_off", "median_seconds_to_reach"]


def test_stage_counts_equal_the_funnel_over_the_stages(shop: Engine) -> None:
    stage_funnel = funnel(shop, list(MODEL.stages), by="stage", model=MODEL)
    kpis = stage_kpis(shop, MODEL)
    assert tuple(kpis.table["customers"]) == stage_funnel.customers
    pd.testing.assert_frame_equal(kpis.table[SHARED_COLUMNS], stage_funnel.table[SHARED_COLUMNS])


def test_stage_kpis_follow_the_filters(shop: Engine) -> None:
    kpis = stage_kpis(shop, MODEL, Filters(case_ids={"carl"}))
    assert kpis.customers_selected == 1
    assert list(kpis.table["customers"]) == [1, 1, 1, 0, 0]


def test_unknown_and_text_attributes_are_all_reported(shop: Engine) -> None:
    with pytest.raises(MappingError) as caught:
        stage_kpis(shop, MODEL, numeric_attributes=["region", "revenue"])
    assert [problem.column for problem in caught.value.problems] == ["region", "revenue"]


def test_stage_kpis_are_json_safe(shop: Engine) -> None:
    assert json.loads(json.dumps(stage_kpis(shop, MODEL).to_dict()))["table"][4]["median_seconds_to_reach"] is None


# --- the demo logs -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["telecom", "shop"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    log = generate_demo(2000, scenario=request.param, seed=0)
    settings = Settings(home=tmp_path_factory.mktemp("home"), duckdb_threads=2)
    with Engine.from_frame(demo_frame(log), settings) as engine:
        yield log, engine


def test_the_planted_stages_are_recovered(demo: tuple) -> None:
    log, engine = demo
    model = suggest_stages(engine)
    assert model.stages == DEFAULT_STAGES == log.stages
    recovered = sum(model.stage_of[touchpoint] == stage for touchpoint, stage in log.stage_of.items())
    # telecom: 20 of 22 (check_coverage comes early, among discovery steps, and price_increase_notice late, among
    # loyalty steps); shop: 31 of 32 (view_product is placed in discovery).
    assert recovered / len(log.stage_of) >= 0.9


def test_demo_stage_counts_equal_the_stage_funnel(demo: tuple) -> None:
    _, engine = demo
    model = suggest_stages(engine)
    kpis = stage_kpis(engine, model)
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
    model = suggest_stages(engine)
    read_off = funnel(engine, steps, by="stage", model=model, within_seconds=within_seconds, filters=filters)
    chained_steps = _stage_steps(model, steps, directly=False)
    chained, selected = _funnel_table(engine, chained_steps, False, within_seconds, filters)
    assert read_off.customers_selected == selected
    pd.testing.assert_frame_equal(read_off.table, chained)
