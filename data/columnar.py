"""Import a typed Parquet file with DuckDB alone, so that a large log never becomes a pandas frame.

The pandas importer (`data.canonical`) holds the whole log in memory and spends most of a 10M-event
import in Python. A Parquet file whose timestamps are already instants needs none of its text
handling: here DuckDB builds the journey layout straight from the file (the layout is the stored form: no
canonical copy is written, `Store.load_events` exports it on demand), the quality report is computed in SQL,
and DuckDB spills to disk past its memory limit, so 100M events import on a laptop. The result is the
dataset the pandas importer would store: same id, same events, same layout, same quality report. With
`PARCOURS_ENGINE=spark` the canonical events are written for Spark to read, and deleted once it built the layout.

Whenever a file needs what only the pandas importer does (text or naive timestamps, rows to reject or
drop, journeys to split, nested or other unusual column types, limits exceeded), `import_columnar`
returns None and the caller runs the pandas importer, which also gives the per-row error messages.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from data.engine import build_layout_from_query, connect, quote_identifier, sql_literal
from data.errors import spreadsheet_row
from data.isolation import report_progress
from data.quality import layout_quality
from data.schema import (
    ACTIVITY,
    ACTIVITY_JOINER,
    CANONICAL_COLUMNS,
    CASE_ID,
    CHANNEL,
    SOURCE_ROW,
    TIMESTAMP,
    ColumnMapping,
    RawLog,
)
from data.settings import Settings
from data.store import Dataset, Store, file_sha256
from data.timestamps import DATETIME, EARLIEST_US, LATEST_US
from data.workspaces import DEFAULT_WORKSPACE

__all__ = ["import_columnar", "parquet_rows", "parquet_sample", "typed_parquet_sample"]

PARQUET_MAGIC = b"PAR1"
BYTES_PER_MB = 1024 * 1024
# detect_mapping measures value shapes on this many first rows, so the sample gives the same mapping.
SAMPLE_ROWS = 20_000
# A text column is scanned in full for numbers only when its first non-empty values all are numbers.
FIRST_LOOK = 1_000

_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
_KEPT_TYPES = _INTEGER_TYPES | {"VARCHAR", "FLOAT", "DOUBLE"}
_INSTANT = "TIMESTAMP WITH TIME ZONE"
# The same text rules as data.canonical, in RE2: numbers, integers, and codes that look like numbers.
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_INTEGER = r"-?\d+"
_CODE = r"[+-]?0\d.*|[+-]?\d{16,}.*"
# Python's str.strip() removes every character that str.isspace() accepts, not only spaces.
_SPACE_CODES = [code for code in range(sys.maxunicode + 1) if chr(code).isspace()]
_SPACE_CLASS = "[" + "".join(f"\\x{{{code:x}}}" for code in _SPACE_CODES) + "]"
# Characters from '!' to '~' and the next few are never space, so most values skip the list look-up (3 s at 10M).
_NO_SPACE_FROM = ord(" ") + 1
_NO_SPACE_TO = min(code for code in _SPACE_CODES if code > ord(" ")) - 1


def parquet_sample(source: object, *, name: str | None, settings: Settings) -> RawLog | None:
    """Return the first rows of a Parquet file at path `source` as a RawLog named and hashed like the whole file.

    None when `source` is not a path to a Parquet file within the operator's size limit: those go to `read_log`.
    """
    sampled = _sampled(source, name, settings)
    return None if sampled is None else sampled[0]


def typed_parquet_sample(source: object, *, name: str | None, settings: Settings) -> RawLog | None:
    """Return `parquet_sample(source)` when DuckDB can import the whole file whatever its mapping, else None.

    That is a file whose every column is text, a whole or decimal number, or an instant with its time zone (one at
    least), within the operator's limits. The dashboard previews such a file from its first rows and stores it without
    pandas; any other is read whole by pandas, which reads times without a zone in the zone the user chooses and names
    what it cannot read (or which limit it passes).
    """
    sampled = _sampled(source, name, settings)
    if sampled is None:
        return None
    sample, types = sampled
    within = len(sample.frame.columns) <= settings.max_columns and not _over_limits(sample.sample_of, settings)
    return sample if within and _INSTANT in types and types <= _KEPT_TYPES | {_INSTANT} else None


def parquet_rows(path: str | os.PathLike, rows: Sequence[int], *, settings: Settings) -> pd.DataFrame:
    """Return the rows of a Parquet file at these spreadsheet row numbers (as a quality report's examples name them,
    the header being row 1), as read, in file order, indexed by their number; numbers past the end are left out.

    This is how the Import page shows the rows behind a finding of a file it stored without reading it whole.
    """
    records = sorted({int(row) - spreadsheet_row(0) for row in rows})
    with connect(settings) as connection:
        frame = connection.execute(
            f"SELECT * FROM read_parquet({sql_literal(Path(path))}, file_row_number = true)"
            " WHERE file_row_number IN (SELECT unnest(?::BIGINT[])) ORDER BY file_row_number",
            [records],
        ).df()
    return frame.set_index(frame.pop("file_row_number").to_numpy() + spreadsheet_row(0))


def _sampled(source: object, name: str | None, settings: Settings) -> tuple[RawLog, set[str]] | None:
    """The first rows of a Parquet file at path `source` and the DuckDB types of its columns, or None."""
    if not isinstance(source, str | os.PathLike):
        return None
    path = Path(source)
    try:
        with path.open("rb") as stream:
            head = stream.read(len(PARQUET_MAGIC))
        size = path.stat().st_size
    except OSError:
        return None
    if head != PARQUET_MAGIC or size > settings.max_upload_mb * BYTES_PER_MB:
        return None
    with connect(settings) as connection:
        try:
            rows = connection.sql(f"SELECT * FROM read_parquet({sql_literal(path)}) LIMIT {SAMPLE_ROWS}")
            types = [str(kind) for kind in rows.dtypes]
            lengths = [_bytes_of(column, kind) for column, kind in zip(rows.columns, types, strict=True)]
            lengths = [length for length in lengths if length is not None]
            longest = rows.aggregate(f"max(greatest({', '.join(lengths)}))").fetchall()[0][0] if lengths else None
            if (longest or 0) > settings.max_field_bytes:
                return None  # a value stored once would be copied into every row of the frame: read_log refuses it
            sample = rows.df()
        except duckdb.Error:
            return None
    name = name or path.name
    return RawLog(frame=sample, name=name, format="parquet", sha256=file_sha256(path), sample_of=path), set(types)


def import_columnar(
    source: str | os.PathLike,
    sample: RawLog,
    mapping: ColumnMapping,
    *,
    store: Store,
    name: str | None = None,
    owner: str | None = None,
    workspace: str = DEFAULT_WORKSPACE,
    drop_invalid_rows: bool = False,
) -> Dataset | None:
    """Store the Parquet file at `source` read through `mapping`, or return None when the pandas importer must.

    `sample` comes from `parquet_sample` (its name and hash name the dataset); `drop_invalid_rows` only enters
    the dataset's options, since a file with invalid rows is left to the pandas importer.
    """
    path = Path(source)
    settings = store.settings
    report_progress("Checking every row…")
    with _connect(settings) as connection:
        connection.execute(f"CREATE TEMP VIEW raw AS SELECT * FROM read_parquet({sql_literal(path)})")
        plan = _plan(connection, path, mapping, settings)
    if plan is None:
        return None
    options = {
        "format": "parquet",
        "drop_invalid_rows": bool(drop_invalid_rows),
        "split_after_days": None,
        "timestamp_format": DATETIME,
        "dropped_rows": 0,
    }

    select, names = plan
    events = f"{select} FROM read_parquet({sql_literal(path)}, file_row_number = true)"

    def write_events(events_path: Path) -> None:
        with _connect(settings) as connection:
            connection.execute(f"COPY ({events}) TO {sql_literal(events_path)} (FORMAT parquet, COMPRESSION zstd)")

    def write_layout(layout_path: Path) -> None:
        build_layout_from_query(events, names, layout_path, settings, setup=[_STRIP_MACRO], file=path.name)

    return store.import_events(
        write_events,
        lambda layout_path: layout_quality(layout_path, settings),
        write_layout=None if settings.engine == "spark" else write_layout,
        source_sha256=sample.sha256,
        source_name=sample.name,
        mapping=mapping,
        options=options,
        name=name,
        owner=owner,
        workspace=workspace,
    )


def _plan(
    connection: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping, settings: Settings
) -> tuple[str, list[str]] | None:
    """Return the SELECT list that turns the file's rows into canonical events and its column names, or None."""
    described = connection.execute("DESCRIBE raw").fetchall()
    types = {row[0]: row[1] for row in described}
    if len(types) != len(described) or len({name.casefold() for name in types}) != len(types):
        return None  # DuckDB renames columns that differ only in case
    roles = (mapping.case_id, *mapping.activity, mapping.timestamp, *([mapping.channel] if mapping.channel else []))
    attributes = (
        list(mapping.attributes)
        if mapping.attributes is not None
        else [column for column in types if column not in mapping.role_columns]
    )
    if (
        any(column not in types for column in (*roles, *attributes))
        or types[mapping.timestamp] != _INSTANT
        or any(types[column] not in _INTEGER_TYPES | {"VARCHAR"} for column in roles if column != mapping.timestamp)
        or any(types[column] not in _KEPT_TYPES for column in attributes)
        or _over_limits(path, settings)
    ):
        return None
    case_id = _text(mapping.case_id)
    activity = f"coalesce(concat_ws('{ACTIVITY_JOINER}', {', '.join(_part(c) for c in mapping.activity)}), '')"
    channel = _part(mapping.channel) if mapping.channel else "NULL::VARCHAR"
    nulls = [column for column in roles if column != mapping.timestamp and types[column] in _INTEGER_TYPES]
    timestamp = quote_identifier(mapping.timestamp)
    # Instants outside the years 1 to 9999 are refused row by row by the pandas importer.
    # A value longer than a cell may hold is refused by the pandas importer, naming its row; so is text that expands
    # past PARCOURS_MAX_UNCOMPRESSED_MB (one long value repeated from a Parquet dictionary, 10 KB on disk).
    lengths = [length for length in (_bytes_of(column, types[column]) for column in (*roles, *attributes)) if length]
    too_long = "".join(f" OR {length} > {settings.max_field_bytes}" for length in lengths)
    text_bytes = " + ".join(f"coalesce(sum({length}), 0)" for length in lengths) or "0"
    invalid, expanded, *null_counts = connection.execute(
        f"""
        SELECT count(*) FILTER ({case_id} = '' OR {activity} = '' OR {timestamp} IS NULL
                                OR epoch_us({timestamp}) NOT BETWEEN {EARLIEST_US} AND {LATEST_US}{too_long}),
               {text_bytes}
               {"".join(f", count(*) - count({quote_identifier(column)})" for column in nulls)}
        FROM raw
        """
    ).fetchone()
    # A whole-number role with gaps is left to pandas too, which reads it as a float: "5.0", not "5".
    if invalid or any(null_counts) or (expanded or 0) > settings.max_uncompressed_mb * BYTES_PER_MB:
        return None
    reserved = set(CANONICAL_COLUMNS)
    kept = _attribute_expressions(connection, path, attributes, types)
    names = [f"{column} (source)" if column in reserved else column for column in kept]
    select = (
        f"SELECT {case_id} AS {CASE_ID}, {activity} AS {ACTIVITY}, {timestamp} AS {TIMESTAMP}, "
        f"{channel} AS {CHANNEL}, file_row_number AS {SOURCE_ROW}"
        + "".join(
            f", {expression} AS {quote_identifier(name)}" for expression, name in zip(kept.values(), names, strict=True)
        )
    )
    return select, [CASE_ID, ACTIVITY, TIMESTAMP, CHANNEL, SOURCE_ROW, *names]


def _attribute_expressions(
    connection: duckdb.DuckDBPyConnection, path: Path, attributes: list[str], types: dict[str, str]
) -> dict[str, str]:
    """Return each attribute's canonical expression: typed columns kept, number-like text read as numbers.

    As in pandas, text columns lose surrounding spaces and empties.
    """
    quoted = {column: quote_identifier(column) for column in attributes}
    integers = [column for column in attributes if types[column] in _INTEGER_TYPES]
    texts = [column for column in attributes if types[column] == "VARCHAR"]
    # pandas turns a whole-number column with gaps into floats, unless the file's pandas metadata says Int64.
    as_pandas = pq.read_schema(path).empty_table().to_pandas().dtypes
    integers = [column for column in integers if not isinstance(as_pandas[column], pd.api.extensions.ExtensionDtype)]
    gaps = _row(connection, [f"count(*) > count({quoted[column]})" for column in integers], "raw")
    expressions = {column: quoted[column] for column in attributes}
    expressions |= {column: f"{quoted[column]}::DOUBLE" for column, gap in zip(integers, gaps, strict=True) if gap}
    expressions |= {column: _part(column) for column in texts}
    numbers = _number_columns(connection, texts)
    expressions |= {column: f"{_part(column)}::{numbers[column]}" for column in numbers}
    return expressions


def _number_columns(connection: duckdb.DuckDBPyConnection, texts: list[str]) -> dict[str, str]:
    """Return the text columns whose every non-empty value is a number (not a code), with BIGINT or DOUBLE.

    The first rows rule most text columns out cheaply; a column with no value at all stays text.
    """

    def all_match(column: str, pattern: str, *, when_empty: bool = False) -> str:
        return f"coalesce(bool_and(regexp_full_match({_part(column)}, '{pattern}')), {when_empty})"

    first_rows = f"(SELECT * FROM raw LIMIT {FIRST_LOOK})"
    first_look = _row(connection, [all_match(column, _NUMBER, when_empty=True) for column in texts], first_rows)
    maybe = [column for column, plausible in zip(texts, first_look, strict=True) if plausible]
    checks = [
        f"{all_match(column, _NUMBER)} AND NOT coalesce(bool_or(regexp_full_match({_part(column)}, '{_CODE}')), FALSE)"
        for column in maybe
    ]
    numeric = [column for column, ok in zip(maybe, _row(connection, checks, "raw"), strict=True) if ok]
    integer = _row(connection, [all_match(column, _INTEGER) for column in numeric], "raw")
    return {column: "BIGINT" if whole else "DOUBLE" for column, whole in zip(numeric, integer, strict=True)}


def _row(connection: duckdb.DuckDBPyConnection, expressions: list[str], relation: str) -> tuple:
    """Return one row of aggregates over `relation` (none when there are no expressions)."""
    if not expressions:
        return ()
    return connection.execute(f"SELECT {', '.join(expressions)} FROM {relation}").fetchone()


def _over_limits(path: Path, settings: Settings) -> bool:
    """Tell whether the file passes the limits `read_log` enforces (which then says which one)."""
    metadata = pq.read_metadata(path)
    expanded = sum(metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups))
    return metadata.num_rows > settings.max_events or expanded > settings.max_uncompressed_mb * BYTES_PER_MB


def _bytes_of(column: str, kind: str) -> str | None:
    """The expression of a text or binary column's length in bytes; None for other types."""
    if kind == "VARCHAR":
        return f"strlen({quote_identifier(column)})"
    if kind == "BLOB":
        return f"octet_length({quote_identifier(column)})"
    return None


def _text(column: str) -> str:
    """The column as stripped text, '' where missing (as `data.canonical` reads case ids)."""
    return f"coalesce(py_strip({quote_identifier(column)}::VARCHAR), '')"


def _part(column: str) -> str:
    """The column as stripped text, NULL where missing or blank."""
    return f"nullif(py_strip({quote_identifier(column)}::VARCHAR), '')"


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the operator's limits and `py_strip`, Python's str.strip() in SQL."""
    connection = connect(settings, importing=True)
    connection.execute(_STRIP_MACRO)
    return connection


_STRIP_MACRO = f"""
CREATE OR REPLACE TEMP MACRO py_strip(text) AS
CASE WHEN ord(text[1]) BETWEEN {_NO_SPACE_FROM} AND {_NO_SPACE_TO}
      AND ord(text[-1]) BETWEEN {_NO_SPACE_FROM} AND {_NO_SPACE_TO}
     THEN text
     WHEN list_contains({_SPACE_CODES}, ord(text[1])) OR list_contains({_SPACE_CODES}, ord(text[-1]))
     THEN regexp_replace(text, '^{_SPACE_CLASS}+|{_SPACE_CLASS}+$', '', 'g') ELSE text END
"""
