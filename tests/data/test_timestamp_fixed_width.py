"""The fixed-width reading of dates and times gives what the grammar's regex gives, value for value.

Columns that all begin "2025-10-28 10:54:00" (or "28/10/2025T10:54:00"…) are read by the position of their digits,
not by the regex; any column is written here from such values, some mangled, with tails of every kind.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from data.timestamps import DATE_ORDERS, _fixed_width_parts, _read_grammar, _regex_parts

TAILS = (
    "",
    "",
    "Z",
    "+01:00",
    "-0530",
    " UTC",
    " Europe/Paris",
    ".5",
    ",123456789",
    " PM",
    "pm",
    " a.m.",
    "1",
    "x",
    " ",
)
FIELDS = ("matched", "year", "month", "day", "hour", "minute", "second")
TAIL_FIELDS = ("fraction", "twelve_hour", "afternoon", "zone_codes")


@st.composite
def fixed_width_value(draw: st.DrawFn, layout: str) -> str:
    """A date and time of two-digit fields in `layout` (any digits, so months 13 and days 31/02 too), then a tail."""
    separator, order = DATE_ORDERS[layout]
    widths = {"y": 4, "m": 2, "d": 2}
    digits = {
        field: "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=widths[field], max_size=widths[field])))
        for field in order
    }
    clock = ":".join("".join(draw(st.lists(st.sampled_from("0123456789"), min_size=2, max_size=2))) for _ in range(3))
    between = draw(st.sampled_from(("T", "t", " ")))
    return separator.join(digits[field] for field in order) + between + clock + draw(st.sampled_from(TAILS))


@st.composite
def column(draw: st.DrawFn) -> tuple[str, list[str]]:
    layout = draw(st.sampled_from(list(DATE_ORDERS)))
    values = draw(st.lists(st.one_of(fixed_width_value(layout), st.just("")), min_size=1, max_size=40))
    if draw(st.booleans()):  # one value the positions cannot read: the whole column goes to the regex
        mangled = draw(st.sampled_from(("2025-1-05 10:00:00", "05.10.2025 10:00", "2025-10-05\t10:00:00", "later")))
        values.insert(draw(st.integers(0, len(values))), mangled)
    return layout, values


@settings(max_examples=300, deadline=None)
@given(column())
def test_a_column_read_by_position_is_what_the_regex_reads(drawn: tuple[str, list[str]]) -> None:
    layout, values = drawn
    separator, order = DATE_ORDERS[layout]
    text = pa.array(values, type=pa.large_string())
    by_position = _fixed_width_parts(text, separator, order)
    by_regex = _regex_parts(text, separator, order)
    if by_position is None:
        assert any(value and not _fits(value, separator, order) for value in values) or not any(values)
        return
    for field in FIELDS:
        assert np.array_equal(getattr(by_position, field), getattr(by_regex, field)), field
    for field in TAIL_FIELDS:
        kept = by_regex.matched  # where nothing matched, the tail is never read
        assert np.array_equal(getattr(by_position.tail, field)[kept], getattr(by_regex.tail, field)[kept]), field
    assert [by_position.tail.zones[code] for code in by_position.tail.zone_codes[kept] if code >= 0] == [
        by_regex.tail.zones[code] for code in by_regex.tail.zone_codes[kept] if code >= 0
    ]


def test_the_reading_is_the_same_instant_whichever_way(monkeypatch) -> None:
    values = ["2025-03-30 02:30:00", "2025-10-26 02:30:00+01:00", "2024-02-29T23:59:59 PM", "2025-02-29 10:00:00", ""]
    text = pa.array(values, type=pa.large_string())
    fast = _read_grammar(text, "ISO8601", "Europe/Paris")
    monkeypatch.setattr("data.timestamps._fixed_width_parts", lambda *_: None)
    slow = _read_grammar(text, "ISO8601", "Europe/Paris")
    for field in ("utc_us", "read", "out_of_range", "dst_adjusted"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
    assert fast.read.tolist() == [True, True, False, False, False]  # a gap moved forward; 11 PM; 29 February 2025


def test_too_many_distinct_tails_go_to_the_regex() -> None:
    values = [f"2025-10-28 10:54:00.{index:04d}" for index in range(1_500)]  # every value its own fraction
    assert _fixed_width_parts(pa.array(values, type=pa.large_string()), "-", "ymd") is None


def _fits(value: str, separator: str, order: str) -> bool:
    """Whether a value begins with two-digit fields in the layout (what the positions read)."""
    date = value[:10]
    positions = {"ymd": (4, 7), "dmy": (2, 5), "mdy": (2, 5)}[order]
    digits = [index for index in range(10) if index not in positions]
    return (
        len(value) >= 19
        and all(date[index] == separator for index in positions)
        and all(date[index] in "0123456789" for index in digits)
        and value[10] in "Tt "
        and value[13] == value[16] == ":"
        and all(value[index] in "0123456789" for index in (11, 12, 14, 15, 17, 18))
    )
