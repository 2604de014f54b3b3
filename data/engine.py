"""The DuckDB engine: an ingest-once layout of a canonical log and the primitives every view is built from.

`build_layout` sorts a canonical events Parquet file once into a DuckDB file: `events` in (case,
position) order with integer case codes, ENUM activities and channels and the successor's activity,
time and channel stored on each row; `activities` with every activity; `cases` with one row per
journey; `variants` with one row per distinct activity sequence;
`case_activities` and `case_pairs` with per-journey counts of activities and directly-follows pairs;
`attributes` (source name of each stored attribute) and `layout_info` (version and counts); and the
figures of the unfiltered views, computed once at ingest (`log_stats`, `activity_stats`, `pair_stats`,
`variant_stats`), which `Engine.query` serves instead of scanning the events when no filter is set.
Inside a case events are ordered by (timestamp, source_row), so equal timestamps keep file order, as
pm4py and Disco do. Every primitive of `Engine` is then one GROUP BY over these tables, with the
`Filters` compiled into a single `case_code IN (...)` predicate whose values are bound, never pasted.

Attribute columns are stored as `attr_0`, `attr_1`, … and mapped back to their source names, because
DuckDB identifiers ignore case: an attribute `Activity` beside the canonical `activity` (pm4py's
running example has both) would otherwise collide.
"""

from __future__ import annotations

import difflib
import gc
import itertools
import os
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Self

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.errors import (
    DatasetNotFound,
    EmptyLog,
    LogError,
    MappingError,
    OutdatedLayout,
    Problem,
    TimestampError,
    UnsupportedFormat,
)
from data.filters import Filters
from data.first_look import first_look
from data.isolation import previews_wanted, report_preview, report_progress
from data.schema import ACTIVITY, CANONICAL_COLUMNS, CASE_ID, CHANNEL, SOURCE_ROW, TIMESTAMP
from data.settings import Settings

__all__ = [
    "LAYOUT_VERSION",
    "Engine",
    "LogSummary",
    "build_layout",
    "build_layout_from_query",
    "connect",
    "export_layout_events",
    "layout_canonical_events",
    "layout_event_count",
    "layout_events",
    "python_lists",
    "quote_identifier",
    "sql_literal",
]

LAYOUT_VERSION = 6

_CATALOG = "layout"
_RAW_SOURCE = "raw_source"
# Nanosecond instants (pandas' default unit) are read to the microsecond of the canonical log.
_TIMESTAMP_TYPES = frozenset({"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ_NS"})
_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
_EVERY_JOURNEY = Filters()
# Each journey's channels, listed once per engine (`Engine.journey_channels`).
_JOURNEY_CHANNELS = "memory.main.journey_channels"
_SELECTIONS_KEPT = 64
_PER_JOURNEY_KEPT = 16
# A text attribute with at most this many distinct values in its first rows is sorted with the events as a code
# (`_layout_statements`, `_code_few_valued_texts`).
_CODED_TEXT_VALUES = 1_000
_TEXT_SAMPLE_ROWS = 100_000
# Events read per statement by the per-journey tables built a range of journeys at a time (`_in_journey_ranges`).
_EVENTS_PER_BATCH = 5_000_000
_EXPORTED_ROWS_PER_BATCH = 1_000_000  # how many canonical events an export holds in memory at once
# Row numbers spread over at most this many values per event are checked with a bitmap rather than a GROUP BY.
_ROW_NUMBER_BITS_PER_EVENT = 64

# The figures every view starts from, over the journeys in scope (see `Engine.query`). Computed at ingest over every
# journey and stored under the same names, they make the unfiltered views read a few hundred rows, not the events.
_STATS = {
    "activity_stats": """
        SELECT activity, sum(events)::BIGINT AS events, count(*) AS cases,
               median(first_offset_us / 1e6) AS median_seconds_to_reach
        FROM journey_activities GROUP BY activity
    """,
    "pair_stats": """
        SELECT c.source, c.target, c.events, c.cases, t.mean_seconds, t.quantiles[1] AS median_seconds,
               t.quantiles[2] AS p90_seconds, t.min_seconds, t.max_seconds
        FROM (
            SELECT source, target, sum(events)::BIGINT AS events, count(*) AS cases FROM journey_pairs GROUP BY ALL
        ) c JOIN (
            SELECT activity AS source, next_activity AS target, avg(seconds) AS mean_seconds,
                   quantile_cont(seconds, [0.5, 0.9]) AS quantiles, min(seconds) AS min_seconds,
                   max(seconds) AS max_seconds
            FROM (
                SELECT activity, next_activity, (epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6 AS seconds
                FROM steps WHERE next_activity IS NOT NULL
            )
            GROUP BY ALL
        ) t USING (source, target)
    """,
    "variant_stats": """
        SELECT variant_id, count(*) AS cases, median(duration_seconds) AS median_duration_seconds
        FROM journeys GROUP BY variant_id
    """,
    "log_stats": """
        SELECT count(*) AS cases, coalesce(sum(events), 0)::BIGINT AS events,
               (SELECT count(DISTINCT activity) FROM journey_activities) AS activities,
               count(DISTINCT variant_id) AS variants, min(start_time) AS start_time, max(end_time) AS end_time
        FROM journeys
    """,
}


# The stats whose medians are stored a few activities at a time (`_create_stats`), with how many values each activity
# brings to them, and the scope of a batch: the steps, journey activities and journey pairs from its activities.
_STATS_VALUES_BY_ACTIVITY = {
    "activity_stats": f"SELECT activity::VARCHAR, count(*) FROM {_CATALOG}.case_activities GROUP BY 1",
    "pair_stats": f"SELECT source::VARCHAR, sum(events) FROM {_CATALOG}.case_pairs GROUP BY 1",
}
_ACTIVITY_BATCH_SCOPE = ", ".join(
    f"{name} AS NOT MATERIALIZED (SELECT * FROM {_CATALOG}.{table} WHERE list_contains($batch, {column}::VARCHAR))"
    for name, table, column in (
        ("steps", "events", "activity"),
        ("journey_activities", "case_activities", "activity"),
        ("journey_pairs", "case_pairs", "source"),
    )
)
# Values of the medians per statement: 8 bytes each in DuckDB, about 80 MB of the import's memory.
_STATS_VALUES_PER_BATCH = 10_000_000


@dataclass(frozen=True)
class LogSummary:
    """Headline counts of the (filtered) log; times are None when no journey is selected."""

    cases: int
    events: int
    activities: int
    variants: int
    start_time: pd.Timestamp | None
    end_time: pd.Timestamp | None

    @classmethod
    def from_row(cls, row: pd.Series) -> LogSummary:
        """Read the counts from one result row named like the fields; no journey leaves the times missing."""
        return cls(
            cases=int(row["cases"]),
            events=int(row["events"]),
            activities=int(row["activities"]),
            variants=int(row["variants"]),
            start_time=None if pd.isna(row["start_time"]) else row["start_time"],
            end_time=None if pd.isna(row["end_time"]) else row["end_time"],
        )


def build_layout(events_parquet: Path, layout_path: Path, settings: Settings) -> None:
    """Write the DuckDB layout of a canonical events Parquet file, replacing `layout_path` atomically.

    The layout is built in a temporary file beside the target and renamed over it at the end, so a
    reader never sees half a layout and a crash leaves the previous one in place.
    """
    events_parquet = Path(events_parquet)
    if not events_parquet.is_file():
        raise DatasetNotFound(
            Problem("The stored events file is missing.", fix="Import the log again.", file=str(events_parquet))
        )
    try:
        names = pq.read_schema(events_parquet).names
    except (pa.ArrowException, OSError) as error:
        raise UnsupportedFormat(
            Problem(
                f"This is not a readable Parquet file ({error}).", fix="Import the log again.", file=str(events_parquet)
            )
        ) from None
    source = f"SELECT * FROM read_parquet({sql_literal(events_parquet)})"
    build_layout_from_query(source, names, layout_path, settings, file=events_parquet.name)


def build_layout_from_query(
    query: str,
    names: Sequence[str],
    layout_path: Path,
    settings: Settings,
    *,
    setup: Sequence[str] = (),
    relations: Mapping[str, pa.Table] | None = None,
    file: str | None = None,
) -> None:
    """Write the layout of the canonical events a SELECT returns, atomically as `build_layout` does.

    This is how an importer stores no canonical copy: the layout is built straight from the source relation.
    `names` are the query's column names in order (matched by position, as DuckDB renames columns that differ only
    in case); `setup` runs first on the connection (macros the query uses), and `relations` (name: Arrow table) are
    registered for the query to read.
    """
    layout_path = Path(layout_path)
    layout_path.parent.mkdir(parents=True, exist_ok=True)
    building = layout_path.with_name(f".{layout_path.name}.{uuid.uuid4().hex}.building")
    try:
        with connect(settings, importing=True) as connection:
            for name, table in (relations or {}).items():
                connection.register(name, table)
            for statement in setup:
                connection.execute(statement)
            connection.execute(f"CREATE TEMP VIEW {_RAW_SOURCE} AS {query}")
            connection.execute(f"ATTACH {sql_literal(building)} AS {_CATALOG}")
            _build(connection, list(names), file)
            connection.execute(f"DETACH {_CATALOG}")
        os.replace(building, layout_path)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)


def as_parquet_reads(table: pa.Table) -> pa.Table:
    """Return `table` with the types DuckDB gives its columns read from Parquet rather than from Arrow.

    From Arrow, DuckDB reads durations as intervals and times in seconds or milliseconds as types of their own, and
    cannot read half floats; from Parquet they are whole numbers of their unit, microseconds and floats. A frame's
    layout and quality report are then the same whether DuckDB reads it from memory or from its Parquet file.
    """
    for position, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_duration(kind):
            read_as = pa.int64()
        elif pa.types.is_timestamp(kind) and kind.unit in ("s", "ms"):
            read_as = pa.timestamp("us", kind.tz)
        elif pa.types.is_float16(kind):
            read_as = pa.float32()
        else:
            continue
        table = table.set_column(position, field.name, table.column(position).cast(read_as))
    return table


def _canonical_events_query(events: str, cases: str, stored_as: Sequence[str]) -> str:
    """Return the SELECT of the canonical events (file order) from a layout's `events` and `cases`.

    The attributes keep the columns the layout stores them as (`stored_as`, in order): a source name may be one
    DuckDB cannot give a column (empty, or another's but for case), so the caller names them (`_canonical_events`).
    The layout is the stored form: this is how the canonical log is exported on demand.
    """
    carried = "".join(f", e.{quote_identifier(stored)}" for stored in stored_as)
    return f"""
        SELECT c.case_id AS {CASE_ID}, e.activity::VARCHAR AS {ACTIVITY}, e.timestamp AS {TIMESTAMP},
               e.channel::VARCHAR AS {CHANNEL}, e.source_row AS {SOURCE_ROW}{carried}
        FROM {events} e JOIN {cases} c USING (case_code)
        ORDER BY e.source_row
    """


def layout_canonical_events(layout_path: Path, settings: Settings) -> pa.Table:
    """Return the canonical events stored in the DuckDB layout at `layout_path`, as imported, in file order.

    Reads a layout of any version that has the `events`, `cases` and `attributes` tables.
    """
    with _canonical_events(layout_path, settings) as (connection, query, names):
        return connection.sql(query).to_arrow_table().rename_columns(names)


def export_layout_events(layout_path: Path, events_parquet: Path, settings: Settings) -> None:
    """Write the canonical events of the DuckDB layout at `layout_path` as one Parquet file, in file order.

    DuckDB hands them over in batches, named in Arrow (any source name, even one DuckDB cannot take), so a log
    larger than memory exports too; a layout another version of Parcours wrote is rebuilt from this file.
    """
    with _canonical_events(layout_path, settings) as (connection, query, names):
        batches = connection.sql(query).to_arrow_reader(_EXPORTED_ROWS_PER_BATCH)
        schema = pa.schema([field.with_name(name) for field, name in zip(batches.schema, names, strict=True)])
        with pq.ParquetWriter(events_parquet, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))


@contextmanager
def _canonical_events(
    layout_path: Path, settings: Settings
) -> Iterator[tuple[duckdb.DuckDBPyConnection, str, list[str]]]:
    """Yield a connection with the layout attached read-only, the SELECT of its canonical events and their names."""
    layout_path = Path(layout_path)
    if not layout_path.is_file():
        raise DatasetNotFound(
            Problem("The stored journey layout is missing.", fix="Import the log again.", file=str(layout_path))
        )
    with connect(settings) as connection:
        connection.execute(f"ATTACH {sql_literal(layout_path)} AS {_CATALOG} (READ_ONLY)")
        attributes = connection.execute(
            f"SELECT name, stored_as FROM {_CATALOG}.attributes ORDER BY position"
        ).fetchall()
        names = [*CANONICAL_COLUMNS, *(name for name, _stored in attributes)]
        stored_as = [stored for _name, stored in attributes]
        yield connection, _canonical_events_query(f"{_CATALOG}.events", f"{_CATALOG}.cases", stored_as), names


def layout_event_count(layout_path: Path, settings: Settings) -> int:
    """Return the number of events a layout holds (from its `layout_info`, without scanning the events)."""
    with connect(settings) as connection:
        connection.execute(f"ATTACH {sql_literal(layout_path)} AS {_CATALOG} (READ_ONLY)")
        return connection.execute(f"SELECT events FROM {_CATALOG}.layout_info").fetchone()[0]


class Engine:
    """Read-only access to one layout; every primitive takes a `Filters` and returns a plain DataFrame.

    Each query runs on its own cursor, so one Engine may serve several threads, and several Engines
    may open the same layout file at once.

    >>> with Engine(layout_path) as engine:  # doctest: +SKIP
    ...     engine.dfg(Filters(channels={"store"}))
    """

    def __init__(self, layout_path: Path, settings: Settings | None = None):
        layout_path = Path(layout_path)
        if not layout_path.is_file():
            raise DatasetNotFound(
                Problem("The stored journey layout is missing.", fix="Import the log again.", file=str(layout_path))
            )
        connection = connect(settings)
        try:
            connection.execute(f"ATTACH {sql_literal(layout_path)} AS {_CATALOG} (READ_ONLY)")
        except duckdb.Error as error:
            connection.close()
            raise UnsupportedFormat(
                Problem(f"This is not a DuckDB layout ({error}).", fix="Import the log again.", file=str(layout_path))
            ) from None
        self._adopt(connection, str(layout_path))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, settings: Settings | None = None) -> Engine:
        """Build the same layout in memory from a canonical frame (for tests and CLIs on plain files).

        `channel` may be left out (no channel) and so may `source_row` (the frame's row order).
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"from_frame needs a pandas DataFrame, not {type(frame).__name__}")
        defaults = {CHANNEL: pd.Series(pd.NA, index=frame.index, dtype="str"), SOURCE_ROW: np.arange(len(frame))}
        frame = frame.assign(**{name: value for name, value in defaults.items() if name not in frame.columns})
        connection = connect(settings)
        try:
            connection.register(_RAW_SOURCE, frame)
            connection.execute(f"ATTACH ':memory:' AS {_CATALOG}")
            _build(connection, [str(name) for name in frame.columns], None)
            connection.unregister(_RAW_SOURCE)
        except BaseException:
            connection.close()
            raise
        engine = cls.__new__(cls)
        engine._adopt(connection, None)
        return engine

    def _adopt(self, connection: duckdb.DuckDBPyConnection, file: str | None) -> None:
        """Check the layout version and read the small metadata every query needs."""
        self._connection = connection
        self._selections: dict[Filters, str] = {}
        self._per_journey: dict[tuple[str, str], str] = {}
        self._tables_made = itertools.count()
        self._summaries: dict[Filters, LogSummary] = {}
        self._channels_listed = False
        self._selections_lock = threading.Lock()
        try:
            _check_layout_version(connection, file)
        except LogError:
            self.close()
            raise
        stored = connection.execute(f"SELECT name, stored_as FROM {_CATALOG}.attributes ORDER BY position").fetchall()
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = 'events'",
                [_CATALOG],
            ).fetchall()
        )
        self._stored_as: dict[str, str] = dict(stored)
        self._attribute_types = {name: types[column] for name, column in stored}
        self._activity_names = tuple(self.activities()["activity"])

    def close(self) -> None:
        """Release the DuckDB connection; the Engine cannot be used afterwards."""
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def activity_names(self) -> tuple[str, ...]:
        """Every activity of the log, most frequent first (ties by name)."""
        return self._activity_names

    @property
    def attribute_columns(self) -> dict[str, str]:
        """Attribute names, in source order, with their types as DuckDB names them."""
        return dict(self._attribute_types)

    def summary(self, filters: Filters = _EVERY_JOURNEY) -> LogSummary:
        """Return the headline counts of the selected journeys, kept with the selection: most views ask for them."""
        known = self._summaries.get(filters) if isinstance(filters, Filters) else None
        if known is None:
            known = LogSummary.from_row(self.query("SELECT * FROM log_stats", filters=filters).iloc[0])
            if len(self._summaries) < _SELECTIONS_KEPT:
                self._summaries[filters] = known
        return known

    def activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, events, cases — by events desc, activity."""
        return self.query(
            """
            SELECT * FROM (SELECT activity::VARCHAR AS activity, events, cases FROM activity_stats)
            ORDER BY events DESC, activity
            """,
            filters=filters,
        )

    def dfg(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return the directly-follows pairs with counts and times — by events desc, source, target.

        `events` counts how often target directly follows source, `cases` the journeys doing so at
        least once; times are seconds between the two events (median and p90 interpolate linearly,
        as numpy does).
        """
        return self.query(
            """
            SELECT * FROM (
                SELECT source::VARCHAR AS source, target::VARCHAR AS target, * EXCLUDE (source, target)
                FROM pair_stats
            )
            ORDER BY events DESC, source, target
            """,
            filters=filters,
        )

    def start_activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, cases for the first activity of each journey — by cases desc, activity."""
        return self._boundary_activities("first_activity", filters)

    def end_activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, cases for the last activity of each journey — by cases desc, activity."""
        return self._boundary_activities("last_activity", filters)

    def _boundary_activities(self, column: str, filters: Filters) -> pd.DataFrame:
        where, params = self._predicate(filters)
        return self._query(
            f"""
            SELECT {column}::VARCHAR AS activity, count(*) AS cases FROM {_CATALOG}.cases WHERE {where}
            GROUP BY 1 ORDER BY cases DESC, activity
            """,
            params,
        )

    def variants(self, filters: Filters = _EVERY_JOURNEY, limit: int | None = None) -> pd.DataFrame:
        """Return variant_id, activities (list of str), cases, share, length, median_duration_seconds.

        Sorted by cases desc then activities; `share` is of all selected journeys, also when `limit`
        keeps only the most frequent variants.
        """
        limit_clause, limit_params = _limit(limit)
        frame = self.query(
            f"""
            SELECT s.variant_id, v.activities, s.cases, s.cases / sum(s.cases) OVER () AS share, v.length,
                   s.median_duration_seconds
            FROM variant_stats s JOIN all_variants v USING (variant_id)
            ORDER BY s.cases DESC, v.sequence_rank {limit_clause}
            """,
            limit_params,
            filters=filters,
        )
        return frame.assign(activities=python_lists(frame["activities"]))

    def cases(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return one row per selected journey — by case_id."""
        where, params = self._predicate(filters)
        return self._query(
            f"""
            SELECT case_id, first_activity::VARCHAR AS first_activity, last_activity::VARCHAR AS last_activity,
                   start_time, end_time, events, duration_seconds, variant_id
            FROM {_CATALOG}.cases WHERE {where} ORDER BY case_code
            """,
            params,
        )

    def case_activity_counts(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, activity, count in long format (clustering features) — by case_id, activity."""
        where, params = self._predicate(filters)
        return self._query(
            f"""
            SELECT c.case_id, a.activity::VARCHAR AS activity, a.events AS "count"
            FROM {_CATALOG}.case_activities a JOIN {_CATALOG}.cases c USING (case_code)
            WHERE {where} ORDER BY case_code, activity
            """,
            params,
        )

    def channel_shares(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, channel, events, share of the journey's events — by case_id, channel.

        Events without a channel count in the journey's total, so shares add up to less than one
        when part of a journey has no channel; journeys with no channel at all are absent.
        """
        where, params = self._predicate(filters)
        return self._query(
            f"""
            SELECT c.case_id, e.channel, e.events, e.events / c.events AS share
            FROM (
                SELECT case_code, channel::VARCHAR AS channel, count(*) AS events
                FROM {_CATALOG}.events WHERE channel IS NOT NULL AND {where} GROUP BY ALL
            ) e JOIN {_CATALOG}.cases c USING (case_code)
            ORDER BY e.case_code, e.channel
            """,
            params,
        )

    def events(self, filters: Filters = _EVERY_JOURNEY, limit: int | None = None) -> pd.DataFrame:
        """Return the canonical events of the selected journeys with `pos`, by case then position."""
        where, params = self._predicate(filters)
        limit_clause, limit_params = _limit(limit)
        attributes = "".join(f", e.{quote_identifier(column)}" for column in self._stored_as.values())
        frame = self._query(
            f"""
            SELECT c.case_id, e.pos::BIGINT AS pos, e.activity::VARCHAR AS activity, e.timestamp,
                   e.channel::VARCHAR AS channel, e.source_row{attributes}
            FROM {_CATALOG}.events e JOIN {_CATALOG}.cases c USING (case_code)
            WHERE {where} ORDER BY case_code, e.pos {limit_clause}
            """,
            params + limit_params,
        )
        return frame.set_axis([CASE_ID, "pos", ACTIVITY, TIMESTAMP, CHANNEL, SOURCE_ROW, *self._stored_as], axis=1)

    def attribute_values(self, column: str, limit: int = 50) -> pd.DataFrame:
        """Return value, cases for one attribute (the most common values first), for filter widgets."""
        self._check_attributes([column])
        return self._values(quote_identifier(self._stored_as[column]), limit)

    def channel_values(self) -> pd.DataFrame:
        """Return value, cases for every channel (the one most journeys used first), for filter widgets."""
        return self._values(CHANNEL, None, as_text=True)

    def _values(self, column: str, limit: int | None, *, as_text: bool = False) -> pd.DataFrame:
        """Count the journeys of each value of an events column; an ENUM is grouped as is, then named."""
        limit_clause, limit_params = _limit(limit)
        return self._query(
            f"""
            SELECT {column}{"::VARCHAR" if as_text else ""} AS value, count(DISTINCT case_code) AS cases
            FROM {_CATALOG}.events WHERE {column} IS NOT NULL GROUP BY {column}
            ORDER BY cases DESC, value {limit_clause}
            """,
            limit_params,
        )

    def attribute_column(self, name: str) -> str:
        """Return the quoted column of attribute `name` in `steps`, for SQL written with `query`."""
        self._check_attributes([name])
        return quote_identifier(self._stored_as[name])

    def query(
        self,
        sql: str,
        params: Sequence = (),
        filters: Filters = _EVERY_JOURNEY,
        *,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> pd.DataFrame:
        """Run library SQL over the selected journeys and return the result.

        The one extension point for discovery and segmentation, so that every view is a GROUP BY over the
        same selection. `sql` sees:
        - `journeys`: the `cases` rows kept by `filters`; `steps`: their `events` rows;
        - `journey_activities`: per journey and activity, events, first_pos, last_pos, and first_offset_us and
          last_offset_us (microseconds after the journey's start of its first and last event there);
        - `journey_pairs`: per journey, the directly-follows pairs with their counts;
        - `all_variants` (variant_id, activities, cases, length, sequence_rank): every variant, to look
          sequences up by id;
        - `all_activities`: every activity, in the layout's own activity type. Mark a few activities there,
          then join the marks on `activity` to the big tables rather than turning each step's activity into text;
        - `all_journey_activities` and `all_journey_pairs`: the two per-journey tables for every journey, for
          joining to a relation that already holds selected journeys only (the filters are not applied twice);
        - the figures of the selected journeys, read from ingest when no filter is set: `activity_stats`
          (activity, events, cases, median_seconds_to_reach), `pair_stats` (source, target, events, cases and the
          mean, median, p90, min and max seconds between the two), `variant_stats` (variant_id, cases,
          median_duration_seconds) and `log_stats` (one row: cases, events, activities, variants, start_time,
          end_time).
        `sql` may begin with its own WITH; `params` bind its `?`, `tables` names frames it may read (one value per
        journey, say: a list that long is slow to bind as a parameter). Attribute columns of `steps` are named by
        `attribute_column`.
        """
        kept, filter_params = self._kept(filters)
        scope = _scope(kept)
        body = sql.strip()
        if body[:4].upper() == "WITH" and body[4:5].isspace():
            statement = f"WITH {', '.join(scope)}, {body[5:]}"
        else:
            statement = f"WITH {', '.join(scope)} {body}"
        return self._query(statement, [*filter_params, *params], tables)

    def per_journey(self, sql: str, params: Sequence = ()) -> str:
        """Return the name of a table holding `sql` run once over every journey, for figures of one journey each.

        What a journey's own events decide, its outcome say, does not change with the filters: computed once per
        engine and read by every view of every filter (joined to `journeys`), it is not recomputed by each. `sql`
        sees what `Engine.query` offers with no filter set. The engine keeps the last `_PER_JOURNEY_KEPT` such
        tables (a definition edited again and again makes a new one each time).
        """
        key = (sql, repr(list(params)))
        with self._selections_lock:
            table = self._per_journey.get(key)
            if table is None:
                body = sql.strip()
                if body[:4].upper() == "WITH" and body[4:5].isspace():
                    statement = f"WITH {', '.join(_scope(None))}, {body[5:]}"
                else:
                    statement = f"WITH {', '.join(_scope(None))} {body}"
                table = f"memory.main.per_journey_{next(self._tables_made)}"
                with self._connection.cursor() as cursor:
                    cursor.execute(f"CREATE TABLE {table} AS {statement}", list(params))
                    self._per_journey[key] = table
                    while len(self._per_journey) > _PER_JOURNEY_KEPT:
                        oldest = self._per_journey.pop(next(iter(self._per_journey)))
                        cursor.execute(f"DROP TABLE {oldest}")
        return table

    def selected(self, table: str, filters: Filters) -> str:
        """Return a SELECT of the rows of `table` (a `per_journey` table) of the journeys `filters` selects, for SQL
        that `query` runs under the same filters.

        With no filter set it is the whole table: reading it through the selected journeys would join every
        journey to itself (0.03 s at 10M events, a tenth of the stage KPIs).
        """
        return _kept_rows(table, every_journey=filters.is_empty)

    def journey_channels(self) -> str:
        """Return the name of a table of each journey's channels (case_code, channel), made once per engine and
        kept as long as it (never dropped, unlike `per_journey`'s: a selection being made reads it).

        Once it is made, a channel filter's selection reads it: a fifth of a scan of every event (0.05 s against
        0.23 s at 10M events, where making it took 0.4 s).
        """
        with self._selections_lock:
            if not self._channels_listed:
                with self._connection.cursor() as cursor:
                    cursor.execute(
                        f"CREATE TABLE {_JOURNEY_CHANNELS} AS SELECT DISTINCT case_code, channel FROM {_CATALOG}.events"
                        " WHERE channel IS NOT NULL"
                    )
                self._channels_listed = True
        return _JOURNEY_CHANNELS

    def _predicate(self, filters: Filters) -> tuple[str, list]:
        """Return the condition on `case_code` that keeps the selected journeys, and its parameters."""
        kept, params = self._kept(filters)
        return ("TRUE", []) if kept is None else (f"case_code IN ({kept})", params)

    def _kept(self, filters: Filters) -> tuple[str | None, list]:
        """Return a SELECT of the case codes the filters keep (None for every journey) and its parameters.

        The journeys a filter keeps are found once per engine and kept in a small table of case codes, since a
        view asks several questions of one selection and the conditions on events scan every event. Past
        `_SELECTIONS_KEPT` filters the conditions are evaluated in each query instead.
        """
        if not isinstance(filters, Filters):
            raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
        self._check_attributes([column for column, _values in filters.attributes])
        if filters.is_empty:
            return None, []
        with self._selections_lock:
            table = self._selections.get(filters)
        if table is None and filters.case_ids is not None:
            table = self._customers_kept(filters)
        if table is None:
            with self._selections_lock:
                table = self._selections.get(filters)
                if table is None:
                    if len(self._selections) >= _SELECTIONS_KEPT:
                        where, params = _case_predicate(filters, self._stored_as, self._attribute_types)
                        return f"SELECT case_code FROM {_CATALOG}.cases WHERE {where}", params
                    # Once listed (Compare lists them), each journey's channels spare the channel condition a
                    # scan of the events; listing them costs two scans, so a filter alone does not.
                    channels = _JOURNEY_CHANNELS if self._channels_listed else None
                    where, params = _case_predicate(filters, self._stored_as, self._attribute_types, channels)
                    table = self._keep(filters, f"SELECT case_code FROM {_CATALOG}.cases WHERE {where}", params)
        return f"SELECT case_code FROM {table}", []

    def _customers_kept(self, filters: Filters) -> str | None:
        """Keep the chosen customers (`case_ids`) of the selection the other conditions make; None past the limit.

        A segment is often the filter bar's selection narrowed to a few hundred thousand customers: the bar's
        selection is kept already (or now, for the next segment of it), and the customers are handed to DuckDB as
        a table, where binding them as a list and running the bar's conditions on the events again took 0.15 s at
        10M events.
        """
        base, params = self._kept(replace(filters, case_ids=None))
        if params:
            return None
        within = "" if base is None else f" AND case_code IN ({base})"
        chosen = pa.table({"case_id": pa.array(list(filters.case_ids), pa.string())})
        with self._selections_lock:
            table = self._selections.get(filters)
            if table is None and len(self._selections) < _SELECTIONS_KEPT:
                table = self._keep(
                    filters,
                    f"SELECT case_code FROM {_CATALOG}.cases WHERE case_id IN (SELECT case_id FROM chosen){within}",
                    tables={"chosen": chosen},
                )
        return table

    def _keep(
        self, filters: Filters, kept: str, params: Sequence = (), *, tables: Mapping[str, pa.Table] | None = None
    ) -> str:
        """Store the case codes `kept` selects as the selection of `filters` (the caller holds the lock)."""
        table = f"memory.main.selection_{len(self._selections)}"
        with self._connection.cursor() as cursor:
            for name, frame in (tables or {}).items():
                cursor.register(name, frame)
            cursor.execute(f"CREATE TABLE {table} AS {kept}", list(params))
        self._selections[filters] = table
        return table

    def _check_attributes(self, columns: Sequence[str]) -> None:
        """Raise MappingError naming every unknown attribute column, with the closest known names."""
        known = list(self._stored_as)
        problems = [
            Problem(
                "This log has no such attribute.",
                fix=_suggestion(column, known),
                column=column,
            )
            for column in dict.fromkeys(columns)
            if column not in self._stored_as
        ]
        if problems:
            raise MappingError(problems)

    def _query(self, sql: str, params: Sequence = (), tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        table = self._arrow(sql, params, tables)
        with _cycle_collector_paused():
            return table.to_pandas()

    def _arrow(self, sql: str, params: Sequence = (), tables: Mapping[str, pd.DataFrame] | None = None) -> pa.Table:
        # Arrow keeps string columns as pandas strings even when empty or all null.
        with self._connection.cursor() as cursor:
            for name, frame in (tables or {}).items():
                cursor.register(name, frame)
            return cursor.sql(sql, params=list(params)).to_arrow_table()


def _scope(kept: str | None) -> list[str]:
    """Return the CTEs `Engine.query` offers over the journeys `kept` selects; every journey reads the stored stats."""
    if kept is None:
        stats = [f"{name} AS NOT MATERIALIZED (SELECT * FROM {_CATALOG}.{name})" for name in _STATS]
    else:
        stats = [f"{name} AS ({sql})" for name, sql in _STATS.items()]
    return [*_selection(kept), *stats]


def _selection(kept: str | None) -> list[str]:
    """Return the CTEs of the layout's tables restricted to the journeys whose codes `kept` selects (None: all).

    A table read twice must not be copied first (DuckDB materialises a CTE used twice): the kept codes are. They
    restrict a table by an inner join rather than `IN`: DuckDB then builds its hash table on the kept codes, where
    under `IN` it misjudged a restricted table as small and built on millions of rows (17 % of every filtered
    page's query time at 10M events). `all_journey_activities` and `all_journey_pairs` are the whole tables, for a
    view that joins them to a relation already holding only selected journeys (its outcomes, say).
    """
    return [
        *([] if kept is None else [f"kept AS MATERIALIZED ({kept})"]),
        f"all_variants AS NOT MATERIALIZED (SELECT * FROM {_CATALOG}.variants)",
        f"all_activities AS NOT MATERIALIZED (SELECT activity FROM {_CATALOG}.activities)",
        f"all_journey_activities AS NOT MATERIALIZED (SELECT * FROM {_CATALOG}.case_activities)",
        f"all_journey_pairs AS NOT MATERIALIZED (SELECT * FROM {_CATALOG}.case_pairs)",
        *(
            f"{name} AS NOT MATERIALIZED ({_kept_rows(f'{_CATALOG}.{table}', every_journey=kept is None)})"
            for name, table in (
                ("journeys", "cases"),
                ("steps", "events"),
                ("journey_activities", "case_activities"),
                ("journey_pairs", "case_pairs"),
            )
        ),
    ]


def _kept_rows(table: str, *, every_journey: bool) -> str:
    """Return a SELECT of the rows of `table` of the journeys in the `kept` CTE, or of every row."""
    if every_journey:
        return f"SELECT * FROM {table}"
    return f"SELECT t.* FROM kept JOIN {table} t USING (case_code)"


def _create_stats(connection: duckdb.DuckDBPyConnection) -> None:
    """Store the stats of every journey in the attached layout: the last step of every layout build.

    DuckDB holds every value of a group's median in memory, so the stats with a median per activity or per step are
    stored for a few activities at a time (`_activity_batches`), each batch reading only the steps, journey
    activities and journey pairs from its activities: at 100M events, every step's median at once needed more than
    the import's 1 GB.
    """
    scope = ", ".join(_selection(None))
    for name, sql in _STATS.items():
        if name not in _STATS_VALUES_BY_ACTIVITY:
            connection.execute(f"CREATE TABLE {_CATALOG}.{name} AS WITH {scope} {sql}")
            continue
        for index, activities in enumerate(_activity_batches(connection, _STATS_VALUES_BY_ACTIVITY[name])):
            statement = f"CREATE TABLE {_CATALOG}.{name} AS" if index == 0 else f"INSERT INTO {_CATALOG}.{name}"
            connection.execute(f"{statement} WITH {_ACTIVITY_BATCH_SCOPE} {sql}", {"batch": activities})


def _activity_batches(connection: duckdb.DuckDBPyConnection, weights: str) -> list[list[str]]:
    """Split the activities into batches of about `_STATS_VALUES_PER_BATCH` values, in the order of `weights` (a
    SELECT of each activity and its number of values); an activity with more values is a batch of its own, and a
    log without activities gives one empty batch, so that the table is created."""
    batches: list[list[str]] = [[]]
    values = 0
    for activity, count in connection.execute(f"{weights} ORDER BY 1").fetchall():
        if batches[-1] and values + count > _STATS_VALUES_PER_BATCH:
            batches.append([])
            values = 0
        batches[-1].append(activity)
        values += count
    return batches


def python_lists(arrays: pd.Series) -> pd.Series:
    """Return a column of NumPy arrays (how pandas reads SQL lists) as Python lists, fast even for a million rows."""
    with _cycle_collector_paused():
        return arrays.map(np.ndarray.tolist)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while many acyclic objects are made (a row's list, a row's array).

    Left on, it rescans every live container each few hundred allocations: turning 370,000 variants' activity
    lists into Python took five times longer.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def layout_events(connection: duckdb.DuckDBPyConnection, layout_path: Path) -> str:
    """Attach the layout at `layout_path` read-only and return a view of its events under the canonical names.

    The view lists each case's events together, by time then file order, so that the quality report reads
    them in one pass (`assess_relation(..., in_case_order=True)`) instead of sorting the log again. Its
    `case_id` is the case's integer code, which identifies the case as well as its name.
    """
    connection.execute(f"ATTACH {sql_literal(layout_path)} AS {_CATALOG} (READ_ONLY)")
    _check_layout_version(connection, str(layout_path))
    attributes = connection.execute(f"SELECT stored_as FROM {_CATALOG}.attributes ORDER BY position").fetchall()
    connection.execute(
        f"""
        CREATE TEMP VIEW layout_events AS
        SELECT case_code AS {CASE_ID}, activity AS {ACTIVITY}, timestamp AS {TIMESTAMP}, channel AS {CHANNEL},
               source_row AS {SOURCE_ROW}{"".join(f", {stored}" for (stored,) in attributes)}
        FROM {_CATALOG}.events
        """
    )
    return "layout_events"


def _check_layout_version(connection: duckdb.DuckDBPyConnection, file: str | None) -> None:
    """Raise OutdatedLayout for a layout another version of Parcours wrote, UnsupportedFormat for no layout."""
    try:
        (version,) = connection.execute(f"SELECT layout_version FROM {_CATALOG}.layout_info").fetchone()
    except duckdb.Error:
        version = None
    if version != LAYOUT_VERSION:
        raise (UnsupportedFormat if version is None else OutdatedLayout)(
            Problem(
                f"This journey layout has version {version}, this Parcours reads version {LAYOUT_VERSION}.",
                fix="Rebuild the layout by importing the log again.",
                file=file,
            )
        )


def connect(settings: Settings | None, *, importing: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a private in-memory DuckDB with the operator's limits; layouts are attached to it.

    An import's connection (`importing`) gets the import's own memory limit: building a layout sorts and windows
    every event, which takes whatever DuckDB is allowed (1.9 GB at 10M events under the 4 GB default) when spilling
    the rest to the temporary folder costs little.
    """
    settings = Settings.from_env() if settings is None else settings
    memory_limit = f"{settings.import_memory_mb}MB" if importing else settings.duckdb_memory_limit
    connection = duckdb.connect(
        ":memory:",
        config={
            "threads": settings.duckdb_threads,
            "memory_limit": memory_limit,
            "temp_directory": str(settings.duckdb_temp_dir),
        },
    )
    connection.execute("SET GLOBAL TimeZone = 'UTC'")
    connection.execute("SET enable_progress_bar = false")
    return connection


def _build(connection: duckdb.DuckDBPyConnection, names: list[str], file: str | None) -> None:
    """Create the layout tables in the attached catalog from the registered raw source."""
    attributes = _create_source_view(connection, names, file)
    _check_source_values(connection, file)
    stored_as = [f"attr_{index}" for index in range(len(attributes))]
    for statement in _layout_statements(stored_as, _code_few_valued_texts(connection, stored_as)):
        if callable(statement):
            statement(connection)
        else:
            connection.execute(statement)
    connection.execute(
        f"""
        CREATE TABLE {_CATALOG}.attributes AS
        SELECT unnest(range(?)) AS position, unnest(?::VARCHAR[]) AS name, unnest(?::VARCHAR[]) AS stored_as
        """,
        [len(attributes), attributes, stored_as],
    )
    connection.execute(
        f"""
        CREATE TABLE {_CATALOG}.layout_info AS
        SELECT ?::INTEGER AS layout_version,
               (SELECT count(*) FROM {_CATALOG}.events) AS events,
               (SELECT count(*) FROM {_CATALOG}.cases) AS cases,
               (SELECT count(*) FROM {_CATALOG}.variants) AS variants,
               (SELECT count(*) FROM (SELECT DISTINCT activity FROM {_CATALOG}.case_activities)) AS activities
        """,
        [LAYOUT_VERSION],
    )
    for temporary in ("TABLE journeys", "TABLE representatives", "TABLE sequences", "TABLE case_codes", "VIEW source"):
        connection.execute(f"DROP {temporary}")
    report_progress("Computing the journey map's figures…")
    _create_stats(connection)


def _layout_statements(
    attributes: Sequence[str], coded: Collection[str] = ()
) -> tuple[str | Callable[[duckdb.DuckDBPyConnection], None], ...]:
    """Return the SQL (or the function sending it) that turns the `source` view into the layout, `attributes` naming
    the attribute columns.

    The attributes in `coded` are sorted with the events as codes of a temporary ENUM `<attribute>_code` and
    stored as text again: sorting text costs DuckDB most of the events table's build (at 10M events with three text
    attributes, 17 CPU seconds against 12 coded), and the stored table is the same.

    `variants.sequence_rank` orders the distinct sequences once, so that listing variants by frequency needs
    no sort of activity lists at query time (sorted as lists of the activity ENUM, whose order is the names', five
    times faster than lists of text, and without the rows' text lists, which doubled the sort);
    `case_activities` keeps when each journey first reached each activity (positions of its first and last event
    there, and microseconds since its start of both), which the journey map and the stage views read instead of scanning
    the events.
    A journey's variant is found without sorting every journey's activity list: the XOR over its
    events of a hash of (position, activity code) identifies the ordered sequence (two sequences share
    it with odds of about 2^-64; hashing the pair as one integer matters, as DuckDB's multi-argument
    hash is linear and would let permutations collide), and only one journey per sequence has its
    list built and hashed into `variant_id`.
    `case_activities` and `case_pairs` hold per-journey counts, so that counting the journeys that
    have an activity or a directly-follows pair needs no DISTINCT over the events.
    """
    layout = _CATALOG
    carried = "".join(f", {column}" for column in attributes)
    encoded = "".join(
        f", s.{column}::{column}_code AS {column}" if column in coded else f", s.{column}" for column in attributes
    )
    decoded = "".join(f", {column}::VARCHAR AS {column}" if column in coded else f", {column}" for column in attributes)
    return (
        """
        CREATE TEMP TABLE case_codes AS
        SELECT case_id, (row_number() OVER (ORDER BY case_id) - 1)::INTEGER AS case_code
        FROM (SELECT DISTINCT case_id FROM source)
        """,
        f"CREATE TYPE {layout}.activity_name AS ENUM (SELECT DISTINCT activity FROM source ORDER BY activity)",
        f"""
        CREATE TYPE {layout}.channel_name AS ENUM (
            SELECT DISTINCT channel FROM source WHERE channel IS NOT NULL ORDER BY channel
        )
        """,
        f"""
        CREATE TABLE {layout}.activities AS
        SELECT unnest(enum_range(NULL::{layout}.activity_name))::{layout}.activity_name AS activity
        """,
        _saying("Sorting the events by journey…"),
        f"""
        CREATE TABLE {layout}.events AS
        SELECT case_code, pos, activity, timestamp, channel, next_activity, next_timestamp, next_channel,
               source_row{decoded}
        FROM (
            SELECT case_code, (row_number() OVER journey - 1)::INTEGER AS pos, activity, timestamp, channel,
                   lead(activity) OVER journey AS next_activity, lead(timestamp) OVER journey AS next_timestamp,
                   lead(channel) OVER journey AS next_channel, source_row{carried}
            FROM (
                SELECT k.case_code, s.activity::{layout}.activity_name AS activity, s.timestamp,
                       s.channel::{layout}.channel_name AS channel, s.source_row{encoded}
                FROM source s JOIN case_codes k USING (case_id)
            )
            WINDOW journey AS (PARTITION BY case_code ORDER BY timestamp, source_row)
            ORDER BY case_code, pos
        )
        """,
        _first_look_shown,
        _saying("Finding each journey's path…"),
        f"""
        CREATE TEMP TABLE journeys AS
        SELECT case_code, count(*) AS events, min(timestamp) AS start_time, max(timestamp) AS end_time,
               arg_min(activity, pos) AS first_activity, arg_max(activity, pos) AS last_activity,
               bit_xor(hash((pos::BIGINT << 32) | enum_code(activity))) AS sequence_key
        FROM {layout}.events GROUP BY case_code
        """,
        """
        CREATE TEMP TABLE representatives AS
        SELECT sequence_key, min(case_code) AS case_code, count(*) AS cases FROM journeys GROUP BY sequence_key
        """,
        _in_journey_ranges(
            {
                "sequences": f"""
            SELECT r.sequence_key, r.cases, l.sequence, l.sequence::VARCHAR[] AS activities,
                   left(md5(to_json(l.sequence::VARCHAR[])), 16) AS variant_id
            FROM representatives r JOIN (
                SELECT case_code, list(activity ORDER BY pos) AS sequence FROM {layout}.events
                WHERE case_code > $after AND case_code <= $last
                  AND case_code IN (
                      SELECT case_code FROM representatives WHERE case_code > $after AND case_code <= $last
                  )
                GROUP BY case_code
            ) l USING (case_code)
            """
            },
            journeys="SELECT case_code FROM representatives",
            temporary=True,
        ),
        f"""
        CREATE TABLE {layout}.cases AS
        SELECT j.case_code, k.case_id, j.first_activity, j.last_activity, j.start_time, j.end_time, j.events,
               (epoch_us(j.end_time) - epoch_us(j.start_time)) / 1e6 AS duration_seconds, s.variant_id
        FROM journeys j JOIN case_codes k USING (case_code) JOIN sequences s USING (sequence_key)
        ORDER BY j.case_code
        """,
        f"""
        CREATE TABLE {layout}.variants AS
        SELECT s.variant_id, s.activities, s.cases, len(s.activities) AS length, r.sequence_rank
        FROM sequences s JOIN (
            SELECT sequence_key, (row_number() OVER (ORDER BY sequence) - 1)::INTEGER AS sequence_rank FROM sequences
        ) r USING (sequence_key)
        """,
        _saying("Counting each journey's touchpoints and steps…"),
        _in_journey_ranges(
            {
                f"{layout}.case_activities": f"""
            SELECT a.case_code, a.activity, a.events, a.first_pos, a.last_pos,
                   a.first_us - epoch_us(j.start_time) AS first_offset_us,
                   a.last_us - epoch_us(j.start_time) AS last_offset_us
            FROM (
                SELECT case_code, activity, count(*) AS events, min(pos) AS first_pos, max(pos) AS last_pos,
                       min(epoch_us(timestamp)) AS first_us, max(epoch_us(timestamp)) AS last_us
                FROM {layout}.events WHERE case_code > $after AND case_code <= $last GROUP BY ALL
            ) a JOIN (SELECT * FROM journeys WHERE case_code > $after AND case_code <= $last) j USING (case_code)
            ORDER BY case_code
            """,
                f"{layout}.case_pairs": f"""
            SELECT case_code, activity AS source, next_activity AS target, count(*) AS events
            FROM {layout}.events WHERE next_activity IS NOT NULL AND case_code > $after AND case_code <= $last
            GROUP BY ALL ORDER BY case_code
            """,
            }
        ),
    )


def _first_look_shown(connection: duckdb.DuckDBPyConnection) -> None:
    """Hand the journey map's first look to whoever waits for the import and shows previews (the Import page), once
    the events are sorted: the per-journey tables, stats and quality report still take a third to a half of it."""
    if previews_wanted():
        report_progress("Drawing a first look at the journey map…")
        try:
            look = first_look(connection, f"{_CATALOG}.events")
        except duckdb.OutOfMemoryException:
            return  # a preview is no reason to fail the import: the journey map comes at its end
        report_preview(look)


def _saying(text: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """A step of the layout's statements that says what the next ones do (`report_progress`)."""
    return lambda _connection: report_progress(text)


def _in_journey_ranges(
    tables: Mapping[str, str], journeys: str = "SELECT case_code FROM journeys", *, temporary: bool = False
) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """Return the function creating each of `tables` (name: SELECT) a range of `journeys` at a time, in journey
    order; the ranges are found once for all of them.

    Each SELECT reads the journeys whose code is in `($after, $last]`: the events are sorted by journey, so it reads a
    range of them. A range holds about `_EVENTS_PER_BATCH` events of `journeys` (a SELECT of journey codes, by
    default every journey): what DuckDB cannot spill (an ordered list aggregate) or spills slowly (a grouping into
    millions of journeys) stays bounded, where at 100M events at once ran out of the import's 1 GB.
    """

    def build(connection: duckdb.DuckDBPyConnection) -> None:
        ends = connection.execute(
            f"""
            SELECT max(case_code) FROM (
                SELECT case_code, sum(j.events) OVER (ORDER BY case_code) AS events_so_far
                FROM ({journeys}) JOIN journeys j USING (case_code)
            )
            GROUP BY events_so_far // {_EVENTS_PER_BATCH} ORDER BY 1
            """
        ).fetchall()
        for index, (after, last) in enumerate(itertools.pairwise([-1, *(end for (end,) in ends)])):
            for table, select in tables.items():
                create = f"CREATE {'TEMP ' if temporary else ''}TABLE {table} AS"
                connection.execute(
                    f"{create if index == 0 else f'INSERT INTO {table}'} {select}", {"after": after, "last": last}
                )

    return build


def _code_few_valued_texts(connection: duckdb.DuckDBPyConnection, attributes: Sequence[str]) -> set[str]:
    """Create a temporary ENUM `<attribute>_code` for each text attribute of the `source` view whose first
    `_TEXT_SAMPLE_ROWS` rows hold at most `_CODED_TEXT_VALUES` distinct values (a plan, a region, a segment), and
    return their names.

    A text of many values (an order number, a comment) is left as text: its ENUM would cost more to build than its
    sort saves. Only the first rows are read to tell them apart: counting every row's values cost as much as the
    coding saved."""
    types = dict(connection.execute("SELECT column_name, column_type FROM (DESCRIBE source)").fetchall())
    texts = [column for column in attributes if types[column] == "VARCHAR"]
    if not texts:
        return set()
    counts = connection.execute(
        "SELECT "
        + ", ".join(f"count(DISTINCT {column})" for column in texts)
        + f" FROM (SELECT {', '.join(texts)} FROM source LIMIT {_TEXT_SAMPLE_ROWS})"
    ).fetchone()
    coded = {column for column, count in zip(texts, counts, strict=True) if 0 < count <= _CODED_TEXT_VALUES}
    for column in coded:
        connection.execute(
            f"CREATE TYPE {column}_code AS ENUM (SELECT DISTINCT {column} FROM source WHERE {column} IS NOT NULL)"
        )
    return coded


def _create_source_view(connection: duckdb.DuckDBPyConnection, names: list[str], file: str | None) -> list[str]:
    """Expose the raw source under canonical names and `attr_i`, checking names and types; return attributes.

    DuckDB renames columns that differ only in case (`Activity` → `Activity_1`), so source columns are
    matched by position, never by the name DuckDB gives them.
    """
    described = connection.execute(f"DESCRIBE {_RAW_SOURCE}").fetchall()
    duckdb_names = [row[0] for row in described]
    types = [row[1] for row in described]
    problems = [
        Problem("Two columns have this name.", fix="Rename one of them.", file=file, column=name)
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    problems += [
        Problem("The canonical column is missing.", fix="Map a source column to it.", file=file, column=name)
        for name in CANONICAL_COLUMNS
        if name not in names
    ]
    if not problems:
        timestamp_type = types[names.index(TIMESTAMP)]
        if timestamp_type not in _TIMESTAMP_TYPES:
            problems.append(
                Problem(
                    f"Timestamps must be instants with a time zone, not {timestamp_type}.",
                    fix="Read the timestamps in the chosen time zone and convert them to UTC.",
                    file=file,
                    column=TIMESTAMP,
                )
            )
        if types[names.index(SOURCE_ROW)] not in _INTEGER_TYPES:
            problems.append(
                Problem(
                    "The file order must be whole numbers.",
                    fix="Number the rows 0, 1, 2 …",
                    file=file,
                    column=SOURCE_ROW,
                )
            )
    _raise(problems)
    source = {name: quote_identifier(duckdb_names[names.index(name)]) for name in CANONICAL_COLUMNS}
    attributes = [name for name in names if name not in CANONICAL_COLUMNS]
    carried = "".join(
        f", {quote_identifier(duckdb_names[names.index(name)])} AS attr_{index}"
        for index, name in enumerate(attributes)
    )
    connection.execute(
        f"""
        CREATE TEMP VIEW source AS
        SELECT {source[CASE_ID]}::VARCHAR AS case_id, {source[ACTIVITY]}::VARCHAR AS activity,
               {source[TIMESTAMP]}::TIMESTAMPTZ AS timestamp, {source[CHANNEL]}::VARCHAR AS channel,
               {source[SOURCE_ROW]}::BIGINT AS source_row{carried}
        FROM {_RAW_SOURCE}
        """
    )
    return attributes


def _check_source_values(connection: duckdb.DuckDBPyConnection, file: str | None) -> None:
    """Raise when the log is empty, a required value is missing or the file order is not unique."""
    events, *missing, first_row, last_row, numbered = connection.execute(
        """
        SELECT count(*), count(*) - count(case_id), count(*) - count(activity), count(*) - count(timestamp),
               count(*) - count(source_row), min(source_row), max(source_row), count(source_row)
        FROM source
        """
    ).fetchone()
    repeated_rows = numbered - _distinct_rows(connection, first_row, last_row, numbered) if numbered else 0
    if events == 0:
        raise EmptyLog(Problem("The log has no events.", fix="Import a file with at least one row.", file=file))
    problems = [
        Problem(f"{count} event(s) have no value here.", fix="Drop or complete these rows.", file=file, column=name)
        for name, count in zip((CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW), missing, strict=True)
        if count
    ]
    if repeated_rows:
        problems.append(
            Problem(
                "Row numbers repeat, so the file order of ties is unknown.",
                fix="Number the rows 0, 1, 2 …",
                file=file,
                column=SOURCE_ROW,
            )
        )
    _raise(problems)


def _distinct_rows(connection: duckdb.DuckDBPyConnection, first_row: int, last_row: int, numbered: int) -> int:
    """Count the distinct row numbers, with one bit per number when they are dense.

    The bitmap counts a 10M-event log's in under a second, a GROUP BY in several; sparse numbers take the GROUP
    BY, which spills to disk past the memory limit, unlike count(DISTINCT …).
    """
    if last_row - first_row < _ROW_NUMBER_BITS_PER_EVENT * numbered:
        sql = "SELECT bit_count(bitstring_agg(source_row, ?, ?)) FROM source"
        return connection.execute(sql, [first_row, last_row]).fetchone()[0]
    sql = "SELECT count(*) FROM (SELECT source_row FROM source WHERE source_row IS NOT NULL GROUP BY source_row)"
    return connection.execute(sql).fetchone()[0]


def _raise(problems: list[Problem]) -> None:
    """Raise TimestampError when only timestamps are wrong, MappingError otherwise."""
    if problems:
        only_timestamps = all(problem.column == TIMESTAMP for problem in problems)
        raise (TimestampError if only_timestamps else MappingError)(problems)


def _case_predicate(
    filters: Filters, stored_as: dict[str, str], types: dict[str, str], journey_channels: str | None = None
) -> tuple[str, list]:
    """Compile Filters into one `case_code IN (...)` predicate and its bound parameters.

    Event-level conditions (time window, channel, attributes) become semi-joins on the events table,
    activity conditions on the per-journey activity counts, journey-level ones plain conditions on the
    cases table. With `journey_channels` (`Engine.journey_channels`), the channel condition reads each journey's
    channels there rather than scanning the events.
    """
    if filters.is_empty:
        return "TRUE", []
    conditions: list[str] = []
    params: list = []

    def add(condition: str, *values: object) -> None:
        conditions.append(condition)
        params.extend(values)

    def having_event(condition: str, *values: object) -> None:
        add(f"case_code IN (SELECT case_code FROM {_CATALOG}.events WHERE {condition})", *values)

    window = [(operator, stamp) for operator, stamp in ((">=", filters.start), ("<", filters.end)) if stamp is not None]
    if window:
        having_event(" AND ".join(f"timestamp {operator} ?" for operator, _ in window), *(stamp for _, stamp in window))
    if filters.channels is not None and journey_channels is not None:
        add(
            f"case_code IN (SELECT case_code FROM {journey_channels} WHERE channel IN (SELECT unnest(?::VARCHAR[])))",
            list(filters.channels),
        )
    elif filters.channels is not None:
        having_event("channel IN (SELECT unnest(?::VARCHAR[]))", list(filters.channels))
    for column, values in filters.attributes:
        stored = quote_identifier(stored_as[column])
        # Values from a URL or a widget may be text whatever the column's type: they are cast to it, so that a time
        # written '…10:00:00+00:00' finds the value DuckDB writes '…10:00:00+00'; text columns compare as text.
        present = [_filter_text(value) for value in values if value is not None]
        also_missing = f" OR {stored} IS NULL" if None in values else ""
        if types[column] == "VARCHAR":
            having_event(f"{stored} IN (SELECT unnest(?::VARCHAR[])){also_missing}", present)
        else:
            typed = f"SELECT TRY_CAST(unnest(?::VARCHAR[]) AS {types[column]})"
            having_event(f"{stored} IN ({typed}){also_missing}", present)
    for column, values in (
        ("case_id", filters.case_ids),
        ("variant_id", filters.variant_ids),
        ("first_activity", filters.start_activities),
        ("last_activity", filters.end_activities),
    ):
        if values is not None:
            add(f"{column} IN (SELECT unnest(?::VARCHAR[]))", list(values))
    if filters.with_activities is not None:
        add(
            f"""case_code IN (
                SELECT case_code FROM {_CATALOG}.case_activities WHERE activity IN (SELECT unnest(?::VARCHAR[]))
                GROUP BY case_code HAVING count(*) = ?)""",
            list(filters.with_activities),
            len(filters.with_activities),
        )
    if filters.without_activities is not None:
        add(
            f"""case_code NOT IN (
                SELECT case_code FROM {_CATALOG}.case_activities WHERE activity IN (SELECT unnest(?::VARCHAR[])))""",
            list(filters.without_activities),
        )
    for source, target in sorted(filters.with_steps or ()):
        add(
            f"""case_code IN (
                SELECT case_code FROM {_CATALOG}.case_pairs WHERE source::VARCHAR = ? AND target::VARCHAR = ?)""",
            source,
            target,
        )
    for column, low, high in (
        ("duration_seconds", filters.min_duration_seconds, filters.max_duration_seconds),
        ("events", filters.min_events, filters.max_events),
    ):
        if low is not None:
            add(f"{column} >= ?", low)
        if high is not None:
            add(f"{column} <= ?", high)
    return f"case_code IN (SELECT case_code FROM {_CATALOG}.cases WHERE {' AND '.join(conditions)})", params


def _filter_text(value: object) -> str:
    """A filter value as text DuckDB casts back to the column's type (ISO 8601 for times)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _limit(limit: int | None) -> tuple[str, list]:
    if limit is None:
        return "", []
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number of rows, 0 or more, not {limit!r}")
    return "LIMIT ?", [limit]


def _suggestion(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        return "Did you mean " + " or ".join(repr(match) for match in close) + "?"
    return "Pick one of the log's attributes." if known else "This log has no attributes to filter on."


def quote_identifier(name: str) -> str:
    """Quote a name as a DuckDB identifier, doubling embedded quotes: any name is legal."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """Quote a string as a SQL literal, for the few statements (ATTACH) that take no parameters."""
    return "'" + str(value).replace("'", "''") + "'"
