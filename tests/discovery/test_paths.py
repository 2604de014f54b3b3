"""Paths around an anchor on hand-made logs: links per step, the "(other)" tail, reach and boundaries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from data.engine import Engine
from data.errors import LogError
from data.filters import Filters
from data.settings import Settings
from discovery import END_LABEL, OTHER_LABEL, START_LABEL, PathFlows, paths, paths_between
from tests.discovery import journeys

# anna calls twice before buying, bob buys after one call, carl calls then leaves, dina browses before calling.
SHOP = journeys(
    ("anna", "call", 0),
    ("anna", "visit", 1),
    ("anna", "call", 2),
    ("anna", "buy", 3),
    ("bob", "call", 0),
    ("bob", "buy", 1),
    ("carl", "call", 0),
    ("dina", "browse", 0),
    ("dina", "visit", 1),
    ("dina", "call", 2),
    ("dina", "chat", 3),
    ("dina", "buy", 4),
    ("eve", "visit", 0),
)


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def links(flows: PathFlows) -> list[tuple]:
    return list(flows.links[["step", "source", "target", "customers"]].itertuples(index=False, name=None))


def test_paths_after_the_first_occurrence_of_the_anchor(shop: Engine) -> None:
    flows = paths(shop, "call", steps=2, top=5)
    assert links(flows) == [
        (1, "call", END_LABEL, 1),  # carl
        (1, "call", "buy", 1),  # bob
        (1, "call", "chat", 1),  # dina
        (1, "call", "visit", 1),  # anna's first call, not her second
        (2, "buy", END_LABEL, 1),
        (2, "chat", "buy", 1),
        (2, "visit", "call", 1),
    ]
    assert flows.customers == 4
    assert flows.reached == (4, 3, 2)


def test_steps_beyond_the_top_are_grouped_as_other(shop: Engine) -> None:
    flows = paths(shop, "call", steps=1, top=1)
    # buy, chat and visit tie with one customer each: the first by name keeps its label; the end is never grouped.
    assert links(flows) == [(1, "call", OTHER_LABEL, 2), (1, "call", END_LABEL, 1), (1, "call", "buy", 1)]


def test_other_carries_on_as_a_source_at_the_next_step(shop: Engine) -> None:
    flows = paths(shop, "call", steps=2, top=1)
    # step 2: buy (dina) and call (anna) tie, buy keeps its name; anna's visit → call is other → other.
    assert [link for link in links(flows) if link[0] == 2] == [
        (2, OTHER_LABEL, OTHER_LABEL, 1),
        (2, OTHER_LABEL, "buy", 1),
        (2, "buy", END_LABEL, 1),
    ]


def test_paths_before_run_forwards_in_time_into_the_anchor(shop: Engine) -> None:
    flows = paths(shop, "buy", direction="before", steps=2, top=5)
    assert links(flows) == [
        (1, "call", "buy", 2),  # anna, bob
        (1, "chat", "buy", 1),
        (2, START_LABEL, "call", 1),  # bob's journey starts with the call
        (2, "call", "chat", 1),
        (2, "visit", "call", 1),
    ]
    assert flows.customers == 3
    assert flows.reached == (3, 3, 2)


def test_paths_between_follow_the_source_to_the_first_target_after_it(shop: Engine) -> None:
    flows = paths_between(shop, "call", "buy", max_steps=3, top=5)
    assert links(flows) == [
        (1, "call", "buy", 1),  # bob
        (1, "call", "chat", 1),  # dina
        (1, "call", "visit", 1),  # anna
        (2, "chat", "buy", 1),
        (2, "visit", "call", 1),
        (3, "call", "buy", 1),
    ]
    assert flows.customers == 4  # carl called but never bought
    assert flows.reached == (3, 3, 2, 1)
    assert flows.target == "buy" and flows.direction == "between"


def test_paths_between_leave_out_targets_beyond_reach(shop: Engine) -> None:
    flows = paths_between(shop, "call", "buy", max_steps=2)
    assert flows.reached == (2, 2, 1)  # anna needs three steps
    assert all(step <= 2 for step in flows.links["step"])


def test_the_target_keeps_its_name_without_taking_a_top_place(shop: Engine) -> None:
    flows = paths_between(shop, "visit", "buy", max_steps=3, top=1)
    # two steps after visit anna buys and dina chats: chat is the top other activity, buy the target.
    assert set(flows.links.loc[flows.links["step"] == 2, "target"]) == {"buy", "chat"}
    assert set(flows.links.loc[flows.links["step"] == 3, "target"]) == {"buy"}


def test_filters_select_whole_journeys(shop: Engine) -> None:
    flows = paths(shop, "call", steps=1, filters=Filters(end_activities={"buy"}))
    assert flows.customers == 3
    assert END_LABEL not in set(flows.links["target"])


def test_an_anchor_missing_from_the_selection_gives_no_flows(shop: Engine) -> None:
    flows = paths(shop, "browse", filters=Filters(case_ids={"anna"}))
    assert flows.customers == 0 and flows.links.empty and flows.reached == (0, 0, 0, 0)


def test_unknown_activities_are_named(shop: Engine) -> None:
    with pytest.raises(LogError) as raised:
        paths_between(shop, "cal", "bye")
    assert [problem.value for problem in raised.value.problems] == ["cal", "bye"]


@pytest.mark.parametrize(
    "arguments", [{"direction": "sideways"}, {"steps": 0}, {"top": 0}, {"steps": 2.5}, {"top": True}]
)
def test_bad_options_are_refused(shop: Engine, arguments: dict) -> None:
    with pytest.raises(ValueError):
        paths(shop, "call", **arguments)


def test_to_dict_is_json(shop: Engine) -> None:
    result = paths(shop, "call", steps=1).to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["links"][0] == {"step": 1, "source": "call", "target": "(end)", "customers": 1}
