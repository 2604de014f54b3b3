"""From a raw table and a column mapping to the canonical event log.

This is the boundary where the log is validated once: after it, code trusts the canonical frame.
A row without a case id, an activity or a readable timestamp is not an event; by default such a
row stops the import with every bad row listed, because silently losing events skews every count
downstream. Importing with `drop_invalid_rows` drops them instead and the quality report says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.errors import (
    EmptyLog,
    InvalidCaseOrActivityRows,
    InvalidRows,
    InvalidTimestampRows,
    Problem,
    spreadsheet_row,
)
from data.journeys import CUSTOMER_ID, split_journeys
from data.mapping import validate_mapping
from data.quality import assess
from data.schema import (
    ACTIVITY,
    ACTIVITY_JOINER,
    CANONICAL_COLUMNS,
    CASE_ID,
    CHANNEL,
    SOURCE_ROW,
    TIMESTAMP,
    ColumnMapping,
    EventLog,
    RawLog,
)
from data.timestamps import EPOCH_UNITS, ParsedTimestamps, as_text, parse_timestamps

__all__ = ["to_event_log"]

FIX_INVALID_ROWS = "correct or delete these rows, or import with 'drop invalid rows'"
FIX_OUT_OF_RANGE_EPOCH = (
    "give the unit of these Unix times (timestamp format epoch_s, epoch_ms, epoch_us or epoch_ns), or correct or "
    "delete these rows"
)
# Text that reads as a number only when every non-empty value does; a leading zero ("007", "01234")
# or more digits than a float holds exactly marks a code, which stays text.
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_INTEGER = r"-?\d+"
_CODE = r"[+-]?0\d.*|[+-]?\d{16,}.*"
# Most text columns betray themselves in their first values; only the others are checked in full.
_FIRST_LOOK = 1_000


def to_event_log(
    raw: RawLog,
    mapping: ColumnMapping,
    *,
    drop_invalid_rows: bool = False,
    split_after_days: float | None = None,
    now: pd.Timestamp | None = None,
) -> EventLog:
    """Return the validated canonical event log of `raw` read through `mapping`.

    Rows with an empty case id or activity or a missing or unreadable timestamp raise a
    TimestampError (or MappingError), an `InvalidRows`, listing every one, unless `drop_invalid_rows`; with
    `split_after_days` each customer's events are cut into journeys after that much inactivity;
    `now` marks the future for the quality report.
    """
    if not isinstance(raw, RawLog):
        raise TypeError(f"raw must be a RawLog, not {type(raw).__name__}")
    if not isinstance(mapping, ColumnMapping):
        raise TypeError(f"mapping must be a ColumnMapping, not {type(mapping).__name__}")
    if len(raw.frame) == 0:
        raise EmptyLog(Problem("The file has no rows.", fix="choose a file with at least one event", file=raw.name))
    validate_mapping(raw.frame, mapping)
    return _to_event_log(raw, mapping, bool(drop_invalid_rows), split_after_days, now)


def _to_event_log(
    raw: RawLog,
    mapping: ColumnMapping,
    drop_invalid_rows: bool,
    split_after_days: float | None,
    now: pd.Timestamp | None,
) -> EventLog:
    source = raw.frame.reset_index(drop=True)
    case_ids = _stripped(source[mapping.case_id])
    activities = _joined_activity(source, mapping.activity)
    parsed = parse_timestamps(
        source[mapping.timestamp],
        format=mapping.timestamp_format,
        dayfirst=mapping.dayfirst,
        timezone=mapping.timezone,
        column=mapping.timestamp,
        file=raw.name,
    )
    unreadable_time = np.zeros(len(source), dtype=bool)
    unreadable_time[parsed.invalid] = True
    invalid = {
        TIMESTAMP: unreadable_time,
        CASE_ID: case_ids.eq("").to_numpy(),
        ACTIVITY: activities.eq("").to_numpy(),
    }
    any_invalid = invalid[TIMESTAMP] | invalid[CASE_ID] | invalid[ACTIVITY]
    if any_invalid.any() and not drop_invalid_rows:
        raise _invalid_rows_error(source, mapping, parsed, invalid, raw.name)
    if any_invalid.all():
        raise EmptyLog(
            Problem(
                f"None of the {len(source):,} rows is an event with a case id, an activity and a readable timestamp.",
                fix="check the column mapping and the timestamp format",
                file=raw.name,
            )
        )
    reserved = {*CANONICAL_COLUMNS, CUSTOMER_ID} if split_after_days is not None else set(CANONICAL_COLUMNS)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    CASE_ID: case_ids,
                    ACTIVITY: activities,
                    TIMESTAMP: parsed.values,
                    CHANNEL: _channel(source, mapping.channel),
                    SOURCE_ROW: np.arange(len(source), dtype="int64"),
                }
            ),
            _attributes(source, mapping, reserved),
        ],
        axis=1,
    )
    frame = frame.loc[~any_invalid].reset_index(drop=True)
    if split_after_days is not None:
        frame = split_journeys(frame, split_after_days)
    quality = assess(
        frame,
        invalid={role: np.flatnonzero(rows) for role, rows in invalid.items()},
        dst_adjusted=parsed.dst_adjusted,
        now=now,
    )
    options = {
        "format": raw.format,
        "drop_invalid_rows": drop_invalid_rows,
        "split_after_days": split_after_days,
        "timestamp_format": parsed.format,
        "dropped_rows": int(any_invalid.sum()),
    }
    return EventLog(frame, mapping, quality, name=raw.name, source_sha256=raw.sha256, options=options)


def _stripped(values: pd.Series) -> pd.Series:
    """Return the values as text without surrounding whitespace, "" where missing."""
    return as_text(values).str.strip().fillna("")


def _joined_activity(source: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Join the activity columns with '-', skipping empty parts ("A" + "complete" -> "A-complete", "A" + "" -> "A")."""
    joined = _stripped(source[columns[0]])
    for column in columns[1:]:
        part = _stripped(source[column])
        joiner = pd.Series(np.where(joined.ne("") & part.ne(""), ACTIVITY_JOINER, ""), index=source.index)
        joined = joined + joiner + part
    return joined


def _channel(source: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(np.nan, index=source.index, dtype="str")
    channels = _stripped(source[column])
    return channels.where(channels.ne(""))


def _attributes(source: pd.DataFrame, mapping: ColumnMapping, reserved: set[str]) -> pd.DataFrame:
    """Return the kept attributes under their source names ("<name> (source)" when a canonical name is taken)."""
    if mapping.attributes is None:
        names = [column for column in source.columns if column not in mapping.role_columns]
    else:
        names = list(mapping.attributes)
    return pd.DataFrame(
        {f"{name} (source)" if name in reserved else str(name): _typed(source[name]) for name in names},
        index=source.index,
    )


def _typed(values: pd.Series) -> pd.Series:
    """Return a text column as numbers when every non-empty value is one, else as text with empties missing.

    Columns that arrive typed (Parquet, Excel, SQL) keep their type.
    """
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return values
    text = _stripped(values)
    present = text.ne("")
    filled = text[present]
    if (
        filled.empty
        or not filled.iloc[:_FIRST_LOOK].str.fullmatch(_NUMBER).all()
        or not filled.str.fullmatch(_NUMBER).all()
        or filled.str.fullmatch(_CODE).any()
    ):
        return text.where(present)
    # Arrow's cast reads the already validated text some thirty times faster than pd.to_numeric.
    as_arrow = pa.array(text.where(present))
    if filled.str.fullmatch(_INTEGER).all():
        return pd.Series(pd.arrays.ArrowExtensionArray(pc.cast(as_arrow, pa.int64())), index=text.index).astype("Int64")
    return pd.Series(pc.cast(as_arrow, pa.float64()).to_numpy(zero_copy_only=False), index=text.index)


def _invalid_rows_error(
    source: pd.DataFrame,
    mapping: ColumnMapping,
    parsed: ParsedTimestamps,
    invalid: dict[str, np.ndarray],
    file: str,
) -> InvalidRows:
    """Return an error listing every invalid row, in file order: a timestamp error if any time is bad."""
    raw_times = as_text(source[mapping.timestamp]).fillna("")
    missing_time = raw_times.str.strip().eq("").to_numpy()
    out_of_range = np.zeros(len(source), dtype=bool)
    out_of_range[parsed.out_of_range] = True
    activity_columns = " + ".join(map(str, mapping.activity))
    unreadable = invalid[TIMESTAMP] & ~missing_time
    kinds = (
        (invalid[CASE_ID], mapping.case_id, "The case id is empty.", source[mapping.case_id], FIX_INVALID_ROWS),
        (
            invalid[ACTIVITY],
            activity_columns,
            "The activity is empty.",
            source[mapping.activity[0]],
            FIX_INVALID_ROWS,
        ),
        (
            invalid[TIMESTAMP] & missing_time,
            mapping.timestamp,
            "The timestamp is missing.",
            raw_times,
            FIX_INVALID_ROWS,
        ),
        (
            unreadable & ~out_of_range,
            mapping.timestamp,
            f"The timestamp cannot be read as {parsed.format!r}.",
            raw_times,
            FIX_INVALID_ROWS,
        ),
        (
            unreadable & out_of_range,
            mapping.timestamp,
            f"Read as {parsed.format!r}, the timestamp falls outside the years 1 to 9999.",
            raw_times,
            FIX_OUT_OF_RANGE_EPOCH if parsed.format in EPOCH_UNITS else FIX_INVALID_ROWS,
        ),
    )
    listed = pd.concat(
        [
            pd.DataFrame(
                {
                    "row": np.flatnonzero(rows),
                    "column": str(column),
                    "message": message,
                    "value": as_text(values).fillna("").to_numpy()[rows],
                    "fix": fix,
                }
            )
            for rows, column, message, values, fix in kinds
        ],
        ignore_index=True,
    ).sort_values("row", kind="stable")
    problems = [
        Problem(message, fix=fix, file=file, row=spreadsheet_row(row), column=column, value=value)
        for row, column, message, value, fix in listed.itertuples(index=False)
    ]
    error_type = InvalidTimestampRows if invalid[TIMESTAMP].any() else InvalidCaseOrActivityRows
    return error_type(problems)
