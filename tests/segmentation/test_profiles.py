"""Persona profiles on a hand-made log whose counts, rates, lifts and names can be checked by eye."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import EmptyLog, LogError, MappingError
from data.filters import Filters
from data.importing import DEMO_SAMPLES, load_log
from data.settings import Settings
from discovery import AttributeRole, ChurnRule, JourneyDefinition, suggest_definition
from segmentation import Personas, attribute_segments, customer_features, persona_profiles, readable_label
from tests.data.test_engine import journeys

# Persona "app": ann, ben and fay browse and buy in the app and refer friends; ben then cancels. Persona "store":
# cid, dan and eve visit the store and ask the call center; only cid buys, eve refers a friend in the app. The log
# ends at dan's last step (170 minutes).
LOG = journeys(
    ("ann", "browse", 0, "app"),
    ("ann", "buy", 10, "app"),
    ("ann", "refer", 20, "app"),
    ("ben", "browse", 0, "app"),
    ("ben", "buy", 30, "app"),
    ("ben", "refer", 40, "app"),
    ("ben", "cancel", 50, "app"),
    ("cid", "visit", 0, "store"),
    ("cid", "ask", 60, "call center"),
    ("cid", "buy", 120, "store"),
    ("dan", "visit", 0, "store"),
    ("dan", "ask", 170, "call center"),
    ("eve", "visit", 0, "store"),
    ("eve", "ask", 30, "call center"),
    ("eve", "refer", 90, "app"),
    ("fay", "browse", 0, "app"),
    ("fay", "buy", 15, "app"),
    ("fay", "refer", 25, "app"),
    spend=[None, 20.0, None, None, 40.0, None, None, None, None, 90.0, None, None, None, None, None, None, None, None],
    nps=[None, 10, None, None, 9, None, None, None, None, 9, None, 3, None, 2, None, None, None, None],
    satisfaction=[None, 5, None, None, 4, None, None, None, 2, None, None, 4, None, None, None, None, None, None],
    age=["young"] * 7 + ["old"] * 3 + ["young"] * 2 + ["young", "old", "old"] + ["young"] * 3,
    ref=[1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6],
)
CASES = ["ann", "ben", "cid", "dan", "eve", "fay"]
LABELS = ["app", "app", "store", "store", "store", "app"]
# Buying converts; cancelling, or an hour of silence before the log's end, churns.
DEFINITION = JourneyDefinition(
    goal=("buy",),
    churn=ChurnRule(("cancel",), inactivity_days=1 / 24),
    attribute_roles={
        "spend": AttributeRole("amount"),
        "nps": AttributeRole("score", "nps"),
        "satisfaction": AttributeRole("score", "csat", 4),
        "ref": AttributeRole("identifier"),
    },
)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


@pytest.fixture
def profiles(engine: Engine):
    return persona_profiles(engine, CASES, LABELS, definition=DEFINITION)


def test_size_share_and_medians_per_persona(profiles) -> None:
    table = profiles.table
    assert list(table.index) == ["app", "store"]
    assert list(table["customers"]) == [3, 3]
    assert list(table["share"]) == [0.5, 0.5]
    # durations: ann 20, ben 50 and fay 25 minutes; cid 120, dan 170, eve 90
    assert list(table["median_duration_seconds"]) == [25 * 60, 120 * 60]
    assert list(table["median_events"]) == [3, 3]


def test_outcomes_and_rates_follow_the_journey_definition(profiles) -> None:
    table = profiles.table
    # app: ann and fay bought, ben bought then cancelled. store: cid bought, eve fell silent 80 minutes before the
    # log's end (churned), dan's last step is the log's last (still open).
    assert table.loc["app", ["converted", "converted_then_churned", "churned", "censored"]].tolist() == [2, 1, 0, 0]
    assert table.loc["store", ["converted", "converted_then_churned", "churned", "censored"]].tolist() == [1, 0, 1, 1]
    assert table["conversion_rate"].tolist() == pytest.approx([1.0, 1 / 3])
    # Churn is over the decided journeys: 1 of 3 in the app, 1 of 2 in store (dan is left out).
    assert table["churn_rate"].tolist() == pytest.approx([1 / 3, 1 / 2])
    store = profiles.outcomes("store")
    assert (store.decided, store.churned_total, store.churn_rate) == (2, 1, 0.5)


def test_churn_cannot_be_estimated_while_most_of_a_persona_is_still_open(engine: Engine) -> None:
    without_silence = JourneyDefinition(goal=("buy",), churn=ChurnRule(("cancel",)))
    table = persona_profiles(engine, CASES, LABELS, definition=without_silence).table
    # store: dan and eve neither bought nor cancelled: 2 of 3 still open.
    assert table.loc["store", "censored"] == 2
    assert table.loc["store", "churn_rate"] is pd.NA
    assert table.loc["app", "churn_rate"] == pytest.approx(1 / 3)


def test_without_a_goal_the_conversion_rate_is_missing_not_nan(engine: Engine) -> None:
    table = persona_profiles(engine, CASES, LABELS).table
    assert table["conversion_rate"].isna().all() and table["churn_rate"].isna().all()
    assert not table.select_dtypes("number").isin([np.nan, np.inf]).any().any()


def test_dominant_channels_are_the_personas_share_of_events(profiles) -> None:
    assert profiles.table.loc["app", "dominant_channels"] == ("app",)
    assert profiles.table.loc["store", "dominant_channels"] == ("store", "call center", "app")
    app = profiles.channels[profiles.channels["persona"] == "app"].set_index("channel")
    assert app.loc["app", "events"] == 10
    assert app.loc["app", "share"] == 1.0
    # 10 of the persona's 10 events against 1 of the others' 8, each with half an event added on both sides.
    assert app.loc["app", "lift"] == pytest.approx((10.5 / 11) / (1.5 / 9))


def test_signature_activities_are_lifted_against_everyone_else_with_finite_lifts(profiles) -> None:
    signature = profiles.signature_activities.set_index(["persona", "activity"])
    # browse: all 3 app customers, no store customer; refer: 3 of 3 against 1 of 3 (eve).
    assert signature.loc[("app", "browse"), "customers"] == 3
    assert signature.loc[("app", "browse"), "lift"] == pytest.approx((3.5 / 4) / (0.5 / 4))
    assert signature.loc[("app", "refer"), "share"] == 1.0
    assert signature.loc[("app", "refer"), "others_share"] == pytest.approx(1 / 3)
    assert signature.loc[("app", "refer"), "lift"] == pytest.approx((3.5 / 4) / (1.5 / 4))
    assert list(signature.loc["app"].index) == ["browse", "cancel", "buy", "refer"]
    assert list(signature.loc["store"].index) == ["ask", "visit"], "buy: fewer in store than elsewhere"
    assert np.isfinite(profiles.signature_activities["lift"]).all()


def test_signature_and_common_paths_are_ordered_two_step_paths(profiles) -> None:
    paths = profiles.signature_paths
    store = paths[paths["persona"] == "store"]
    assert store.set_index(["source", "target"]).loc[("visit", "ask"), "customers"] == 3
    common = profiles.common_paths[profiles.common_paths["persona"] == "store"]
    assert list(zip(common["source"], common["target"], common["customers"], strict=True)) == [
        ("visit", "ask", 3),
        ("ask", "buy", 1),
        ("ask", "refer", 1),
    ]


def test_a_typical_journey_is_one_followed_by_enough_of_the_persona(profiles) -> None:
    app, store = profiles.table.loc["app"], profiles.table.loc["store"]
    # ann and fay: browse → buy → refer, 2 of 3.
    assert app["typical_journey"] == ("browse", "buy", "refer")
    assert (app["typical_journey_customers"], app["typical_journey_share"]) == (2, pytest.approx(2 / 3))
    # store: three journeys of one customer each: none is typical.
    assert (store["typical_journey"], store["typical_journey_customers"], store["typical_journey_share"]) == ((), 0, 0)


def test_a_journey_of_one_customer_is_never_typical(engine: Engine) -> None:
    table = persona_profiles(engine, ["ann", "cid"], ["a", "a"], definition=DEFINITION).table
    assert table.loc["a", "typical_journey"] == (), "followed by half the persona, but by one customer"


def test_attributes_are_summed_up_as_their_roles_say(profiles) -> None:
    figures = profiles.attributes.set_index(["persona", "attribute", "figure"])["value"]
    # spend (an amount): app 20 + 40 over 3 customers; store 90 over 3.
    assert figures[("app", "spend", "total")] == 60 and figures[("app", "spend", "per customer")] == 20
    assert figures[("store", "spend", "total")] == 90 and figures[("store", "spend", "per customer")] == 30
    # NPS: app 10 and 9 (two promoters); store 9, 3 and 2 (one promoter, two detractors).
    assert figures[("app", "nps", "NPS")] == 100
    assert figures[("store", "nps", "NPS")] == pytest.approx(-100 / 3)
    # CSAT (satisfied from 4): app 5 and 4; store 2 and 4.
    assert figures[("app", "satisfaction", "share satisfied")] == 1.0
    assert figures[("store", "satisfaction", "share satisfied")] == 0.5
    # age (a category): each customer's most frequent value; eve is young once and old twice.
    assert figures[("app", "age", "young")] == 1.0
    assert figures[("store", "age", "old")] == pytest.approx(2 / 3)
    assert figures[("store", "age", "young")] == pytest.approx(1 / 3)
    assert "ref" not in set(profiles.attributes["attribute"]), "an identifier describes no one"


def test_a_customers_own_value_counts_once_per_customer(engine: Engine) -> None:
    # "ref" read as each customer's own number (1 to 6, repeated on their events): app ann 1, ben 2, fay 6; store
    # cid 3, dan 4, eve 5. Summed per event, app would read 1 × 3 + 2 × 4 + 6 × 3.
    roles = {**DEFINITION.attribute_roles, "ref": AttributeRole("amount", per_customer=True)}
    definition = replace(DEFINITION, attribute_roles=roles)
    figures = persona_profiles(engine, CASES, LABELS, definition=definition).attributes
    figures = figures.set_index(["persona", "attribute", "figure"])
    assert figures.loc[("app", "ref", "total"), ["value", "values"]].tolist() == [9.0, 3]
    assert figures.loc[("store", "ref", "per customer"), "value"] == 4.0
    assert ("app", "ref", "per event") not in figures.index
    assert figures.loc[("app", "spend", "total"), "value"] == 60  # an event's amount, as before
    assert list(figures.xs("app")["role"].index.get_level_values("attribute").unique()) == [
        "spend",
        "nps",
        "satisfaction",
        "ref",
        "age",
    ]


def test_names_come_from_the_signature_channel_and_touchpoint(profiles) -> None:
    assert profiles.names == {"app": "App-first · browse", "store": "Store to call center · ask"}


@pytest.mark.parametrize(
    ("label", "readable"),
    [
        ("desktop - safari to ipad - web", "desktop - safari to ipad - web"),
        ("refer_a_friend", "refer a friend"),
        ("  call   center ", "call center"),
        ("Électronique", "Électronique"),
        ("📱 app", "📱 app"),
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"),
        ("web!!!", "web!"),
        ("checkout---v2", "checkout-v2"),
        ("zero\u200bwidth\ttab", "zerowidth tab"),
        ("", "(blank)"),
        ("a very long touchpoint name that goes on and on", "a very long touchpoint name that…"),
    ],
)
def test_any_label_is_written_readably(label: str, readable: str) -> None:
    assert readable_label(label) == readable


def test_names_from_real_world_labels_read_as_written(settings: Settings) -> None:
    log = journeys(
        ("a", "view_item", 0, "desktop - safari to ipad - web"),
        ("a", "add_to_cart", 1, "desktop - safari to ipad - web"),
        ("b", "Électronique!!", 0, "📱 app"),
        ("b", "add_to_cart", 1, "📱 app"),
    )
    with Engine.from_frame(log, settings) as engine:
        names = persona_profiles(engine, ["a", "b"], [0, 1]).names
    assert names == {0: "Desktop - safari to ipad - web first · view item", 1: "📱 app first · Électronique!"}


def test_a_log_without_channels_names_its_personas_by_their_touchpoints(settings: Settings) -> None:
    # As BPIC 2012: no channel column. "Multichannel · …" would claim channels the log never saw.
    log = journeys(
        ("a", "A_SUBMITTED", 0), ("a", "W_Afhandelen_leads", 1), ("b", "A_SUBMITTED", 0), ("b", "A_DECLINED", 1)
    )
    with Engine.from_frame(log, settings) as engine:
        names = persona_profiles(engine, ["a", "b"], [0, 1]).names
    assert names == {0: "W Afhandelen leads", 1: "A DECLINED"}


def test_personas_doing_the_same_touchpoints_are_named_by_the_length_of_their_journeys(settings: Settings) -> None:
    # Every customer does view then buy; c and d come back for more. No touchpoint sets either persona apart, so
    # both used to be called "Persona" and "Persona (2)".
    log = journeys(
        *[(customer, activity, minute) for customer in "ab" for minute, activity in enumerate(["view", "buy"])],
        *[(customer, activity, minute) for customer in "cd" for minute, activity in enumerate(["view", "buy"] * 2)],
    )
    with Engine.from_frame(log, settings) as engine:
        names = persona_profiles(engine, list("abcd"), [0, 0, 1, 1]).names
    assert names == {0: "2-step journeys", 1: "4-step journeys"}


def test_a_touchpoint_done_barely_more_than_by_the_others_names_nobody(settings: Settings) -> None:
    # All of a0…a9 buy, and 9 of b0…b9 (who view twice): buy's lift for the a's is 1.1, under MIN_SIGNATURE_LIFT. The
    # a's used to be named "Buy", which sets them apart from nobody.
    first = [(f"a{n}", step, minute) for n in range(10) for minute, step in enumerate(["view", "buy"])]
    second = [
        (f"b{n}", step, minute)
        for n in range(10)
        for minute, step in enumerate(["view", "view", "buy"][: 3 - (n == 0)])
    ]
    with Engine.from_frame(journeys(*first, *second), settings) as engine:
        profiles = persona_profiles(engine, [f"{group}{n}" for group in "ab" for n in range(10)], [0] * 10 + [1] * 10)
    assert profiles.signature_activities.empty
    assert profiles.names == {0: "2-step journeys", 1: "3-step journeys"}


def test_clashing_names_are_told_apart(engine: Engine) -> None:
    names = persona_profiles(engine, CASES, ["a", "b", "c", "c", "c", "a"]).names
    assert len(set(names.values())) == 3


def test_renaming_returns_a_new_value_and_keeps_names_unique(profiles) -> None:
    renamed = profiles.rename("store", "  Store regulars ")
    assert renamed.names["store"] == "Store regulars"
    assert profiles.names["store"] == "Store to call center · ask"
    with pytest.raises(LogError) as raised:
        renamed.rename("app", "Store regulars")
    assert "already has this name" in str(raised.value)
    with pytest.raises(LogError) as raised:
        profiles.rename("web", "")
    assert len(raised.value.problems) == 2


def test_customers_without_a_label_or_outside_the_filters_are_left_out(engine: Engine) -> None:
    table = persona_profiles(engine, CASES, ["app", None, "store", "store", np.nan, "app"]).table
    assert list(table["customers"]) == [2, 2]
    filtered = persona_profiles(engine, CASES, LABELS, filters=Filters(with_activities={"ask"})).table
    assert list(filtered.index) == ["store"]


def test_attribute_segments_label_each_customer_with_their_most_frequent_value(engine: Engine) -> None:
    segments = attribute_segments(engine, "age")
    assert segments.to_dict() == {"ann": "young", "ben": "young", "cid": "old", "dan": "young", "eve": "old"} | {
        "fay": "young"
    }
    table = persona_profiles(engine, segments.index, segments.to_numpy()).table
    assert list(table["customers"]) == [2, 4]
    with pytest.raises(MappingError):
        attribute_segments(engine, "agee")


def test_inconsistent_input_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="one label per case id"):
        persona_profiles(engine, CASES, LABELS[:2])
    with pytest.raises(LogError, match="two labels"):
        persona_profiles(engine, ["ann", "ann"], ["app", "store"])
    with pytest.raises(EmptyLog):
        persona_profiles(engine, ["zoe"], ["app"])
    with pytest.raises(TypeError):
        persona_profiles(engine, CASES, LABELS, definition={"goal": "buy"})


@pytest.mark.parametrize("definition", [DEFINITION, JourneyDefinition(goal=("buy",), churn=ChurnRule(("cancel",)))])
def test_profiles_are_plain_json_data_without_nan_or_infinity(engine: Engine, definition: JourneyDefinition) -> None:
    data = persona_profiles(engine, CASES, LABELS, definition=definition).to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on NaN or infinity
    assert data["personas"][0]["persona"] == "app"
    assert data["personas"][0]["typical_journey"] == ["browse", "buy", "refer"]
    assert "NaN" not in text and "Infinity" not in text


# The planted telecom personas and the channel or touchpoint that defines each.
DEFINING = {
    "digital self-servers": ("app",),
    "store loyalists": ("store",),
    "chatbot-to-call-center escalators": ("chatbot", "call center", "billing"),
    "price-sensitive switchers": ("web", "compare offers", "price increase"),
    "window shoppers": ("social", "ad click"),
}


def test_generated_names_of_the_demo_personas_mention_their_defining_channel_or_touchpoint() -> None:
    log = load_log(DEMO_SAMPLES["telecom"])
    planted = generate_demo(3000, scenario="telecom", seed=7).personas
    with Engine.from_frame(log.frame) as engine:
        definition = suggest_definition(engine)
        features = customer_features(engine, definition=definition)
        labels = Personas().fit(features.matrix).labels_
        profiles = persona_profiles(engine, features.case_ids, labels, definition=definition)
    names = profiles.names
    assert len(set(names.values())) == len(names) == 5
    found = pd.Series(labels, index=features.case_ids).map(names)
    # Each planted persona is named after the discovered persona most of its customers fall in.
    named = found.groupby(planted.reindex(features.case_ids).to_numpy()).agg(lambda column: column.mode()[0])
    for persona, words in DEFINING.items():
        assert any(word in named[persona].lower() for word in words), (persona, named[persona])
    # Every card has its attribute profile: age band and region, revenue, satisfaction, and NPS where anyone answered
    # (the window shoppers leave before any survey).
    described = profiles.attributes.groupby("persona")["attribute"].agg(set)
    assert all({"age_band", "region", "revenue_eur", "satisfaction"} <= attributes for attributes in described)
    assert sum("nps" in attributes for attributes in described) == 4
