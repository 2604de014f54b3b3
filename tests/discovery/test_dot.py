"""DOT text of journey maps: valid, escaped, with lanes, widths, metric labels and churn points.

There is no Graphviz binary here, so the DOT is read back with a tiny parser of the subset the map uses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

import discovery._dot as dot_module
from data.engine import Engine
from data.errors import LimitExceeded
from data.filters import Filters
from data.settings import Settings
from discovery import drawable_coverage, human_duration, journey_map, map_layout, map_to_dot, render_dot
from tests.discovery import journeys

TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:\\.|[^"\\])*")|(?P<id>[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?)|(?P<op>->|[{}\[\]=;,]))'
)


@dataclass
class Graph:
    """What the tiny parser reads: node and edge attributes, cluster members and graph attributes per cluster."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)
    cluster_attributes: dict[str, dict[str, str]] = field(default_factory=dict)


def tokens(dot: str) -> list[str]:
    found, position = [], 0
    while position < len(dot.rstrip()):
        match = TOKEN.match(dot, position)
        assert match, f"not DOT at {dot[position : position + 30]!r}"
        found.append(match.group(match.lastgroup))
        position = match.end()
    return found


def unquote(token: str) -> str:
    """Read a DOT string as Graphviz shows it: escapes first, then HTML entities."""
    if not token.startswith('"'):
        return token
    text = re.sub(r"\\(.)", lambda escape: "\n" if escape.group(1) == "n" else escape.group(1), token[1:-1])
    return html.unescape(text)


def parse(dot: str) -> Graph:
    """Parse `digraph name { statements }` with node, edge, attribute and `subgraph cluster_x {}` statements."""
    words = tokens(dot)
    assert words[:3] == ["digraph", "journey_map", "{"] and words[-1] == "}"
    graph, stack, index = Graph(), [], 3

    def attributes() -> dict[str, str]:
        nonlocal index
        found = {}
        if index < len(words) and words[index] == "[":
            index += 1
            while words[index] != "]":
                key, equals, value = words[index : index + 3]
                assert equals == "="
                found[key] = unquote(value)
                index += 4 if words[index + 3] == "," else 3
            index += 1
        return found

    while index < len(words) - 1:
        word = words[index]
        if word == "subgraph":
            stack.append(words[index + 1])
            graph.clusters[words[index + 1]] = []
            assert words[index + 2] == "{"
            index += 3
            continue
        if word == "}":
            stack.pop()
            index += 1
            continue
        if word in ("graph", "node", "edge"):
            index += 1
            found = attributes()
            if word == "graph" and stack:
                graph.cluster_attributes[stack[-1]] = found
        elif words[index + 1] == "->":
            tail, head = word, words[index + 2]
            index += 3
            graph.edges.append((tail, head, attributes()))
        else:
            index += 1
            graph.nodes[word] = attributes()
            if stack:
                graph.clusters[stack[-1]].append(word)
        assert words[index] == ";", f"statement not closed before {words[index]!r}"
        index += 1
    assert not stack
    return graph


SHOP = journeys(
    ("anna", "visit", 0),
    ("anna", "call", 10),
    ("anna", "buy", 100),
    ("bob", "visit", 0),
    ("bob", "buy", 20),
    ("carl", "visit", 0),
    ("carl", "buy", 4600),
    ("dave", "visit", 0),
    ("dave", "buy", 40),
)


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def labelled(graph: Graph) -> dict[str, str]:
    """First label line of each activity node -> node id."""
    return {attributes["label"].split("\n")[0]: node for node, attributes in graph.nodes.items()}


NASTY_NAMES = [
    'say "hi"',
    "C:\\temp\\new",
    "two\nlines",
    "<b>bold</b> & co",
    "résiliation ✓",
    "tab\there",
    "\\N",
    "rocket 🚀 &#128640;",
]


def test_every_label_reads_back_exactly_and_the_dot_is_utf8(settings: Settings) -> None:
    frame = journeys(*((f"c{index}", name, index) for index, name in enumerate(NASTY_NAMES)))
    with Engine.from_frame(frame, settings) as engine:
        dot = map_to_dot(journey_map(engine, stage_of={name: f"stage {name}" for name in NASTY_NAMES}))
    assert dot.encode("utf-8").decode("utf-8") == dot
    graph = parse(dot)
    names = [attributes["label"].rsplit("\n", 1)[0] for node, attributes in graph.nodes.items() if node[0] == "n"]
    assert sorted(names) == sorted(name.replace("\t", " ") for name in NASTY_NAMES)
    lanes = {attributes["label"] for attributes in graph.cluster_attributes.values()}
    assert lanes == {f"stage {name}".replace("\t", " ") for name in NASTY_NAMES}


def test_start_and_end_nodes_link_first_and_last_steps(shop: Engine) -> None:
    graph = parse(map_to_dot(journey_map(shop)))
    ids = labelled(graph)
    pairs = {(tail, head) for tail, head, _ in graph.edges}
    assert ("start", ids["visit"]) in pairs and (ids["buy"], "end") in pairs
    assert graph.nodes["start"]["label"] == "start" and graph.nodes["end"]["label"] == "end"


def test_stage_lanes_are_coloured_clusters_holding_their_nodes(shop: Engine) -> None:
    result = journey_map(shop, stage_of={"visit": "discover", "buy": "purchase"})
    graph = parse(map_to_dot(result))
    ids = labelled(graph)
    assert {graph.cluster_attributes[name]["label"]: members for name, members in graph.clusters.items()} == {
        "discover": [ids["visit"]],
        "purchase": [ids["buy"]],
    }
    colours = {attributes["fillcolor"] for attributes in graph.cluster_attributes.values()}
    assert len(colours) == 2
    assert not any(ids["call"] in members for members in graph.clusters.values())


def test_edge_width_grows_with_customers(shop: Engine) -> None:
    graph = parse(map_to_dot(journey_map(shop)))
    ids = labelled(graph)
    width = {(tail, head): float(attributes["penwidth"]) for tail, head, attributes in graph.edges}
    assert width[("start", ids["visit"])] > width[(ids["visit"], ids["buy"])] > width[(ids["visit"], ids["call"])]


@pytest.mark.parametrize(
    ("metric", "label"),
    [("cases", "3 · 40min"), ("events", "3"), ("median", "40min"), ("mean", "1d 2h"), ("p90", "2d 13h")],
)
def test_edge_labels_show_the_chosen_metric(shop: Engine, metric: str, label: str) -> None:
    # visit → buy: bob waits 20 min, dave 40, carl 4600: mean 1553 min (25.9 h), p90 40 + 0.8 × 4560 = 3688 min.
    graph = parse(map_to_dot(journey_map(shop), metric=metric))
    ids = labelled(graph)
    (attributes,) = (attrs for tail, head, attrs in graph.edges if (tail, head) == (ids["visit"], ids["buy"]))
    assert attributes["label"] == label


@pytest.mark.parametrize(("metric", "count"), [("cases", "2"), ("events", "3"), ("median", "2")])
def test_nodes_show_events_for_the_events_metric_and_customers_otherwise(
    settings: Settings, metric: str, count: str
) -> None:
    twice = journeys(("anna", "visit", 0), ("anna", "visit", 5), ("bob", "visit", 0))
    with Engine.from_frame(twice, settings) as engine:
        graph = parse(map_to_dot(journey_map(engine), metric=metric))
    assert graph.nodes[labelled(graph)["visit"]]["label"] == f"visit\n{count}"


def test_churn_points_are_red_with_their_churn_rate(shop: Engine) -> None:
    churn = {
        "visit": SimpleNamespace(churned=0, churn_rate=0.0),
        "call": SimpleNamespace(churned=1, churn_rate=1.0),
        "buy": SimpleNamespace(churned=0, churn_rate=0.0),
    }
    graph = parse(map_to_dot(journey_map(shop, churn=churn)))
    ids = labelled(graph)
    assert graph.nodes[ids["call"]]["label"] == "call\n1\nchurn 100%"
    assert "color" in graph.nodes[ids["call"]] and "color" not in graph.nodes[ids["buy"]]
    assert "churn" not in graph.nodes[ids["buy"]]["label"]


def test_a_simplified_map_draws_only_what_it_keeps(shop: Engine) -> None:
    result = journey_map(shop, activity_coverage=0.5)
    graph = parse(map_to_dot(result))
    assert set(labelled(graph)) == {"visit", "buy", "start", "end"}
    assert len(graph.edges) == len(result.edges)


def test_an_empty_selection_draws_start_and_end_only(shop: Engine) -> None:
    graph = parse(map_to_dot(journey_map(shop, Filters(case_ids=set()))))
    assert set(graph.nodes) == {"start", "end"} and graph.edges == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.3, "<1s"),
        (45, "45s"),
        (59.6, "1min"),
        (61, "1min 1s"),
        (2 * 3600 + 5 * 60, "2h 5min"),
        (3599.6, "1h"),
        (3 * 86400 + 4 * 3600 + 100, "3d 4h"),
        (86399, "1d"),
    ],
)
def test_durations_read_in_their_two_largest_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("option", "value"), [("metric", "customers"), ("rankdir", "diagonal")])
def test_unknown_options_are_refused(shop: Engine, option: str, value: str) -> None:
    with pytest.raises(ValueError, match=option):
        map_to_dot(journey_map(shop), **{option: value})


def test_rankdir_is_passed_to_graphviz(shop: Engine) -> None:
    assert "rankdir=TB" in map_to_dot(journey_map(shop), rankdir="TB")


def test_only_journey_maps_are_drawn() -> None:
    with pytest.raises(TypeError):
        map_to_dot("digraph {}")  # type: ignore[arg-type]


# --- drawing it: Graphviz in a child process ---------------------------------------------------------------------


def test_graphviz_lays_the_map_out_in_a_child_and_reports_its_size(settings: Settings) -> None:
    with Engine.from_frame(journeys(("a", "visit", 0), ("a", "buy", 1), ("b", "visit", 0)), settings) as engine:
        dot = map_to_dot(journey_map(engine))
    assert render_dot(dot).lstrip().startswith(b"<?xml")
    laid_out, fits = map_layout(dot)
    assert (laid_out, fits) == (dot, True)


@pytest.mark.parametrize(
    ("child", "seconds", "memory_mb", "said"),
    [
        ("import os; os.abort()", 60, 2048, "Graphviz failed to lay this drawing out"),  # its assertions abort it so
        ("import time; time.sleep(30)", 1, 2048, "Graphviz took more than 1 s to lay this drawing out"),
        (dot_module._DRAW, 60, 30, "Graphviz failed to lay this drawing out"),  # more memory than it may have
    ],
)
def test_a_map_graphviz_crashes_on_or_cannot_finish_is_a_typed_error_not_a_stopped_server(
    monkeypatch: pytest.MonkeyPatch, child: str, seconds: int, memory_mb: int, said: str
) -> None:
    monkeypatch.setattr(dot_module, "_DRAW", child)
    dot_module._laid_out.cache_clear()  # nothing drawn before
    monkeypatch.setattr(dot_module, "DRAW_SECONDS", seconds)
    monkeypatch.setattr(dot_module, "DRAW_MEMORY_MB", memory_mb)
    with pytest.raises(LimitExceeded, match=said) as raised:
        render_dot("digraph journey_map { a -> b; }")
    assert "Show fewer touchpoints or paths" in raised.value.problems[0].fix
    with pytest.raises(LimitExceeded, match=said):
        map_layout("digraph journey_map { a -> b; }")


def test_a_map_of_many_touchpoints_opens_with_the_busiest_it_can_draw(settings: Settings) -> None:
    # 200 touchpoints, touchpoint k done by 200 - k customers: the first 80 cover 80·(400-79)/2 = 12,840 of the
    # 20,100 customer-touchpoints (63.9 %), so 65 % needs an 81st box, and 60 % 74 of them: 60 % is drawn first.
    many = journeys(*((f"c{c}", f"t{k:03d}", k) for k in range(200) for c in range(200 - k)))
    with Engine.from_frame(many, settings) as engine:
        full = journey_map(engine)
    assert drawable_coverage(full) == 0.6
    assert drawable_coverage(full, most=200) == 1.0
    assert drawable_coverage(full, most=1) == 0.05
