"""Stored datasets: the journey layout named by content hash, metadata in a SQL database.

A dataset is a folder `<home>/datasets/<id>/` (the DuckDB layout, manifest.json and, for a log read into
pandas, its frame's schema as a Parquet file without rows) plus one row of the `datasets` table. The layout is the
stored form: the canonical events are exported from it on demand (`load_events`, `export_events`). The folder is
built in `datasets/.incoming/`, fsynced and renamed into place, and only then is the row inserted: that commit is
the moment the dataset exists. A crash at any point therefore leaves either the old state or the new one, and a
retry reuses a complete folder.

Each dataset id has a lock file in `datasets/.locks/` (an `flock`, released by the kernel when a process
dies): imports and deletes of one dataset hold it exclusively, readers hold it shared while they open its
files, so a reader sees the dataset whole or not at all, never half deleted or half re-imported. The staging
folders of an import are named after its dataset, so the next `Store` removes those whose import is no longer
running. A full disk raises `StorageFull` and leaves the old state.

Metadata goes through SQLAlchemy Core (no ORM session outlives a call, so nothing leaks across
Streamlit reruns) and its schema through Alembic migrations, run when a `Store` opens.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from data.engine import (
    Engine,
    as_parquet_reads,
    build_layout,
    build_layout_from_query,
    export_layout_events,
    layout_canonical_events,
    layout_event_count,
)
from data.errors import DatasetNotFound, EmptyLog, LogError, OutdatedLayout, PermissionDenied, Problem, StorageFull
from data.quality import QualityReport
from data.schema import CANONICAL_COLUMNS, TIMESTAMP, ColumnMapping, EventLog
from data.settings import Settings
from data.uploads import StagedUploads
from data.workspaces import DEFAULT_WORKSPACE, ROLES, Change, Comment, Member, Workspace, role_allows

__all__ = ["Dataset", "SavedPayload", "Store"]

EVENTS_FILE = "events.parquet"  # the canonical events, kept beside the layout by Parcours before 2026-12-07
EVENTS_SCHEMA_FILE = "events_schema.parquet"
_FRAME = "canonical_frame"  # what DuckDB calls a frame the layout is built from
LAYOUT_FILE = "layout.duckdb"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
INCOMING_DIR = ".incoming"
LOCKS_DIR = ".locks"
# Staging folders named by older versions of Parcours carry no dataset id; they are removed after an hour.
STALE_INCOMING_SECONDS = 3600
DATASET_ID = re.compile(r"[0-9a-f]{16}")
STAGING_NAME = re.compile(r"(?P<dataset_id>[0-9a-f]{16})\.[0-9a-f]{32}(?:\.discarded)?")
MAX_NAME_CHARS = 200
MAX_KIND_CHARS = 40
MAX_KEY_CHARS = 64
MAX_USER_CHARS = 200
MAX_COMMENT_CHARS = 5_000
HISTORY_SHOWN = 200
# A workspace's report branding: what each part may be. The logo is a data: URI whose image `discovery` checks.
BRANDING_PARTS = ("company", "primary", "accent", "logo")
MAX_BRANDING_LOGO_CHARS = 400_000
_BRANDING_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# What each kind of annotation needs: saving a view of one's own is reading, deciding about a log is editing.
ANNOTATION_ROLES = {"view": "viewer"}
# Kinds of annotation a member owns (their payload names its "owner", and says whether it is "shared"): with one name
# per log, another member saving the same name would replace it, so only its owner or an admin may, or may delete it.
OWNED_KINDS = frozenset({"view"})
JOURNEY_DEFINITION = "journey_definition"
KNOWN_IDS_SHOWN = 20
# Characters that would move a terminal's cursor, break a line or reverse the text around them (bidi controls).
_UNSHOWABLE_CATEGORIES = ("Cc", "Zl", "Zp")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Opening a dataset is written down at most once a minute: a page rerun must not write to the database each time.
OPENED_RESOLUTION_SECONDS = 60
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant works: it only has to be the same for every process migrating one PostgreSQL database.
MIGRATION_LOCK_KEY = 0x70617263
WRITE = "parcours_write"
POSTGRES_DISK_FULL = "53100"
HASH_CHUNK_BYTES = 1 << 20
UTC_MICROSECONDS = "datetime64[us, UTC]"


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in and out, whether the database keeps the zone (PostgreSQL) or not (SQLite)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


METADATA = sa.MetaData()
DATASETS = sa.Table(
    "datasets",
    METADATA,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("source_name", sa.Text(), nullable=False),
    sa.Column("format", sa.Text(), nullable=False),
    sa.Column("n_events", sa.BigInteger(), nullable=False),
    sa.Column("n_cases", sa.BigInteger(), nullable=False),
    sa.Column("n_activities", sa.Integer(), nullable=False),
    sa.Column("start_time", UTCDateTime(), nullable=False),
    sa.Column("end_time", UTCDateTime(), nullable=False),
    sa.Column("mapping_json", sa.Text(), nullable=False),
    sa.Column("options_json", sa.Text(), nullable=False),
    sa.Column("quality_json", sa.Text(), nullable=False),
    sa.Column("owner", sa.Text(), nullable=False, index=True),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("last_opened_at", UTCDateTime(), nullable=True),
    sa.Column("workspace_id", sa.String(40), nullable=False, server_default=DEFAULT_WORKSPACE, index=True),
)
ANNOTATIONS = sa.Table(
    "annotations",
    METADATA,
    sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(MAX_KIND_CHARS), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("payload_json", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
WORKSPACES = sa.Table(
    "workspaces",
    METADATA,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("branding_json", sa.Text(), nullable=True),
)
MEMBERSHIPS = sa.Table(
    "memberships",
    METADATA,
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(MAX_USER_CHARS), primary_key=True),
    sa.Column("role", sa.String(10), nullable=False),
)
AUDIT = sa.Table(
    "audit",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(40), nullable=False, index=True),
    sa.Column("dataset_id", sa.String(16), nullable=True, index=True),
    sa.Column("user_id", sa.String(MAX_USER_CHARS), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.Text(), nullable=False),
    sa.Column("before_json", sa.Text(), nullable=True),
    sa.Column("after_json", sa.Text(), nullable=True),
)
COMMENTS = sa.Table(
    "comments",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target_kind", sa.String(MAX_KIND_CHARS), nullable=False),
    sa.Column("target_key", sa.Text(), nullable=False),
    sa.Column("author", sa.String(MAX_USER_CHARS), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Index("ix_comments_target", "dataset_id", "target_kind", "target_key"),
)
DOCUMENTS = sa.Table(
    "documents",
    METADATA,
    sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(MAX_KIND_CHARS), primary_key=True),
    sa.Column("key", sa.String(MAX_KEY_CHARS), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("payload_json", sa.Text(), nullable=False),
    sa.Column("author", sa.Text(), nullable=False),
    sa.Column("saved_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class SavedPayload:
    """One saved version of something users decide about a dataset: its number, content, author and time."""

    version: int
    payload: dict
    author: str
    saved_at: datetime


@dataclass(frozen=True)
class Dataset:
    """One stored event log: what it holds, where its files are, and who imported it when."""

    id: str
    name: str
    source_name: str
    format: str
    n_events: int
    n_cases: int
    n_activities: int
    start_time: datetime
    end_time: datetime
    mapping: ColumnMapping
    options: dict
    quality: QualityReport
    owner: str
    created_at: datetime
    updated_at: datetime
    size_bytes: int
    events_path: Path
    layout_path: Path
    last_opened_at: datetime | None = None
    workspace_id: str = DEFAULT_WORKSPACE


class Store:
    """The stored datasets of one Parcours home; safe to share between threads and processes.

    Example: `dataset = Store(Settings.from_env()).import_log(log)`.
    """

    def __init__(self, settings: Settings, *, user: str | None = None):
        if not isinstance(settings, Settings):
            raise TypeError(f"Store needs a Settings, not {type(settings).__name__}.")
        self._settings = settings
        self._user = _checked_user(settings.owner if user is None else user)
        self._datasets_dir = settings.datasets_dir
        self._incoming_dir = settings.datasets_dir / INCOMING_DIR
        self._locks_dir = settings.datasets_dir / LOCKS_DIR
        with _disk_full_is_typed():
            self._incoming_dir.mkdir(parents=True, exist_ok=True)
            self._locks_dir.mkdir(exist_ok=True)
            self._engine = _create_engine(settings.database_url)
            self._writer = self._engine.execution_options(**{WRITE: True})
            _migrate(self._writer)
        self._remove_stale_incoming()
        self._uploads = StagedUploads(settings, self._user)
        self._uploads.remove_stale()

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def user(self) -> str:
        """Who this Store acts as: every write is checked against this user's role and recorded under their name."""
        return self._user

    def as_user(self, user: str) -> Store:
        """Return a Store over the same home acting as `user` (the command lines' `--as`)."""
        return Store(self._settings, user=user)

    @property
    def uploads(self) -> StagedUploads:
        """The user's uploaded files, kept for an hour by their content's hash so a reloaded import page finds its file
        (another user's are not found, even by their hash)."""
        return self._uploads

    def import_log(
        self, log: EventLog, *, name: str | None = None, owner: str | None = None, workspace: str = DEFAULT_WORKSPACE
    ) -> Dataset:
        """Return the stored dataset for `log`, storing it first unless the same import already exists.

        The same source with the same mapping and options always gets the same id, so a second import
        returns the first one untouched (its name and owner included). The layout is built straight from the frame
        (at 10M events, writing a canonical Parquet copy first took 3.5 s more); its schema is kept, so that
        `load_events` gives the frame back with its dtypes.
        """
        _check_log(log)
        table = pa.Table.from_pandas(log.frame, preserve_index=False)

        def write_layout(layout_path: Path) -> None:
            relation = {_FRAME: as_parquet_reads(table)}
            names = table.schema.names
            build_layout_from_query(
                f"SELECT * FROM {_FRAME}", names, layout_path, self._settings, relations=relation, file=log.name
            )

        return self.import_events(
            lambda path: pq.write_table(table, path, compression="zstd"),
            lambda _layout: log.quality,
            write_layout=None if self._settings.engine == "spark" else write_layout,
            events_schema=table.schema,
            source_sha256=log.source_sha256 or _frame_sha256(log.frame),
            source_name=log.name,
            mapping=log.mapping,
            options=log.options,
            name=name,
            owner=owner,
            workspace=workspace,
        )

    def import_events(
        self,
        write_events: Callable[[Path], None] | None,
        quality_of: Callable[[Path], QualityReport],
        *,
        source_sha256: str,
        source_name: str,
        mapping: ColumnMapping,
        options: Mapping[str, Any],
        name: str | None = None,
        owner: str | None = None,
        workspace: str = DEFAULT_WORKSPACE,
        write_layout: Callable[[Path], None] | None = None,
        events_schema: pa.Schema | None = None,
    ) -> Dataset:
        """Store the layout of the canonical events, for every importer.

        `write_layout(path)` writes a layout prepared elsewhere or straight from the source; without it (callers pass
        none with `PARCOURS_ENGINE=spark`) `write_events(path)` writes the canonical events as Parquet, the layout is
        built from them with the engine the settings name, and they are deleted: the layout is the stored form
        (`load_events` exports them from it). `quality_of(layout_path)` returns the report of the events, read from
        their layout (which lists each journey's events in order already); its headline counts become the
        dataset's. The id comes from the source hash, mapping and options, so the same source gives the same
        dataset whichever importer read it. `events_schema` (a pandas frame's) is kept for `load_events`.
        """
        if name:
            name = _checked_name(name)
        if owner is not None and (not isinstance(owner, str) or not owner.strip()):
            raise TypeError("owner must be a non-empty string or None.")
        self._require(workspace, "editor", "import a log")
        dataset_id = _dataset_id(source_sha256, mapping, options, workspace)
        folder = self._datasets_dir / dataset_id
        with self._dataset_lock(dataset_id), _disk_full_is_typed():
            listed = self._row(dataset_id) is not None
            if listed and _read_manifest(folder, dataset_id, check_hashes=False) is not None:
                return self.dataset(dataset_id)
            # Not stored yet, or listed with its files gone: (re)build the folder, reusing a complete one.
            manifest = _read_manifest(folder, dataset_id) or self._build_folder(
                write_events, write_layout, dataset_id, folder, events_schema
            )
            if not listed:
                recipe = {"source_name": source_name, "mapping": mapping, "options": options}
                try:
                    quality = quality_of(folder / LAYOUT_FILE)
                except OutdatedLayout:  # a folder another version of Parcours left without its database row
                    manifest = self._rebuild_layout(folder, dataset_id, manifest["n_events"])
                    quality = quality_of(folder / LAYOUT_FILE)
                self._insert(dataset_id, quality, manifest, recipe, name=name, owner=owner, workspace=workspace)
        return self.dataset(dataset_id)

    def datasets(self) -> list[Dataset]:
        """Return every stored dataset of the workspaces the user belongs to, newest first."""
        query = self._visible(sa.select(DATASETS)).order_by(DATASETS.c.created_at.desc(), DATASETS.c.id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [self._dataset_from_row(row) for row in rows]

    def dataset(self, dataset_id: str) -> Dataset:
        """Return the stored dataset `dataset_id`; DatasetNotFound lists the ids that exist."""
        row = self._row(dataset_id) if _is_dataset_id(dataset_id) else None
        if row is None or self.role(row.workspace_id) is None:
            # Another workspace's dataset is "not found" too: its id tells nothing about it.
            raise self._not_found(dataset_id)
        return self._dataset_from_row(row)

    def rename(self, dataset_id: str, name: str) -> Dataset:
        """Return the dataset under its new display name (the id, named by content, never changes).

        A name typed to rename a dataset may not hold control characters; a name an import takes from its file
        is kept as the file has it (it is data, escaped wherever it is shown).
        """
        name = _checked_name(name, typed=True)
        before = self.dataset(dataset_id)
        self._require(before.workspace_id, "editor", "rename a log")
        with _disk_full_is_typed(), self._writer.begin() as connection:
            result = connection.execute(
                sa.update(DATASETS).where(DATASETS.c.id == dataset_id).values(name=name, updated_at=datetime.now(UTC))
            )
            if not result.rowcount:
                raise self._not_found(dataset_id)
            self._audit(connection, before, "rename", "name", before.name, name)
        return self.dataset(dataset_id)

    def mark_opened(self, dataset_id: str, *, at: datetime | None = None) -> Dataset:
        """Return the dataset with `last_opened_at` set to `at` (now by default), when a user opens it to look at it.

        Only a later time is written, and only once it is at least `OPENED_RESOLUTION_SECONDS` after the one
        stored, so that a page that reruns on every click does not write each time.
        """
        at = datetime.now(UTC) if at is None else at.astimezone(UTC)
        dataset = self.dataset(dataset_id)
        last = dataset.last_opened_at
        if last is not None and last > at - timedelta(seconds=OPENED_RESOLUTION_SECONDS):
            return dataset  # read, not written: most reruns end here
        earlier = sa.or_(
            DATASETS.c.last_opened_at.is_(None),
            DATASETS.c.last_opened_at <= at - timedelta(seconds=OPENED_RESOLUTION_SECONDS),
        )
        with _disk_full_is_typed(), self._writer.begin() as connection:
            connection.execute(
                sa.update(DATASETS).where(DATASETS.c.id == dataset_id, earlier).values(last_opened_at=at)
            )
        return self.dataset(dataset_id)

    def delete(self, dataset_id: str) -> None:
        """Forget the dataset, then remove its files: a crash in between leaves only unlisted files."""
        dataset = self.dataset(dataset_id)
        self._require(dataset.workspace_id, "admin", "delete a log")
        with self._dataset_lock(dataset_id):
            with _disk_full_is_typed(), self._writer.begin() as connection:
                for table in (ANNOTATIONS, DOCUMENTS, COMMENTS):
                    connection.execute(sa.delete(table).where(table.c.dataset_id == dataset_id))
                deleted = connection.execute(sa.delete(DATASETS).where(DATASETS.c.id == dataset_id)).rowcount
                self._audit(connection, dataset, "delete", "log", dataset.name, None)
            if not deleted:
                raise self._not_found(dataset_id)
            self._discard(self._datasets_dir / dataset_id)

    def save_annotation(self, dataset_id: str, kind: str, name: str, payload: Mapping[str, Any]) -> None:
        """Keep what a user decided about a dataset (a stage model, persona names, a saved segment) under `name`.

        Saving the same kind and name again replaces it, except that what a member owns (`OWNED_KINDS`: a saved view)
        is replaced only by its owner or an admin; the annotations go when the dataset goes.
        """
        _check_annotation_key(kind, name)
        payload_json = _annotation_json(payload)
        dataset = self.dataset(dataset_id)
        self._require(dataset.workspace_id, ANNOTATION_ROLES.get(kind, "editor"), f"save a {kind}")
        key = _annotation_key(dataset_id, kind, name)
        row = {"dataset_id": dataset_id, "kind": kind, "name": name}
        with _disk_full_is_typed(), self._writer.begin() as connection:
            # Savers of one name take turns (see save_document), so an owner is checked against the row replaced.
            connection.execute(sa.select(DATASETS.c.id).where(DATASETS.c.id == dataset_id).with_for_update())
            before = connection.execute(sa.select(ANNOTATIONS.c.payload_json).where(key)).scalar()
            if kind in OWNED_KINDS:
                self._require_owner(dataset, kind, name, _loaded(before), payload.get("owner"))
            self._audit(connection, dataset, f"save {kind}", name, _loaded(before), payload)
            connection.execute(sa.delete(ANNOTATIONS).where(key))
            connection.execute(
                sa.insert(ANNOTATIONS).values(**row, payload_json=payload_json, updated_at=datetime.now(UTC))
            )

    def annotation(self, dataset_id: str, kind: str, name: str) -> dict | None:
        """Return the saved annotation, or None when there is none."""
        if self._hidden(dataset_id):
            return None
        query = sa.select(ANNOTATIONS.c.payload_json).where(_annotation_key(dataset_id, kind, name))
        with self._engine.connect() as connection:
            payload_json = connection.execute(query).scalar()
        return None if payload_json is None else json.loads(payload_json)

    def annotations(self, dataset_id: str, kind: str) -> dict[str, dict]:
        """Return every saved annotation of one kind for a dataset, by name."""
        if self._hidden(dataset_id):
            return {}
        query = (
            sa.select(ANNOTATIONS.c.name, ANNOTATIONS.c.payload_json)
            .where(ANNOTATIONS.c.dataset_id == dataset_id, ANNOTATIONS.c.kind == kind)
            .order_by(ANNOTATIONS.c.name)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return {row.name: json.loads(row.payload_json) for row in rows}

    def delete_annotation(self, dataset_id: str, kind: str, name: str) -> None:
        """Forget a saved annotation (one a member owns: only its owner or an admin may); forgetting one that is not
        there is not an error."""
        dataset = self.dataset(dataset_id)
        self._require(dataset.workspace_id, ANNOTATION_ROLES.get(kind, "editor"), f"delete a {kind}")
        key = _annotation_key(dataset_id, kind, name)
        with _disk_full_is_typed(), self._writer.begin() as connection:
            before = connection.execute(sa.select(ANNOTATIONS.c.payload_json).where(key)).scalar()
            if before is not None:
                if kind in OWNED_KINDS:
                    self._require_owner(dataset, kind, name, _loaded(before), None)
                self._audit(connection, dataset, f"delete {kind}", name, _loaded(before), None)
                connection.execute(sa.delete(ANNOTATIONS).where(key))

    def save_definition(self, dataset_id: str, payload: Mapping[str, Any], *, author: str | None = None) -> int:
        """Save a new version of the dataset's journey definition and return its number (1, 2, …).

        Versions are never overwritten, so that any figure can be traced to the definition it was computed with;
        the newest one is in force.
        """
        return self.save_document(dataset_id, JOURNEY_DEFINITION, "", payload, author=author)

    def definition(self, dataset_id: str, version: int | None = None) -> SavedPayload | None:
        """Return the newest saved journey definition of the dataset (or version `version`), None when none is."""
        return self.document(dataset_id, JOURNEY_DEFINITION, "", version)

    def definition_version(self, dataset_id: str) -> int | None:
        """Return the number of the dataset's newest saved journey definition, None when none is saved."""
        if self._hidden(dataset_id):
            return None
        query = sa.select(sa.func.max(DOCUMENTS.c.version)).where(_document_key(dataset_id, JOURNEY_DEFINITION, ""))
        with self._engine.connect() as connection:
            return connection.execute(query).scalar()

    def definition_history(self, dataset_id: str) -> list[SavedPayload]:
        """Return every saved version of the dataset's journey definition, newest first."""
        return self.document_history(dataset_id, JOURNEY_DEFINITION, "")

    def save_document(
        self, dataset_id: str, kind: str, key: str, payload: Mapping[str, Any], *, author: str | None = None
    ) -> int:
        """Save a new version of one document (a designed journey, an action…) and return its number (1, 2, …).

        A document is named by its kind and a key unique within the kind ("" when a dataset has one of the kind).
        Versions are never overwritten: the newest is in force and the others are its history. Writers saving at once
        get one version each, in the order they committed.
        """
        _check_document_key(kind, key)
        payload_json = _annotation_json(payload)
        dataset = self.dataset(dataset_id)
        self._require(dataset.workspace_id, "editor", f"save a {kind.replace('_', ' ')}")
        author = author or self._user
        with _disk_full_is_typed(), self._writer.begin() as connection:
            # Writers of one dataset take turns: SQLite's BEGIN IMMEDIATE serialises them already, PostgreSQL needs
            # the dataset's row locked, or two of them would read the same newest version.
            connection.execute(sa.select(DATASETS.c.id).where(DATASETS.c.id == dataset_id).with_for_update())
            newest = connection.execute(
                sa.select(sa.func.max(DOCUMENTS.c.version)).where(_document_key(dataset_id, kind, key))
            ).scalar()
            version = (newest or 0) + 1
            before = connection.execute(
                sa.select(DOCUMENTS.c.payload_json).where(
                    _document_key(dataset_id, kind, key), DOCUMENTS.c.version == newest
                )
            ).scalar()
            target = f"{key} (version {version})" if key else f"version {version}"
            self._audit(connection, dataset, f"save {kind.replace('_', ' ')}", target, _loaded(before), payload)
            connection.execute(
                sa.insert(DOCUMENTS).values(
                    dataset_id=dataset_id,
                    kind=kind,
                    key=key,
                    version=version,
                    payload_json=payload_json,
                    author=author,
                    saved_at=datetime.now(UTC),
                )
            )
        return version

    def document(self, dataset_id: str, kind: str, key: str, version: int | None = None) -> SavedPayload | None:
        """Return the newest version of a document (or version `version`), None when there is none."""
        if self._hidden(dataset_id):
            return None
        query = sa.select(DOCUMENTS).where(_document_key(dataset_id, kind, key))
        if version is not None:
            query = query.where(DOCUMENTS.c.version == version)
        query = query.order_by(DOCUMENTS.c.version.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _saved_payload(row)

    def document_history(self, dataset_id: str, kind: str, key: str) -> list[SavedPayload]:
        """Return every saved version of a document, newest first."""
        if self._hidden(dataset_id):
            return []
        query = sa.select(DOCUMENTS).where(_document_key(dataset_id, kind, key)).order_by(DOCUMENTS.c.version.desc())
        with self._engine.connect() as connection:
            return [_saved_payload(row) for row in connection.execute(query).all()]

    def documents(self, dataset_id: str, kind: str) -> dict[str, SavedPayload]:
        """Return the newest version of every document of one kind for a dataset, by key, in key order."""
        if self._hidden(dataset_id):
            return {}
        newest = (
            sa.select(DOCUMENTS.c.key, sa.func.max(DOCUMENTS.c.version).label("version"))
            .where(DOCUMENTS.c.dataset_id == dataset_id, DOCUMENTS.c.kind == kind)
            .group_by(DOCUMENTS.c.key)
            .subquery()
        )
        query = (
            sa.select(DOCUMENTS)
            .join(newest, sa.and_(DOCUMENTS.c.key == newest.c.key, DOCUMENTS.c.version == newest.c.version))
            .where(DOCUMENTS.c.dataset_id == dataset_id, DOCUMENTS.c.kind == kind)
            .order_by(DOCUMENTS.c.key)
        )
        with self._engine.connect() as connection:
            return {row.key: _saved_payload(row) for row in connection.execute(query).all()}

    # --- workspaces, roles, history and comments ---

    def role(self, workspace_id: str) -> str | None:
        """Return the user's role in a workspace (viewer, editor, admin), None when they are not a member.

        Locally the one user is admin everywhere; for a team, the operator's `PARCOURS_ADMINS` administer the Default
        workspace, and everyone else has the role an admin gave them.
        """
        if self._settings.auth == "local":
            return "admin"
        if workspace_id == DEFAULT_WORKSPACE and self._user in self._settings.admins:
            return "admin"
        query = sa.select(MEMBERSHIPS.c.role).where(
            MEMBERSHIPS.c.workspace_id == workspace_id, MEMBERSHIPS.c.user_id == self._user
        )
        with self._engine.connect() as connection:
            return connection.execute(query).scalar()

    def workspaces(self) -> list[Workspace]:
        """Return the workspaces the user belongs to, with their role in each, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(WORKSPACES).order_by(WORKSPACES.c.name)).all()
        roles = {row.id: self.role(row.id) for row in rows}
        return [Workspace(row.id, row.name, roles[row.id]) for row in rows if roles[row.id] is not None]

    def create_workspace(self, name: str) -> Workspace:
        """Create a workspace, administered by its creator; only an admin of the Default workspace may."""
        self._require(DEFAULT_WORKSPACE, "admin", "create a workspace")
        name = _checked_name(name, typed=True)
        workspace_id = uuid.uuid4().hex[:12]
        with _disk_full_is_typed(), self._writer.begin() as connection:
            taken = connection.execute(sa.select(WORKSPACES.c.id).where(WORKSPACES.c.name == name)).scalar()
            if taken is not None:
                raise LogError(Problem("A workspace already has this name.", fix="Choose another name.", value=name))
            connection.execute(sa.insert(WORKSPACES).values(id=workspace_id, name=name, created_at=datetime.now(UTC)))
            connection.execute(
                sa.insert(MEMBERSHIPS).values(workspace_id=workspace_id, user_id=self._user, role="admin")
            )
            connection.execute(
                sa.insert(AUDIT).values(
                    self._change(workspace_id, None)
                    | {"action": "create workspace", "target": name, "before_json": None, "after_json": None}
                )
            )
        return Workspace(workspace_id, name, "admin")

    def members(self, workspace_id: str) -> list[Member]:
        """Return the members of a workspace and their roles (any member may see them)."""
        self._require(workspace_id, "viewer", "see the members")
        query = (
            sa.select(MEMBERSHIPS.c.user_id, MEMBERSHIPS.c.role)
            .where(MEMBERSHIPS.c.workspace_id == workspace_id)
            .order_by(MEMBERSHIPS.c.user_id)
        )
        with self._engine.connect() as connection:
            return [Member(row.user_id, row.role) for row in connection.execute(query).all()]

    def set_member(self, workspace_id: str, user_id: str, role: str | None) -> None:
        """Give `user_id` a role in the workspace, or remove them with None; only its admins may."""
        self._require(workspace_id, "admin", "manage the members")
        user_id = _checked_user(user_id)
        if role is not None and role not in ROLES:
            raise LogError(Problem(f"A role is one of {', '.join(ROLES)}.", value=str(role)))
        key = sa.and_(MEMBERSHIPS.c.workspace_id == workspace_id, MEMBERSHIPS.c.user_id == user_id)
        with _disk_full_is_typed(), self._writer.begin() as connection:
            before = connection.execute(sa.select(MEMBERSHIPS.c.role).where(key)).scalar()
            connection.execute(sa.delete(MEMBERSHIPS).where(key))
            if role is not None:
                connection.execute(sa.insert(MEMBERSHIPS).values(workspace_id=workspace_id, user_id=user_id, role=role))
            connection.execute(
                sa.insert(AUDIT).values(
                    self._change(workspace_id, None)
                    | {"action": "member", "target": user_id, "before_json": _json(before), "after_json": _json(role)}
                )
            )

    def branding(self, workspace_id: str) -> dict[str, str]:
        """Return what the workspace's admins set of its reports' branding (some of `BRANDING_PARTS`; empty: none)."""
        self._require(workspace_id, "viewer", "see the branding")
        query = sa.select(WORKSPACES.c.branding_json).where(WORKSPACES.c.id == workspace_id)
        with self._engine.connect() as connection:
            return _loaded(connection.execute(query).scalar()) or {}

    def set_branding(self, workspace_id: str, branding: Mapping[str, str]) -> None:
        """Set the branding of the workspace's reports (company, primary and accent colours, logo as a data: URI; a
        part left out is the operator's); only its admins may, and the history records it."""
        self._require(workspace_id, "admin", "set the branding")
        kept = _checked_branding(branding)
        with _disk_full_is_typed(), self._writer.begin() as connection:
            key = WORKSPACES.c.id == workspace_id
            before = _loaded(connection.execute(sa.select(WORKSPACES.c.branding_json).where(key)).scalar())
            connection.execute(sa.update(WORKSPACES).where(key).values(branding_json=_json(kept or None)))
            connection.execute(
                sa.insert(AUDIT).values(
                    self._change(workspace_id, None)
                    | {
                        "action": "branding",
                        "target": "reports",
                        "before_json": _json(_branding_shown(before)),
                        "after_json": _json(_branding_shown(kept or None)),
                    }
                )
            )

    def history(self, dataset_id: str | None = None, *, limit: int = HISTORY_SHOWN) -> list[Change]:
        """Return the latest changes to shared things (of one log, or of every workspace of the user), newest first."""
        query = sa.select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
        if dataset_id is not None:
            self.dataset(dataset_id)
            query = query.where(AUDIT.c.dataset_id == dataset_id)
        elif self._settings.auth != "local":
            query = query.where(AUDIT.c.workspace_id.in_([workspace.id for workspace in self.workspaces()]))
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            Change(
                row.id,
                row.workspace_id,
                row.dataset_id,
                row.user_id,
                row.at,
                row.action,
                row.target,
                _loaded(row.before_json),
                _loaded(row.after_json),
            )
            for row in rows
        ]

    def restore_document(self, dataset_id: str, kind: str, key: str, version: int) -> int:
        """Put an earlier version of a document back in force, as a new version (the history keeps every one)."""
        earlier = self.document(dataset_id, kind, key, version)
        if earlier is None:
            raise LogError(Problem(f"This {kind.replace('_', ' ')} has no version {version}.", value=str(version)))
        return self.save_document(dataset_id, kind, key, earlier.payload)

    def add_comment(self, dataset_id: str, target_kind: str, target_key: str, text: str) -> Comment:
        """Comment on a figure of a log (any member may); `@user` in the text mentions a teammate."""
        dataset = self.dataset(dataset_id)
        self._require(dataset.workspace_id, "viewer", "comment")
        _check_annotation_key(target_kind, target_key or "-")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT_CHARS:
            raise LogError(Problem(f"A comment is 1 to {MAX_COMMENT_CHARS:,} characters.", column="text"))
        row = {
            "dataset_id": dataset_id,
            "target_kind": target_kind,
            "target_key": target_key,
            "author": self._user,
            "at": datetime.now(UTC),
            "text": text.strip(),
        }
        with _disk_full_is_typed(), self._writer.begin() as connection:
            comment_id = connection.execute(sa.insert(COMMENTS).values(row)).inserted_primary_key[0]
        return Comment(comment_id, **row)

    def comments(self, dataset_id: str, target_kind: str | None = None, target_key: str | None = None) -> list[Comment]:
        """Return the comments on a log (on one kind of figure, or one figure), oldest first."""
        self.dataset(dataset_id)
        query = sa.select(COMMENTS).where(COMMENTS.c.dataset_id == dataset_id).order_by(COMMENTS.c.id)
        if target_kind is not None:
            query = query.where(COMMENTS.c.target_kind == target_kind)
        if target_key is not None:
            query = query.where(COMMENTS.c.target_key == target_key)
        with self._engine.connect() as connection:
            return [_comment(row) for row in connection.execute(query).all()]

    def mentions(self, *, limit: int = HISTORY_SHOWN) -> list[Comment]:
        """Return the comments that @mention the user, in the logs they can open, newest first."""
        visible = [dataset.id for dataset in self.datasets()]
        pattern = "%@" + self._user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = (
            sa.select(COMMENTS)
            .where(COMMENTS.c.dataset_id.in_(visible), COMMENTS.c.text.like(pattern, escape="\\"))
            .order_by(COMMENTS.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            found = [_comment(row) for row in connection.execute(query).all()]
        return [comment for comment in found if self._user in comment.mentions]

    def _require(self, workspace_id: str, needed: str, doing: str) -> None:
        """Raise PermissionDenied unless the user's role in the workspace allows what needs `needed`."""
        role = self.role(workspace_id)
        if not role_allows(role, needed):
            article = "an" if needed[0] in "aeiou" else "a"
            raise PermissionDenied(
                Problem(
                    f"Only {article} {needed} of this workspace can {doing}; {self._user} is "
                    f"{'not a member' if role is None else f'a {role}'}.",
                    fix="Ask an admin of the workspace for that role.",
                    value=self._user,
                )
            )

    def _hidden(self, dataset_id: str) -> bool:
        """Tell whether a log is another workspace's (or not stored), so that what was saved about it reads as nothing,
        as if it had gone; locally every log is the one user's."""
        if self._settings.auth == "local":
            return False
        row = self._row(dataset_id) if _is_dataset_id(dataset_id) else None
        return row is None or self.role(row.workspace_id) is None

    def may_change(self, dataset_id: str, owner: str | None) -> bool:
        """Tell whether the user may replace or delete what `owner` saved about a log (None: nobody owns it): their
        own, or anyone's in a workspace they administer."""
        return self._may_change(self.dataset(dataset_id).workspace_id, owner)

    def _may_change(self, workspace_id: str, owner: object) -> bool:
        return owner in (None, self._user) or role_allows(self.role(workspace_id), "admin")

    def _require_owner(self, dataset: Dataset, kind: str, name: str, before: object, owner: object) -> None:
        """Raise PermissionDenied unless the user may replace (or delete) `before` and save under `owner`'s name."""
        held_by = before.get("owner") if isinstance(before, Mapping) else None
        if not self._may_change(dataset.workspace_id, held_by):
            whose = held_by if before.get("shared", True) else "another member (it is private)"
            raise PermissionDenied(
                Problem(
                    f"The {kind} “{name}” of this log belongs to {whose}: only they or an admin of the workspace can "
                    "replace or delete it.",
                    fix=f"Pick another name for your {kind}.",
                    value=name,
                )
            )
        if not self._may_change(dataset.workspace_id, owner):
            raise PermissionDenied(
                Problem(
                    f"A {kind} is saved under its owner's name: only an admin of the workspace saves one as {owner}.",
                    fix=f"Save the {kind} under your own name ({self._user}).",
                    value=str(owner),
                )
            )

    def _visible(self, query: sa.Select) -> sa.Select:
        """Keep, of a query over datasets, the rows of the workspaces the user belongs to."""
        if self._settings.auth == "local":
            return query
        return query.where(DATASETS.c.workspace_id.in_([workspace.id for workspace in self.workspaces()]))

    def _change(self, workspace_id: str, dataset_id: str | None) -> dict:
        return {"workspace_id": workspace_id, "dataset_id": dataset_id, "user_id": self._user, "at": datetime.now(UTC)}

    def _audit(
        self, connection: sa.Connection, dataset: Dataset, action: str, target: str, before: object, after: object
    ) -> None:
        """Record a change to something shared about `dataset`, in the transaction that makes it."""
        values = {"action": action, "target": target, "before_json": _json(before), "after_json": _json(after)}
        connection.execute(sa.insert(AUDIT).values(self._change(dataset.workspace_id, dataset.id) | values))

    def engine(self, dataset_id: str) -> Engine:
        """Return the DuckDB engine over the dataset's ingest-once layout.

        The layout is derived data: one written by another version of Parcours is rebuilt from the stored
        events (atomically, so a reader of the old one is not disturbed) instead of asking for a new import.
        Once open, the engine keeps reading the files it opened even if the dataset is deleted meanwhile.
        """
        with self._dataset_lock(dataset_id, shared=True):
            dataset = self.dataset(dataset_id)
            try:
                return Engine(dataset.layout_path, self._settings)
            except OutdatedLayout:
                pass
        with self._dataset_lock(dataset_id), _disk_full_is_typed():
            dataset = self.dataset(dataset_id)
            try:
                return Engine(dataset.layout_path, self._settings)
            except OutdatedLayout:
                self._rebuild_layout(dataset.layout_path.parent, dataset_id, dataset.n_events)
                return Engine(dataset.layout_path, self._settings)

    def load_events(self, dataset_id: str) -> pd.DataFrame:
        """Return the canonical frame as it was imported (columns, order; a frame's dtypes), exported from the layout.

        A log read into pandas has its frame's schema kept, so it comes back with the same dtypes (nullable integers
        and booleans, text); any other has the types its layout stores.
        """
        with self._dataset_lock(dataset_id, shared=True):
            dataset = self.dataset(dataset_id)
            listed = _listed_files(dataset.layout_path.parent)
            if EVENTS_FILE not in listed:
                events = layout_canonical_events(dataset.layout_path, self._settings)
                if EVENTS_SCHEMA_FILE in listed:
                    schema = pq.read_schema(dataset.layout_path.with_name(EVENTS_SCHEMA_FILE))
                    events = events.select(schema.names).cast(schema)
                return events.to_pandas()
            try:
                return pd.read_parquet(dataset.events_path)
            except FileNotFoundError:
                raise DatasetNotFound(
                    Problem(
                        "The stored events file is missing.", fix="import the log again.", file=str(dataset.events_path)
                    )
                ) from None

    def export_events(self, dataset_id: str, events_parquet: Path) -> None:
        """Write the dataset's canonical events as one Parquet file (for Spark's prepare-layout, or to keep).

        Streamed from the layout by DuckDB, so a log larger than memory exports too (a log that an older Parcours
        kept as Parquet beside its layout has that file copied). The file is written under a temporary name and
        renamed, so it is never seen half written.
        """
        events_parquet = Path(events_parquet)
        partial = events_parquet.with_name(f".{events_parquet.name}.{uuid.uuid4().hex}.partial")
        with self._dataset_lock(dataset_id, shared=True), _disk_full_is_typed():
            dataset = self.dataset(dataset_id)
            try:
                if EVENTS_FILE in _listed_files(dataset.events_path.parent):
                    shutil.copyfile(dataset.events_path, partial)
                else:
                    export_layout_events(dataset.layout_path, partial, self._settings)
                os.replace(partial, events_parquet)
            finally:
                partial.unlink(missing_ok=True)

    @contextmanager
    def _dataset_lock(self, dataset_id: str, *, shared: bool = False) -> Iterator[None]:
        """Hold the dataset's lock: exclusive to import or delete it, shared to open its files."""
        if not _is_dataset_id(dataset_id):
            raise self._not_found(dataset_id)
        descriptor = os.open(self._locks_dir / f"{dataset_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _remove_stale_incoming(self) -> None:
        """Remove what killed imports and deletes left in staging, sparing the folders of those still running."""
        for leftover in self._incoming_dir.iterdir():
            named = STAGING_NAME.fullmatch(leftover.name)
            if named is None:
                if _older_than(leftover, STALE_INCOMING_SECONDS):
                    shutil.rmtree(leftover, ignore_errors=True)
                continue
            descriptor = os.open(self._locks_dir / f"{named['dataset_id']}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its import or delete is running now
            else:
                shutil.rmtree(leftover, ignore_errors=True)
            finally:
                os.close(descriptor)

    def _insert(
        self,
        dataset_id: str,
        quality: QualityReport,
        manifest: dict,
        recipe: dict,
        *,
        name: str | None,
        owner: str | None,
        workspace: str,
    ) -> None:
        now = datetime.now(UTC)
        row = {
            "id": dataset_id,
            "name": name or recipe["source_name"] or f"Dataset {dataset_id}",
            "source_name": recipe["source_name"],
            "format": str(recipe["options"].get("format", "")),
            "n_events": quality.events,
            "n_cases": quality.cases,
            "n_activities": quality.activities,
            "start_time": quality.start.to_pydatetime(),
            "end_time": quality.end.to_pydatetime(),
            "mapping_json": _canonical_json(recipe["mapping"].to_dict()),
            "options_json": _canonical_json(recipe["options"]),
            "quality_json": _canonical_json(quality.to_dict()),
            "owner": owner or self._user,
            "size_bytes": sum(entry["bytes"] for entry in manifest["files"].values()),
            "created_at": now,
            "updated_at": now,
            "workspace_id": workspace,
        }
        try:
            with self._writer.begin() as connection:
                connection.execute(sa.insert(DATASETS).values(row))
                audit_row = {"action": "import", "target": "log", "before_json": None, "after_json": _json(row["name"])}
                connection.execute(sa.insert(AUDIT).values(self._change(workspace, dataset_id) | audit_row))
        except sa.exc.IntegrityError:
            if self._row(dataset_id) is None:
                raise
            # Another process committed the same import between our check and our insert.

    def _build_folder(
        self,
        write_events: Callable[[Path], None] | None,
        write_layout: Callable[[Path], None] | None,
        dataset_id: str,
        folder: Path,
        events_schema: pa.Schema | None,
    ) -> dict:
        """Write the dataset's files in a private folder, make them durable, then rename it into place."""
        staging = self._incoming_dir / f"{dataset_id}.{uuid.uuid4().hex}"
        staging.mkdir()
        events, layout = staging / EVENTS_FILE, staging / LAYOUT_FILE
        try:
            if events_schema is not None:
                pq.write_table(events_schema.empty_table(), staging / EVENTS_SCHEMA_FILE)
            if write_layout is None:
                write_events(events)
                self._build_layout(events, layout)
                events.unlink()
            else:
                write_layout(layout)
            manifest = _write_manifest(staging, dataset_id, n_events=layout_event_count(layout, self._settings))
            self._move_into_place(staging, folder, dataset_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return manifest

    def _rebuild_layout(self, folder: Path, dataset_id: str, n_events: int) -> dict:
        """Rebuild the folder's layout from its events (atomically) and return the new manifest.

        A dataset without an events file has them exported from its old layout first, into a staging folder that is
        removed once the new layout is in place (one a crash leaves is removed by the next `Store`).
        """
        events = folder / EVENTS_FILE
        if events.is_file():
            self._build_layout(events, folder / LAYOUT_FILE)
        else:
            staging = self._incoming_dir / f"{dataset_id}.{uuid.uuid4().hex}"
            staging.mkdir()
            try:
                export_layout_events(folder / LAYOUT_FILE, staging / EVENTS_FILE, self._settings)
                self._build_layout(staging / EVENTS_FILE, folder / LAYOUT_FILE)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return _write_manifest(folder, dataset_id, n_events=n_events)

    def _build_layout(self, events_path: Path, layout_path: Path) -> None:
        """Build the DuckDB layout with the engine the settings name: Spark writes the same file, batch-computed."""
        if self._settings.engine == "spark":
            from data.spark import build_layout_with_spark  # pyspark is only installed where Spark is used

            build_layout_with_spark(events_path, layout_path, self._settings)
        else:
            build_layout(events_path, layout_path, self._settings)

    def _move_into_place(self, staging: Path, folder: Path, dataset_id: str) -> None:
        if folder.exists() and _read_manifest(folder, dataset_id) is None:
            self._discard(folder)  # half-deleted or otherwise broken: never listed, so safe to replace
        try:
            os.replace(staging, folder)
        except OSError:
            if _read_manifest(folder, dataset_id) is None:
                raise
            shutil.rmtree(staging)  # another process put the same dataset in place first
        _fsync(self._datasets_dir)

    def _discard(self, folder: Path) -> None:
        """Remove a dataset folder by first renaming it out of sight, so no half folder keeps its name."""
        trash = self._incoming_dir / f"{folder.name}.{uuid.uuid4().hex}.discarded"
        try:
            os.replace(folder, trash)
        except FileNotFoundError:
            return
        _fsync(self._datasets_dir)
        shutil.rmtree(trash, ignore_errors=True)

    def _row(self, dataset_id: str) -> sa.Row | None:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(DATASETS).where(DATASETS.c.id == dataset_id)).first()

    def _not_found(self, dataset_id: object) -> DatasetNotFound:
        query = self._visible(sa.select(DATASETS.c.id)).order_by(DATASETS.c.created_at.desc(), DATASETS.c.id)
        with self._engine.connect() as connection:
            known = connection.execute(query).scalars().all()
        if not known:
            fix = "import a log first: no dataset is stored yet."
        else:
            more = len(known) - KNOWN_IDS_SHOWN
            fix = "use one of the stored ids: " + ", ".join(known[:KNOWN_IDS_SHOWN])
            fix += f" (and {more} more)." if more > 0 else "."
        return DatasetNotFound(Problem("No stored dataset has this id.", fix=fix, value=str(dataset_id)))

    def _dataset_from_row(self, row: sa.Row) -> Dataset:
        folder = self._datasets_dir / row.id
        return Dataset(
            id=row.id,
            name=row.name,
            source_name=row.source_name,
            format=row.format,
            n_events=row.n_events,
            n_cases=row.n_cases,
            n_activities=row.n_activities,
            start_time=row.start_time,
            end_time=row.end_time,
            mapping=ColumnMapping.from_dict(json.loads(row.mapping_json)),
            options=json.loads(row.options_json),
            quality=QualityReport.from_dict(json.loads(row.quality_json)),
            owner=row.owner,
            created_at=row.created_at,
            updated_at=row.updated_at,
            size_bytes=row.size_bytes,
            events_path=folder / EVENTS_FILE,
            layout_path=folder / LAYOUT_FILE,
            last_opened_at=row.last_opened_at,
            workspace_id=row.workspace_id,
        )


def _create_engine(database_url: str) -> sa.Engine:
    """Return an engine for the metadata database; plain `postgresql://` URLs get the psycopg 3 driver."""
    try:
        url = sa.make_url(database_url)
    except sa.exc.ArgumentError:
        raise LogError(
            Problem(
                "PARCOURS_DATABASE_URL is not a database URL.",
                fix="set it to a SQLAlchemy URL such as sqlite:///path/parcours.db or postgresql+psycopg://user@host/db.",
            )
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: sa.Engine) -> None:
    """Make SQLite wait for locks, keep readers off writers' backs (WAL) and honour foreign keys.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN really starts every
    transaction (DDL included); writes take the lock up front (BEGIN IMMEDIATE) so that two writers
    queue on busy_timeout instead of failing when a read turns into a write.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _connection_record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE) else "BEGIN")


def _migrate(writer: sa.Engine) -> None:
    """Bring the schema to the newest revision, one process at a time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    with writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _older_than(folder: Path, seconds: float) -> bool:
    """Tell whether nothing in the folder changed for `seconds`."""
    try:
        newest = max(path.stat().st_mtime for path in (folder, *folder.iterdir()))
    except (FileNotFoundError, NotADirectoryError):
        return False
    return newest < time.time() - seconds


@contextmanager
def _disk_full_is_typed() -> Iterator[None]:
    """Turn a full disk, whichever library hit it, into `StorageFull`; the caller's cleanup has already run."""
    try:
        yield
    except (OSError, duckdb.Error, pa.ArrowException, sa.exc.OperationalError) as error:
        if not _is_disk_full(error):
            raise
        raise StorageFull(
            Problem(
                "The disk is full: the log could not be stored and nothing was changed.",
                fix="Free some space on the disk holding PARCOURS_HOME (and the metadata database), then try again.",
            )
        ) from None


def _is_disk_full(error: BaseException) -> bool:
    original = getattr(error, "orig", None) or error
    return (
        getattr(original, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
        or getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or getattr(original, "sqlstate", None) == POSTGRES_DISK_FULL
        or (isinstance(original, duckdb.Error) and os.strerror(errno.ENOSPC) in str(original))
    )


def _check_log(log: EventLog) -> None:
    if not isinstance(log, EventLog):
        raise TypeError(f"import_log needs an EventLog, not {type(log).__name__}.")
    columns = list(log.frame.columns)
    missing = [column for column in CANONICAL_COLUMNS if column not in columns]
    if missing:
        raise ValueError(f"Not a canonical event log: the columns {missing} are missing.")
    if len(set(columns)) != len(columns) or not all(isinstance(column, str) for column in columns):
        raise ValueError("Not a canonical event log: column names must be distinct strings.")
    timestamp_dtype = str(log.frame[TIMESTAMP].dtype)
    if timestamp_dtype != UTC_MICROSECONDS:
        raise ValueError(f"Not a canonical event log: timestamps are {timestamp_dtype}, not {UTC_MICROSECONDS}.")
    if log.frame.empty:
        raise EmptyLog(Problem("The log has no events to store.", fix="import a file with at least one event."))


def _checked_name(name: str, *, typed: bool = False) -> str:
    """Return the name stripped, or raise a LogError listing what is wrong: blank, too long, or (`typed`) control
    characters."""
    if not isinstance(name, str) or not name.strip():
        raise LogError(Problem("A dataset needs a name.", fix="type a name that is not blank."))
    problems = []
    if len(name.strip()) > MAX_NAME_CHARS:
        problems.append(Problem(f"The name is longer than {MAX_NAME_CHARS} characters.", fix="shorten it.", value=name))
    unshowable = sorted({f"U+{ord(character):04X}" for character in name if typed and _is_unshowable(character)})
    if unshowable:
        problems.append(
            Problem(
                f"The name holds control characters ({', '.join(unshowable)}), which would break how it is shown.",
                fix="type the name again without them (tabs, line breaks and escape sequences included).",
                value=name,
            )
        )
    if problems:
        raise LogError(problems)
    return name.strip()


def showable(text: str) -> str:
    """Return `text` with each character that would break how it is shown (controls, bidi overrides) as a space."""
    return "".join(" " if _is_unshowable(character) else character for character in text)


def _is_unshowable(character: str) -> bool:
    return unicodedata.category(character) in _UNSHOWABLE_CATEGORIES or character in _BIDI_CONTROLS


def _check_annotation_key(kind: object, name: object) -> None:
    problems = []
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_KIND_CHARS:
        problems.append(Problem(f"An annotation kind is a word of 1 to {MAX_KIND_CHARS} characters.", value=str(kind)))
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        problems.append(
            Problem(f"Give the saved item a name of 1 to {MAX_NAME_CHARS} characters.", column="name", value=str(name))
        )
    if problems:
        raise LogError(problems)


def _check_document_key(kind: object, key: object) -> None:
    problems = []
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_KIND_CHARS:
        problems.append(Problem(f"A document kind is a word of 1 to {MAX_KIND_CHARS} characters.", value=str(kind)))
    if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or any(_is_unshowable(c) for c in key):
        problems.append(
            Problem(f"A document key is text of at most {MAX_KEY_CHARS} printable characters.", value=str(key))
        )
    if problems:
        raise LogError(problems)


def _document_key(dataset_id: str, kind: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(DOCUMENTS.c.dataset_id == dataset_id, DOCUMENTS.c.kind == kind, DOCUMENTS.c.key == key)


def _annotation_json(payload: object) -> str:
    if not isinstance(payload, Mapping):
        raise TypeError(f"An annotation is a mapping, not {type(payload).__name__}.")
    try:
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"An annotation must be plain JSON (text, numbers, lists, mappings): {error}") from None


def _checked_user(user: object) -> str:
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS or any(map(_is_unshowable, user)):
        raise LogError(Problem(f"A user is named by 1 to {MAX_USER_CHARS} printable characters.", value=str(user)))
    return user.strip()


def _checked_branding(branding: object) -> dict[str, str]:
    """Return the branding's parts that are set, or raise LogError naming each part that cannot be."""
    if not isinstance(branding, Mapping) or set(branding) - set(BRANDING_PARTS):
        raise LogError(Problem(f"A branding has at most these parts: {', '.join(BRANDING_PARTS)}.", column="branding"))
    kept = {part: value for part, value in branding.items() if value not in (None, "")}
    problems = [
        Problem(f"The branding's {part} is text.", column=part) for part, v in kept.items() if type(v) is not str
    ]
    if problems:
        raise LogError(problems)
    if "company" in kept:
        kept["company"] = _checked_name(kept["company"], typed=True)
    problems = [
        Problem(f"The {part} colour is a hex colour such as #1f4e79.", column=part, value=kept[part])
        for part in ("primary", "accent")
        if part in kept and not _BRANDING_COLOUR.fullmatch(kept[part])
    ]
    logo = kept.get("logo", "data:image/")
    if not logo.startswith("data:image/") or len(logo) > MAX_BRANDING_LOGO_CHARS:
        problems.append(
            Problem(
                f"The logo is an image as a data: URI of at most {MAX_BRANDING_LOGO_CHARS:,} characters.",
                fix="Upload a small PNG or SVG.",
                column="logo",
            )
        )
    if problems:
        raise LogError(problems)
    return kept


def _branding_shown(branding: dict | None) -> dict | None:
    """The branding as the history shows it: the logo by its size, not its content."""
    if not branding or "logo" not in branding:
        return branding
    size = len(branding["logo"]) * 3 // 4  # the bytes a base64 data URI holds
    return branding | {"logo": f"an image of {size:,} bytes" if size < 1024 else f"an image of {size // 1024:,} KB"}


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _loaded(text: str | None) -> object:
    return None if text is None else json.loads(text)


def _comment(row: sa.Row) -> Comment:
    return Comment(row.id, row.dataset_id, row.target_kind, row.target_key, row.author, row.at, row.text)


def _saved_payload(row: sa.Row) -> SavedPayload:
    return SavedPayload(row.version, json.loads(row.payload_json), row.author, row.saved_at)


def _annotation_key(dataset_id: str, kind: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(ANNOTATIONS.c.dataset_id == dataset_id, ANNOTATIONS.c.kind == kind, ANNOTATIONS.c.name == name)


def _is_dataset_id(dataset_id: object) -> bool:
    """Tell real ids from anything else, which must never reach a file path (`../..`)."""
    return isinstance(dataset_id, str) and DATASET_ID.fullmatch(dataset_id) is not None


def _dataset_id(
    source_sha256: str, mapping: ColumnMapping, options: Mapping[str, Any], workspace: str = DEFAULT_WORKSPACE
) -> str:
    """Name a dataset by what it holds: the source's content plus how it was mapped and read, and where.

    The same file imported in two workspaces is two datasets, each with its own definitions and members; the
    Default workspace's ids are those of a Parcours without workspaces.
    """
    recipe = {"mapping": mapping.to_dict(), "options": dict(options)}
    if workspace != DEFAULT_WORKSPACE:
        recipe["workspace"] = workspace
    recipe = _canonical_json(recipe)
    return hashlib.sha256(f"{source_sha256}\n{recipe}".encode()).hexdigest()[:16]


def _frame_sha256(frame: pd.DataFrame) -> str:
    """Hash a frame that has no source bytes (built in Python): columns, dtypes and every value, in order."""
    digest = hashlib.sha256(_canonical_json([[column, str(dtype)] for column, dtype in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _write_manifest(folder: Path, dataset_id: str, *, n_events: int) -> dict:
    """Record every file's size and hash, make all of it durable, and return the manifest."""
    files = sorted(path for path in folder.iterdir() if path.is_file() and path.name != MANIFEST_FILE)
    for path in files:
        _fsync(path)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "dataset_id": dataset_id,
        "n_events": n_events,
        "files": {path.name: {"bytes": path.stat().st_size, "sha256": file_sha256(path)} for path in files},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _fsync(folder / MANIFEST_FILE)
    _fsync(folder)
    return manifest


def _listed_files(folder: Path) -> set[str]:
    """Return the names of the files the folder's manifest lists (none when it has no readable manifest)."""
    try:
        return set(json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _read_manifest(folder: Path, dataset_id: str, *, check_hashes: bool = True) -> dict | None:
    """Return the folder's manifest if the folder is complete and intact, else None.

    Without `check_hashes` only the files' presence and sizes are checked: enough to see that a listed
    dataset lost its files, without reading them all.
    """
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        files = manifest["files"]
        intact = (
            manifest["manifest_version"] == MANIFEST_VERSION
            and manifest["dataset_id"] == dataset_id
            and LAYOUT_FILE in files
            and all(
                (folder / name).stat().st_size == entry["bytes"]
                and (not check_hashes or file_sha256(folder / name) == entry["sha256"])
                for name, entry in files.items()
            )
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return manifest if intact else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file or a folder (its list of names) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
