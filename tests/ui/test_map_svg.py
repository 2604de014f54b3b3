"""The SVG download of a map is valid UTF-8 and XML whatever its labels hold (the battery's emoji label was not)."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery import dot_quote
from ui.graph_view import MAX_HEIGHT_PX, MIN_HEIGHT_PX, drawing_height, svg_of

SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def drawn_texts(label: str) -> list[str]:
    svg = svg_of(f"digraph map {{ n0 [label={dot_quote(label)}]; }}")
    return [text.text or "" for text in fromstring(svg).iter(SVG_TEXT)]


def test_an_emoji_label_is_drawn_as_itself() -> None:
    assert drawn_texts("rocket 🚀 launch") == ["rocket 🚀 launch"]


def test_characters_no_svg_may_hold_become_replacement_characters() -> None:
    assert drawn_texts("a\ud800b\uffffc\x07d") == ["a\ufffdb\ufffdc d"]


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(), min_size=1, max_size=12))
def test_any_label_gives_utf8_svg_that_parses(label: str) -> None:
    drawn_texts(label)  # decoding or parsing raises on invalid UTF-8 or XML


def svg_of_height(points: float) -> str:
    return f'<svg width="100pt" height="{points}pt" viewBox="0.00 0.00 100.00 {points:.2f}">'


def test_a_drawing_gets_its_natural_height_then_a_readable_one_within_bounds() -> None:
    assert drawing_height(svg_of_height(60)) == MIN_HEIGHT_PX  # 80 px is too small a box to work in
    assert drawing_height(svg_of_height(300)) == 400  # natural: 4/3 px per point
    assert drawing_height(svg_of_height(1260)) == 900  # 1,680 px natural; labels of 10 px need 900
    assert drawing_height(svg_of_height(5000)) == MAX_HEIGHT_PX


def test_the_legend_draws_each_mark_and_stage_with_the_maps_own_colours() -> None:
    import defusedxml.ElementTree as SafeXml

    from discovery import CHURN_COLOUR, LANE_COLOURS
    from ui.journey import map_legend

    legend = map_legend(["discovery", "achat <b>&"], "median")
    tree = SafeXml.fromstring(legend)  # well-formed, names escaped
    texts = [text.text for text in tree.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == [
        "touchpoint: customers",
        "churn point",
        "step: median time",
        "where journeys start or end",
        "Stages:",
        "discovery",
        "achat <b>&",
    ]
    assert f'stroke="{CHURN_COLOUR}"' in legend and 'stroke-dasharray="5,3"' in legend
    assert all(f'fill="{colour}"' in legend for colour in LANE_COLOURS[:2])
    assert "Stages:" not in map_legend([], "cases")
