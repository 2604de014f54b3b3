"""The data-quality report kept with every imported log.

Import does not just pass or fail: it says what looks wrong, how often and where (spreadsheet
rows), so the user can judge whether the maps built on the log can be trusted. Each finding is a
count, up to five example rows and a message in plain words; the report round-trips through JSON
because the store saves it beside the dataset.

DuckDB computes the report, on a frame (`assess`) or on a table or view of the caller's connection
(`assess_relation`, for logs imported without pandas): only aggregates and example rows come back.
Ties, out-of-order events, duplicates and each case's first and last events depend on an event's
neighbours in its case. Most files list each case's events together and in time order; there the
neighbours are read in one streaming pass over the file, checked as it goes, and only other files
pay for sorting every case. A stored layout lists each case's events in time order already, so the
report of a stored log is read from it in one such pass too.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.engine import as_parquet_reads, connect, layout_events, quote_identifier
from data.errors import spreadsheet_row
from data.isolation import report_progress
from data.schema import ACTIVITY, CASE_ID, SOURCE_ROW, TIMESTAMP
from data.settings import Settings

__all__ = [
    "DST_ADJUSTED",
    "DUPLICATE_EVENTS",
    "EMPTY_ACTIVITY",
    "EMPTY_CASE_ID",
    "FUTURE_TIMESTAMPS",
    "INVALID_TIMESTAMP",
    "NEAR_DUPLICATE_ACTIVITIES",
    "OUT_OF_ORDER",
    "SEVERITIES",
    "SINGLE_EVENT_CASES",
    "TIMESTAMP_TIES",
    "TRUNCATED_AT_END",
    "TRUNCATED_AT_START",
    "Finding",
    "QualityReport",
    "assess",
    "assess_relation",
    "layout_quality",
]

SEVERITIES = ("error", "warning", "info")

INVALID_TIMESTAMP = "invalid_timestamp"
EMPTY_CASE_ID = "empty_case_id"
EMPTY_ACTIVITY = "empty_activity"
DUPLICATE_EVENTS = "duplicate_events"
FUTURE_TIMESTAMPS = "future_timestamps"
SINGLE_EVENT_CASES = "single_event_cases"
NEAR_DUPLICATE_ACTIVITIES = "near_duplicate_activities"
TRUNCATED_AT_START = "truncated_at_start"
TRUNCATED_AT_END = "truncated_at_end"
TIMESTAMP_TIES = "timestamp_ties"
OUT_OF_ORDER = "out_of_order"
DST_ADJUSTED = "dst_adjusted"

EXAMPLES_KEPT = 5
EDGE_SHARE = 0.02
SIMILAR_LABEL_RATIO = 0.9
# Comparing every pair of labels costs n²/2 string comparisons: beyond this many, only exact variants are sought.
SIMILAR_LABEL_LIMIT = 300
# Labels differing in a short or numbered word ("Release A"/"Release B", "T02"/"T03") are distinct steps, not typos.
SHORTEST_TYPO_WORD = 4
# Rows looked at before reading a whole log in scan order: a log sorted by time alone fails at once.
FIRST_LOOK = 100_000

_CASE, _ACTIVITY, _TIME, _ROW = (quote_identifier(name) for name in (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW))
# The name under which `assess` shows its frame to its private DuckDB connection.
_FRAME = "canonical_frame"
# How each event meets its neighbours in its case. Most files list each case's events together and in
# time order, so that the neighbours in the case are those in the file, which DuckDB streams `OVER ()` in
# scan order (`_FILE_ORDER`); a layout lists them by time, then file order (`_CASE_ORDER`). Whether each
# case did come out that way is checked. Other relations pay for sorting every case (`_SORTED`).
_FILE_ORDER, _CASE_ORDER, _SORTED = "file order", "case order", "sorted"
_SCAN_ORDER = "()"
_BY_TIME_IN_CASE = f"(PARTITION BY {_CASE} ORDER BY {_TIME}, {_ROW})"
_BY_ROW_IN_CASE = f"(PARTITION BY {_CASE} ORDER BY {_ROW})"

_DROPPED = {
    TIMESTAMP: (
        INVALID_TIMESTAMP,
        "{count:,} row(s) had a missing or unreadable timestamp, or one outside the years 1 to 9999, and were dropped.",
    ),
    CASE_ID: (EMPTY_CASE_ID, "{count:,} row(s) had an empty case id and were dropped."),
    ACTIVITY: (EMPTY_ACTIVITY, "{count:,} row(s) had an empty activity and were dropped."),
}


@dataclass(frozen=True)
class Finding:
    """One kind of problem: how often it occurs and where (spreadsheet rows of up to five examples)."""

    code: str
    severity: str
    message: str
    count: int
    examples: tuple[int, ...] = ()
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        rows = f" E.g. row(s) {', '.join(map(str, self.examples))}." if self.examples else ""
        details = "".join(f"\n    {detail}" for detail in self.details)
        return f"[{self.severity}] {self.message}{rows}{details}"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
            "details": list(self.details),
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> Finding:
        return cls(
            code=values["code"],
            severity=values["severity"],
            message=values["message"],
            count=int(values["count"]),
            examples=tuple(int(row) for row in values["examples"]),
            details=tuple(values["details"]),
        )


@dataclass(frozen=True)
class QualityReport:
    """Headline figures of a log and what looks wrong in it, errors first."""

    events: int
    cases: int
    activities: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    findings: tuple[Finding, ...] = ()

    def finding(self, code: str) -> Finding | None:
        """Return the finding with this code, or None when the log does not have that problem."""
        return next((finding for finding in self.findings if finding.code == code), None)

    def count_by_severity(self) -> dict[str, int]:
        """Return how many findings of each severity the log has, for a one-glance badge."""
        return {severity: sum(f.severity == severity for f in self.findings) for severity in SEVERITIES}

    def to_dict(self) -> dict:
        """Return the report as JSON-safe values (timestamps as ISO 8601 text)."""
        return {
            "events": self.events,
            "cases": self.cases,
            "activities": self.activities,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> QualityReport:
        return cls(
            events=int(values["events"]),
            cases=int(values["cases"]),
            activities=int(values["activities"]),
            start=None if values["start"] is None else pd.Timestamp(values["start"]),
            end=None if values["end"] is None else pd.Timestamp(values["end"]),
            findings=tuple(Finding.from_dict(finding) for finding in values["findings"]),
        )

    def __str__(self) -> str:
        span = "" if self.start is None else f", from {_moment(self.start)} to {_moment(self.end)} UTC"
        headline = f"{self.events:,} events, {self.cases:,} cases, {self.activities:,} activities{span}."
        body = [str(finding) for finding in self.findings] or ["No problems found."]
        return "\n".join([headline, *(f"- {line}" for line in body)])


def assess(
    frame: pd.DataFrame,
    *,
    invalid: Mapping[str, Sequence[int]] | None = None,
    dst_adjusted: Sequence[int] = (),
    now: pd.Timestamp | None = None,
) -> QualityReport:
    """Return the quality report of a canonical frame.

    `invalid` maps a canonical role ("timestamp", "case_id", "activity") to the 0-based source rows
    dropped because that value was missing or unreadable; `dst_adjusted` lists the source rows whose
    local time fell in a daylight-saving change; `now` (default: the current time) marks the future.
    The frame reaches a private DuckDB as Arrow, which shares its buffers instead of copying them.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"assess needs a pandas DataFrame, not {type(frame).__name__}")
    _check_canonical(frame.columns)
    with connect(None) as connection:
        connection.register(_FRAME, _arrow_table(frame))
        return assess_relation(connection, _FRAME, invalid=invalid, dst_adjusted=dst_adjusted, now=now)


def layout_quality(layout_path: Path, settings: Settings) -> QualityReport:
    """Return the quality report of a stored log's events, read from its layout in one pass in case order."""
    report_progress("Checking the data quality…")
    with connect(settings, importing=True) as connection:
        return assess_relation(connection, layout_events(connection, layout_path), in_case_order=True)


def assess_relation(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    invalid: Mapping[str, Sequence[int]] | None = None,
    dst_adjusted: Sequence[int] = (),
    now: pd.Timestamp | None = None,
    in_case_order: bool = False,
) -> QualityReport:
    """Return the quality report of the canonical events in the table or view `relation` of `connection`.

    `relation` is a plain identifier; its columns other than the canonical ones are attributes, which
    duplicate events must share too. Only aggregates and example rows leave DuckDB, so the log may be
    larger than memory. `in_case_order` says that `relation` lists each case's events together, by time
    then file order (as a layout's events are), which spares sorting them; it is checked while read, and
    the events are sorted after all if it does not hold. The other arguments are those of `assess`.
    """
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        raise TypeError(f"assess_relation needs a DuckDB connection, not {type(connection).__name__}")
    if not isinstance(relation, str):
        raise TypeError(f"relation must name a table or view, not {type(relation).__name__}")
    columns = [name for name, *_ in connection.execute(f"DESCRIBE {relation}").fetchall()]
    _check_canonical(columns)
    unknown = set(invalid or {}) - set(_DROPPED)
    if unknown:
        raise ValueError(f"invalid rows are keyed by {', '.join(_DROPPED)}, not {', '.join(sorted(unknown))}")
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    dst_adjusted = np.asarray(dst_adjusted, dtype="int64")
    return _assess(connection, relation, columns, invalid or {}, dst_adjusted, now, in_case_order)


def _check_canonical(columns: Iterable[str]) -> None:
    present = set(columns)
    missing = [column for column in (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW) if column not in present]
    if missing:
        raise ValueError(f"assess needs a canonical frame; missing column(s): {', '.join(missing)}")


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """Return the frame as Arrow, its times in microseconds as DuckDB's TIMESTAMPTZ holds them and its attributes
    with the types DuckDB reads from its Parquet file (`as_parquet_reads`: a duration as a whole number)."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except pa.ArrowException:
        # Columns of mixed Python objects (some SQL drivers, JSON lines) have no Arrow type: compare their text.
        mixed = {column: "str" for column, dtype in frame.dtypes.items() if pd.api.types.is_object_dtype(dtype)}
        table = pa.Table.from_pandas(frame.astype(mixed), preserve_index=False)
    table = as_parquet_reads(table)
    position = table.schema.get_field_index(TIMESTAMP)
    return table.set_column(position, TIMESTAMP, table[TIMESTAMP].cast(pa.timestamp("us", tz="UTC")))


@dataclass(frozen=True)
class _Rows:
    """How many events (or source rows) have a problem, and the first of their 0-based source rows."""

    count: int
    first: tuple[int, ...] = ()

    @classmethod
    def of(cls, source_rows: np.ndarray) -> _Rows:
        return cls(len(source_rows), tuple(np.sort(source_rows)[:EXAMPLES_KEPT].tolist()))

    @classmethod
    def fetched(cls, count: int | None, first: list[int] | None) -> _Rows:
        """Read an SQL count and `min(source_row, n)`, both NULL when no row matched."""
        return cls(count or 0, tuple(first or ()))


@dataclass(frozen=True)
class _Neighbours:
    """What comparing each event with its neighbours in its case tells about the cases and events."""

    cases: int
    single: _Rows
    early: _Rows
    late: _Rows
    ties: _Rows
    out_of_order: _Rows
    duplicates: _Rows


def _assess(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    invalid: Mapping[str, Sequence[int]],
    dst_adjusted: np.ndarray,
    now: pd.Timestamp,
    in_case_order: bool,
) -> QualityReport:
    events, start, end, future = _overview(connection, relation, now)
    first_rows = dict(
        connection.execute(f"SELECT {_ACTIVITY}::VARCHAR, min({_ROW}) FROM {relation} GROUP BY ALL").fetchall()
    )
    edges = _edges(start, end)
    neighbours = _neighbour_findings(connection, relation, columns, edges, in_case_order)
    findings = [
        *(_dropped_rows(role, np.asarray(dropped, dtype="int64")) for role, dropped in invalid.items()),
        _finding(
            DUPLICATE_EVENTS,
            "warning",
            f"{neighbours.duplicates.count:,} event(s) repeat an earlier event exactly (same case, activity, time and "
            "attributes); double exports inflate counts.",
            neighbours.duplicates,
        ),
        _finding(
            FUTURE_TIMESTAMPS,
            "warning",
            f"{future.count:,} event(s) are dated after {now:%Y-%m-%d %H:%M} UTC; check the time zone or the date "
            "format.",
            future,
        ),
        _near_duplicate_activities(first_rows),
        _single_event_cases(neighbours),
        *_truncated_cases(neighbours, edges),
        _finding(
            TIMESTAMP_TIES,
            "info",
            f"{neighbours.ties.count:,} event(s) share their exact time with another event of the same case; "
            "their order is taken from the file.",
            neighbours.ties,
        ),
        _finding(
            OUT_OF_ORDER,
            "info",
            f"{neighbours.out_of_order.count:,} event(s) are listed after a later event of the same case; "
            "Parcours orders each case by time.",
            neighbours.out_of_order,
        ),
        _finding(
            DST_ADJUSTED,
            "info",
            f"{len(dst_adjusted):,} local time(s) fell in a daylight-saving change: times repeated in the autumn "
            "were read as standard time, times skipped in the spring were moved forward to the first valid time.",
            _Rows.of(dst_adjusted),
        ),
    ]
    kept = sorted((finding for finding in findings if finding.count), key=lambda f: SEVERITIES.index(f.severity))
    return QualityReport(
        events=events, cases=neighbours.cases, activities=len(first_rows), start=start, end=end, findings=tuple(kept)
    )


def _finding(
    code: str, severity: str, message: str, rows: _Rows, *, count: int | None = None, details: Iterable[str] = ()
) -> Finding:
    """Build a finding whose count defaults to the number of rows, with their spreadsheet rows as examples."""
    return Finding(
        code=code,
        severity=severity,
        message=message,
        count=rows.count if count is None else count,
        examples=tuple(spreadsheet_row(row) for row in rows.first),
        details=tuple(details),
    )


def _dropped_rows(role: str, dropped: np.ndarray) -> Finding:
    code, message = _DROPPED[role]
    return _finding(code, "error", message.format(count=len(dropped)), _Rows.of(dropped))


def _overview(
    connection: duckdb.DuckDBPyConnection, relation: str, now: pd.Timestamp
) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None, _Rows]:
    """Return the number of events, the first and last time, and the events dated after `now`."""
    events, start_us, end_us, *future = connection.execute(
        f"""
        SELECT count(*), epoch_us(min({_TIME})), epoch_us(max({_TIME})),
               count(*) FILTER ({_TIME} > $now), min({_ROW}, {EXAMPLES_KEPT}) FILTER ({_TIME} > $now)
        FROM {relation}
        """,
        # Times are whole microseconds: later than `now` is later than `now` cut to the microsecond.
        {"now": now.floor("us").to_pydatetime()},
    ).fetchone()
    return events, _utc(start_us), _utc(end_us), _Rows.fetched(*future)


def _utc(microseconds: int | None) -> pd.Timestamp | None:
    """The instant of a count of microseconds since 1970, read as a number (no date text, no Python datetime)."""
    return None if microseconds is None else pd.Timestamp(microseconds, unit="us", tz="UTC")


def _day(instant: pd.Timestamp) -> str:
    """The instant's date as YYYY-MM-DD, with the year's four digits even before the year 1000."""
    return instant.isoformat()[:10]


def _moment(instant: pd.Timestamp) -> str:
    """The instant as YYYY-MM-DD HH:MM:SS (UTC)."""
    return instant.isoformat(sep=" ")[:19]


def _edges(start: pd.Timestamp | None, end: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Return when the first 2% of the log's time span ends and the last 2% begins; None for a single instant."""
    if start is None:
        return None
    window = (end - start) * EDGE_SHARE
    if window == pd.Timedelta(0):
        return None
    return start + window, end - window


def _count_and_first(condition: str) -> str:
    """SQL counting the rows that meet `condition` and listing the first of their source rows."""
    return f"count(*) FILTER ({condition}), min(source_row, {EXAMPLES_KEPT}) FILTER ({condition})"


def _pairs(values: Sequence) -> Iterator[_Rows]:
    """Read consecutive (count, first source rows) pairs of a fetched SQL row."""
    return (_Rows.fetched(*values[index : index + 2]) for index in range(0, len(values), 2))


def _neighbour_findings(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    edges: tuple[pd.Timestamp, pd.Timestamp] | None,
    in_case_order: bool,
) -> _Neighbours:
    """Return what comparing each event with its neighbours in its case tells, read in scan order where that holds."""
    if in_case_order or _scan_order_may_hold(connection, relation):
        reading = _CASE_ORDER if in_case_order else _FILE_ORDER
        neighbours = _compare_neighbours(connection, relation, columns, edges, reading)
        if neighbours is not None:
            return neighbours
    return _compare_neighbours(connection, relation, columns, edges, _SORTED)


def _scan_order_may_hold(connection: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Tell whether the file's first rows list each case's events together and in time order.

    A cheap look before reading the whole log in scan order, which a log sorted by time alone would
    only waste.
    """
    (broken,) = connection.execute(
        f"""
        SELECT count(*) FILTER (previous_case IS DISTINCT FROM {_CASE}) - count(DISTINCT {_CASE})
               + count(*) FILTER (previous_case = {_CASE} AND {_TIME} < previous_time)
        FROM (
            SELECT {_CASE}, {_TIME}, lag({_CASE}) OVER () AS previous_case, lag({_TIME}) OVER () AS previous_time
            FROM (SELECT {_CASE}, {_TIME} FROM {relation} LIMIT {FIRST_LOOK})
        )
        """
    ).fetchone()
    return not broken


def _compare_neighbours(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    edges: tuple[pd.Timestamp, pd.Timestamp] | None,
    reading: str,
) -> _Neighbours | None:
    """Compare each event with its neighbours in its case; None if the scan order `reading` assumes does not hold.

    Ordered by time then file order, a case's first event is its earliest, the first in the file among
    equal times, its last event the latest, the last in the file among equal times, and ties are equal
    neighbours. A case is disordered when that order is not its file order; its out-of-order events
    are those earlier than their predecessor in the file. A duplicate equals an earlier tied event in
    every column but source_row (only tied events sharing a hash of case, activity and time are
    compared), grouped by one value, the JSON text of those columns: a GROUP BY over every column of a
    wide log would make DuckDB rows wider than its blocks (it crashes at 20,000 columns). Read in scan
    order, all this holds when each case is one stretch of the scan, in time and file order (in time
    order, then file order among equal times, for `_CASE_ORDER`): a case met in several stretches has
    several first events.
    """
    compared = (
        "to_json(struct_pack("
        + ", ".join(
            f"{quote_identifier(str(position))} := {quote_identifier(column)}"
            for position, column in enumerate(column for column in columns if column != SOURCE_ROW)
        )
        + "))"
    )
    early_until, late_from = (None, None) if edges is None else (edge.to_pydatetime() for edge in edges)
    holds, cases, *located = connection.execute(
        f"""
        WITH quality_neighbours AS (
            SELECT {_ROW} AS source_row, {_CASE} AS case_id, {_ACTIVITY} AS activity, {_TIME} AS event_time,
                   lag({_CASE}) OVER by_time AS previous_case, lag({_TIME}) OVER by_time AS previous_time,
                   lag({_ROW}) OVER by_time AS previous_row,
                   lead({_CASE}) OVER by_time AS next_case, lead({_TIME}) OVER by_time AS next_time
            FROM {relation}
            WINDOW by_time AS {_BY_TIME_IN_CASE if reading == _SORTED else _SCAN_ORDER}
        ),
        quality_flags AS (
            SELECT source_row, case_id, activity, event_time, first_of_case,
                   first_of_case AND last_of_case AS single,
                   first_of_case AND event_time <= $early_until AS early,
                   last_of_case AND event_time >= $late_from AS late,
                   coalesce(previous_case = case_id AND previous_time = event_time, false)
                   OR coalesce(next_case = case_id AND next_time = event_time, false) AS tied,
                   coalesce(
                       previous_case = case_id AND (event_time < previous_time OR source_row < previous_row), false
                   ) AS disordered,
                   coalesce(
                       previous_case = case_id
                       AND (event_time < previous_time OR event_time = previous_time AND source_row < previous_row),
                       false
                   ) AS unsorted
            FROM (
                SELECT *, NOT coalesce(previous_case = case_id, false) AS first_of_case,
                       NOT coalesce(next_case = case_id, false) AS last_of_case
                FROM quality_neighbours
            )
        ),
        quality_flagged AS MATERIALIZED (
            SELECT source_row, first_of_case, single, early, late, tied, disordered, unsorted,
                   CASE WHEN first_of_case THEN hash(case_id) END AS case_key,
                   CASE WHEN tied THEN hash(case_id, activity, event_time) END AS repeat_key,
                   CASE WHEN disordered THEN case_id END AS disordered_case
            FROM quality_flags
            WHERE first_of_case OR late OR tied OR disordered
        ),
        quality_reading AS (
            SELECT $reading = '{_SORTED}' OR (
                count(*) FILTER (first_of_case) = count(DISTINCT case_key)
                AND count(*) FILTER (CASE WHEN $reading = '{_CASE_ORDER}' THEN unsorted ELSE disordered END) = 0
            ) AS holds
            FROM quality_flagged
        ),
        quality_out_of_order AS (
            SELECT source_row
            FROM (
                SELECT {_ROW} AS source_row,
                       coalesce(lag({_CASE}) OVER by_row = {_CASE} AND {_TIME} < lag({_TIME}) OVER by_row, false)
                       AS out_of_order
                FROM {relation}
                WHERE {_CASE} IN (
                    SELECT disordered_case FROM quality_flagged WHERE disordered AND (SELECT holds FROM quality_reading)
                )
                WINDOW by_row AS {_BY_ROW_IN_CASE}
            )
            WHERE out_of_order
        ),
        quality_copies AS (
            SELECT count(*) AS copies, list({_ROW}) AS source_rows
            FROM {relation}
            WHERE {_ROW} IN (
                SELECT source_row FROM quality_flagged
                WHERE (SELECT holds FROM quality_reading)
                  AND repeat_key IN (SELECT repeat_key FROM quality_flagged GROUP BY repeat_key HAVING count(*) > 1)
            )
            GROUP BY {compared}
            HAVING count(*) > 1
        )
        SELECT (SELECT holds FROM quality_reading), count(*) FILTER (first_of_case),
               {", ".join(map(_count_and_first, ("single", "early", "late", "tied")))},
               (SELECT count(*) FROM quality_out_of_order),
               (SELECT min(source_row, {EXAMPLES_KEPT}) FROM quality_out_of_order),
               (SELECT sum(copies - 1)::BIGINT FROM quality_copies),
               (SELECT list_sort(flatten(list(list_sort(source_rows)[2:])))[:{EXAMPLES_KEPT}] FROM quality_copies)
        FROM quality_flagged
        """,
        {"reading": reading, "early_until": early_until, "late_from": late_from},
    ).fetchone()
    return _Neighbours(cases, *_pairs(located)) if holds else None


def _single_event_cases(neighbours: _Neighbours) -> Finding:
    # When most cases have one event the case column is probably an event id, not a customer.
    mostly = neighbours.single.count * 2 > neighbours.cases
    hint = " Most cases have a single event: is the case column really the customer?" if mostly else ""
    return _finding(
        SINGLE_EVENT_CASES,
        "warning" if mostly else "info",
        f"{neighbours.single.count:,} case(s) have a single event, so they add no path to the journey map.{hint}",
        neighbours.single,
    )


def _truncated_cases(neighbours: _Neighbours, edges: tuple[pd.Timestamp, pd.Timestamp] | None) -> list[Finding]:
    """Cases whose first (last) event lies in the first (last) 2% of the log's time span.

    A log is an extract: journeys under way when it starts or still running when it ends appear
    cut. Starting or ending that close to the edge is a hint, not proof.
    """
    if edges is None:
        return []
    early_until, late_from = edges
    percent = f"{EDGE_SHARE:.0%}"
    return [
        _finding(
            TRUNCATED_AT_START,
            "info",
            f"{neighbours.early.count:,} case(s) begin in the first {percent} of the log's time span "
            f"(by {_day(early_until)}); they may have begun before the extract and miss their first events.",
            neighbours.early,
        ),
        _finding(
            TRUNCATED_AT_END,
            "info",
            f"{neighbours.late.count:,} case(s) end in the last {percent} of the log's time span "
            f"(from {_day(late_from)}); they may still be under way and miss their last events.",
            neighbours.late,
        ),
    ]


def _near_duplicate_activities(first_rows: Mapping[str, int]) -> Finding:
    """Labels that differ only in case, accents, spacing or punctuation, or by a typo in a long word."""
    groups = _similar_label_groups(sorted(first_rows))
    return _finding(
        NEAR_DUPLICATE_ACTIVITIES,
        "warning",
        f"{len(groups):,} group(s) of activity labels look like spellings of the same activity; "
        "map them to one label if they are.",
        _Rows.of(np.array([first_rows[label] for group in groups for label in group], dtype="int64")),
        count=len(groups),
        details=(" ~ ".join(repr(label) for label in group) for group in groups),
    )


def _similar_label_groups(labels: list[str]) -> list[tuple[str, ...]]:
    by_key: dict[str, list[str]] = {}
    word_counts: dict[str, Counter] = {}
    for label in labels:
        words = _words(label)
        key = "".join(words)
        by_key.setdefault(key, []).append(label)
        word_counts.setdefault(key, Counter(words))
    # Shortest first: once the next key is too long to reach the ratio, so are all after it.
    keys = sorted(by_key, key=len)
    group_of = {key: index for index, key in enumerate(keys)}
    if len(keys) <= SIMILAR_LABEL_LIMIT:
        for index, key in enumerate(keys):
            for other in keys[index + 1 :]:
                if 2 * len(key) < SIMILAR_LABEL_RATIO * (len(key) + len(other)):
                    break
                if group_of[key] != group_of[other] and _typo_apart(key, other, word_counts):
                    _merge(group_of, group_of[key], group_of[other])
    members: dict[int, list[str]] = {}
    for key in keys:
        members.setdefault(group_of[key], []).extend(by_key[key])
    return sorted(tuple(sorted(group)) for group in members.values() if len(group) > 1)


def _words(label: str) -> list[str]:
    """Return the label's words without case, accents or punctuation."""
    plain = "".join(char for char in unicodedata.normalize("NFKD", label) if not unicodedata.combining(char))
    return re.findall(r"[^\W_]+", plain.casefold())


def _typo_apart(key: str, other: str, word_counts: Mapping[str, Counter]) -> bool:
    """Tell whether two labels differ only by a typo in long words (the cheap word test runs first)."""
    these, those = word_counts[key], word_counts[other]
    differing = (these - those) + (those - these)
    if not all(len(word) >= SHORTEST_TYPO_WORD and word.isalpha() for word in differing):
        return False
    matcher = difflib.SequenceMatcher(None, key, other)
    return matcher.quick_ratio() >= SIMILAR_LABEL_RATIO and matcher.ratio() >= SIMILAR_LABEL_RATIO


def _merge(group_of: dict[str, int], keep: int, absorb: int) -> None:
    for key, group in group_of.items():
        if group == absorb:
            group_of[key] = keep
