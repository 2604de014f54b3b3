"""A journey layout written as Parquet tables, and how DuckDB serves it.

Spark (`data.spark.prepare_layout`) writes every table of the DuckDB layout (`data.engine`, LAYOUT_VERSION) as a
folder of Parquet files under one root, a local folder or object storage: `events`, `activities`, `cases`,
`variants`, `case_activities`, `case_pairs`, `attributes`, the stats of every journey (`activity_stats`,
`pair_stats`, `variant_stats`, `log_stats`) and, written last so that a root without it is unfinished,
`layout_info`. Columns and values are the layout's, with activity and channel names as text.

`import_layout` registers such a root as a dataset of a `Store`: `load_parquet_layout` copies it into a DuckDB
layout file, restoring the ENUM types and the row order `build_layout` stores, so that the `Engine` serves it like
any other. The pages filter by joining on case codes and rely on zone maps over the sorted events, which a view
over remote Parquet files would re-read from object storage on every filter. DuckDB reads the root from disk, or
from `s3://…` once its httpfs extension is loaded and credentials are set. The layout is the dataset's stored form:
its canonical events are exported from it on demand (`Store.load_events`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath

import duckdb

from data.engine import _CATALOG, LAYOUT_VERSION, connect, quote_identifier, sql_literal
from data.errors import DatasetNotFound, OutdatedLayout, Problem, UnsupportedFormat
from data.quality import layout_quality
from data.schema import ACTIVITY, CASE_ID, CHANNEL, TIMESTAMP, ColumnMapping
from data.settings import Settings
from data.store import Dataset, Store
from data.workspaces import DEFAULT_WORKSPACE

__all__ = [
    "LAYOUT_FORMAT",
    "LAYOUT_INFO",
    "PARQUET_TABLES",
    "import_layout",
    "layout_fingerprint",
    "load_parquet_layout",
]

LAYOUT_INFO = "layout_info"
LAYOUT_FORMAT = "layout"
"""The format a dataset imported from a Parquet layout records (a file's is csv, parquet, xes …)."""
STATS_TABLES = ("activity_stats", "pair_stats", "variant_stats", "log_stats")
PARQUET_TABLES = (
    "events",
    "activities",
    "cases",
    "variants",
    "case_activities",
    "case_pairs",
    "attributes",
    *STATS_TABLES,
    LAYOUT_INFO,
)
"""Every table of the layout, in the order they are written: `layout_info` last."""

_FIX = "Prepare the layout again (python -m data prepare-layout)."
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
# Table -> the order build_layout stores its rows in (the others are small, or unordered there too).
_ROW_ORDER = {
    "events": "case_code, pos",
    "cases": "case_code",
    "case_activities": "case_code",
    "case_pairs": "case_code",
    "attributes": "position",
}


def import_layout(
    root: str | os.PathLike,
    *,
    store: Store,
    name: str | None = None,
    owner: str | None = None,
    workspace: str = DEFAULT_WORKSPACE,
) -> Dataset:
    """Store the Parquet layout at `root` (a folder, or a URL DuckDB reads) as a dataset the dashboard serves.

    The dataset keeps the layout, copied into DuckDB, as its stored form; its quality report is read from the
    layout as for any import. The same layout files give the same dataset id, so
    importing them again returns the stored dataset.
    """
    settings = store.settings
    root = _checked_root(root, settings)
    return store.import_events(
        None,
        lambda layout_path: layout_quality(layout_path, settings),
        source_sha256=layout_fingerprint(root, settings),
        source_name=PurePosixPath(root).name,
        mapping=ColumnMapping(case_id=CASE_ID, activity=ACTIVITY, timestamp=TIMESTAMP, channel=CHANNEL),
        options={"format": LAYOUT_FORMAT},
        name=name,
        owner=owner,
        workspace=workspace,
        write_layout=lambda layout_path: load_parquet_layout(root, layout_path, settings),
    )


def load_parquet_layout(root: str | os.PathLike, layout_path: Path, settings: Settings) -> None:
    """Write the DuckDB layout of the Parquet layout at `root` to `layout_path`, replacing it atomically.

    Raises DatasetNotFound for a local root that is not there, UnsupportedFormat for one without a finished layout,
    OutdatedLayout for a layout of another version. A failure leaves the previous file and no temporary one.
    """
    root = _checked_root(root, settings)
    layout_path = Path(layout_path)
    building = layout_path.with_name(f".{layout_path.name}.{uuid.uuid4().hex}.building")
    try:
        with connect(settings, importing=True) as connection:
            connection.execute(f"ATTACH {sql_literal(building)} AS {_CATALOG}")
            _copy_tables(connection, root)
            connection.execute(f"DETACH {_CATALOG}")
        os.replace(building, layout_path)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)


def layout_fingerprint(root: str | os.PathLike, settings: Settings) -> str:
    """Return a SHA-256 of the layout's Parquet files (names and bytes), so that one layout gets one dataset id.

    Each file is read whole, so this needs the largest file's size in memory, not a sort's: it runs under the general
    memory limit, where copying the layout (`load_parquet_layout`) runs under the import's.
    """
    root = _checked_root(root, settings)
    with connect(settings) as connection:
        (fingerprint,) = connection.execute(
            f"""
            SELECT sha256(string_agg(filename[?:] || ' ' || sha256(content), ' ' ORDER BY filename))
            FROM read_blob({sql_literal(f"{root}/*/*.parquet")})
            """,
            [len(root) + 2],
        ).fetchone()
    return fingerprint


def _checked_root(root: str | os.PathLike, settings: Settings) -> str:
    """Return the root without a trailing slash once its finished layout of this version is found."""
    root = str(root).rstrip("/")
    if "://" not in root and not Path(root).is_dir():
        raise DatasetNotFound(Problem("No folder is there.", fix="Give the folder prepare-layout wrote.", file=root))
    with connect(settings, importing=True) as connection:
        try:
            (version,) = connection.execute(f"SELECT layout_version FROM {_parquet(root, LAYOUT_INFO)}").fetchone()
        except duckdb.Error as error:
            reason = str(error).strip().splitlines()[0]
            raise UnsupportedFormat(
                Problem(f"No finished journey layout here ({reason}).", fix=_FIX, file=root)
            ) from None
    if version != LAYOUT_VERSION:
        raise OutdatedLayout(
            Problem(
                f"This journey layout has version {version}, this Parcours reads version {LAYOUT_VERSION}.",
                fix=_FIX,
                file=root,
            )
        )
    return root


def _parquet(root: str, table: str) -> str:
    return f"read_parquet({sql_literal(f'{root}/{table}/*.parquet')})"


def _copy_tables(connection: duckdb.DuckDBPyConnection, root: str) -> None:
    """Create every layout table in the attached catalog, typed and ordered as build_layout's."""
    connection.execute(
        f"""
        CREATE TYPE {_CATALOG}.activity_name AS ENUM (
            SELECT activity FROM {_parquet(root, "activities")} ORDER BY activity
        )
        """
    )
    connection.execute(
        f"""
        CREATE TYPE {_CATALOG}.channel_name AS ENUM (
            SELECT DISTINCT channel FROM {_parquet(root, "events")} WHERE channel IS NOT NULL ORDER BY channel
        )
        """
    )
    connection.execute(
        f"""
        CREATE TABLE {_CATALOG}.activities AS
        SELECT unnest(enum_range(NULL::{_CATALOG}.activity_name))::{_CATALOG}.activity_name AS activity
        """
    )
    for name in PARQUET_TABLES:
        if name == "activities":
            continue
        described = connection.execute(f"DESCRIBE SELECT * FROM {_parquet(root, name)}").fetchall()
        columns = ", ".join(_as_stored(column) for column, *_ in described)
        order = f"ORDER BY {_ROW_ORDER[name]}" if name in _ROW_ORDER else ""
        connection.execute(f"CREATE TABLE {_CATALOG}.{name} AS SELECT {columns} FROM {_parquet(root, name)} {order}")


def _as_stored(column: str) -> str:
    """Select a Parquet column as the layout stores it: activity and channel names as the layout's ENUM types."""
    quoted = quote_identifier(column)
    if column not in _NAME_TYPES:
        return quoted
    return f"{quoted}::{_CATALOG}.{_NAME_TYPES[column]} AS {quoted}"
