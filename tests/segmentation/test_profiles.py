"""Persona profiles on a hand-made log whose counts, rates, lifts and names can be checked by eye."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.errors import EmptyLog, LogError, MappingError
from data.filters import Filters
from data.importing import DEMO_SAMPLES, load_log
from data.settings import Settings
from segmentation import Personas, attribute_segments, customer_features, persona_profiles
from tests.data.test_engine import journeys

# Persona "app": ann and ben use the app and refer friends; persona "store": cid, dan and eve visit the store and
# call the call center, and eve also refers a friend. Minutes are given so that durations are easy to read.
LOG = journeys(
    ("ann", "browse", 0, "app"),
    ("ann", "buy", 10, "app"),
    ("ann", "refer", 20, "app"),
    ("ben", "browse", 0, "app"),
    ("ben", "buy", 30, "app"),
    ("ben", "refer", 40, "app"),
    ("cid", "visit", 0, "store"),
    ("cid", "ask", 60, "call center"),
    ("cid", "buy", 120, "store"),
    ("dan", "visit", 0, "store"),
    ("dan", "buy", 180, "store"),
    ("eve", "visit", 0, "store"),
    ("eve", "ask", 30, "call center"),
    ("eve", "buy", 60, "store"),
    ("eve", "refer", 90, "app"),
    spend=[None, 20.0, None, None, 40.0, None, None, None, 90.0, None, 60.0, None, None, 30.0, None],
    age=[
        "young",
        "young",
        "young",
        "young",
        "young",
        "young",
        "old",
        "old",
        "old",
        "old",
        "old",
        "young",
        "old",
        "old",
        "old",
    ],
)
CASES = ["ann", "ben", "cid", "dan", "eve"]
LABELS = ["app", "app", "store", "store", "store"]
OUTCOMES = pd.Series({"ann": "converted", "ben": "churned", "cid": "converted", "dan": "censored"})


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


@pytest.fixture
def profiles(engine: Engine):
    return persona_profiles(engine, CASES, LABELS, outcomes=OUTCOMES)


def test_size_share_and_medians_per_persona(profiles) -> None:
    table = profiles.table
    assert list(table.index) == ["app", "store"]
    assert list(table["customers"]) == [2, 3]
    assert list(table["share"]) == [0.4, 0.6]
    # durations: ann 20 and ben 40 minutes; cid 120, dan 180, eve 90
    assert list(table["median_duration_seconds"]) == [30 * 60, 120 * 60]
    assert list(table["median_events"]) == [3, 3]


def test_conversion_and_churn_rates_count_customers_with_a_known_outcome(profiles) -> None:
    # app: ann converted, ben churned; store: cid converted, dan censored, eve unknown (left out).
    assert list(profiles.table["conversion_rate"]) == [0.5, 0.5]
    assert list(profiles.table["churn_rate"]) == [0.5, 0.0]


def test_without_outcomes_the_rates_are_missing(engine: Engine) -> None:
    table = persona_profiles(engine, CASES, LABELS).table
    assert table[["conversion_rate", "churn_rate"]].isna().all().all()


def test_dominant_channels_are_the_personas_share_of_events(profiles) -> None:
    assert profiles.table.loc["app", "dominant_channels"] == ("app",)
    assert profiles.table.loc["store", "dominant_channels"] == ("store", "call center", "app")
    app = profiles.channels[profiles.channels["persona"] == "app"].set_index("channel")
    assert app.loc["app", "events"] == 6
    assert app.loc["app", "share"] == 1.0
    # the others (the store persona) have 1 app event in 9: lift = 1 / (1/9)
    assert app.loc["app", "lift"] == pytest.approx(9.0)


def test_signature_activities_are_lifted_against_everyone_else_with_counts(profiles) -> None:
    signature = profiles.signature_activities.set_index(["persona", "activity"])
    # browse: both app customers, no store customer (infinite lift); refer: 2 of 2 against 1 of 3 (lift 3).
    assert signature.loc[("app", "browse"), "customers"] == 2
    assert signature.loc[("app", "browse"), "lift"] == np.inf
    assert signature.loc[("app", "refer"), "share"] == 1.0
    assert signature.loc[("app", "refer"), "others_share"] == pytest.approx(1 / 3)
    assert signature.loc[("app", "refer"), "lift"] == pytest.approx(3.0)
    assert ("app", "buy") not in signature.index, "everyone buys: no lift"
    assert list(signature.loc["store"].index) == ["visit", "ask"]
    assert signature.loc[("store", "ask"), "share"] == pytest.approx(2 / 3)


def test_signature_paths_are_ordered_two_step_paths(profiles) -> None:
    paths = profiles.signature_paths
    store = paths[paths["persona"] == "store"]
    assert ("visit", "ask") in set(zip(store["source"], store["target"], strict=True))
    assert store.set_index(["source", "target"]).loc[("visit", "ask"), "customers"] == 2


def test_the_most_typical_variant_is_the_most_frequent_one(profiles) -> None:
    assert profiles.table.loc["app", "typical_variant"] == ("browse", "buy", "refer")
    assert profiles.table.loc["app", "typical_variant_customers"] == 2
    # store: three different variants of one customer each; the smallest variant id wins the tie.
    assert profiles.table.loc["store", "typical_variant_customers"] == 1


def test_numeric_attributes_are_averaged_over_the_personas_events(profiles) -> None:
    assert profiles.attribute_means.loc["app", "spend"] == 30.0
    assert profiles.attribute_means.loc["store", "spend"] == 60.0


def test_names_come_from_the_signature_channel_and_touchpoint(profiles) -> None:
    assert profiles.names == {"app": "App-first · browse", "store": "Store-to-call-center · visit"}


def test_clashing_names_are_told_apart(engine: Engine) -> None:
    names = persona_profiles(engine, CASES, ["a", "b", "c", "c", "c"]).names
    assert len(set(names.values())) == 3


def test_renaming_returns_a_new_value_and_keeps_names_unique(profiles) -> None:
    renamed = profiles.rename("store", "  Store regulars ")
    assert renamed.names["store"] == "Store regulars"
    assert profiles.names["store"] == "Store-to-call-center · visit"
    with pytest.raises(LogError) as raised:
        renamed.rename("app", "Store regulars")
    assert "already has this name" in str(raised.value)
    with pytest.raises(LogError) as raised:
        profiles.rename("web", "")
    assert len(raised.value.problems) == 2


def test_customers_without_a_label_or_outside_the_filters_are_left_out(engine: Engine) -> None:
    table = persona_profiles(engine, CASES, ["app", None, "store", "store", np.nan]).table
    assert list(table["customers"]) == [1, 2]
    filtered = persona_profiles(engine, CASES, LABELS, filters=Filters(with_activities={"ask"})).table
    assert list(filtered.index) == ["store"]


def test_attribute_segments_label_each_customer_with_their_most_frequent_value(engine: Engine) -> None:
    segments = attribute_segments(engine, "age")
    # eve: young once, old three times; dan: old.
    assert segments.to_dict() == {"ann": "young", "ben": "young", "cid": "old", "dan": "old", "eve": "old"}
    table = persona_profiles(engine, segments.index, segments.to_numpy()).table
    assert list(table["customers"]) == [3, 2]
    with pytest.raises(MappingError):
        attribute_segments(engine, "agee")


def test_inconsistent_input_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="one label per case id"):
        persona_profiles(engine, CASES, LABELS[:2])
    with pytest.raises(LogError, match="two labels"):
        persona_profiles(engine, ["ann", "ann"], ["app", "store"])
    with pytest.raises(EmptyLog):
        persona_profiles(engine, ["zoe"], ["app"])


def test_profiles_are_plain_json_data(profiles) -> None:
    data = profiles.to_dict()
    assert data["personas"][0]["persona"] == "app"
    browse = next(row for row in data["signature_activities"] if row["activity"] == "browse")
    assert browse["lift"] is None, "an infinite lift is not JSON"


# The planted telecom personas and the channel or touchpoint that defines each.
DEFINING = {
    "digital self-servers": ("app",),
    "store loyalists": ("store",),
    "chatbot-to-call-center escalators": ("chatbot", "call-center", "billing"),
    "price-sensitive switchers": ("web", "compare offers", "price increase"),
    "window shoppers": ("social", "ad click"),
}


def test_generated_names_of_the_demo_personas_mention_their_defining_channel_or_touchpoint() -> None:
    log = load_log(DEMO_SAMPLES["telecom"])
    planted = generate_demo(3000, scenario="telecom", seed=7).personas
    with Engine.from_frame(log.frame) as engine:
        features = customer_features(engine)
        labels = Personas().fit(features.matrix).labels_
        names = persona_profiles(engine, features.case_ids, labels).names
    assert len(set(names.values())) == len(names) == 5
    found = pd.Series(labels, index=features.case_ids).map(names)
    # Each planted persona is named after the discovered persona most of its customers fall in.
    named = found.groupby(planted.reindex(features.case_ids).to_numpy()).agg(lambda column: column.mode()[0])
    for persona, words in DEFINING.items():
        assert any(word in named[persona].lower() for word in words), (persona, named[persona])
