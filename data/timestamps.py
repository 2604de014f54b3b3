"""Timestamps read by Parcours itself: one reader behind the import, the quality check and the mapping's caption.

Every built-in text form is one grammar: a date in a known order (YYYY-MM-DD, the ISO 8601 order, and
YYYY/MM/DD, DD/MM/YYYY, MM/DD/YYYY, DD-MM-YYYY, MM-DD-YYYY, DD.MM.YYYY), then optionally a time of day after
`T` or spaces (hours, minutes, seconds, a fraction of up to nanoseconds cut to the microsecond, AM/PM), then
optionally a zone: `Z`, an offset (`+01:00`, `+0100`, `+01`), `UTC` or `GMT` with or without an offset, an
abbreviation that names one offset (`CET`, `CEST`, `EST`…; `CST`, `IST` or `BST` name several and are not
guessed) or an IANA name (`Europe/Paris`). Values of one column may carry different zones. Numbers, and text
made of digits, are Unix times whose unit (s, ms, µs, ns) is told by their magnitude or chosen. Any other
format is a strptime format the user gives, checked before any value is read.

A format is sniffed on a sample of the non-empty values and the one that reads the most wins; a day/month
order that the values cannot settle is asked (AmbiguousDateError), not guessed. The mapping's caption comes
from `sniff_timestamps`, which runs the very same sniffing and reading, so a column said to parse is read by
the import to the same instants. Naive wall-clock times are read in the chosen time zone; times that a
daylight-saving change makes ambiguous are read as standard time and times it skips are moved forward, and
both are counted so the quality report can say so. Instants are computed from the values' numbers, never
through text, and an instant outside the years 1 to 9999 (or a written year outside them) is refused by value:
no database or Python date holds it. Everything comes back in UTC with microsecond resolution.
"""

from __future__ import annotations

import datetime
import functools
import re
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.errors import AmbiguousDateError, Problem, TimestampError, spreadsheet_row

__all__ = [
    "DATE_ORDERS",
    "EPOCH_UNITS",
    "NAMED_FORMATS",
    "ParsedTimestamps",
    "TimestampSniff",
    "as_text",
    "check_timestamp_format",
    "dates_out_of_range",
    "parse_timestamps",
    "sniff_timestamps",
]

ISO8601 = "ISO8601"
DATETIME = "datetime"
EPOCH_SECONDS, EPOCH_MILLISECONDS, EPOCH_MICROSECONDS, EPOCH_NANOSECONDS = "epoch_s", "epoch_ms", "epoch_us", "epoch_ns"
# Microseconds in one unit, as a (multiplier, divisor) pair so that integers stay exact.
EPOCH_UNITS = {
    EPOCH_SECONDS: (1_000_000, 1),
    EPOCH_MILLISECONDS: (1_000, 1),
    EPOCH_MICROSECONDS: (1, 1),
    EPOCH_NANOSECONDS: (1, 1_000),
}
_EPOCH_WORDS = {
    EPOCH_SECONDS: "seconds",
    EPOCH_MILLISECONDS: "milliseconds",
    EPOCH_MICROSECONDS: "microseconds",
    EPOCH_NANOSECONDS: "nanoseconds",
}
# Below 1e11 a Unix time is in seconds (1e11 s is the year 5138, 1e11 ms is 1973); each unit a thousand times
# finer takes over a thousand times higher.
_EPOCH_UNIT_BELOW = ((1e11, EPOCH_SECONDS), (1e14, EPOCH_MILLISECONDS), (1e17, EPOCH_MICROSECONDS))
# The date orders of the grammar: name -> (separator, order of year, month and day). Earlier orders win ties.
DATE_ORDERS = {
    ISO8601: ("-", "ymd"),
    "YYYY/MM/DD": ("/", "ymd"),
    "DD/MM/YYYY": ("/", "dmy"),
    "MM/DD/YYYY": ("/", "mdy"),
    "DD-MM-YYYY": ("-", "dmy"),
    "MM-DD-YYYY": ("-", "mdy"),
    "DD.MM.YYYY": (".", "dmy"),
}
_SWAPPED_DAY_MONTH = {
    "DD/MM/YYYY": "MM/DD/YYYY",
    "MM/DD/YYYY": "DD/MM/YYYY",
    "DD-MM-YYYY": "MM-DD-YYYY",
    "MM-DD-YYYY": "DD-MM-YYYY",
}
NAMED_FORMATS = (*DATE_ORDERS, *EPOCH_UNITS, DATETIME)

SAMPLE_SIZE = 2_000
EXAMPLES_SHOWN = 5
_TRIED = (
    "dates as YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, MM/DD/YYYY, DD-MM-YYYY, MM-DD-YYYY or DD.MM.YYYY, each with "
    "an optional time and zone (Z, +01:00, UTC, CET, Europe/Paris…), and Unix times"
)
FORMAT_HELP = "a strptime format such as %d/%m/%Y %H:%M, or one of " + ", ".join(NAMED_FORMATS[:-1])

# Microseconds since 1970 of the first and last instants Parcours keeps (UTC).
_US_PER_DAY = 86_400_000_000
EARLIEST_US = int(np.datetime64("0001-01-01T00:00:00", "us").astype("int64"))
LATEST_US = int(np.datetime64("9999-12-31T23:59:59.999999", "us").astype("int64"))
# pandas localises through Python's datetime near the ends of its range: those few values are done one by one.
_LOCALISED_IN_BULK = (EARLIEST_US + 2 * _US_PER_DAY, LATEST_US - 2 * _US_PER_DAY)
_NAT = np.iinfo("int64").min

_EPOCH_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?")
_WHOLE_NUMBER_TEXT = r"[+-]?\d{1,18}"
_FRACTION = r"(?:[.,](?P<fraction>\d+))?"
_HALF = r"(?:\s*(?P<half>[AaPp])\.?[Mm](?:\.|\b))?"
_TIME_OF_DAY = (
    rf"(?:(?:[Tt]|\s+)(?P<hour>\d{{1,2}})(?::(?P<minute>\d{{2}})(?::(?P<second>\d{{2}}){_FRACTION})?)?{_HALF})?"
)
_AFTER_SECONDS = f"{_FRACTION}{_HALF}"
_FRACTION_DIGITS = 6
# Dates and times of two-digit fields: "2025-10-28 10:54:00", "28/10/2025T10:54:00" (`_fixed_width_parts`).
_FIXED_WIDTH = 19
_FIXED_DATE_POSITIONS = {
    "ymd": {"y": [0, 1, 2, 3], "m": [5, 6], "d": [8, 9]},
    "dmy": {"d": [0, 1], "m": [3, 4], "y": [6, 7, 8, 9]},
    "mdy": {"m": [0, 1], "d": [3, 4], "y": [6, 7, 8, 9]},
}
_FIXED_WIDTH_DATE = 10  # then the time: "T", "t" or one space
_DATE_TIME_BETWEEN = np.frombuffer(b"Tt ", dtype=np.uint8)
_FIXED_TIME_POSITIONS = {"hour": [11, 12], "minute": [14, 15], "second": [17, 18]}
_FIXED_TIME_COLONS = [13, 16]
# Past this many distinct tails (each fraction of a second is one) the regex reads every value instead.
_MOST_DISTINCT_TAILS = 1_000

# Zone abbreviations that name a single offset (minutes east of UTC). CST (US or China), IST (India, Ireland or
# Israel), BST (British summer or Bangladesh) and AST name several and are refused rather than guessed.
_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "EST": -300, "EDT": -240, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540,
    "AKDT": -480, "HST": -600, "JST": 540, "KST": 540, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2})(?::?(?P<minutes>\d{2}))?")
_OFFSET_THEN_NAME = re.compile(rf"(?P<offset>{_OFFSET.pattern})\s*\(?(?P<name>[A-Za-z][\w/+-]*)\)?")
_UTC_WITH_OFFSET = re.compile(r"(?i:UTC|GMT|UT)\s*(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?")
_LONGEST_OFFSET_MINUTES = 18 * 60


@dataclass(frozen=True)
class ParsedTimestamps:
    """Timestamps in UTC, the format that read them, and where reading failed or was adjusted.

    `invalid`, `out_of_range` and `dst_adjusted` hold 0-based positions in the input: `invalid` every
    value read as no instant (empty, unreadable, or out of range), `out_of_range` those among them that
    name an instant outside the years 1 to 9999; `dst_adjusted` are naive times that fell in a
    daylight-saving overlap (read as standard time) or gap (moved forward).
    """

    values: pd.Series
    format: str
    invalid: np.ndarray
    dst_adjusted: np.ndarray
    out_of_range: np.ndarray

    @property
    def shifted_for_dst(self) -> int:
        """How many naive times a daylight-saving change made ambiguous or non-existent."""
        return len(self.dst_adjusted)


@dataclass(frozen=True)
class TimestampSniff:
    """What the sniffer makes of a column: the format the import would choose and the instants it would read.

    `values` holds, for each input value, the instant the import reads (NaT where it reads none);
    `format` is None when the column holds no value. When the values leave day/month order open,
    `ambiguous_day_month` is set and the values are read day first.
    """

    format: str | None
    values: pd.Series
    nonempty: int
    ambiguous_day_month: bool = False

    @property
    def read_share(self) -> float:
        """The share of non-empty values read as an instant (0 for an empty column)."""
        return float(self.values.notna().sum() / self.nonempty) if self.nonempty else 0.0

    @property
    def description(self) -> str:
        """The format in words, e.g. "Unix times in milliseconds"."""
        if self.format in _EPOCH_WORDS:
            return f"Unix times in {_EPOCH_WORDS[self.format]}"
        return "date-times" if self.format == DATETIME else str(self.format)


@dataclass(frozen=True)
class _Where:
    column: str
    file: str | None


@dataclass(frozen=True)
class _Reading:
    """Microseconds since 1970 in UTC where `read`; `out_of_range` marks values naming an instant out of reach."""

    utc_us: np.ndarray
    read: np.ndarray
    out_of_range: np.ndarray
    dst_adjusted: np.ndarray

    def series(self) -> pd.Series:
        return pd.Series(np.where(self.read, self.utc_us, _NAT).view("datetime64[us]")).dt.tz_localize("UTC")


def as_text(values: pd.Series | pd.Index) -> pd.Series:
    """Return the values as text, missing ones as NaN; date-times are written by NumPy, which prints any year.

    pandas writes a date-time through Python's `datetime`, which fails beyond the year 9999.
    """
    series = pd.Series(values, index=values.index if isinstance(values, pd.Series) else None)
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.astype("str")
    aware = series.dt.tz is not None
    naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if aware else series
    written = np.datetime_as_string(
        naive.to_numpy(dtype="datetime64[us]"), unit="auto", timezone="UTC" if aware else "naive"
    )
    return pd.Series(written, index=series.index, dtype="str").where(series.notna())


def dates_out_of_range(values: pd.Series) -> np.ndarray:
    """Return the positions of the ISO 8601 texts whose instant falls outside the years 1 to 9999 (naive ones in UTC).

    For readers whose own date parser fails on such a value (pm4py on XES) to name it.
    """
    return np.flatnonzero(_read_grammar(_text(values.reset_index(drop=True)), ISO8601, "UTC").out_of_range)


def check_timestamp_format(format: object, *, column: str | None = None, file: str | None = None) -> None:
    """Raise TimestampError unless `format` is None, a named format or a strptime format pandas can use."""
    if format is None or format in NAMED_FORMATS:
        return
    if not isinstance(format, str) or "%" not in format:
        raise TimestampError(
            Problem(f"{format!r} is not a timestamp format.", fix=f"give {FORMAT_HELP}", file=file, column=column)
        )
    try:
        pd.to_datetime(pd.Series(["2000-01-01"]), format=format, errors="coerce")
    except (ValueError, re.error) as error:
        raise TimestampError(
            Problem(
                f"{format!r} is not a strptime format pandas can read ({error}).",
                fix=f"give {FORMAT_HELP}",
                file=file,
                column=column,
                value=format,
            )
        ) from None


def parse_timestamps(
    values: pd.Series,
    *,
    format: str | None = None,
    dayfirst: bool | None = None,
    timezone: str = "UTC",
    column: str = "timestamp",
    file: str | None = None,
) -> ParsedTimestamps:
    """Return `values` read as UTC timestamps, with NaT (and a position in `invalid`) where empty or unreadable.

    `format` is a strptime format, one of NAMED_FORMATS ("ISO8601", "DD/MM/YYYY"…, "epoch_s", "epoch_ms",
    "epoch_us", "epoch_ns"), or None to sniff; `dayfirst` settles a day/month order the values leave open;
    naive times are read in `timezone`. Raises TimestampError when the format or zone is not one, or most
    values are unreadable, and AmbiguousDateError when day/month order must be chosen.
    """
    where = _check_arguments(values, dayfirst, timezone, column, file)
    check_timestamp_format(format, column=column, file=file)
    plain = values.reset_index(drop=True)
    nonempty = _nonempty(plain)  # once: at 10M events each look at the text costs 0.6 s
    if not nonempty.any():
        raise TimestampError(
            Problem(
                "The timestamp column is empty.",
                fix="map the column that holds when each event happened",
                file=file,
                column=column,
            )
        )
    # "datetime" names a column type, not a text format: text in such a column is sniffed.
    explicit = None if format == DATETIME else format
    reading, chosen, ambiguous = _read_column(plain, nonempty, explicit, dayfirst, timezone)
    if ambiguous is not None:
        raise _ambiguity_error(plain, ambiguous, timezone, where)
    _refuse_mostly_unread(plain, nonempty, reading, chosen, explicit=explicit is not None, where=where)
    positions = (np.flatnonzero(~reading.read), np.flatnonzero(reading.dst_adjusted))
    out_of_range = np.flatnonzero(reading.out_of_range)
    for array in (*positions, out_of_range):
        array.setflags(write=False)
    return ParsedTimestamps(
        values=reading.series().set_axis(values.index),
        format=chosen,
        invalid=positions[0],
        dst_adjusted=positions[1],
        out_of_range=out_of_range,
    )


def sniff_timestamps(values: pd.Series, *, dayfirst: bool | None = None, timezone: str = "UTC") -> TimestampSniff:
    """Return the format the import would read `values` with and the instants it would read, without refusing any.

    The mapping's "N % of values parse as dates" is `read_share` of this: the import reads the same
    values to the same instants (it refuses a column when it reads half of it or less).
    """
    _check_arguments(values, dayfirst, timezone, "timestamp", None)
    plain = values.reset_index(drop=True)
    present = _nonempty(plain)
    nonempty = int(present.sum())
    if nonempty == 0:
        return TimestampSniff(format=None, values=_no_instants(values.index), nonempty=0)
    reading, chosen, ambiguous = _read_column(plain, present, None, dayfirst, timezone)
    return TimestampSniff(
        format=chosen,
        values=reading.series().set_axis(values.index),
        nonempty=nonempty,
        ambiguous_day_month=ambiguous is not None,
    )


def _check_arguments(values: object, dayfirst: object, timezone: object, column: str, file: str | None) -> _Where:
    if not isinstance(values, pd.Series):
        raise TypeError(f"values must be a pandas Series, not {type(values).__name__}")
    if dayfirst not in (None, True, False):
        raise TypeError(f"dayfirst must be True, False or None, not {dayfirst!r}")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise TimestampError(
            Problem(
                f"Unknown time zone {timezone!r}.",
                fix="choose a time zone name such as UTC, Europe/Paris or America/New_York",
                file=file,
                column=column,
                value=str(timezone),
            )
        ) from None
    return _Where(column, file)


def _no_instants(index: pd.Index) -> pd.Series:
    return pd.Series(np.full(len(index), _NAT).view("datetime64[us]"), index=index).dt.tz_localize("UTC")


# --- one column -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ambiguity:
    """Day-first and month-first readings of a column that both fit and differ."""

    by_day: pd.Series
    by_month: pd.Series


def _read_column(
    values: pd.Series, nonempty: np.ndarray, format: str | None, dayfirst: bool | None, timezone: str
) -> tuple[_Reading, str, _Ambiguity | None]:
    """Read a column on a 0-based index (`nonempty` where it holds a value) with `format` or the sniffed one; return
    the format and any ambiguity left."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _from_datetimes(values, timezone), DATETIME, None
    if pd.api.types.infer_dtype(values, skipna=True) in ("datetime", "date"):
        return _from_objects(values, timezone), DATETIME, None
    if _is_number(values) and (format is None or format in EPOCH_UNITS):
        numbers = _numbers(values)
        chosen = format or _epoch_unit(numbers[nonempty])
        return _from_epoch(numbers, nonempty, chosen), chosen, None
    text = _text(values)
    if format is not None:
        return _read_text(text, format, timezone), format, None
    chosen, ambiguity = _sniff(text, nonempty, dayfirst, timezone)
    return _read_text(text, chosen, timezone), chosen, ambiguity


def _nonempty(values: pd.Series) -> np.ndarray:
    present = values.notna().to_numpy()
    if pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype):
        return present & values.astype("str").str.strip().ne("").to_numpy()
    return present


def _text(values: pd.Series) -> pa.Array:
    """The values as stripped text, "" where missing, in Arrow so that RE2 reads them in bulk."""
    text = pa.array(values.astype("str").str.strip().fillna(""), type=pa.large_string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)


def _refuse_mostly_unread(
    raw: pd.Series, nonempty: np.ndarray, reading: _Reading, chosen: str, *, explicit: bool, where: _Where
) -> None:
    """Refuse a column where fewer than half the non-empty values were read: the format or column is wrong."""
    unread = nonempty & ~reading.read
    if unread.sum() * 2 <= nonempty.sum():
        return
    if reading.out_of_range[unread].sum() * 2 > unread.sum():
        reason = f"read as {chosen!r} they fall outside the years 1 to 9999"
        fix = "give the right format (for Unix times: epoch_s, epoch_ms, epoch_us or epoch_ns) or map another column"
    else:
        reason = f"they do not match the format {chosen!r}" if explicit else f"no format fits them (tried {_TRIED})"
        fix = "give the timestamp format explicitly (e.g. %d/%m/%Y %H:%M) or map another column"
    raise TimestampError(
        [
            Problem(
                f"{unread.sum():,} of {nonempty.sum():,} timestamps cannot be read: {reason}.",
                fix=fix,
                file=where.file,
                row=spreadsheet_row(position),
                column=where.column,
                value=str(raw.iloc[position]),
            )
            for position in np.flatnonzero(unread)[:EXAMPLES_SHOWN]
        ]
    )


# --- sniffing -----------------------------------------------------------------------------------------------


def _sniff(text: pa.Array, nonempty: np.ndarray, dayfirst: bool | None, timezone: str) -> tuple[str, _Ambiguity | None]:
    """Return the format that reads the most sampled values (ties go to the earlier one) and any day/month doubt."""
    positions = np.flatnonzero(nonempty)
    if len(positions) > SAMPLE_SIZE:
        positions = positions[np.unique(np.linspace(0, len(positions) - 1, SAMPLE_SIZE).astype(int))]
    sample = text.take(pa.array(positions))
    if all(_EPOCH_TEXT.fullmatch(value) for value in sample.to_pylist()):
        numbers = _epoch_text_numbers(sample)
        return _epoch_unit(numbers[~np.isnan(numbers.astype("float64"))]), None
    read_counts = {name: int(_read_text(sample, name, timezone).read.sum()) for name in DATE_ORDERS}
    best = max(read_counts, key=read_counts.__getitem__)
    swapped = _SWAPPED_DAY_MONTH.get(best)
    if swapped is not None and read_counts[swapped] == read_counts[best]:
        return _settle_day_month(text, best, swapped, dayfirst, timezone)
    return best, None


def _settle_day_month(
    text: pa.Array, first: str, second: str, dayfirst: bool | None, timezone: str
) -> tuple[str, _Ambiguity | None]:
    """Choose between day-first and month-first readings of the whole column; both fitting and differing is doubt."""
    day_first, month_first = (first, second) if first.startswith("DD") else (second, first)
    by_day, by_month = (_read_text(text, name, timezone).series() for name in (day_first, month_first))
    day_count, month_count = int(by_day.notna().sum()), int(by_month.notna().sum())
    if day_count != month_count:
        return (day_first if day_count > month_count else month_first), None
    if dayfirst is not None:
        return (day_first if dayfirst else month_first), None
    if _differing(by_day, by_month).any():
        return day_first, _Ambiguity(by_day, by_month)
    return day_first, None


def _differing(by_day: pd.Series, by_month: pd.Series) -> np.ndarray:
    """Values both readings read, to different instants."""
    return (by_day.notna() & by_month.notna() & by_day.ne(by_month)).to_numpy()


def _ambiguity_error(values: pd.Series, ambiguity: _Ambiguity, timezone: str, where: _Where) -> AmbiguousDateError:
    by_day, by_month = ambiguity.by_day, ambiguity.by_month
    shown = np.flatnonzero(_differing(by_day, by_month))[:2]
    readings = "; ".join(
        f"{str(values.iloc[position]).strip()!r} reads as {_spoken(by_day.iloc[position], timezone)} (day first) "
        f"or {_spoken(by_month.iloc[position], timezone)} (month first)"
        for position in shown
    )
    return AmbiguousDateError(
        Problem(
            f"Dates in this column could be day/month or month/day: {readings}.",
            fix="choose day/month order",
            file=where.file,
            row=spreadsheet_row(shown[0]),
            column=where.column,
            value=str(values.iloc[shown[0]]).strip(),
        )
    )


def _spoken(instant: pd.Timestamp, timezone: str) -> str:
    local = instant.tz_convert(timezone)
    return f"{local.day} {local.month_name()} {local.year}"


# --- text ---------------------------------------------------------------------------------------------------


def _read_text(text: pa.Array, chosen: str, timezone: str) -> _Reading:
    """Return `text` read with one format as UTC; unread where it does not fit."""
    if chosen in EPOCH_UNITS:
        numbers = _epoch_text_numbers(text)
        present = ~np.isnan(numbers) if numbers.dtype.kind == "f" else _whole_number_mask(text)
        return _from_epoch(numbers, present, chosen)
    if chosen in DATE_ORDERS:
        return _read_grammar(text, chosen, timezone)
    return _read_strptime(text, chosen, timezone)


def _read_grammar(text: pa.Array, name: str, timezone: str) -> _Reading:
    """Read a date in the order `name`, an optional time of day and an optional zone, all from their digits."""
    separator, order = DATE_ORDERS[name]
    found = _fixed_width_parts(text, separator, order) or _regex_parts(text, separator, order)
    if not found.matched.any():  # most formats tried while sniffing
        nothing = np.zeros(len(text), dtype=bool)
        return _Reading(np.zeros(len(text), dtype="int64"), nothing, nothing, nothing)
    year, month, day, hour, minute, second = found.year, found.month, found.day, found.hour, found.minute, found.second
    twelve_hour = found.tail.twelve_hour
    valid = (
        found.matched
        & (month >= 1) & (month <= 12) & (day >= 1) & (day <= _days_in_month(year, month))
        & np.where(twelve_hour, (hour >= 1) & (hour <= 12), hour <= 23)
        & (minute <= 59) & (second <= 59)
    )  # fmt: skip
    hour = np.where(twelve_hour, hour % 12 + 12 * found.tail.afternoon, hour)
    wall_us = _wall_us(year, month, day, hour, minute, second, found.tail.fraction)
    in_years = (year >= 1) & (year <= 9999)
    return _to_utc(wall_us, valid & in_years, valid & ~in_years, found.tail.zone_codes, found.tail.zones, timezone)


@dataclass(frozen=True)
class _Tail:
    """What follows the seconds in each value: microseconds, a 12-hour clock's half and the zone (`_zone_codes`)."""

    fraction: np.ndarray
    twelve_hour: np.ndarray
    afternoon: np.ndarray
    zone_codes: np.ndarray
    zones: list[int | str | None]

    def at(self, rows: np.ndarray) -> _Tail:
        """The tails of distinct values, one per row that `rows` numbers."""
        return _Tail(
            self.fraction[rows], self.twelve_hour[rows], self.afternoon[rows], self.zone_codes[rows], self.zones
        )


@dataclass(frozen=True)
class _Parts:
    """The date and time of day a grammar found in each value, as integers (0 where absent), and what follows."""

    matched: np.ndarray
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    minute: np.ndarray
    second: np.ndarray
    tail: _Tail


def _regex_parts(text: pa.Array, separator: str, order: str) -> _Parts:
    widths = {"y": r"\d{4}", "m": r"\d{1,2}", "d": r"\d{1,2}"}
    parts = re.escape(separator).join(f"(?P<{field}>{widths[field]})" for field in order)
    fields = pc.extract_regex(text, rf"^{parts}{_TIME_OF_DAY}\s*(?P<zone>.*?)$")
    year, month, day, hour, minute, second = (
        _digits(fields.field(field)) for field in ("y", "m", "d", "hour", "minute", "second")
    )
    return _Parts(np.asarray(fields.is_valid(), dtype=bool), year, month, day, hour, minute, second, _tail(fields))


def _tail(fields: pa.StructArray) -> _Tail:
    fraction = _digits(
        pc.utf8_rpad(pc.utf8_slice_codeunits(fields.field("fraction"), 0, _FRACTION_DIGITS), _FRACTION_DIGITS, "0")
    )
    half = pc.utf8_upper(fields.field("half"))
    codes, zones = _zone_codes(fields.field("zone"))
    return _Tail(fraction, _booleans(pc.not_equal(half, "")), _booleans(pc.equal(half, "P")), codes, zones)


def _fixed_width_parts(text: pa.Array, separator: str, order: str) -> _Parts | None:
    """Read values that all begin with a date and a time of two-digit fields, as most exports write them
    ("2025-10-28 10:54:00", "28/10/2025T10:54:00"), by the position of their digits; None when one does not.

    The same parts as `_regex_parts` finds, whose regex took three quarters of a 10M-event CSV's timestamps (21 of
    27 s); what follows the seconds (a fraction, AM/PM, a zone) is read by the same regex, once per distinct tail.
    """
    if not isinstance(text, pa.LargeStringArray) or text.null_count:
        return None
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    lengths = np.diff(offsets)
    present = lengths > 0
    if not present.any() or (lengths[present] < _FIXED_WIDTH).any():
        return None
    head = _first_bytes(np.frombuffer(text.buffers()[2], dtype=np.uint8), offsets, lengths, present)
    date_at = _FIXED_DATE_POSITIONS[order]
    fields = {**date_at, **_FIXED_TIME_POSITIONS}
    separators = [date_at[order[0]][-1] + 1, date_at[order[1]][-1] + 1]
    digits = head[:, [position for positions in fields.values() for position in positions]] - ord("0")
    if (
        (digits > 9).any()  # bytes below "0" wrap past 9
        or (head[:, separators] != ord(separator)).any()
        or not np.isin(head[:, _FIXED_WIDTH_DATE], _DATE_TIME_BETWEEN).all()
        or (head[:, _FIXED_TIME_COLONS] != ord(":")).any()
    ):
        return None
    read = _fixed_width_tail(text, present, lengths)
    if read is None:
        return None
    numbers, column = {}, 0
    for field, positions in fields.items():
        value = np.zeros(len(head), dtype=np.int16)  # at most 9999; small temporaries are cheap to allocate
        for _position in positions:
            value = value * 10 + digits[:, column]
            column += 1
        numbers[field] = np.zeros(len(text), dtype="int64")
        numbers[field][present] = value
    matched, tail = read
    return _Parts(matched, *(numbers[field] for field in ("y", "m", "d", "hour", "minute", "second")), tail)


def _first_bytes(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The first `_FIXED_WIDTH` bytes of each present value, one row each: a view when every value has just those."""
    if present.all() and (lengths == _FIXED_WIDTH).all():
        return data[offsets[0] : offsets[-1]].reshape(len(lengths), _FIXED_WIDTH)
    starts = offsets[:-1][present]
    # Gathered a column at a time: one 2-D fancy index over every row and byte was eight times slower.
    return np.stack([data[starts + position] for position in range(_FIXED_WIDTH)], axis=1)


def _fixed_width_tail(text: pa.Array, present: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, _Tail] | None:
    """Whether each value's tail (past its first `_FIXED_WIDTH` characters) reads, and what it holds; None when there
    are too many distinct tails (fractions of a second) to read them one by one."""
    if (lengths[present] == _FIXED_WIDTH).all():
        tails = pa.array([""], type=pa.large_string())
        rows = np.zeros(len(text), dtype="int64")
    else:
        encoded = pc.dictionary_encode(pc.utf8_slice_codeunits(text, _FIXED_WIDTH))
        if len(encoded.dictionary) > _MOST_DISTINCT_TAILS:
            return None
        tails = encoded.dictionary
        rows = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype="int64")
    fields = pc.extract_regex(tails, rf"^{_AFTER_SECONDS}\s*(?P<zone>.*?)$")
    matched = present & np.asarray(fields.is_valid(), dtype=bool)[rows]
    return matched, _tail(fields).at(rows)


def _digits(field: pa.Array) -> np.ndarray:
    """Integers of a captured group of digits; 0 where the group is empty or the row did not match."""
    text = pc.fill_null(field, "")
    return np.asarray(pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64()).to_numpy(zero_copy_only=False))


def _booleans(condition: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False), dtype=bool)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    lengths = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 1, 12) - 1]
    return lengths + ((month == 2) & leap)


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates, exact for any year; a month outside 1 to 12 (a value
    the caller refuses) gives some number.

    Each month's first day is counted once (a log spans few months) and looked up: at 10M events the algorithm
    on every value took 1.7 s.
    """
    if len(year) == 0:
        return _civil_days(year, month, day)
    first_year = int(year.min())
    years = np.arange(first_year, int(year.max()) + 1).repeat(12)
    months = np.tile(np.arange(1, 13), len(years) // 12)
    month_starts = _civil_days(years, months, np.ones_like(years))
    return month_starts[(year - first_year) * 12 + np.clip(month, 1, 12) - 1] + day - 1


def _civil_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), exact for any year."""
    shifted = year - (month <= 2)
    era = np.floor_divide(shifted, 400)
    year_of_era = shifted - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _wall_us(*fields: np.ndarray) -> np.ndarray:
    """Microseconds since 1970 of wall-clock readings given as year, month, day, hour, minute, second, microsecond."""
    year, month, day, hour, minute, second, microsecond = fields
    return (
        _days_from_civil(year, month, day) * _US_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * 1_000_000
        + microsecond
    )


def _read_strptime(text: pa.Array, format: str, timezone: str) -> _Reading:
    """Read a user's strptime format with pandas; values carrying their own offset (%z, %Z) keep it."""
    series = text.to_pandas()
    aware = "%z" in format or "%Z" in format
    parsed = pd.to_datetime(series, format=format, errors="coerce", utc=aware)
    naive = (parsed.dt.tz_convert("UTC").dt.tz_localize(None) if aware else parsed).astype("datetime64[us]")
    present = naive.notna().to_numpy()
    wall_us = naive.to_numpy().view("int64")
    zone = np.full(len(series), 0 if aware else -1, dtype="int64")
    return _to_utc(wall_us, present, np.zeros(len(series), dtype=bool), zone, [0], timezone)


# --- zones --------------------------------------------------------------------------------------------------


def _zone_codes(zones: pa.Array) -> tuple[np.ndarray, list[int | str | None]]:
    """Per row, an index into the resolved distinct zones (-1 where the value names none)."""
    encoded = pc.dictionary_encode(pc.fill_null(zones, ""))
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype="int64")
    naive = np.array([name == "" for name in names], dtype=bool)
    if len(codes):
        codes = np.where(naive[codes], -1, codes)
    return codes, [_zone(name) for name in names]


@functools.lru_cache(maxsize=1_024)
def _zone(text: str) -> int | str | None:
    """A zone written after a time: its offset in microseconds, an IANA name, or None when it names no single zone."""
    offset = _OFFSET.fullmatch(text) or _UTC_WITH_OFFSET.fullmatch(text)
    if offset:
        return _offset_us(offset)
    labelled = _OFFSET_THEN_NAME.fullmatch(text)
    if labelled:  # "+0000 UTC", "+01:00 (CET)": the offset names the instant, the name only labels it
        return _offset_us(_OFFSET.fullmatch(labelled["offset"])) if _zone(labelled["name"]) is not None else None
    if text.upper() in _ABBREVIATIONS:
        return _ABBREVIATIONS[text.upper()] * 60_000_000
    return text if text in _iana_names() else None


def _offset_us(match: re.Match) -> int | None:
    minutes = int(match["hours"]) * 60 + int(match["minutes"] or 0)
    if minutes > _LONGEST_OFFSET_MINUTES or int(match["minutes"] or 0) >= 60:
        return None
    return (-1 if match["sign"] == "-" else 1) * minutes * 60_000_000


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _to_utc(
    wall_us: np.ndarray,
    read: np.ndarray,
    out_of_range: np.ndarray,
    codes: np.ndarray,
    zones: list[int | str | None],
    timezone: str,
) -> _Reading:
    """Turn wall-clock microseconds into UTC: fixed offsets subtracted, naive and IANA-zoned times localised.

    `codes` index `zones` (-1: naive, read in `timezone`); a row whose zone is None is unread. Instants
    outside the years 1 to 9999 are moved from `read` to `out_of_range`.
    """
    utc_us = np.zeros(len(wall_us), dtype="int64")
    dst_adjusted = np.zeros(len(wall_us), dtype=bool)
    unknown_zone = np.zeros(len(wall_us), dtype=bool)
    groups = {-1: timezone, **dict(enumerate(zones))}
    for code, zone in groups.items():
        rows = read & (codes == code)
        if not rows.any():
            continue
        if zone is None:
            unknown_zone |= rows
        elif isinstance(zone, int) or zone == "UTC":
            utc_us[rows] = wall_us[rows] - (zone if isinstance(zone, int) else 0)
        else:
            utc_us[rows], dst_adjusted[rows] = _localise(wall_us[rows], zone)
    read = read & ~unknown_zone
    outside = read & ((utc_us < EARLIEST_US) | (utc_us > LATEST_US))
    return _Reading(utc_us, read & ~outside, out_of_range | outside, dst_adjusted & ~outside)


def _localise(wall_us: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Read wall-clock microseconds in an IANA zone: overlaps as standard time, gaps moved forward (both flagged)."""
    in_bulk = (wall_us >= _LOCALISED_IN_BULK[0]) & (wall_us <= _LOCALISED_IN_BULK[1])
    naive = pd.Series(np.where(in_bulk, wall_us, _NAT).view("datetime64[us]"))
    strict = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    dst_adjusted = (strict.isna() & naive.notna()).to_numpy()
    if dst_adjusted.any():
        strict = naive.dt.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")
    utc_us = strict.dt.tz_convert("UTC").astype("datetime64[us, UTC]").dt.tz_localize(None).to_numpy().view("int64")
    utc_us = utc_us.copy()
    # Near the years 1 and 9999 no zone changes its clocks, so each offset is simply looked up.
    info = zoneinfo.ZoneInfo(zone)
    for position in np.flatnonzero(~in_bulk):
        wall = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=int(wall_us[position]))
        utc_us[position] = wall_us[position] - info.utcoffset(wall) // datetime.timedelta(microseconds=1)
    return utc_us, dst_adjusted


# --- numbers and typed columns ------------------------------------------------------------------------------


def _numbers(values: pd.Series) -> np.ndarray:
    """Integers as int64 (exact to the nanosecond), anything else as float64; missing values as 0 or NaN."""
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_unsigned_integer_dtype(values.dtype):
        return values.to_numpy(dtype="int64", na_value=0)
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _epoch_text_numbers(text: pa.Array) -> np.ndarray:
    """Digit text as int64 when every value is a whole number of at most 18 digits, else float64 (NaN elsewhere)."""
    whole = _whole_number_mask(text)
    if whole.all():
        return np.asarray(pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False), dtype="int64")
    decimal = pc.match_substring_regex(text, rf"^{_EPOCH_TEXT.pattern}$")
    kept = pc.if_else(decimal, text, pa.scalar(None, pa.large_string()))
    return np.asarray(pc.cast(kept, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")


def _whole_number_mask(text: pa.Array) -> np.ndarray:
    return np.asarray(pc.match_substring_regex(text, rf"^{_WHOLE_NUMBER_TEXT}$").to_numpy(zero_copy_only=False))


def _epoch_unit(numbers: np.ndarray) -> str:
    """The Unix-time unit told by the median magnitude: seconds below 1e11, milliseconds below 1e14, and so on."""
    magnitude = float(np.median(np.abs(numbers.astype("float64")))) if len(numbers) else 0.0
    return next((unit for below, unit in _EPOCH_UNIT_BELOW if magnitude < below), EPOCH_NANOSECONDS)


def _from_epoch(numbers: np.ndarray, present: np.ndarray, unit: str) -> _Reading:
    """Unix times name absolute instants, so they are UTC whatever the chosen zone; cut to the microsecond."""
    multiplier, divisor = EPOCH_UNITS[unit]
    if numbers.dtype.kind == "i":
        int64 = np.iinfo("int64")
        lowest = max(-(-EARLIEST_US * divisor // multiplier), int64.min)
        highest = min(LATEST_US * divisor // multiplier, int64.max)
        inside = present & (numbers >= lowest) & (numbers <= highest)
        utc_us = np.where(inside, numbers, 0) * multiplier // divisor
    else:
        present = present & np.isfinite(numbers)
        scaled = np.where(present, numbers, 0.0) * multiplier / divisor
        inside = present & (scaled >= EARLIEST_US) & (scaled < LATEST_US + 1)
        utc_us = np.floor(np.where(inside, scaled, 0.0)).astype("int64")
    nothing = np.zeros(len(numbers), dtype=bool)
    return _Reading(utc_us, inside, present & ~inside, nothing)


def _from_datetimes(values: pd.Series, timezone: str) -> _Reading:
    """A date-time column: aware values converted to UTC, naive ones read in `timezone`."""
    present = values.notna().to_numpy()
    if values.dt.tz is None:
        wall_us = values.astype("datetime64[us]").to_numpy().view("int64")
        zone = np.full(len(values), -1, dtype="int64")
        in_years = _wall_in_years(wall_us)
        return _to_utc(wall_us, present & in_years, present & ~in_years, zone, [], timezone)
    utc_us = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]").to_numpy().view("int64")
    as_utc = np.zeros(len(values), dtype="int64")
    return _to_utc(utc_us, present, np.zeros(len(values), dtype=bool), as_utc, [0], timezone)


def _wall_in_years(wall_us: np.ndarray) -> np.ndarray:
    return (wall_us >= EARLIEST_US) & (wall_us <= LATEST_US)


def _from_objects(values: pd.Series, timezone: str) -> _Reading:
    """Python dates and date-times (SQL drivers, JSON): their fields and offsets read as numbers, never as text."""
    fields = [_object_fields(value) for value in values]
    year, month, day, hour, minute, second, micro = (np.array([f[i] for f in fields], dtype="int64") for i in range(7))
    offsets = [f[7] for f in fields]
    present = values.notna().to_numpy()
    in_years = (year >= 1) & (year <= 9999)
    wall_us = _wall_us(year, month, day, hour, minute, second, micro)
    distinct = sorted({offset for offset in offsets if offset is not None})
    code_of = {offset: code for code, offset in enumerate(distinct)}
    codes = np.array([-1 if offset is None else code_of[offset] for offset in offsets], dtype="int64")
    return _to_utc(wall_us, present & in_years, present & ~in_years, codes, list(distinct), timezone)


def _object_fields(value: object) -> tuple[int, int, int, int, int, int, int, int | None]:
    """Year … microsecond of a date or date-time, and its UTC offset in microseconds (None when naive or missing)."""
    if pd.isna(value):
        return (1970, 1, 1, 0, 0, 0, 0, None)
    if isinstance(value, datetime.datetime):
        offset = value.utcoffset()
        shift = None if offset is None else offset // datetime.timedelta(microseconds=1)
        return (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, shift)
    if isinstance(value, datetime.date):
        return (value.year, value.month, value.day, 0, 0, 0, 0, None)
    return (1970, 1, 1, 0, 0, 0, 0, None)
