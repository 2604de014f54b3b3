"""The Spark engine: the DuckDB engine's layout and primitives on pyspark DataFrames, for logs beyond one machine.

`SparkEngine` answers every primitive of `data.engine.Engine` with the same columns, dtypes, ordering
and variant ids, so that a CLI or a batch job can switch engines without changing a result (the
equality suite in tests/data/test_spark_equality.py holds both to it). Inside a journey events are
ordered by (timestamp, source_row); a variant id is the first 16 hex digits of the MD5 of the JSON list
of its activities, exactly as DuckDB's `md5(to_json(list))` spells it. Journeys are keyed by `case_id`
itself rather than by integer codes: ordering by case id is what the DuckDB codes encode, and a string
key needs no global numbering pass, which would have to funnel a billion events through one task.

Quantiles interpolate linearly between the two closest ranks as DuckDB does (`lo·(1−d) + hi·d`); means
and interpolated quantiles may still differ from DuckDB in the last bit, since neither engine fixes its
summation order and DuckDB's build may fuse the interpolation into one FMA instruction.

`prepare_layout` writes the layout tables as Parquet (events partitioned and sorted by case), the batch
precomputation for logs that outgrow one machine; `SparkEngine.open_layout` reads them back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data.engine import EngineAccessors, LogSummary, _limit, _raise, _suggestion
from data.errors import DatasetNotFound, EmptyLog, LogError, MappingError, Problem
from data.filters import Filters
from data.schema import ACTIVITY, CANONICAL_COLUMNS, CASE_ID, CHANNEL, SOURCE_ROW, TIMESTAMP
from data.settings import Settings

__all__ = ["SPARK_MASTER_VARIABLE", "SparkEngine", "prepare_layout", "spark_session"]

SPARK_MASTER_VARIABLE = "PARCOURS_SPARK_MASTER"
SPARK_LAYOUT_VERSION = 1

_MASTER_PREFIXES = ("local", "spark://", "sc://")
_LOCAL_SHUFFLE_PARTITIONS = 4
_LAYOUT_TABLES = ("events", "cases", "variants", "case_activities", "case_pairs")
_LAYOUT_INFO = "layout_info"
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


def spark_session(
    settings: Settings | None = None, *, master: str | None = None, driver_memory: str = "1g"
) -> SparkSession:
    """Return a Spark session for Parcours: UTC, case-sensitive names, quiet, few shuffle partitions when local.

    The master is `master`, else `settings.spark_master` (from $PARCOURS_SPARK_MASTER, default `local[*]`):
    `local[N]`, a standalone cluster `spark://host:7077` or a Spark Connect server `sc://host:15002`.
    Column names are case-sensitive because logs carry `Activity` beside the canonical `activity`.
    """
    master = master or (Settings.from_env() if settings is None else settings).spark_master
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
            builder = builder.config("spark.driver.memory", driver_memory)
            runtime["spark.sql.shuffle.partitions"] = str(_LOCAL_SHUFFLE_PARTITIONS)
    session = builder.appName("parcours").getOrCreate()
    for key, value in runtime.items():
        session.conf.set(key, value)
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class _Layout:
    """The layout tables of one log and the source names of its attribute columns (`attr_0`, …)."""

    events: DataFrame
    cases: DataFrame
    variants: DataFrame
    case_activities: DataFrame
    case_pairs: DataFrame
    attributes: tuple[str, ...]


def prepare_layout(source_parquet: str | os.PathLike, out_dir: str | os.PathLike, spark: SparkSession) -> None:
    """Write the layout of a canonical events Parquet file (local path or object-store URL) as Parquet tables.

    `out_dir` gets one folder per table — `events` repartitioned by case and sorted by (case, pos),
    `cases`, `variants`, `case_activities`, `case_pairs` — and `layout_info` (one JSON line), written last, so a
    folder without it is an unfinished layout.
    """
    source = _read_source(spark, str(source_parquet))
    attributes = _check_source_columns(source)
    out = str(out_dir).rstrip("/")
    events = _events_of(source, attributes).repartition(CASE_ID).sortWithinPartitions(CASE_ID, "pos")
    events.write.mode("overwrite").parquet(f"{out}/events")
    # The other tables are read off the written events, so the ordering window runs once.
    layout = _layout_from_events(spark.read.parquet(f"{out}/events"), attributes)
    for name, table in zip(_LAYOUT_TABLES[1:], _tables(layout)[1:], strict=True):
        table.write.mode("overwrite").parquet(f"{out}/{name}")
    info = {"layout_version": SPARK_LAYOUT_VERSION, "attributes": attributes}
    spark.createDataFrame([(json.dumps(info),)], "value string").coalesce(1).write.mode("overwrite").text(
        f"{out}/{_LAYOUT_INFO}"
    )


def _tables(layout: _Layout) -> tuple[DataFrame, ...]:
    return layout.events, layout.cases, layout.variants, layout.case_activities, layout.case_pairs


class SparkEngine(EngineAccessors):
    """The primitives of `data.engine.Engine`, computed by Spark; results are small pandas frames.

    >>> engine = SparkEngine("events.parquet", spark_session())  # doctest: +SKIP
    >>> engine.dfg(Filters(channels={"store"}))  # doctest: +SKIP
    """

    def __init__(self, events_parquet: str | os.PathLike, spark: SparkSession):
        self._adopt(_layout_of(_read_source(spark, str(events_parquet))), cached=True)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, spark: SparkSession) -> SparkEngine:
        """Build the layout from a canonical frame; `channel` and `source_row` may be left out, as in Engine."""
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"from_frame needs a pandas DataFrame, not {type(frame).__name__}")
        defaults = {CHANNEL: pd.Series(pd.NA, index=frame.index, dtype="str"), SOURCE_ROW: range(len(frame))}
        frame = frame.assign(**{name: value for name, value in defaults.items() if name not in frame.columns})
        engine = cls.__new__(cls)
        engine._adopt(_layout_of(spark.createDataFrame(_spark_ready(frame))), cached=True)
        return engine

    @classmethod
    def open_layout(cls, layout_dir: str | os.PathLike, spark: SparkSession) -> SparkEngine:
        """Open a layout written by `prepare_layout`."""
        root = str(layout_dir).rstrip("/")
        try:
            info = json.loads(spark.read.text(f"{root}/{_LAYOUT_INFO}").first()["value"])
        except AnalysisException as error:
            raise DatasetNotFound(
                Problem(f"No finished Spark layout here ({error}).", fix="Run prepare_layout again.", file=root)
            ) from None
        if info.get("layout_version") != SPARK_LAYOUT_VERSION:
            raise DatasetNotFound(
                Problem(
                    f"This Spark layout has version {info.get('layout_version')}, this Parcours reads "
                    f"version {SPARK_LAYOUT_VERSION}.",
                    fix="Run prepare_layout again.",
                    file=root,
                )
            )
        tables = (spark.read.parquet(f"{root}/{name}") for name in _LAYOUT_TABLES)
        engine = cls.__new__(cls)
        engine._adopt(_Layout(*tables, attributes=tuple(info["attributes"])), cached=False)
        return engine

    def _adopt(self, layout: _Layout, *, cached: bool) -> None:
        """Keep the layout (in executor memory when it was computed here) and read the metadata queries need."""
        self._layout = _Layout(*(table.persist() for table in _tables(layout)), layout.attributes) if cached else layout
        self._cached = cached
        self._stored_as = {name: f"attr_{index}" for index, name in enumerate(layout.attributes)}
        fields = {field.name: field.dataType for field in self._layout.events.schema.fields}
        self._attribute_types = {name: _duckdb_type_name(fields[stored]) for name, stored in self._stored_as.items()}
        self._activity_names = tuple(self.activities()[ACTIVITY])

    def close(self) -> None:
        """Release the cached layout; the engine cannot be used afterwards."""
        if self._cached:
            for table in _tables(self._layout):
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
            .join(self._layout.variants.select("variant_id", "activities", "length"), "variant_id")
            .select(
                "variant_id",
                "activities",
                "cases",
                (F.col("cases") / F.sum("cases").over(Window.partitionBy())).alias("share"),
                "length",
                "median_duration_seconds",
            )
            .orderBy(F.desc("cases"), "activities")
        )
        table = (ranked if limit is None else ranked.limit(limit)).toArrow()
        frame = table.to_pandas()
        # Lists of str as DuckDB's engine gives them; an empty result must keep the object column too.
        return frame.assign(activities=pd.Series(table["activities"].to_pylist(), index=frame.index, dtype=object))

    def cases(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return one row per selected journey — by case_id."""
        columns = ["first_activity", "last_activity", "start_time", "end_time", "events", "duration_seconds"]
        return _collect(self._selected("cases", filters).select(CASE_ID, *columns, "variant_id").orderBy(CASE_ID))

    def case_activity_counts(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, activity, count in long format (clustering features) — by case_id, activity."""
        counts = self._selected("case_activities", filters).select(CASE_ID, ACTIVITY, F.col("events").alias("count"))
        return _collect(counts.orderBy(CASE_ID, ACTIVITY))

    def channel_shares(self, filters: Filters = _EVERY_JOURNEY) -> pd.DataFrame:
        """Return case_id, channel, events, share of the journey's events — by case_id, channel."""
        used = self._selected("events", filters).where(F.col(CHANNEL).isNotNull())
        used = used.groupBy(CASE_ID, CHANNEL).agg(F.count(F.lit(1)).alias("events"))
        totals = self._layout.cases.select(CASE_ID, F.col("events").alias("journey_events"))
        shares = used.join(totals, CASE_ID).select(
            CASE_ID, CHANNEL, "events", (F.col("events") / F.col("journey_events")).alias("share")
        )
        return _collect(shares.orderBy(CASE_ID, CHANNEL))

    def events(self, filters: Filters = _EVERY_JOURNEY, limit: int | None = None) -> pd.DataFrame:
        """Return the canonical events of the selected journeys with `pos`, by case then position."""
        _limit(limit)  # the same checks as Engine; Spark takes the number itself
        columns = [CASE_ID, "pos", ACTIVITY, TIMESTAMP, CHANNEL, SOURCE_ROW, *self._stored_as.values()]
        ordered = self._selected("events", filters).select(*columns).orderBy(CASE_ID, "pos")
        frame = _collect(ordered if limit is None else ordered.limit(limit))
        return frame.set_axis([*columns[:6], *self._stored_as], axis=1)

    def attribute_values(self, column: str, limit: int = 50) -> pd.DataFrame:
        """Return value, cases for one attribute (the most common values first), for filter widgets."""
        self._check_attributes([column])
        _limit(limit)  # the same checks as Engine; Spark takes the number itself
        stored = F.col(self._stored_as[column])
        counted = self._layout.events.where(stored.isNotNull()).groupBy(stored.alias("value"))
        counted = counted.agg(F.count_distinct(CASE_ID).alias("cases")).orderBy(F.desc("cases"), "value")
        return _collect(counted.limit(limit))

    def _selected(self, table: str, filters: Filters) -> DataFrame:
        """Return the rows of one layout table that belong to the journeys `filters` keeps."""
        if not isinstance(filters, Filters):
            raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
        self._check_attributes([column for column, _values in filters.attributes])
        rows = getattr(self._layout, table)
        return rows if filters.is_empty else rows.join(self._kept(filters), CASE_ID, "left_semi")

    def _kept(self, filters: Filters) -> DataFrame:
        """Compile Filters into the case ids they keep, condition by condition, as DuckDB's `_case_predicate` does.

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
            # Compared as text: values from a URL or a widget are text whatever the column's type.
            matches = stored.cast("string").isin(sorted(str(value) for value in values if value is not None))
            event_conditions.append(matches | stored.isNull() if None in values else matches)
        for condition in event_conditions:
            kept = kept.join(events.where(condition).select(CASE_ID), CASE_ID, "left_semi")
        for column, values in (
            (CASE_ID, filters.case_ids),
            ("variant_id", filters.variant_ids),
            ("first_activity", filters.start_activities),
            ("last_activity", filters.end_activities),
        ):
            if values is not None:
                kept = kept.where(F.col(column).isin(sorted(values)))
        if filters.with_activities is not None:
            having = activities.where(F.col(ACTIVITY).isin(sorted(filters.with_activities))).groupBy(CASE_ID).count()
            kept = kept.join(having.where(F.col("count") == len(filters.with_activities)), CASE_ID, "left_semi")
        if filters.without_activities is not None:
            done = activities.where(F.col(ACTIVITY).isin(sorted(filters.without_activities)))
            kept = kept.join(done, CASE_ID, "left_anti")
        for column, low, high in (
            ("duration_seconds", filters.min_duration_seconds, filters.max_duration_seconds),
            ("events", filters.min_events, filters.max_events),
        ):
            if low is not None:
                kept = kept.where(F.col(column) >= F.lit(low))
            if high is not None:
                kept = kept.where(F.col(column) <= F.lit(high))
        return kept.select(CASE_ID)

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


def _read_source(spark: SparkSession, path: str) -> DataFrame:
    if "://" not in path and not Path(path).exists():
        raise DatasetNotFound(Problem("The stored events file is missing.", fix="Import the log again.", file=path))
    return spark.read.parquet(path)


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


def _layout_of(source: DataFrame) -> _Layout:
    """Check a canonical source and describe its layout tables (lazily: Spark computes them on first use)."""
    attributes = _check_source_columns(source)
    return _layout_from_events(_events_of(source, attributes), attributes)


def _events_of(source: DataFrame, attributes: list[str]) -> DataFrame:
    """Return the checked source under canonical names and `attr_i`, with each event's position and successor."""
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
    _check_source_values(canonical)
    journey = Window.partitionBy(CASE_ID).orderBy(TIMESTAMP, SOURCE_ROW)
    return canonical.select(
        CASE_ID,
        (F.row_number().over(journey) - 1).cast("long").alias("pos"),
        ACTIVITY,
        TIMESTAMP,
        CHANNEL,
        F.lead(ACTIVITY).over(journey).alias("next_activity"),
        F.lead(TIMESTAMP).over(journey).alias("next_timestamp"),
        SOURCE_ROW,
        *(f"attr_{index}" for index in range(len(attributes))),
    )


def _layout_from_events(events: DataFrame, attributes: list[str]) -> _Layout:
    """Describe the per-journey, per-variant and per-journey count tables derived from the ordered events."""
    journeys = events.groupBy(CASE_ID).agg(
        F.min_by(ACTIVITY, "pos").alias("first_activity"),
        F.max_by(ACTIVITY, "pos").alias("last_activity"),
        F.min(TIMESTAMP).alias("start_time"),
        F.max(TIMESTAMP).alias("end_time"),
        F.count(F.lit(1)).alias("events"),
        F.transform(F.sort_array(F.collect_list(F.struct("pos", ACTIVITY))), lambda step: step[ACTIVITY]).alias(
            "activities"
        ),
    )
    journeys = journeys.select(
        "*",
        ((F.unix_micros("end_time") - F.unix_micros("start_time")) / 1e6).alias("duration_seconds"),
        F.substring(F.md5(F.to_json("activities")), 1, 16).alias("variant_id"),
    )
    cases = journeys.drop("activities")
    variants = journeys.groupBy("variant_id").agg(
        F.first("activities").alias("activities"), F.count(F.lit(1)).alias("cases")
    )
    variants = variants.select("variant_id", "activities", "cases", F.size("activities").cast("long").alias("length"))
    case_activities = events.groupBy(CASE_ID, ACTIVITY).agg(F.count(F.lit(1)).alias("events"))
    case_pairs = events.where(F.col("next_activity").isNotNull()).groupBy(
        CASE_ID, F.col(ACTIVITY).alias("source"), F.col("next_activity").alias("target")
    )
    case_pairs = case_pairs.agg(F.count(F.lit(1)).alias("events"))
    return _Layout(events, cases, variants, case_activities, case_pairs, tuple(attributes))


def _check_source_columns(source: DataFrame) -> list[str]:
    """Raise when names repeat, a canonical column is missing or badly typed; return the attribute names."""
    names = source.columns
    types = {field.name: field.dataType for field in source.schema.fields}
    problems = [
        Problem("Two columns have this name.", fix="Rename one of them.", column=name)
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    problems += [
        Problem("The canonical column is missing.", fix="Map a source column to it.", column=name)
        for name in CANONICAL_COLUMNS
        if name not in names
    ]
    if not problems:
        if not isinstance(types[TIMESTAMP], T.TimestampType):
            problems.append(
                Problem(
                    f"Timestamps must be instants with a time zone, not {_duckdb_type_name(types[TIMESTAMP])}.",
                    fix="Read the timestamps in the chosen time zone and convert them to UTC.",
                    column=TIMESTAMP,
                )
            )
        if not isinstance(types[SOURCE_ROW], _INTEGER_TYPES):
            problems.append(
                Problem("The file order must be whole numbers.", fix="Number the rows 0, 1, 2 …", column=SOURCE_ROW)
            )
    _raise(problems)
    return [name for name in names if name not in CANONICAL_COLUMNS]


def _check_source_values(canonical: DataFrame) -> None:
    """Raise when the log is empty, a required value is missing or the file order is not unique."""
    required = (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW)
    counts = canonical.agg(
        F.count(F.lit(1)).alias("events"),
        *(F.count(name).alias(name) for name in required),
        F.count_distinct(SOURCE_ROW).alias("distinct_rows"),
    ).first()
    if counts["events"] == 0:
        raise EmptyLog(Problem("The log has no events.", fix="Import a file with at least one row."))
    problems = [
        Problem(
            f"{counts['events'] - counts[name]} event(s) have no value here.",
            fix="Drop or complete these rows.",
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
                column=SOURCE_ROW,
            )
        )
    _raise(problems)
