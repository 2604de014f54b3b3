"""Spark builds the journey layout and the summary tables the pages read, as Parquet that DuckDB then serves.

For logs beyond one machine: `prepare_layout` reads a canonical events Parquet file (a local path or an
object-store URL such as `s3a://…`) and writes every table of the DuckDB layout (`data.engine`, LAYOUT_VERSION)
under one root as Parquet (`data.parquet_layout`): the layout tables, the stats of every journey that the
unfiltered views read, and `layout_info` last. `python -m data import-layout ROOT` then registers that root as
a dataset the dashboard serves with DuckDB, and `build_layout_with_spark` does both for each import when
PARCOURS_ENGINE=spark. tests/data/test_spark_equality.py holds every table to DuckDB's, log by log.

Inside a journey events are ordered by (timestamp, source_row); a variant id is the first 16 hex digits of the
MD5 of the JSON list of its activities, exactly as DuckDB's `md5(to_json(list))` spells it. Case codes (the rank
of each case id) and variants' sequence ranks are numbered without a window over the whole table, which would
funnel every row through one task (`_ranked`). Quantiles interpolate linearly between the two closest ranks as
DuckDB does (`lo·(1−d) + hi·d`); means and interpolated quantiles may still differ from DuckDB's in the last bit,
since neither engine fixes its summation order and DuckDB's build may fuse the interpolation into one FMA.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from pathlib import Path, PurePosixPath

from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data.engine import LAYOUT_VERSION, _raise
from data.errors import (
    DatasetNotFound,
    EmptyLog,
    LimitExceeded,
    LogError,
    Problem,
    StorageFull,
    UnexpectedFailure,
    UnsupportedFormat,
)
from data.parquet_layout import LAYOUT_INFO, load_parquet_layout
from data.schema import ACTIVITY, CANONICAL_COLUMNS, CASE_ID, CHANNEL, SOURCE_ROW, TIMESTAMP
from data.settings import Settings

__all__ = ["SPARK_MASTER_VARIABLE", "build_layout_with_spark", "prepare_layout", "spark_session"]

SPARK_MASTER_VARIABLE = "PARCOURS_SPARK_MASTER"

logger = logging.getLogger("parcours.data")

_MASTER_PREFIXES = ("local", "spark://", "sc://")
_LOCAL_SHUFFLE_PARTITIONS = 4
_CASE_CODE = "case_code"
# 2^27 + 1: multiplying by it splits a double's 53-bit significand into two halves (`_halves`).
_VELTKAMP_SPLITTER = 134_217_729.0
# Bits of `monotonically_increasing_id` that number a row inside its partition.
_ROW_IN_PARTITION_BITS = 33
_MISSING_SOURCE = "The stored events file is missing."
_IMPORT_AGAIN = "Import the log again."
_INTEGER_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
# Spark types under the names DuckDB gives them, so that problems name types alike on either engine.
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


def prepare_layout(source_parquet: str | os.PathLike, out_dir: str | os.PathLike, spark: SparkSession) -> None:
    """Write the layout of a canonical events Parquet file (local path or object-store URL) as Parquet tables.

    `out_dir` (a local folder or an object-store URL) gets one folder per table of `data.parquet_layout`: `events`
    sorted by (case_code, pos) within each file, the other layout tables, the stats of every journey, and
    `layout_info` written last, so that a folder without it is an unfinished layout. A bad source raises the typed
    error `build_layout` raises for it, a failed Spark job a typed error too (`_spark_failure`).
    """
    path = str(source_parquet)
    out = str(out_dir).rstrip("/")
    try:
        _write_layout(spark, path, out)
    except (Py4JError, PySparkException) as error:
        raise _spark_failure(error, out) from None


def _write_layout(spark: SparkSession, path: str, out: str) -> None:
    """Write every table of the layout under `out`, each a Spark job of its own, `layout_info` last."""
    canonical, attributes = _canonical_of(_read_source(spark, path), _source_name(path))

    def write(name: str, table: DataFrame) -> DataFrame:
        table.write.mode("overwrite").parquet(f"{out}/{name}")
        return spark.read.parquet(f"{out}/{name}")

    codes = _case_codes(canonical)
    # Each table is read back once written, so that the ordering window and the groupings run once.
    events = write("events", _events_of(canonical, codes))
    tables = {name: write(name, table) for name, table in _tables_from_events(events, codes).items()}
    write("attributes", _attribute_table(spark, attributes))
    for name, table in _stats(events, tables).items():
        write(name, table)
    counts = [table.count() for table in (events, tables["cases"], tables["variants"], tables["activities"])]
    info = spark.createDataFrame(
        [(LAYOUT_VERSION, *counts)], "layout_version int, events long, cases long, variants long, activities long"
    )
    write(LAYOUT_INFO, info.coalesce(1))


def build_layout_with_spark(events_parquet: Path, layout_path: Path, settings: Settings) -> None:
    """Write the DuckDB layout of a canonical events Parquet file, with Spark doing the sorting and grouping.

    The same signature, file and errors as `data.engine.build_layout`, so that the store picks either from
    `settings.engine`: `prepare_layout` (on `spark_session(settings)`) writes the tables as Parquet in a temporary
    folder beside `layout_path`, and `load_parquet_layout` copies them into the DuckDB file. A failure leaves the
    previous layout and no temporary files. On a cluster, `layout_path` must be on a file system the executors
    share with this process; otherwise prepare the layout there and import it (`python -m data import-layout`).
    """
    events_parquet, layout_path = Path(events_parquet), Path(layout_path)
    _require(str(events_parquet), _MISSING_SOURCE, _IMPORT_AGAIN)
    layout_path.parent.mkdir(parents=True, exist_ok=True)
    tables = layout_path.with_name(f".{layout_path.name}.{uuid.uuid4().hex}.tables")
    try:
        prepare_layout(events_parquet, tables, spark_session(settings))
        load_parquet_layout(tables, layout_path, settings)
    finally:
        shutil.rmtree(tables, ignore_errors=True)


def _duckdb_type_name(data_type: T.DataType) -> str:
    if isinstance(data_type, T.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return _DUCKDB_TYPE_NAMES.get(type(data_type), data_type.simpleString().upper())


def _require(path: str, missing: str, fix: str) -> None:
    """Raise DatasetNotFound when a local path is not there (Spark reports missing object-store paths)."""
    if "://" not in path and not Path(path).exists():
        raise DatasetNotFound(Problem(missing, fix=fix, file=path))


def _read_parquet(spark: SparkSession, path: str, missing: str, fix: str) -> DataFrame:
    """Read a Parquet file or folder; raise DatasetNotFound when it is not there, UnsupportedFormat when unreadable."""
    _require(path, missing, fix)
    try:
        return spark.read.parquet(path)
    except (Py4JJavaError, PySparkException) as error:
        if isinstance(error, AnalysisException) and error.getCondition() == "PATH_NOT_FOUND":
            raise DatasetNotFound(Problem(missing, fix=fix, file=path)) from None
        reason = _first_line(error)
    raise UnsupportedFormat(Problem(f"This is not a readable Parquet file ({reason}).", fix=fix, file=path))


def _first_line(error: Exception) -> str:
    """The first line of what Spark says failed: the Java exception's, not the Python call's around it."""
    text = str(getattr(error, "java_exception", error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _spark_failure(error: Exception, out: str) -> LogError:
    """Return the typed error for a Spark job that failed while writing the layout to `out`: out of memory, out of
    disk, or anything else (an output URL Spark cannot write, say), logged with its Java trace under a reference."""
    trace = str(error)
    if "OutOfMemoryError" in trace:
        return LimitExceeded(
            Problem(
                "Spark ran out of memory while preparing the layout.",
                fix="Give its driver more memory (PARCOURS_SPARK_DRIVER_MEMORY, e.g. 8g for 10M events, 12g for 100M) "
                "or run it on a cluster (--master).",
                file=out,
            )
        )
    if os.strerror(errno.ENOSPC) in trace:  # "No space left on device", as `Store` recognises a full disk
        return StorageFull(
            Problem(
                "The disk Spark writes to is full.",
                fix="Free space where the layout and Spark's temporary files (spark.local.dir) go, or write elsewhere.",
                file=out,
            )
        )
    reference = uuid.uuid4().hex[:8]
    logger.error("Spark failed preparing the layout %r (reference %s)", out, reference, exc_info=error)
    return UnexpectedFailure(
        Problem(
            f"Spark could not prepare the layout ({_first_line(error)}; reference {reference}).",
            fix="Check that Spark can write there (an s3a:// URL needs the hadoop-aws package and credentials), or "
            "report the reference to the operator, who finds Spark's trace in the log.",
            file=out,
        ),
        reference=reference,
    )


def _read_source(spark: SparkSession, path: str) -> DataFrame:
    return _read_parquet(spark, path, _MISSING_SOURCE, _IMPORT_AGAIN)


def _source_name(path: str) -> str:
    """Return the name problems give a source file (or object-store key), as build_layout names it."""
    return PurePosixPath(path.rstrip("/")).name


def _quantiles(rows: DataFrame, keys: list[str], value: str, quantiles: dict[str, float]) -> DataFrame:
    """Return `keys` with each named quantile of `value`, interpolated linearly between ranks as DuckDB does.

    DuckDB takes rank (n−1)·q, reads the values at its floor and ceiling and returns lo·(1−d) + hi·d with
    d the fractional part, the first product fused into the sum (one FMA, one rounding); Spark's own
    `percentile` weighs the ranks differently in the last bit, and Spark SQL has no FMA (`_fused`).
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
        .otherwise(_fused(F.col(f"{name}_lo"), 1 - F.col(f"{name}_d"), F.col(f"{name}_hi") * F.col(f"{name}_d")))
        .alias(name)
        for name in quantiles
    ]
    return picked.select(*keys, *interpolated)


def _fused(a: Column, b: Column, c: Column) -> Column:
    """Return a·b + c rounded once, as an FMA instruction computes it, from exact double arithmetic.

    a·b is split into its rounded product and the exact error of that rounding (Dekker's product, with Veltkamp's
    split of each factor into halves of 26 bits), p + c into its rounded sum and exact error (Knuth's two-sum);
    adding the two errors before the last rounding leaves the FMA's result but in cases a hair from a tie.
    """
    a_high, a_low = _halves(a)
    b_high, b_low = _halves(b)
    product = a * b
    product_error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    total = product + c
    c_part = total - product
    sum_error = (product - (total - c_part)) + (c - c_part)
    return total + (sum_error + product_error)


def _halves(x: Column) -> tuple[Column, Column]:
    scaled = x * F.lit(_VELTKAMP_SPLITTER)
    high = scaled - (scaled - x)
    return high, x - high


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


def _tables_from_events(events: DataFrame, codes: DataFrame) -> dict[str, DataFrame]:
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
    return {
        "activities": events.select(ACTIVITY).distinct(),
        "cases": cases,
        "variants": _ranked(variants, "activities", "sequence_rank"),
        "case_activities": case_activities,
        "case_pairs": case_pairs.agg(F.count(F.lit(1)).alias("events")),
    }


def _stats(events: DataFrame, tables: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """Describe the stats of every journey that `data.engine` stores at ingest (its `_STATS`), with the same columns.

    The unfiltered journey map, activity list and variant table read these few hundred rows, not the events.
    """
    cases, case_activities = tables["cases"], tables["case_activities"]
    reached = case_activities.select(ACTIVITY, (F.col("first_offset_us") / 1e6).alias("seconds"))
    activity_stats = (
        case_activities.groupBy(ACTIVITY)
        .agg(F.sum("events").cast("long").alias("events"), F.count(F.lit(1)).alias("cases"))
        .join(_quantiles(reached, [ACTIVITY], "seconds", {"median_seconds_to_reach": 0.5}), ACTIVITY)
    )
    pairs = ["source", "target"]
    steps = events.where(F.col("next_activity").isNotNull()).select(
        F.col(ACTIVITY).alias("source"),
        F.col("next_activity").alias("target"),
        ((F.unix_micros("next_timestamp") - F.unix_micros(TIMESTAMP)) / 1e6).alias("seconds"),
    )
    times = steps.groupBy(*pairs).agg(
        F.avg("seconds").alias("mean_seconds"),
        F.min("seconds").alias("min_seconds"),
        F.max("seconds").alias("max_seconds"),
    )
    pair_counts = (
        tables["case_pairs"]
        .groupBy(*pairs)
        .agg(F.sum("events").cast("long").alias("events"), F.count(F.lit(1)).alias("cases"))
    )
    pair_stats = (
        pair_counts.join(times, pairs)
        .join(_quantiles(steps, pairs, "seconds", {"median_seconds": 0.5, "p90_seconds": 0.9}), pairs)
        .select(
            *pairs, "events", "cases", "mean_seconds", "median_seconds", "p90_seconds", "min_seconds", "max_seconds"
        )
    )
    variant_stats = (
        cases.groupBy("variant_id")
        .agg(F.count(F.lit(1)).alias("cases"))
        .join(_quantiles(cases, ["variant_id"], "duration_seconds", {"median_duration_seconds": 0.5}), "variant_id")
    )
    log_stats = cases.agg(
        F.count(F.lit(1)).alias("cases"),
        F.coalesce(F.sum("events"), F.lit(0)).cast("long").alias("events"),
        F.count_distinct("variant_id").alias("variants"),
        F.min("start_time").alias("start_time"),
        F.max("end_time").alias("end_time"),
    ).crossJoin(case_activities.agg(F.count_distinct(ACTIVITY).alias("activities")))
    return {
        "activity_stats": activity_stats,
        "pair_stats": pair_stats,
        "variant_stats": variant_stats,
        "log_stats": log_stats.select("cases", "events", "activities", "variants", "start_time", "end_time"),
    }


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
