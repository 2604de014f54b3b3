"""Timestamps parsed by Parcours itself: explicit or sniffed formats, never a silent guess.

A format is sniffed on a sample of the non-empty values and the one that reads the most wins; a
day/month order that the values cannot settle is asked (AmbiguousDateError), not guessed. Naive
wall-clock times are read in the chosen time zone; times that a daylight-saving change makes
ambiguous are read as standard time and times it skips are moved forward, and both are counted so
the quality report can say so. Everything comes back in UTC with microsecond resolution.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.errors import AmbiguousDateError, Problem, TimestampError, spreadsheet_row

__all__ = ["ParsedTimestamps", "parse_timestamps"]

ISO8601 = "ISO8601"
EPOCH_SECONDS = "epoch_s"
EPOCH_MILLISECONDS = "epoch_ms"
DATETIME = "datetime"
NAMED_FORMATS = (ISO8601, EPOCH_SECONDS, EPOCH_MILLISECONDS, DATETIME)

SAMPLE_SIZE = 2_000
EXAMPLES_SHOWN = 5
# 1e11 seconds is the year 5138 while 1e11 milliseconds is 1973: a clean cut between the two units.
EPOCH_MILLISECONDS_FROM = 1e11

_TIMES_OF_DAY = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f")
_DAY_FIRST = tuple(f"%d/%m/%Y{time}" for time in _TIMES_OF_DAY)
_MONTH_FIRST = tuple(f"%m/%d/%Y{time}" for time in _TIMES_OF_DAY)
_SWAPPED_DAY_MONTH = dict(zip(_DAY_FIRST, _MONTH_FIRST, strict=True)) | dict(zip(_MONTH_FIRST, _DAY_FIRST, strict=True))
# Exact formats come first so that, when ISO 8601 reads a column just as well, the stricter one is reported.
_CANDIDATES = (
    *(f"%Y/%m/%d{time}" for time in _TIMES_OF_DAY),
    *_DAY_FIRST,
    *_MONTH_FIRST,
    *(f"%d.%m.%Y{time}" for time in _TIMES_OF_DAY),
    *(f"%d-%m-%Y{time}" for time in _TIMES_OF_DAY),
    ISO8601,
)
_TRIED = "ISO 8601, YYYY/MM/DD, DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY and DD-MM-YYYY, each with an optional time"
_EPOCH_TEXT = r"\d+(?:\.\d+)?"
# A time of day followed by Z or an offset: the value names its own instant.
_UTC_OFFSET = r".*[Tt\s]\d{1,2}(?::\d{2}){0,2}(?:[.,]\d+)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"


@dataclass(frozen=True)
class ParsedTimestamps:
    """Timestamps in UTC, the format that read them, and where reading failed or was adjusted.

    `invalid` and `dst_adjusted` hold 0-based positions in the input; `dst_adjusted` are naive times
    that fell in a daylight-saving overlap (read as standard time) or gap (moved forward).
    """

    values: pd.Series
    format: str
    invalid: np.ndarray
    dst_adjusted: np.ndarray

    @property
    def shifted_for_dst(self) -> int:
        """How many naive times a daylight-saving change made ambiguous or non-existent."""
        return len(self.dst_adjusted)


@dataclass(frozen=True)
class _Where:
    column: str
    file: str | None


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

    `format` is a strptime format, "ISO8601", "epoch_s", "epoch_ms", or None to sniff; `dayfirst`
    settles a day/month order the values leave open; naive times are read in `timezone`.
    Raises TimestampError when the zone is unknown or most values are unreadable, and
    AmbiguousDateError when day/month order must be chosen.
    """
    if not isinstance(values, pd.Series):
        raise TypeError(f"values must be a pandas Series, not {type(values).__name__}")
    if dayfirst not in (None, True, False):
        raise TypeError(f"dayfirst must be True, False or None, not {dayfirst!r}")
    where = _Where(column, file)
    if format is not None and format not in NAMED_FORMATS and "%" not in format:
        raise TimestampError(
            Problem(
                f"{format!r} is not a timestamp format.",
                fix='give a strptime format such as "%d/%m/%Y %H:%M", or "ISO8601", "epoch_s", "epoch_ms"',
                file=file,
                column=column,
            )
        )
    _check_timezone(timezone, where)
    # "datetime" names a column type, not a text format: text in such a column is sniffed.
    utc, dst_adjusted, chosen = _parse(
        values.reset_index(drop=True), None if format == DATETIME else format, dayfirst, timezone, where
    )
    utc = utc.astype("datetime64[us, UTC]").set_axis(values.index)
    invalid = np.flatnonzero(utc.isna().to_numpy())
    adjusted = np.flatnonzero(dst_adjusted)
    invalid.setflags(write=False)
    adjusted.setflags(write=False)
    return ParsedTimestamps(values=utc, format=chosen, invalid=invalid, dst_adjusted=adjusted)


def _check_timezone(timezone: str, where: _Where) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise TimestampError(
            Problem(
                f"Unknown time zone {timezone!r}.",
                fix="choose a time zone name such as UTC, Europe/Paris or America/New_York",
                file=where.file,
                column=where.column,
                value=str(timezone),
            )
        ) from None


def _parse(
    values: pd.Series, format: str | None, dayfirst: bool | None, timezone: str, where: _Where
) -> tuple[pd.Series, np.ndarray, str]:
    """Return UTC times, the DST-adjusted mask and the format used, for values on a 0-based index."""
    is_datetime = pd.api.types.is_datetime64_any_dtype(values.dtype)
    is_epoch = _is_number(values) and format in (None, EPOCH_SECONDS, EPOCH_MILLISECONDS)
    text = None if is_datetime or is_epoch else values.astype("str").str.strip().fillna("")
    nonempty = values.notna().to_numpy() if text is None else text.ne("").to_numpy()
    if not nonempty.any():
        raise TimestampError(
            Problem(
                "The timestamp column is empty.",
                fix="map the column that holds when each event happened",
                file=where.file,
                column=where.column,
            )
        )
    if is_datetime:
        if values.dt.tz is None:
            return (*_localise(values, timezone), DATETIME)
        return values.dt.tz_convert("UTC"), np.zeros(len(values), dtype=bool), DATETIME
    if is_epoch:
        numbers = values.astype("float64")
        chosen = format or _epoch_unit(numbers.dropna())
        utc, dst_adjusted = _from_epoch(numbers, chosen), np.zeros(len(values), dtype=bool)
    else:
        chosen = format or _sniff(text, nonempty, dayfirst, timezone, where)
        utc, dst_adjusted = _read_text(text, chosen, timezone)
    _refuse_mostly_unread(values, nonempty, utc, chosen, explicit=format is not None, where=where)
    return utc, dst_adjusted, chosen


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)


def _refuse_mostly_unread(
    raw: pd.Series, nonempty: np.ndarray, utc: pd.Series, chosen: str, *, explicit: bool, where: _Where
) -> None:
    """Refuse a column where fewer than half the non-empty values were read: the format or column is wrong."""
    unread = nonempty & utc.isna().to_numpy()
    if unread.sum() * 2 <= nonempty.sum():
        return
    reason = (
        f"they do not match the format {chosen!r}"
        if explicit
        else f"no date or time format fits them (tried {_TRIED}, and epoch numbers)"
    )
    raise TimestampError(
        [
            Problem(
                f"{unread.sum():,} of {nonempty.sum():,} timestamps cannot be read: {reason}.",
                fix="give the timestamp format explicitly (e.g. %d/%m/%Y %H:%M) or map another column",
                file=where.file,
                row=spreadsheet_row(position),
                column=where.column,
                value=str(raw.iloc[position]),
            )
            for position in np.flatnonzero(unread)[:EXAMPLES_SHOWN]
        ]
    )


def _epoch_unit(numbers: pd.Series) -> str:
    return EPOCH_MILLISECONDS if numbers.abs().median() >= EPOCH_MILLISECONDS_FROM else EPOCH_SECONDS


def _from_epoch(numbers: pd.Series, unit: str) -> pd.Series:
    """Epoch numbers name absolute instants, so they are UTC whatever the chosen zone."""
    return pd.to_datetime(numbers, unit="ms" if unit == EPOCH_MILLISECONDS else "s", utc=True, errors="coerce")


def _sniff(text: pd.Series, nonempty: np.ndarray, dayfirst: bool | None, timezone: str, where: _Where) -> str:
    """Return the format that reads the most sampled values; ties go to the earlier, stricter candidate."""
    positions = np.flatnonzero(nonempty)
    if len(positions) > SAMPLE_SIZE:
        positions = positions[np.unique(np.linspace(0, len(positions) - 1, SAMPLE_SIZE).astype(int))]
    sample = text.iloc[positions]
    if sample.str.fullmatch(_EPOCH_TEXT).all():
        return _epoch_unit(sample.astype("float64"))
    read_counts = {
        candidate: int(_read_text(sample, candidate, timezone)[0].notna().sum()) for candidate in _CANDIDATES
    }
    best = max(read_counts, key=read_counts.__getitem__)
    swapped = _SWAPPED_DAY_MONTH.get(best)
    if swapped is not None and read_counts[swapped] == read_counts[best]:
        return _settle_day_month(text, best, swapped, dayfirst, timezone, where)
    return best


def _settle_day_month(
    text: pd.Series, first: str, second: str, dayfirst: bool | None, timezone: str, where: _Where
) -> str:
    """Choose between day-first and month-first readings of the whole column, asking when both fit and differ."""
    day_first, month_first = (first, second) if first in _DAY_FIRST else (second, first)
    by_day = _read_text(text, day_first, timezone)[0]
    by_month = _read_text(text, month_first, timezone)[0]
    day_count, month_count = int(by_day.notna().sum()), int(by_month.notna().sum())
    if day_count != month_count:
        return day_first if day_count > month_count else month_first
    if dayfirst is not None:
        return day_first if dayfirst else month_first
    differ = np.flatnonzero((by_day.notna() & by_month.notna() & by_day.ne(by_month)).to_numpy())
    if len(differ) == 0:
        return day_first
    shown = differ[:2]
    readings = "; ".join(
        f"{text.iloc[position]!r} reads as {_spoken(by_day.iloc[position], timezone)} (day first) "
        f"or {_spoken(by_month.iloc[position], timezone)} (month first)"
        for position in shown
    )
    raise AmbiguousDateError(
        Problem(
            f"Dates in this column could be day/month or month/day: {readings}.",
            fix="choose day/month order",
            file=where.file,
            row=spreadsheet_row(shown[0]),
            column=where.column,
            value=text.iloc[shown[0]],
        )
    )


def _spoken(instant: pd.Timestamp, timezone: str) -> str:
    local = instant.tz_convert(timezone)
    return f"{local.day} {local:%B %Y}"


def _read_text(text: pd.Series, chosen: str, timezone: str) -> tuple[pd.Series, np.ndarray]:
    """Return `text` read with one format as UTC (NaT where it does not fit) and the DST-adjusted mask."""
    if chosen in (EPOCH_SECONDS, EPOCH_MILLISECONDS):
        numbers = pd.to_numeric(text.where(text.str.fullmatch(_EPOCH_TEXT)), errors="coerce")
        return _from_epoch(numbers, chosen), np.zeros(len(text), dtype=bool)
    if chosen != ISO8601 and ("%z" in chosen or "%Z" in chosen):
        return pd.to_datetime(text, format=chosen, utc=True, errors="coerce"), np.zeros(len(text), dtype=bool)
    if chosen != ISO8601:
        return _localise(pd.to_datetime(text, format=chosen, errors="coerce"), timezone)
    with_offset = text.str.fullmatch(_UTC_OFFSET)
    absolute = pd.to_datetime(text.where(with_offset), format=ISO8601, utc=True, errors="coerce")
    local, dst_adjusted = _localise(pd.to_datetime(text.where(~with_offset), format=ISO8601, errors="coerce"), timezone)
    return absolute.astype("datetime64[us, UTC]").where(with_offset, local), dst_adjusted


def _localise(naive: pd.Series, timezone: str) -> tuple[pd.Series, np.ndarray]:
    """Read naive wall-clock times in `timezone`: overlaps as standard time, gaps moved forward."""
    naive = naive.astype("datetime64[us]")
    strict = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    dst_adjusted = (strict.isna() & naive.notna()).to_numpy()
    if not dst_adjusted.any():
        return strict.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), dst_adjusted
    lenient = naive.dt.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
    return lenient.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), dst_adjusted
