"""SQL sources: a table or one SELECT of an operator-configured database becomes a `RawLog`, read-only and bounded.

A query is text a user typed, run with the server's credentials, so three fences stand around it besides the
single-SELECT check and the final rollback:

- **read-only**: PostgreSQL runs it in a `READ ONLY` transaction (so `nextval()` or a data-modifying CTE is
  refused, not merely rolled back); SQLite with `PRAGMA query_only`. Other databases rely on the rollback: give
  Parcours a read-only database user there.
- **time**: PostgreSQL stops it after `statement_timeout`; SQLite's progress handler interrupts it; for every
  database Parcours also stops reading once the time is up.
- **size**: rows are streamed in batches and the read is refused as soon as the rows pass
  `PARCOURS_MAX_EVENTS` or their memory passes `PARCOURS_MAX_SQL_RESULT_MB`; SQLite also refuses to build any
  single value larger than that (`SELECT randomblob(1000000000)`).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data.errors import EmptyLog, LimitExceeded, LogError, Problem, SourceNotConfigured, UnsafeInput
from data.readers import BYTES_PER_MB, _too_many_events, _with_clean_columns
from data.schema import RawLog
from data.settings import Settings

__all__ = ["read_sql"]

_SINGLE_STATEMENT = re.compile(r"\A\s*(?:(?:--[^\n]*(?:\n|\Z)|/\*.*?\*/)\s*)*\(*\s*(?:select|with)\b", re.I | re.S)
BATCH_ROWS = 10_000
BATCH_GROWTH = 10
# SQLite calls the progress handler every this many virtual-machine instructions (well under a millisecond).
SQLITE_PROGRESS_INSTRUCTIONS = 10_000
SQLITE_MAX_LENGTH = 2**31 - 1
_POSTGRES_QUERY_CANCELED = "57014"
_POSTGRES_READ_ONLY_TRANSACTION = "25006"


def read_sql(source: str, *, table: str | None = None, query: str | None = None, settings: Settings) -> RawLog:
    """Return a table, or the result of one SELECT query, from an operator-configured SQL source.

    `source` is a name from `settings.sql_sources`, never a URL typed by a user. The query runs read-only, within
    `settings.sql_timeout_seconds`, and its result within `settings.max_events` rows and
    `settings.max_sql_result_mb`; the transaction is always rolled back.

        raw = read_sql("crm", table="touchpoints", settings=Settings.from_env())
    """
    if (table is None) == (query is None):
        raise ValueError("give exactly one of table= or query=")
    if source not in settings.sql_sources:
        configured = ", ".join(repr(n) for n in sorted(settings.sql_sources)) or "none"
        raise SourceNotConfigured(
            Problem(
                f"No SQL source is called {source!r}; configured sources: {configured}.",
                fix="Pick a configured source, or ask the operator to add it to PARCOURS_SQL_SOURCES.",
            )
        )
    if query is not None:
        _check_single_select(query)
    try:
        engine = sa.create_engine(settings.sql_sources[source])
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError):
        # The URL may hold a password: name the source, never the URL.
        raise SourceNotConfigured(
            Problem(
                f"The SQL source {source!r} is misconfigured (its URL or database driver is not usable).",
                fix="Ask the operator to correct PARCOURS_SQL_SOURCES.",
            )
        ) from None
    deadline = time.monotonic() + settings.sql_timeout_seconds
    try:
        columns, frame = _fetch(engine, source, table, query, settings, deadline)
    except sa.exc.SQLAlchemyError as error:
        raise _typed_error(error, source, settings, deadline) from None
    finally:
        engine.dispose()
    label = f"{source}: {table if table is not None else 'query'}"
    if frame.empty:
        raise EmptyLog(
            Problem("The table or query returned no rows.", fix="Check the table or the query's WHERE clause.")
        )
    frame = _with_clean_columns(frame, columns, label)
    return RawLog(frame=frame, name=label, format="sql", sha256=_sql_sha256(source, table, query, frame))


def _fetch(
    engine: sa.Engine, source: str, table: str | None, query: str | None, settings: Settings, deadline: float
) -> tuple[list[str], pd.DataFrame]:
    streamed = {"stream_results": True}
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            _fence(connection, settings, deadline)
            if table is not None:
                statement = sa.select(_reflect_table(connection, source, table)).limit(settings.max_events + 1)
                result = connection.execute(statement, execution_options=streamed)
            else:
                # exec_driver_sql: a ':name' or '%' inside the user's query is text, not a bind parameter.
                result = connection.exec_driver_sql(query, execution_options=streamed)
            if not result.returns_rows:
                raise UnsafeInput(_not_a_select())
            columns = list(result.keys())
            frame = _bounded_rows(result, len(columns), source, settings, deadline)
        finally:
            transaction.rollback()
    return columns, frame


def _fence(connection: sa.Connection, settings: Settings, deadline: float) -> None:
    """Make the transaction read-only and bounded in time, as far as the database allows."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(settings.sql_timeout_seconds * 1000)}")
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        raw.execute("PRAGMA query_only = ON")
        raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _sqlite_length_limit(settings))
        raw.set_progress_handler(lambda: time.monotonic() > deadline, SQLITE_PROGRESS_INSTRUCTIONS)


def _bounded_rows(
    result: sa.CursorResult, n_columns: int, source: str, settings: Settings, deadline: float
) -> pd.DataFrame:
    """Read the rows batch by batch into frames, refusing as soon as a bound is passed.

    The first batch is one row and each next one at most ten times larger, and no larger than what is left of the
    size limit holds at the rows' size so far: rows of 300 MB each are refused after two, not after a batch of them.
    """
    byte_limit = settings.max_sql_result_mb * BYTES_PER_MB
    chunks: list[pd.DataFrame] = []
    rows = held_bytes = 0
    batch_rows = 1
    while batch := result.fetchmany(batch_rows):
        chunk = pd.DataFrame.from_records(batch, columns=range(n_columns))
        del batch
        rows += len(chunk)
        chunk_bytes = int(chunk.memory_usage(deep=True, index=False).sum())
        held_bytes += chunk_bytes
        fitting = (byte_limit - held_bytes) * len(chunk) // max(chunk_bytes, 1)
        batch_rows = max(1, min(BATCH_ROWS, batch_rows * BATCH_GROWTH, fitting))
        if rows > settings.max_events:
            raise LimitExceeded(_too_many_events(source, settings))
        if held_bytes > byte_limit:
            raise LimitExceeded(_too_large(source, settings))
        _check_value_lengths(chunk, rows - len(chunk), source, settings)
        if time.monotonic() > deadline:
            raise LimitExceeded(_too_slow(source, settings))
        chunks.append(chunk)
    if not chunks:
        return pd.DataFrame(columns=range(n_columns))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _check_value_lengths(chunk: pd.DataFrame, first_row: int, source: str, settings: Settings) -> None:
    """Refuse text or binary values longer than a cell of a file may hold (`PARCOURS_MAX_FIELD_BYTES`)."""
    for column in chunk.columns:
        try:
            lengths = chunk[column].str.len()
        except AttributeError:  # numbers, dates: no text in the column
            continue
        if lengths.max() > settings.max_field_bytes:
            row = first_row + int(np.argmax(lengths.to_numpy(dtype=float, na_value=0)))
            raise LimitExceeded(
                Problem(
                    f"A value of SQL source {source!r} is longer than the {settings.max_field_bytes:,} bytes a cell "
                    f"may hold (row {row + 1:,} of the result, column {column + 1}).",
                    fix="Leave the column out of the query, or shorten it (e.g. substr(column, 1, 1000)); or ask "
                    "the operator to raise PARCOURS_MAX_FIELD_BYTES.",
                )
            )


def _typed_error(error: sa.exc.SQLAlchemyError, source: str, settings: Settings, deadline: float) -> LogError:
    """Say what stopped the query: the time limit, a value over the size limit, a write, or the database."""
    original = getattr(error, "orig", None)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == _POSTGRES_QUERY_CANCELED or sqlite_code == sqlite3.SQLITE_INTERRUPT or time.monotonic() > deadline:
        return LimitExceeded(_too_slow(source, settings))
    if sqlite_code == sqlite3.SQLITE_TOOBIG:
        if _longest_row(settings) < settings.max_sql_result_mb * BYTES_PER_MB:
            return LimitExceeded(_row_too_long(source, settings))
        return LimitExceeded(_too_large(source, settings))
    if sqlstate == _POSTGRES_READ_ONLY_TRANSACTION:
        return UnsafeInput(
            Problem(
                f"The query tries to change SQL source {source!r} ({original}); sources are only read.",
                fix="Write a query that only reads, e.g. SELECT customer, action, happened_at FROM touchpoints.",
            )
        )
    return LogError(
        Problem(
            f"Reading from SQL source {source!r} failed: {original or type(error).__name__}",
            fix="Correct the query or table, or ask the operator whether the database is reachable.",
        )
    )


def _longest_row(settings: Settings) -> int:
    """No row of a log this installation accepts is longer than its most columns of its longest cells."""
    return settings.max_columns * settings.max_field_bytes


def _sqlite_length_limit(settings: Settings) -> int:
    """The longest value or row SQLite may build: a query making a longer one (`printf` of 400 MB) stops in SQLite,
    before Python holds several copies of it."""
    return min(_longest_row(settings), settings.max_sql_result_mb * BYTES_PER_MB, SQLITE_MAX_LENGTH)


def _row_too_long(source: str, settings: Settings) -> Problem:
    return Problem(
        f"A value or row of SQL source {source!r} is longer than the {_longest_row(settings):,} bytes a row may take "
        f"here ({settings.max_columns:,} columns of at most {settings.max_field_bytes:,} bytes).",
        fix="Select the columns the journeys need, without long texts or binary payloads, or ask the operator to "
        "raise PARCOURS_MAX_FIELD_BYTES.",
    )


def _too_large(source: str, settings: Settings) -> Problem:
    return Problem(
        f"The result of SQL source {source!r} takes more than the {settings.max_sql_result_mb} MB this installation "
        "accepts.",
        fix="Select fewer columns or rows (a period, a sample of customers), or ask the operator to raise "
        "PARCOURS_MAX_SQL_RESULT_MB.",
    )


def _too_slow(source: str, settings: Settings) -> Problem:
    return Problem(
        f"The query on SQL source {source!r} ran longer than the {settings.sql_timeout_seconds} s this installation "
        "allows, and was stopped.",
        fix="Read a smaller table or period, or ask the operator to raise PARCOURS_SQL_TIMEOUT_SECONDS.",
    )


def _sql_sha256(source: str, table: str | None, query: str | None, frame: pd.DataFrame) -> str:
    """Return the hash of what was asked (source, table or query) and of what came back."""
    digest = hashlib.sha256("\0".join((source, table or "", query or "")).encode())
    digest.update("\0".join(frame.columns).encode())
    # pandas cannot hash the objects some drivers return (JSON dicts, arrays, bytes): hash their repr instead.
    as_text = np.frompyfunc(repr, 1, 1)
    objects = [column for column, dtype in frame.dtypes.items() if dtype == "object"]
    hashable = frame.assign(**{column: as_text(frame[column].to_numpy()) for column in objects})
    digest.update(pd.util.hash_pandas_object(hashable, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _reflect_table(connection: sa.Connection, source: str, table: str) -> sa.Table:
    inspector = sa.inspect(connection)
    available = sorted({*inspector.get_table_names(), *inspector.get_view_names()})
    if table not in available:
        listed = ", ".join(repr(t) for t in available[:50]) or "none"
        raise SourceNotConfigured(
            Problem(
                f"SQL source {source!r} has no table or view {table!r}; available: {listed}.",
                fix="Pick one of the available tables, or write a query.",
            )
        )
    return sa.Table(table, sa.MetaData(), autoload_with=connection)


def _check_single_select(query: str) -> None:
    statement = query.strip().removesuffix(";")
    if not _SINGLE_STATEMENT.match(statement) or ";" in statement:
        raise UnsafeInput(_not_a_select())


def _not_a_select() -> Problem:
    return Problem(
        "Only one SELECT (or WITH … SELECT) query can be run, without ';' inside it.",
        fix="Write a single read-only query such as SELECT customer, action, happened_at FROM touchpoints.",
    )
