"""Properties of the one timestamp reader: what the sniffer accepts, the import reads, to the instant a clock says.

Values are written from random wall-clock readings and zones, and the instant each names is computed
independently with Python's `datetime` and `zoneinfo`.
"""

from __future__ import annotations

import datetime
import zoneinfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from data.errors import AmbiguousDateError, TimestampError
from data.mapping import detect_mapping
from data.timestamps import DATE_ORDERS, parse_timestamps, sniff_timestamps

NAIVE_ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
NAMED_ZONES = ("Europe/Paris", "America/Los_Angeles", "Asia/Tokyo", "Africa/Casablanca", "Pacific/Auckland")
ABBREVIATIONS = {"UTC": 0, "GMT": 0, "CET": 60, "CEST": 120, "EST": -300, "PDT": -420, "JST": 540, "AEST": 600}
UNIT_US = {"epoch_s": 10**6, "epoch_ms": 10**3, "epoch_us": 1}
US = datetime.timedelta(microseconds=1)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@st.composite
def written_instant(draw: st.DrawFn, layout: str, naive_zone: str) -> tuple[str, pd.Timestamp]:
    """A value written in `layout` with a random time and zone, and the instant it names (naive: in `naive_zone`)."""
    wall = draw(st.datetimes(min_value=datetime.datetime(2, 1, 1), max_value=datetime.datetime(9998, 12, 31)))
    precision = draw(st.sampled_from(("date", "hour", "minute", "second", "fraction")))
    extra_digits = ""
    if precision == "fraction":
        digits = draw(st.integers(1, 9))
        extra_digits = "".join(
            draw(st.lists(st.sampled_from("0123456789"), min_size=max(0, digits - 6), max_size=max(0, digits - 6)))
        )
        kept = min(digits, 6)
        wall = wall.replace(microsecond=wall.microsecond // 10 ** (6 - kept) * 10 ** (6 - kept))
        fraction = f"{wall.microsecond:06d}"[:kept] + extra_digits
    else:
        keep = {"date": 0, "hour": 1, "minute": 2, "second": 3}[precision]
        wall = wall.replace(
            hour=wall.hour if keep >= 1 else 0,
            minute=wall.minute if keep >= 2 else 0,
            second=wall.second if keep >= 3 else 0,
            microsecond=0,
        )
    separator, order = DATE_ORDERS[layout]
    parts = {"y": f"{wall.year:04d}", "m": _maybe_padded(draw, wall.month), "d": _maybe_padded(draw, wall.day)}
    text = separator.join(parts[field] for field in order)
    if precision != "date":
        text += draw(st.sampled_from(("T", " ", "  ", "t")))
        text += f"{wall.hour:02d}"
        if precision != "hour":
            text += f":{wall.minute:02d}"
        if precision in ("second", "fraction"):
            text += f":{wall.second:02d}"
        if precision == "fraction":
            text += draw(st.sampled_from((".", ","))) + fraction
    zone_kind = draw(st.sampled_from(("naive", "Z", "offset", "name", "abbreviation", "utc+", "go")))
    if zone_kind == "naive":
        instant = _localised(wall, naive_zone)
    elif zone_kind == "name":
        zone = draw(st.sampled_from(NAMED_ZONES))
        text += " " + zone
        instant = _localised(wall, zone)
    else:
        minutes = {
            "Z": 0,
            "offset": draw(st.integers(-14 * 4, 14 * 4)) * 15,
            "utc+": draw(st.integers(-12, 14)) * 60,
            "go": draw(st.integers(-12, 14)) * 60,
        }.get(zone_kind)
        if zone_kind == "abbreviation":
            name = draw(st.sampled_from(sorted(ABBREVIATIONS)))
            minutes = ABBREVIATIONS[name]
            text += draw(st.sampled_from(("", " "))) + name
        else:
            text += _written_offset(draw, zone_kind, minutes)
        instant = _to_instant(wall - datetime.timedelta(minutes=minutes))
    return text, instant


def _maybe_padded(draw: st.DrawFn, number: int) -> str:
    return f"{number:02d}" if draw(st.booleans()) else str(number)


def _written_offset(draw: st.DrawFn, kind: str, minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if kind == "Z":
        return draw(st.sampled_from(("Z", "z", " Z")))
    if kind == "utc+":
        return f" {draw(st.sampled_from(('UTC', 'GMT', 'utc')))}{sign}{hours}"
    if kind == "go":
        return f" {sign}{hours:02d}{rest:02d} {draw(st.sampled_from(('UTC', 'CET', 'Europe/Paris')))}"
    forms = [f"{sign}{hours:02d}:{rest:02d}", f"{sign}{hours:02d}{rest:02d}"] + (
        [f"{sign}{hours:02d}"] if not rest else []
    )
    return draw(st.sampled_from(("", " "))) + draw(st.sampled_from(forms))


def _localised(wall: datetime.datetime, zone: str) -> pd.Timestamp:
    """The instant of a wall-clock time in an IANA zone; times that daylight saving repeats or skips are left out."""
    first, second = (wall.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold) for fold in (0, 1))
    assume(first.utcoffset() == second.utcoffset())
    return _to_instant(wall - first.utcoffset())


def _to_instant(utc_wall: datetime.datetime) -> pd.Timestamp:
    """A naive UTC wall-clock time as an instant; outside the years 1 to 9999 the example is dropped."""
    assume(datetime.datetime(1, 1, 1) <= utc_wall <= datetime.datetime(9999, 12, 31, 23, 59, 59, 999999))
    return pd.Timestamp(utc_wall.replace(tzinfo=datetime.UTC))


@st.composite
def written_column(draw: st.DrawFn) -> tuple[list[str], list[pd.Timestamp], bool, str]:
    """A column written in one date layout with mixed times and zones, its instants, day order and naive zone."""
    layout = draw(st.sampled_from(sorted(DATE_ORDERS)))
    naive_zone = draw(st.sampled_from(NAIVE_ZONES))
    pairs = draw(st.lists(written_instant(layout, naive_zone), min_size=1, max_size=12))
    return [text for text, _ in pairs], [instant for _, instant in pairs], layout.startswith("DD"), naive_zone


@st.composite
def unix_times(draw: st.DrawFn) -> tuple[pd.Series, list[pd.Timestamp]]:
    """Unix times in one unit, as numbers or digit text, between 1975 and 2200 where magnitude tells the unit."""
    unit = draw(st.sampled_from(sorted(UNIT_US)))
    lowest, highest = (int(pd.Timestamp(year, tz="UTC").value // 1_000) for year in ("1975", "2200"))
    microseconds = draw(st.lists(st.integers(lowest, highest), min_size=1, max_size=12))
    numbers = [value // UNIT_US[unit] for value in microseconds]
    instants = [EPOCH + number * UNIT_US[unit] * US for number in numbers]
    as_text = draw(st.booleans())
    values = pd.Series([str(number) for number in numbers] if as_text else numbers)
    return values, [pd.Timestamp(instant) for instant in instants]


@given(written_column())
@settings(max_examples=150, deadline=None)
def test_written_values_are_read_to_the_instant_they_name(column) -> None:
    texts, instants, dayfirst, naive_zone = column

    parsed = parse_timestamps(pd.Series(texts), dayfirst=dayfirst, timezone=naive_zone)

    assert parsed.values.tolist() == instants


@given(written_column())
@settings(max_examples=100, deadline=None)
def test_what_the_sniffer_reads_the_import_reads_to_the_same_instant(column) -> None:
    texts, _, dayfirst, naive_zone = column
    values = pd.Series(texts)

    sniff = sniff_timestamps(values, dayfirst=dayfirst, timezone=naive_zone)
    parsed = parse_timestamps(values, dayfirst=dayfirst, timezone=naive_zone)

    assert sniff.format == parsed.format
    assert sniff.values.tolist() == parsed.values.tolist()
    assert sniff.read_share == 1.0


@given(unix_times())
@settings(max_examples=100, deadline=None)
def test_unix_times_are_read_in_the_unit_their_magnitude_says(column) -> None:
    values, instants = column

    sniff = sniff_timestamps(values)
    parsed = parse_timestamps(values)

    assert parsed.values.tolist() == instants == sniff.values.tolist()


MIXTURE = st.lists(
    st.one_of(
        st.sampled_from(sorted(DATE_ORDERS)).flatmap(lambda layout: written_instant(layout, "UTC")).map(lambda p: p[0]),
        st.text(max_size=30),
        st.integers(-(10**19), 10**19).map(str),
        st.sampled_from(("", " ", "2019-10-01 00:00:04 IST", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00")),
    ),
    min_size=1,
    max_size=15,
)


@pytest.mark.slow
@given(MIXTURE, st.sampled_from((None, True, False)))
@settings(max_examples=200, deadline=None)
def test_on_any_text_the_sniffers_share_is_the_share_the_import_reads(texts: list[str], dayfirst) -> None:
    values = pd.Series(texts, dtype="str")

    sniff = sniff_timestamps(values, dayfirst=dayfirst)
    try:
        parsed = parse_timestamps(values, dayfirst=dayfirst)
    except AmbiguousDateError:
        assert sniff.ambiguous_day_month
        return
    except TimestampError:
        assert sniff.read_share <= 0.5  # the import refuses a column it reads half of or less
        return
    read = sniff.values.notna()
    assert sniff.values[read].tolist() == parsed.values[read].tolist()
    assert parsed.values.notna().tolist() == read.tolist()
    assert sniff.read_share == parsed.values.notna().sum() / sniff.nonempty


# Microseconds since 1970 of 0001-01-01 00:00 and 9999-12-31 23:59:59.999999 UTC.
FIRST_US, LAST_US = -62_135_596_800_000_000, 253_402_300_799_999_999


@pytest.mark.parametrize(
    ("format", "multiplier", "divisor"),
    [("epoch_s", 10**6, 1), ("epoch_ms", 10**3, 1), ("epoch_us", 1, 1), ("epoch_ns", 1, 1000)],
)
def test_any_integer_in_a_chosen_unit_is_read_exactly_or_refused_by_value(
    format: str, multiplier: int, divisor: int
) -> None:
    extremes = np.iinfo("int64")
    numbers = [extremes.min, -(10**15), 10**15, extremes.max, *[-1, 0, 1, 1_569_888_004] * 3]

    parsed = parse_timestamps(pd.Series(numbers), format=format)

    microseconds = [number * multiplier // divisor for number in numbers]
    outside = [i for i, value in enumerate(microseconds) if not FIRST_US <= value <= LAST_US]
    assert parsed.out_of_range.tolist() == parsed.invalid.tolist() == outside
    read_us = parsed.values.dt.tz_localize(None).to_numpy().view("int64")
    kept = [i for i in range(len(numbers)) if i not in outside]
    assert read_us[kept].tolist() == [microseconds[i] for i in kept]


def test_the_mapping_caption_gives_the_share_the_import_reads() -> None:
    frame = pd.DataFrame(
        {
            "session": ["s1", "s1", "s2", "s2"] * 5,
            "event_type": ["view", "cart", "view", "purchase"] * 5,
            "event_time": ["2019-10-01 00:00:04 UTC", "2019-10-01 00:01:04 UTC", "soon", "2019-10-01 00:03:04 UTC"] * 5,
        }
    )

    (candidate,) = [c for c in detect_mapping(frame).candidates["timestamp"] if c.column == "event_time"]
    parsed = sniff_timestamps(frame["event_time"])

    assert "75% of values parse as dates (ISO8601)" in candidate.reason
    assert parsed.read_share == 0.75
