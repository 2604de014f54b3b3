"""Channel switches and the online/offline mix of stages on a hand-made log; the demo's planted switches found."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from data.demo import generate_demo
from data.engine import Engine
from data.filters import Filters
from data.settings import Settings
from discovery import JourneyDefinition, StageModel, channel_mix_by_stage, channel_switches, suggest_channel_groups
from tests.discovery import demo_frame, journeys

MINUTE = 60.0

# anna and erin escalate from the website through the chatbot to the call center; bob calls twice from the web;
# carl stays on the web; dana's note has no channel, which breaks her app → store pair.
LOG = journeys(
    ("anna", "visit", 0, "web"),
    ("anna", "chat", 10, "chatbot"),
    ("anna", "call", 20, "call center"),
    ("anna", "buy", 30, "store"),
    ("bob", "visit", 0, "web"),
    ("bob", "call", 30, "call center"),
    ("bob", "visit", 40, "web"),
    ("bob", "call", 100, "call center"),
    ("carl", "visit", 0, "web"),
    ("carl", "visit", 5, "web"),
    ("dana", "visit", 0, "app"),
    ("dana", "note", 5),
    ("dana", "buy", 10, "store"),
    ("erin", "visit", 0, "web"),
    ("erin", "chat", 20, "chatbot"),
    ("erin", "call", 50, "call center"),
)
MODEL = StageModel(stage_of={"visit": "discovery", "chat": "consideration", "call": "consideration", "buy": "purchase"})


@pytest.fixture
def log(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(LOG, settings) as engine:
        yield engine


def test_switches_count_customers_transitions_and_gaps(log: Engine) -> None:
    matrix = channel_switches(log).matrix
    assert matrix.to_dict("records") == [
        # anna 10 and erin 30 minutes; anna 10 and erin 20 minutes.
        {"from_channel": "chatbot", "to_channel": "call center", "customers": 2, "transitions": 2,
         "median_gap_seconds": 20 * MINUTE},
        {"from_channel": "web", "to_channel": "chatbot", "customers": 2, "transitions": 2,
         "median_gap_seconds": 15 * MINUTE},
        # bob, after 30 and 60 minutes.
        {"from_channel": "web", "to_channel": "call center", "customers": 1, "transitions": 2,
         "median_gap_seconds": 45 * MINUTE},
        {"from_channel": "call center", "to_channel": "store", "customers": 1, "transitions": 1,
         "median_gap_seconds": 10 * MINUTE},
        {"from_channel": "call center", "to_channel": "web", "customers": 1, "transitions": 1,
         "median_gap_seconds": 10 * MINUTE},
    ]  # fmt: skip


def test_omnichannel_journeys_use_two_channels_or_more(log: Engine) -> None:
    switches = channel_switches(log)
    assert (switches.customers, switches.omnichannel_customers) == (5, 4)  # all but carl; dana used app and store
    assert switches.omnichannel_share == 0.8


def test_switches_follow_the_filters(log: Engine) -> None:
    switches = channel_switches(log, Filters(case_ids={"bob", "carl"}))
    assert switches.matrix[["from_channel", "to_channel"]].values.tolist() == [
        ["web", "call center"],
        ["call center", "web"],
    ]
    assert switches.omnichannel_share == 0.5


def test_each_stage_is_split_by_channel_group(log: Engine) -> None:
    groups, _ = suggest_channel_groups(["web", "app", "chatbot", "call center", "store"])
    mix = channel_mix_by_stage(log, JourneyDefinition(stages=MODEL, channel_groups=groups))
    shares = mix.groups.set_index(["stage", "group"])["share"]
    # discovery: 6 web and 1 app visits; consideration: 2 chats, 4 calls; purchase: 2 store purchases.
    assert mix.stage_events["events"].tolist() == [7, 6, 2, 0, 0]
    assert shares["discovery"].to_dict() == {"online": 1.0, "offline": 0.0, "other": 0.0}
    assert shares["consideration"][["online", "offline"]].tolist() == [2 / 6, 4 / 6]
    assert shares["purchase"]["offline"] == 1.0


def test_channel_groups_are_named_by_the_user_and_unknown_channels_are_other(settings: Settings) -> None:
    spelled = journeys(("anna", "visit", 0, "Web"), ("anna", "call", 5, "Call_Center"), ("anna", "chat", 9, "Kiosk"))
    suggested, reasons = suggest_channel_groups(["Web", "Call_Center", "Kiosk"])
    assert suggested == {"Web": "online", "Call_Center": "offline"}
    assert reasons["channel:Kiosk"] == "no word of its name says online or offline"
    with Engine.from_frame(spelled, settings) as engine:
        channels = channel_mix_by_stage(engine, JourneyDefinition(stages=MODEL, channel_groups=suggested)).channels
        assert dict(zip(channels["channel"], channels["group"], strict=True)) == {
            "Web": "online",
            "Call_Center": "offline",
            "Kiosk": "other",
        }
        named = JourneyDefinition(stages=MODEL, channel_groups={"Kiosk": "self-service", "Web": "self-service"})
        groups = channel_mix_by_stage(engine, named).groups
        assert groups["group"].unique().tolist() == ["self-service", "other"]


def test_channel_results_are_json_safe(log: Engine) -> None:
    assert json.loads(json.dumps(channel_switches(log).to_dict()))["omnichannel_customers"] == 4
    document = json.loads(json.dumps(channel_mix_by_stage(log, JourneyDefinition(stages=MODEL)).to_dict()))
    assert len(document["groups"]) == 5


@pytest.mark.parametrize("scenario", ["telecom", "shop"])
def test_the_planted_switches_lead_their_personas_switches(scenario: str, settings: Settings) -> None:
    demo = generate_demo(2000, scenario=scenario, seed=0)
    ranks = []
    with Engine.from_frame(demo_frame(demo), settings) as engine:
        for planted in demo.channel_switches.itertuples():
            persona = Filters(case_ids=set(demo.personas.index[demo.personas == planted.persona]))
            matrix = channel_switches(engine, persona).matrix
            leaving = matrix[matrix["from_channel"] == planted.from_channel].sort_values("transitions", ascending=False)
            ranks.append(leaving["to_channel"].tolist().index(planted.to_channel))
    # Shop's support-dependent returners also bounce from the chatbot back to the website for product questions,
    # a little more often than they escalate from support chat to a support call: there the planted switch is second.
    assert max(ranks) <= 1
    assert ranks.count(0) >= 2
