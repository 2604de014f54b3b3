"""The Spark engine: the DuckDB engine's layout and primitives on pyspark DataFrames, for logs beyond one machine.

`prepare_layout` writes every table of the DuckDB ingest-once layout (`data.engine`, LAYOUT_VERSION) as
Parquet, with the same columns and values (activity and channel names as text), and
`build_layout_with_spark` loads those tables into a DuckDB layout file: the same file `build_layout`
writes, so the dashboard opens a Spark-prepared log with the DuckDB `Engine` (issue 6: Spark for batch
precomputation on a cluster, DuckDB for interactive queries).

`SparkEngine` answers every primitive of `data.engine.Engine` on the same tables with the same columns,
dtypes, ordering and variant ids, so that a CLI or a batch job can switch engines without changing a
result (tests/data/test_spark_equality.py and test_spark_layout.py hold both to it). Inside a journey
events are ordered by (timestamp, source_row); a variant id is the first 16 hex digits of the MD5 of the
JSON list of its activities, exactly as DuckDB's `md5(to_json(list))` spells it. Case codes (the rank of
each case id) and variants' sequence ranks are numbered without a window over the whole table, which would
funnel every row through one task (`_ranked`).

Quantiles interpolate linearly between the two closest ranks as DuckDB does (`lo·(1−d) + hi·d`); means
and interpolated quantiles may still differ from DuckDB in the last bit, since neither engine fixes its
summation order and DuckDB's build may fuse the interpolation into one FMA instruction.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import duckdb
import pandas as pd
import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data.engine import (
    _CATALOG,
    LAYOUT_VERSION,
    EngineAccessors,
    LogSummary,
    _create_stats,
    _filter_text,
    _limit,
    _raise,
    _suggestion,
    connect,
    quote_identifier,
    sql_literal,
)
from data.errors import (
    DatasetNotFound,
    EmptyLog,
    LogError,
    MappingError,
    OutdatedLayout,
    Problem,
    UnsupportedFormat,
)
from data.filters import Filters
from data.schema import ACTIVITY, CANONICAL_COLUMNS, CASE_ID, CHANNEL, SOURCE_ROW, TIMESTAMP
from data.settings import Settings

__all__ = [
    "SPARK_LAYOUT_VERSION",
    "SPARK_MASTER_VARIABLE",
    "SparkEngine",
    "build_layout_with_spark",
    "prepare_layout",
    "spark_session",
]

SPARK_MASTER_VARIABLE = "PARCOURS_SPARK_MASTER"
SPARK_LAYOUT_VERSION = 2
"""Version of the Parquet form of the layout (folders, names as text); `layout_info` also holds LAYOUT_VERSION."""

_MASTER_PREFIXES = ("local", "spark://", "sc://")
_LOCAL_SHUFFLE_PARTITIONS = 4
_CASE_CODE = "case_code"
_LAYOUT_INFO = "layout_info"
_LAYOUT_TABLES = ("events", "activities", "cases", "variants", "case_activities", "case_pairs")
# Every Parquet table but `activities`, which DuckDB derives from the activity ENUM as build_layout does.
_COPIED_TABLES = ("events", "cases", "variants", "case_activities", "case_pairs", "attributes", _LAYOUT_INFO)
_SPARK_ONLY_COLUMNS = frozenset({"spark_layout_version"})
# Columns holding activity or channel names: text in Parquet, the layout's ENUM types in DuckDB.
_NAME_TYPES = {
    ACTIVITY: "activity_name",
    "next_activity": "activity_name",
    "first_activity": "activity_name",
    "last_activity": "activity_name",
    "source": "activity_name",
    "target": "activity_name",
    CHANNEL: "channel_name",
    "next_channel": "channel_name",
}
# DuckDB table -> the order build_layout stores its rows in (the others are small or unordered there too).
_ROW_ORDER = {
    "events": "case_code, pos",
    "cases": "case_code",
    "case_activities": "case_code",
    "case_pairs": "case_code",
    "attributes": "position",
}
# Bits of `monotonically_increasing_id` that number a row inside its partition.
_ROW_IN_PARTITION_BITS = 33
_MISSING_SOURCE = "The stored events file is missing."
_IMPORT_AGAIN = "Import the log again."
_EVERY_JOURNEY = Filters()
_INTEGER_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
# Spark types under the names DuckDB gives them, so both engines describe attributes alike.
_DUCKDB_TYPE_NAMES = {
    T.StringType: "VARCHAR",
    T.LongType: "BIGINT",
    T.IntegerType: "INTEGER",
    T.ShortType: "SMALLINT",
    T.ByteType: "TINYINT",
    T.DoubleType: "DOUBLE",
    T.FloatType: "FLOAT",
    T.BooleanType: "BOOLEAN",
    T.TimestampType: "TIMESTAMP WITH TIME ZONE",
    T.TimestampNTZType: "TIMESTAMP",
    T.DateType: "DATE",
    T.BinaryType: "BLOB",
}


def spark_session(settings: Settings | None = None, *, master: str | None = None) -> SparkSession:
    """Return a Spark session for Parcours: UTC, case-sensitive names, quiet, few shuffle partitions when local.

    The master is `master`, else `settings.spark_master` (from $PARCOURS_SPARK_MASTER, default `local[*]`):
    `local[N]`, a standalone cluster `spark://host:7077` or a Spark Connect server `sc://host:15002`. In local
    mode the driver runs the whole job, with `settings.spark_driver_memory`.
    Column names are case-sensitive because logs carry `Activity` beside the canonical `activity`.
    """
    settings = Settings.from_env() if settings is None else settings
    master = master or settings.spark_master
    if not master.startswith(_MASTER_PREFIXES):
        raise LogError(
            Problem(
                "Spark master URLs start with local, spark:// or sc://.",
                fix=f"Set {SPARK_MASTER_VARIABLE} to e.g. local[*], spark://host:7077 or sc://host:15002.",
                value=master,
            )
        )
    # Microsecond Parquet instants (not Spark's legacy INT96) so that DuckDB reads the prepared layout as is.
    runtime = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.caseSensitive": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        builder = SparkSession.builder.master(master).config("spark.ui.showConsoleProgress", "false")
        builder = builder.config("spark.ui.enabled", "false")
        if master.startswith("local"):
            builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
            runtime["spark.sql.shuffle.partitions"] = str(_LOCAL_SHUFFLE_PARTITIONS)
    session = builder.appName("parcours").getOrCreate()
    for key, value in runtime.items():
        session.conf.set(key, value)
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class _Layout:
    """The tables of one log's layout, as `data.engine` names them, and the source names of `attr_0`, `attr_1`, …"""

    events: DataFrame
    activities: DataFrame
    cases: DataFrame
    variants: DataFrame
    case_activities: DataFrame
    case_pairs: DataFrame
    attributes: tuple[str, ...]

    def tables(self) -> dict[str, DataFrame]:
        return {name: getattr(self, name) for name in _LAYOUT_TABLES}


def prepare_layout(source_parquet: str | os.PathLike, out_dir: str | os.PathLike, spark: SparkSession) -> None:
    """Write the DuckDB layout of a canonical events Parquet file (local path or object-store URL) as Parquet tables.

    `out_dir` gets one folder per table of `data.engine`'s layout, with the same columns and values and activity
    and channel names as text: `events` partitioned by case and sorted by (case_code, pos), `activities`, `cases`,
    `variants`, `case_activities`, `case_pairs`, `attributes`, and `layout_info` (which also holds
    SPARK_LAYOUT_VERSION) written last, so that a folder without it is an unfinished layout. A bad source raises
    the typed error `build_layout` raises for it.
    """
    path = str(source_parquet)
    canonical, attributes = _canonical_of(_read_source(spark, path), _source_name(path))
    out = str(out_dir).rstrip("/")
    codes = _case_codes(canonical)
    _events_of(canonical, codes).write.mode("overwrite").parquet(f"{out}/events")
    # The other tables are read off the written events, so the ordering window runs once.
    layout = _layout_from_events(spark.read.parquet(f"{out}/events"), codes, attributes)
    derived = {name: table for name, table in layout.tables().items() if name != "events"}
    for name, table in {**derived, "attributes": _attribute_table(spark, attributes)}.items():
        table.write.mode("overwrite").parquet(f"{out}/{name}")
    counts = [spark.read.parquet(f"{out}/{name}").count() for name in ("events", "cases", "variants", "activities")]
    info = spark.createDataFrame(
        [(LAYOUT_VERSION, *counts, SPARK_LAYOUT_VERSION)],
        "layout_version int, events long, cases long, variants long, activities long, spark_layout_version int",
    )
    info.coalesce(1).write.mode("overwrite").parquet(f"{out}/{_LAYOUT_INFO}")


def build_layout_with_spark(events_parquet: Path, layout_path: Path, settings: Settings) -> None:
    """Write the DuckDB layout of a canonical events Parquet file, with Spark doing the sorting and grouping.

    The same signature, file and errors as `data.engine.build_layout`, so that the store picks either from
    `settings.engine`: `prepare_layout` (on `spark_session(settings)`) writes the tables as Parquet in a temporary
    folder beside `layout_path`, DuckDB copies them into a temporary file with the layout's ENUM types and row
    order and derives the stats of every journey from them (as `build_layout` does), and that file is renamed over
    `layout_path`. A failure leaves the previous layout and no temporary
    files. On a cluster, `layout_path` must be on a file system the executors share with this process.
    """
    events_parquet, layout_path = Path(events_parquet), Path(layout_path)
    _require(str(events_parquet), _MISSING_SOURCE, _IMPORT_AGAIN)
    layout_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = f".{layout_path.name}.{uuid.uuid4().hex}"
    tables, building = layout_path.with_name(f"{temporary}.tables"), layout_path.with_name(f"{temporary}.building")
    try:
        prepare_layout(events_parquet, tables, spark_session(settings))
        with connect(settings) as connection:
            connection.execute(f"ATTACH {sql_literal(building)} AS {_CATALOG}")
            _load_layout(connection, tables)
            connection.execute(f"DETACH {_CATALOG}")
        os.replace(building, layout_path)
    finally:
        shutil.rmtree(tables, ignore_errors=True)
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)


def _load_layout(connection: duckdb.DuckDBPyConnection, tables: Path) -> None:
    """Create the layout in the attached catalog from `prepare_layout`'s tables, typed and ordered as build_layout's."""

    def parquet(name: str) -> str:
        return f"read_parquet({sql_literal(tables / name / '*.parquet')})"

    connection.execute(
        f"CREATE TYPE {_CATALOG}.activity_name AS ENUM (SELECT activity FROM {parquet('activities')} ORDER BY activity)"
    )
    connection.execute(
        f"""
        CREATE TYPE {_CATALOG}.channel_name AS ENUM (
            SELECT DISTINCT channel FROM {parquet("events")} WHERE channel IS NOT NULL ORDER BY channel
        )
        """
    )
    connection.execute(
        f"""
        CREATE TABLE {_CATALOG}.activities AS
        SELECT unnest(enum_range(NULL::{_CATALOG}.activity_name))::{_CATALOG}.activity_name AS activity
        """
    )
    for name in _COPIED_TABLES:
        described = connection.execute(f"DESCRIBE SELECT * FROM {parquet(name)}").fetchall()
        columns = ", ".join(_as_stored(column) for column, *_ in described if column not in _SPARK_ONLY_COLUMNS)
        order = f"ORDER BY {_ROW_ORDER[name]}" if name in _ROW_ORDER else ""
        connection.execute(f"CREATE TABLE {_CATALOG}.{name} AS SELECT {columns} FROM {parquet(name)} {order}")
    _create_stats(connection)


def _as_stored(column: str) -> str:
    """Select a Parquet column as the layout stores it: activity and channel names as the layout's ENUM types."""
    quoted = quote_identifier(column)
    if column not in _NAME_TYPES:
        return quoted
    return f"{quoted}::{_CATALOG}.{_NAME_TYPES[column]} AS {quoted}"


class SparkEngine(EngineAccessors):
    """The primitives of `data.engine.Engine`, computed by Spark; results are small pandas frames.

    >>> engine = SparkEngine("events.parquet", spark_session())  # doctest: +SKIP
    >>> engine.dfg(Filters(channels={"store"}))  # doctest: +SKIP
    """

    def __init__(self, events_parquet: str | os.PathLike, spark: SparkSession):
        path = str(events_parquet)
        self._adopt(_layout_of(_read_source(spark, path), _source_name(path)), cached=True)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, spark: SparkSession) -> SparkEngine:
        """Build the layout from a canonical frame; `channel` and `source_row` may be left out, as in Engine."""
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"from_frame needs a pandas DataFrame, not {type(frame).__name__}")
        defaults = {CHANNEL: pd.Series(pd.NA, index=frame.index, dtype="str"), SOURCE_ROW: range(len(frame))}
        frame = frame.assign(**{name: value for name, value in defaults.items() if name not in frame.columns})
        engine = cls.__new__(cls)
        engine._adopt(_layout_of(spark.createDataFrame(_spark_ready(frame)), None), cached=True)
        return engine

    @classmethod
    def open_layout(cls, layout_dir: str | os.PathLike, spark: SparkSession) -> SparkEngine:
        """Open a layout written by `prepare_layout`."""
        root = str(layout_dir).rstrip("/")
        fix = "Run prepare_layout again."
        info = _read_parquet(spark, f"{root}/{_LAYOUT_INFO}", "No finished Spark layout here.", fix).first().asDict()
        versions = (info.get("layout_version"), info.get("spark_layout_version"))
        if versions != (LAYOUT_VERSION, SPARK_LAYOUT_VERSION):
            raise OutdatedLayout(
                Problem(
                    f"This Spark layout has layout version {versions[0]} in Parquet form {versions[1]}, this "
                    f"Parcours reads version {LAYOUT_VERSION} in form {SPARK_LAYOUT_VERSION}.",
                    fix=fix,
                    file=root,
                )
            )
        attributes = spark.read.parquet(f"{root}/attributes").orderBy("position").select("name").toArrow()
        engine = cls.__new__(cls)
        engine._adopt(
            _Layout(
                **{name: spark.read.parquet(f"{root}/{name}") for name in _LAYOUT_TABLES},
                attributes=tuple(attributes["name"].to_pylist()),
            ),
            cached=False,
        )
        return engine

    def _adopt(self, layout: _Layout, *, cached: bool) -> None:
        """Keep the layout (in executor memory when it was computed here) and read the metadata queries need."""
        if cached:
            layout = replace(layout, **{name: table.persist() for name, table in layout.tables().items()})
        self._layout = layout
        self._cached = cached
        self._stored_as = {name: f"attr_{index}" for index, name in enumerate(layout.attributes)}
        fields = {field.name: field.dataType for field in layout.events.schema.fields}
        self._attribute_types = {name: _duckdb_type_name(fields[stored]) for name, stored in self._stored_as.items()}
        self._activity_names = tuple(self.activities()[ACTIVITY])

    def close(self) -> None:
        """Release the cached layout; the engine cannot be used afterwards."""
        if self._cached:
            for table in self._layout.tables().values():
                table.unpersist()

    def summary(self, filters: Filters = _EVERY_JOURNEY) -> LogSummary:
        """Return the headline counts of the selected journeys."""
        cases, activities = self._selected("cases", filters), self._selected("case_activities", filters)
        counts = cases.agg(
            F.count(F.lit(1)).alias("cases"),
            F.coalesce(F.sum("events"), F.lit(0)).alias("events"),
            F.count_distinct("variant_id").alias("variants"),
            F.min("start_time").alias("start_time"),
            F.max("end_time").alias("end_time"),
        )
        row = _collect(counts.crossJoin(activities.agg(F.count_distinct(ACTIVITY).alias("activities")))).iloc[0]
        return LogSummary.from_row(row)

    def activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, events, cases — by events desc, activity."""
        counted = self._selected("case_activities", filters).groupBy(ACTIVITY)
        counted = counted.agg(F.sum("events").alias("events"), F.count(F.lit(1)).alias("cases"))
        return _collect(counted.orderBy(F.desc("events"), ACTIVITY))

    def dfg(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return the directly-follows pairs with counts and times — by events desc, source, target."""
        pairs = ["source", "target"]
        counted = self._selected("case_pairs", filters).groupBy(*pairs)
        counted = counted.agg(F.sum("events").alias("events"), F.count(F.lit(1)).alias("cases"))
        steps = self._selected("events", filters).where(F.col("next_activity").isNotNull())
        steps = steps.select(
            F.col(ACTIVITY).alias("source"),
            F.col("next_activity").alias("target"),
            ((F.unix_micros("next_timestamp") - F.unix_micros(TIMESTAMP)) / 1e6).alias("seconds"),
        )
        spread = steps.groupBy(*pairs).agg(
            F.avg("seconds").alias("mean_seconds"),
            F.min("seconds").alias("min_seconds"),
            F.max("seconds").alias("max_seconds"),
        )
        quantiles = _quantiles(steps, pairs, "seconds", {"median_seconds": 0.5, "p90_seconds": 0.9})
        timed = spread.join(quantiles, pairs)
        columns = ["events", "cases", "mean_seconds", "median_seconds", "p90_seconds", "min_seconds", "max_seconds"]
        joined = counted.join(timed, pairs).select(*pairs, *columns)
        return _collect(joined.orderBy(F.desc("events"), *pairs))

    def start_activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, cases for the first activity of each journey — by cases desc, activity."""
        return self._boundary_activities("first_activity", filters)

    def end_activities(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return activity, cases for the last activity of each journey — by cases desc, activity."""
        return self._boundary_activities("last_activity", filters)

    def _boundary_activities(self, column: str, filters: Filters) -> pd.DataFrame:
        counted = self._selected("cases", filters).groupBy(F.col(column).alias(ACTIVITY))
        return _collect(counted.agg(F.count(F.lit(1)).alias("cases")).orderBy(F.desc("cases"), ACTIVITY))

    def variants(self, filters: Filters = _EVERY_JOURNEY, limit: int | None = None) -> pd.DataFrame:
        """Return variant_id, activities (list of str), cases, share, length, median_duration_seconds.

        Sorted by cases desc then activities; `share` is of all selected journeys, also with `limit`.
        """
        _limit(limit)  # the same checks as Engine; Spark takes the number itself
        cases = self._selected("cases", filters)
        counted = cases.groupBy("variant_id").agg(F.count(F.lit(1)).alias("cases"))
        medians = _quantiles(cases, ["variant_id"], "duration_seconds", {"median_duration_seconds": 0.5})
        ranked = (
            counted.join(medians, "variant_id")
            .join(self._layout.variants.select("variant_id", "activities", "length", "sequence_rank"), "variant_id")
            .select(
                "variant_id",
                "activities",
                "cases",
                (F.col("cases") / F.sum("cases").over(Window.partitionBy())).alias("share"),
                "length",
                "median_duration_seconds",
            )
            .orderBy(F.desc("cases"), "sequence_rank")
        )
        table = (ranked if limit is None else ranked.limit(limit)).toArrow()
        frame = table.to_pandas()
        # Lists of str as DuckDB's engine gives them; an empty result must keep the object column too.
        return frame.assign(activities=pd.Series(table["activities"].to_pylist(), index=frame.index, dtype=object))

    def cases(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return one row per selected journey — by case_id."""
        columns = ["first_activity", "last_activity", "start_time", "end_time", "events", "duration_seconds"]
        ordered = self._selected("cases", filters).orderBy(_CASE_CODE)
        return _collect(ordered.select(CASE_ID, *columns, "variant_id"))

    def case_activity_counts(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, activity, count in long format (clustering features) — by case_id, activity."""
        counts = self._with_case_ids(self._selected("case_activities", filters)).orderBy(_CASE_CODE, ACTIVITY)
        return _collect(counts.select(CASE_ID, ACTIVITY, F.col("events").alias("count")))

    def channel_shares(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, channel, events, share of the journey's events — by case_id, channel."""
        used = self._selected("events", filters).where(F.col(CHANNEL).isNotNull())
        used = used.groupBy(_CASE_CODE, CHANNEL).agg(F.count(F.lit(1)).alias("events"))
        totals = self._layout.cases.select(_CASE_CODE, CASE_ID, F.col("events").alias("journey_events"))
        shares = used.join(totals, _CASE_CODE).orderBy(_CASE_CODE, CHANNEL)
        return _collect(
            shares.select(CASE_ID, CHANNEL, "events", (F.col("events") / F.col("journey_events")).alias("share"))
        )

    def events(self, filters: Filters = _EVERY_JOURNEY, limit: int | None = None) -> pd.DataFrame:
        """Return the canonical events of the selected journeys with `pos`, by case then position."""
        _limit(limit)  # the same checks as Engine; Spark takes the number itself
        ordered = self._with_case_ids(self._selected("events", filters)).orderBy(_CASE_CODE, "pos")
        ordered = ordered.select(
            CASE_ID,
            F.col("pos").cast("long").alias("pos"),
            ACTIVITY,
            TIMESTAMP,
            CHANNEL,
            SOURCE_ROW,
            *(F.col(stored).alias(name) for name, stored in self._stored_as.items()),
        )
        return _collect(ordered if limit is None else ordered.limit(limit))

    def attribute_values(self, column: str, limit: int = 50) -> pd.DataFrame:
        """Return value, cases for one attribute (the most common values first), for filter widgets."""
        self._check_attributes([column])
        _limit(limit)  # the same checks as Engine; Spark takes the number itself
        return _collect(self._values(F.col(self._stored_as[column])).limit(limit))

    def channel_values(self) -> pd.DataFrame:
        """Return value, cases for every channel (the one most journeys used first), for filter widgets."""
        return _collect(self._values(F.col(CHANNEL)))

    def _values(self, column: Column) -> DataFrame:
        counted = self._layout.events.where(column.isNotNull()).groupBy(column.alias("value"))
        return counted.agg(F.count_distinct(_CASE_CODE).alias("cases")).orderBy(F.desc("cases"), "value")

    def _selected(self, table: str, filters: Filters) -> DataFrame:
        """Return the rows of one layout table that belong to the journeys `filters` keeps."""
        if not isinstance(filters, Filters):
            raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
        self._check_attributes([column for column, _values in filters.attributes])
        rows = getattr(self._layout, table)
        return rows if filters.is_empty else rows.join(self._kept(filters), _CASE_CODE, "left_semi")

    def _with_case_ids(self, rows: DataFrame) -> DataFrame:
        """Return rows keyed by case code with the case id of each, which results show."""
        return rows.join(self._layout.cases.select(_CASE_CODE, CASE_ID), _CASE_CODE)

    def _kept(self, filters: Filters) -> DataFrame:
        """Compile Filters into the case codes they keep, condition by condition, as DuckDB's `_case_predicate` does.

        Event-level conditions (time window, channel, attributes) are semi-joins on the events, activity
        conditions on the per-journey activity counts, journey-level ones plain conditions on the cases.
        """
        events, activities = self._layout.events, self._layout.case_activities
        kept = self._layout.cases
        event_conditions: list[Column] = []
        if filters.start is not None:
            event_conditions.append(F.col(TIMESTAMP) >= F.lit(filters.start.to_pydatetime()))
        if filters.end is not None:
            event_conditions.append(F.col(TIMESTAMP) < F.lit(filters.end.to_pydatetime()))
        if event_conditions:
            event_conditions = [_all_of(event_conditions)]
        if filters.channels is not None:
            event_conditions.append(F.col(CHANNEL).isin(sorted(filters.channels)))
        for column, values in filters.attributes:
            stored = F.col(self._stored_as[column])
            # Values may be text whatever the column's type: cast to it, as DuckDB's `_case_predicate` does.
            kind = events.schema[self._stored_as[column]].dataType
            texts = sorted(_filter_text(value) for value in values if value is not None)
            matches = stored.isin([F.lit(text).cast(kind) for text in texts]) if texts else F.lit(False)
            event_conditions.append(matches | stored.isNull() if None in values else matches)
        for condition in event_conditions:
            kept = kept.join(events.where(condition).select(_CASE_CODE), _CASE_CODE, "left_semi")
        for column, values in (
            (CASE_ID, filters.case_ids),
            ("variant_id", filters.variant_ids),
            ("first_activity", filters.start_activities),
            ("last_activity", filters.end_activities),
        ):
            if values is not None:
                kept = kept.where(F.col(column).isin(sorted(values)))
        if filters.with_activities is not None:
            having = activities.where(F.col(ACTIVITY).isin(sorted(filters.with_activities)))
            having = having.groupBy(_CASE_CODE).count().where(F.col("count") == len(filters.with_activities))
            kept = kept.join(having, _CASE_CODE, "left_semi")
        if filters.without_activities is not None:
            done = activities.where(F.col(ACTIVITY).isin(sorted(filters.without_activities)))
            kept = kept.join(done, _CASE_CODE, "left_anti")
        for source, target in sorted(filters.with_steps or ()):
            took = self._layout.case_pairs.where((F.col("source") == source) & (F.col("target") == target))
            kept = kept.join(took.select(_CASE_CODE), _CASE_CODE, "left_semi")
        for column, low, high in (
            ("duration_seconds", filters.min_duration_seconds, filters.max_duration_seconds),
            ("events", filters.min_events, filters.max_events),
        ):
            if low is not None:
                kept = kept.where(F.col(column) >= F.lit(low))
            if high is not None:
                kept = kept.where(F.col(column) <= F.lit(high))
        return kept.select(_CASE_CODE)

    def _check_attributes(self, columns: Sequence[str]) -> None:
        """Raise MappingError naming every unknown attribute column, with the closest known names."""
        known = list(self._stored_as)
        problems = [
            Problem("This log has no such attribute.", fix=_suggestion(column, known), column=column)
            for column in dict.fromkeys(columns)
            if column not in self._stored_as
        ]
        if problems:
            raise MappingError(problems)


def _all_of(conditions: list[Column]) -> Column:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _collect(frame: DataFrame) -> pd.DataFrame:
    """Bring a small result to pandas through Arrow, which keeps UTC instants and pandas string columns."""
    return frame.toArrow().to_pandas()


def _duckdb_type_name(data_type: T.DataType) -> str:
    if isinstance(data_type, T.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return _DUCKDB_TYPE_NAMES.get(type(data_type), data_type.simpleString().upper())


def _spark_ready(frame: pd.DataFrame) -> pa.Table:
    """Return the frame as Arrow with instants in microseconds, the finest unit Spark keeps."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(field.name, pa.timestamp("us", tz=field.type.tz)) if pa.types.is_timestamp(field.type) else field
        for field in table.schema
    ]
    return table.cast(pa.schema(fields))


def _require(path: str, missing: str, fix: str) -> None:
    """Raise DatasetNotFound when a local path is not there (Spark reports missing object-store paths)."""
    if "://" not in path and not Path(path).exists():
        raise DatasetNotFound(Problem(missing, fix=fix, file=path))


def _read_parquet(spark: SparkSession, path: str, missing: str, fix: str) -> DataFrame:
    """Read a Parquet file or folder; raise DatasetNotFound when it is not there, UnsupportedFormat when unreadable."""
    _require(path, missing, fix)
    try:
        return spark.read.parquet(path)
    except AnalysisException as error:
        if error.getCondition() == "PATH_NOT_FOUND":
            raise DatasetNotFound(Problem(missing, fix=fix, file=path)) from None
        reason = str(error)
    except (Py4JJavaError, PySparkException) as error:
        reason = str(getattr(error, "java_exception", error))
    raise UnsupportedFormat(
        Problem(f"This is not a readable Parquet file ({reason.strip().splitlines()[0]}).", fix=fix, file=path)
    )


def _read_source(spark: SparkSession, path: str) -> DataFrame:
    return _read_parquet(spark, path, _MISSING_SOURCE, _IMPORT_AGAIN)


def _source_name(path: str) -> str:
    """Return the name problems give a source file (or object-store key), as build_layout names it."""
    return PurePosixPath(path.rstrip("/")).name


def _quantiles(rows: DataFrame, keys: list[str], value: str, quantiles: dict[str, float]) -> DataFrame:
    """Return `keys` with each named quantile of `value`, interpolated linearly between ranks as DuckDB does.

    DuckDB takes rank (n−1)·q, reads the values at its floor and ceiling and returns lo·(1−d) + hi·d with
    d the fractional part; Spark's own `percentile` weighs the ranks differently in the last bit.
    """
    ranked = rows.select(
        *keys,
        value,
        (F.row_number().over(Window.partitionBy(*keys).orderBy(value)) - 1).alias("rank"),
        F.count(F.lit(1)).over(Window.partitionBy(*keys)).alias("n"),
    )
    picks = []
    for name, quantile in quantiles.items():
        position = (F.col("n") - 1) * F.lit(quantile)
        picks += [
            F.max(F.when(F.col("rank") == F.floor(position), F.col(value))).alias(f"{name}_lo"),
            F.max(F.when(F.col("rank") == F.ceil(position), F.col(value))).alias(f"{name}_hi"),
            F.first(position - F.floor(position)).alias(f"{name}_d"),
        ]
    picked = ranked.groupBy(*keys).agg(*picks)
    interpolated = [
        F.when(F.col(f"{name}_d") == 0, F.col(f"{name}_lo"))
        .otherwise(F.col(f"{name}_lo") * (1 - F.col(f"{name}_d")) + F.col(f"{name}_hi") * F.col(f"{name}_d"))
        .alias(name)
        for name in quantiles
    ]
    return picked.select(*keys, *interpolated)


def _layout_of(source: DataFrame, file: str | None) -> _Layout:
    """Check a canonical source and describe its layout tables."""
    canonical, attributes = _canonical_of(source, file)
    codes = _case_codes(canonical)
    return _layout_from_events(_events_of(canonical, codes), codes, attributes)


def _canonical_of(source: DataFrame, file: str | None) -> tuple[DataFrame, list[str]]:
    """Return the checked source under canonical names and `attr_i`, and the source names of the attributes.

    Columns are picked by position, as `Activity` beside the canonical `activity` would otherwise be ambiguous.
    """
    attributes = _check_source_columns(source, file)
    positional = source.toDF(*(f"column_{index}" for index in range(len(source.columns))))
    where = {name: f"column_{index}" for index, name in enumerate(source.columns)}
    canonical = positional.select(
        F.col(where[CASE_ID]).cast("string").alias(CASE_ID),
        F.col(where[ACTIVITY]).cast("string").alias(ACTIVITY),
        F.col(where[TIMESTAMP]).alias(TIMESTAMP),
        F.col(where[CHANNEL]).cast("string").alias(CHANNEL),
        F.col(where[SOURCE_ROW]).cast("long").alias(SOURCE_ROW),
        *(F.col(where[name]).alias(f"attr_{index}") for index, name in enumerate(attributes)),
    )
    _check_source_values(canonical, file)
    return canonical, attributes


def _case_codes(canonical: DataFrame) -> DataFrame:
    """Return case_id, case_code: the rank of each case id in sorted order, as build_layout numbers journeys."""
    return _ranked(canonical.select(CASE_ID).distinct(), CASE_ID, _CASE_CODE)


def _ranked(rows: DataFrame, key: str, rank: str) -> DataFrame:
    """Return `rows`, distinct in `key`, with `rank`: the INTEGER position (from 0) of their `key` in sorted order.

    A window over the whole frame would funnel every row through one task. Sorting range-partitions the rows in
    key order instead, `monotonically_increasing_id` tags each row with (partition << 33) + its index there, and
    a row's rank is that index plus the rows of the partitions before its own. The tagged rows are checkpointed,
    so that counting the rows per partition and numbering them see the same partitions.
    """
    tagged = rows.orderBy(key).select("*", F.monotonically_increasing_id().alias("_tag")).localCheckpoint()
    partition = F.shiftright("_tag", _ROW_IN_PARTITION_BITS)
    sizes = tagged.groupBy(partition.alias("_partition")).agg(F.count(F.lit(1)).alias("_rows"))
    # One row per partition: a window over all of them is cheap.
    before = sizes.select(
        "_partition", (F.sum("_rows").over(Window.orderBy("_partition")) - F.col("_rows")).alias("_before")
    )
    index = F.col("_tag").bitwiseAND(F.lit((1 << _ROW_IN_PARTITION_BITS) - 1))
    numbered = tagged.join(F.broadcast(before), partition == F.col("_partition"))
    return numbered.select(*rows.columns, (F.col("_before") + index).cast("int").alias(rank))


def _events_of(canonical: DataFrame, codes: DataFrame) -> DataFrame:
    """Return the `events` table: each event with its case code, position and successor.

    The window is partitioned by case id, on which the case codes were joined, so that it needs no second
    shuffle; each partition comes out sorted by (case id, timestamp, source row), which is (case_code, pos) order.
    """
    journey = Window.partitionBy(CASE_ID).orderBy(TIMESTAMP, SOURCE_ROW)
    return canonical.join(codes, CASE_ID).select(
        _CASE_CODE,
        (F.row_number().over(journey) - 1).cast("int").alias("pos"),
        ACTIVITY,
        TIMESTAMP,
        CHANNEL,
        F.lead(ACTIVITY).over(journey).alias("next_activity"),
        F.lead(TIMESTAMP).over(journey).alias("next_timestamp"),
        F.lead(CHANNEL).over(journey).alias("next_channel"),
        SOURCE_ROW,
        *(column for column in canonical.columns if column.startswith("attr_")),
    )


def _layout_from_events(events: DataFrame, codes: DataFrame, attributes: list[str]) -> _Layout:
    """Describe the layout tables derived from the ordered events, keyed by case code as build_layout's are."""
    journeys = events.groupBy(_CASE_CODE).agg(
        F.min_by(ACTIVITY, "pos").alias("first_activity"),
        F.max_by(ACTIVITY, "pos").alias("last_activity"),
        F.min(TIMESTAMP).alias("start_time"),
        F.max(TIMESTAMP).alias("end_time"),
        F.count(F.lit(1)).alias("events"),
        F.transform(F.sort_array(F.collect_list(F.struct("pos", ACTIVITY))), lambda step: step[ACTIVITY]).alias(
            "activities"
        ),
    )
    # Checkpointed: both the cases and the variants are read off it.
    journeys = journeys.select(
        "*",
        ((F.unix_micros("end_time") - F.unix_micros("start_time")) / 1e6).alias("duration_seconds"),
        F.substring(F.md5(F.to_json("activities")), 1, 16).alias("variant_id"),
    ).localCheckpoint()
    cases = journeys.join(codes, _CASE_CODE).select(
        _CASE_CODE,
        CASE_ID,
        "first_activity",
        "last_activity",
        "start_time",
        "end_time",
        "events",
        "duration_seconds",
        "variant_id",
    )
    variants = journeys.groupBy("variant_id").agg(
        F.first("activities").alias("activities"), F.count(F.lit(1)).alias("cases")
    )
    variants = variants.select("variant_id", "activities", "cases", F.size("activities").cast("long").alias("length"))
    start_us = F.min(F.unix_micros(TIMESTAMP)).over(Window.partitionBy(_CASE_CODE))
    timed = events.select(_CASE_CODE, ACTIVITY, "pos", F.unix_micros(TIMESTAMP).alias("us"), start_us.alias("start_us"))
    case_activities = timed.groupBy(_CASE_CODE, ACTIVITY).agg(
        F.count(F.lit(1)).alias("events"),
        F.min("pos").alias("first_pos"),
        F.max("pos").alias("last_pos"),
        (F.min("us") - F.min("start_us")).alias("first_offset_us"),
        (F.max("us") - F.min("start_us")).alias("last_offset_us"),
    )
    case_pairs = events.where(F.col("next_activity").isNotNull()).groupBy(
        _CASE_CODE, F.col(ACTIVITY).alias("source"), F.col("next_activity").alias("target")
    )
    return _Layout(
        events=events,
        activities=events.select(ACTIVITY).distinct(),
        cases=cases,
        variants=_ranked(variants, "activities", "sequence_rank"),
        case_activities=case_activities,
        case_pairs=case_pairs.agg(F.count(F.lit(1)).alias("events")),
        attributes=tuple(attributes),
    )


def _attribute_table(spark: SparkSession, attributes: list[str]) -> DataFrame:
    """Return the `attributes` table: each attribute's source name and the `attr_i` column storing it."""
    rows = [(position, name, f"attr_{position}") for position, name in enumerate(attributes)]
    return spark.createDataFrame(rows, "position long, name string, stored_as string")


def _check_source_columns(source: DataFrame, file: str | None) -> list[str]:
    """Raise when names repeat, a canonical column is missing or badly typed; return the attribute names."""
    names = source.columns
    types = {field.name: field.dataType for field in source.schema.fields}
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
        if not isinstance(types[TIMESTAMP], T.TimestampType):
            problems.append(
                Problem(
                    f"Timestamps must be instants with a time zone, not {_duckdb_type_name(types[TIMESTAMP])}.",
                    fix="Read the timestamps in the chosen time zone and convert them to UTC.",
                    file=file,
                    column=TIMESTAMP,
                )
            )
        if not isinstance(types[SOURCE_ROW], _INTEGER_TYPES):
            problems.append(
                Problem(
                    "The file order must be whole numbers.",
                    fix="Number the rows 0, 1, 2 …",
                    file=file,
                    column=SOURCE_ROW,
                )
            )
    _raise(problems)
    return [name for name in names if name not in CANONICAL_COLUMNS]


def _check_source_values(canonical: DataFrame, file: str | None) -> None:
    """Raise when the log is empty, a required value is missing or the file order is not unique."""
    required = (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW)
    counts = canonical.agg(
        F.count(F.lit(1)).alias("events"),
        *(F.count(name).alias(name) for name in required),
        F.count_distinct(SOURCE_ROW).alias("distinct_rows"),
    ).first()
    if counts["events"] == 0:
        raise EmptyLog(Problem("The log has no events.", fix="Import a file with at least one row.", file=file))
    problems = [
        Problem(
            f"{counts['events'] - counts[name]} event(s) have no value here.",
            fix="Drop or complete these rows.",
            file=file,
            column=name,
        )
        for name in required
        if counts[name] < counts["events"]
    ]
    if counts["distinct_rows"] < counts[SOURCE_ROW]:
        problems.append(
            Problem(
                "Row numbers repeat, so the file order of ties is unknown.",
                fix="Number the rows 0, 1, 2 …",
                file=file,
                column=SOURCE_ROW,
            )
        )
    _raise(problems)
