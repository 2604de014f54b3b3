"""The process-wide resources every page shares, and the cached readers built on them.

`st.cache_resource` holds what is the same for every user of this server (settings, an open
engine per log, which serves several threads and remembers the selections it found); nothing it returns is
mutated by its callers. `st.cache_data` is shared by all users too, so every cached
reader is keyed by content only: a stored dataset's id (itself a content hash), a raw log's
content hash and name, and plain parameters — never a session object. A user reaches a reader only with the id of a
log of their workspaces: every page takes it from `ui.dataset_picker`, which checks the URL's against that list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache, partial

import pandas as pd
import streamlit as st

from data import (
    ColumnMapping,
    Dataset,
    Engine,
    EventLog,
    Filters,
    LogError,
    LogSummary,
    MappingSuggestion,
    RawLog,
    Settings,
    Store,
    detect_mapping,
    guarded,
    import_demo,
    read_sql,
    run_isolated,
    to_event_log,
    typed_parquet_sample,
)
from data import read_upload as read_staged_upload
from discovery import ChurnPoints, JourneyDefinition, churn_points, save_definition, suggest_definition
from ui import auth
from ui.params import filters_to_params

__all__ = [
    "BY_CONTENT",
    "BY_CONTENT_AND_DEFINITION",
    "ENGINE_SECONDS",
    "attribute_columns",
    "attribute_values",
    "build_log",
    "channels",
    "churn_figures",
    "dataset_engine",
    "dataset_summary",
    "definition_key",
    "definition_version",
    "first_run_demo",
    "forget_dataset",
    "journey_definition",
    "read_parquet_sample",
    "read_sql_source",
    "read_upload",
    "save_journey_definition",
    "settings",
    "store",
    "suggest_mapping",
    "top_activities",
]

EVERY_JOURNEY = Filters()
SQL_CACHE_SECONDS = 600
ATTRIBUTE_VALUES_SHOWN = 50
# Open engines kept for every user: each holds its log's filtered selections (and DuckDB's cache of its pages) for
# an hour, so that a page's views share one selection per filter instead of finding it again each.
ENGINES_KEPT = 2
ENGINE_SECONDS = 3600
# One store per user signed in since the server started (each holds a small pool of database connections).
USERS_KEPT = 1000


@lru_cache(maxsize=16)
def _filters_key(filters: Filters) -> str:
    """Filters by their parameters; remembered, as a segment of 200,000 chosen customers takes 40 ms to write out
    and each rerun asks again (a segment kept by `ui.compare` is the very same object, found at once)."""
    return json.dumps(filters_to_params(filters), sort_keys=True)


def _raw_key(raw: RawLog) -> tuple[str, str, str]:
    return (raw.sha256, raw.name, raw.format)


# Filters hold frozensets, whose pickled order is not stable; a raw log is known by its content hash.
BY_CONTENT = {Filters: _filters_key, RawLog: _raw_key}


def definition_key(definition: JourneyDefinition) -> str:
    """A journey definition by its saved form."""
    return json.dumps(definition.to_dict(), sort_keys=True, ensure_ascii=False)


# The journey definition is part of what a stage figure, churn figure or map means: once another is saved, figures
# cached for the old one must not be served.
BY_CONTENT_AND_DEFINITION = {**BY_CONTENT, JourneyDefinition: definition_key}


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """Settings from the environment, with SQL sources from `.streamlit/secrets.toml` if any."""
    try:
        secrets = dict(st.secrets)
    except FileNotFoundError:
        secrets = {}
    return Settings.from_env(secrets=secrets)


@st.cache_resource(show_spinner=False, max_entries=USERS_KEPT)
def _store_of(user: str) -> Store:
    return Store(settings(), user=user)


def store() -> Store:
    """The store acting as the user of this page run: every read is of their workspaces, every write checked.

    Without a signed-in user (a team's dashboard), this shows "Sign in" and ends the page run.
    """
    return _store_of(auth.current_user(settings()))


@st.cache_resource(show_spinner="Preparing the demo journeys…")
def first_run_demo() -> Dataset | None:
    """Store the bundled demo once per server when the store is empty, so a first run has something to show.

    A store that already holds a log is left alone, and so is one emptied later on: this runs once. Only for the
    local user: a team's workspaces hold what its members import.
    """
    if settings().auth != "local" or store().datasets():
        return None
    return import_demo(store())


@st.cache_resource(show_spinner=False, max_entries=ENGINES_KEPT, ttl=ENGINE_SECONDS)
def _shared_engine(dataset_id: str) -> Engine:
    return store().engine(dataset_id)


def forget_dataset(dataset_id: str) -> None:
    """Drop every cached figure and the open engine of a deleted log, so that no page serves it any more.

    Cached readers are keyed by a dataset's id among other parameters, so one delete cannot name its entries;
    deletes are rare, and every other log's figures are computed again on demand.
    """
    _shared_engine.clear(dataset_id)
    st.cache_data.clear()


@contextmanager
def dataset_engine(dataset_id: str) -> Iterator[Engine]:
    """Lend the stored log's shared engine (it answers several threads at once, and stays open for the next)."""
    yield _shared_engine(dataset_id)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT)
def dataset_summary(dataset_id: str, filters: Filters = EVERY_JOURNEY) -> LogSummary:
    """Headline counts of the selected journeys of a stored log."""
    with dataset_engine(dataset_id) as engine:
        return engine.summary(filters)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT)
def top_activities(dataset_id: str, filters: Filters = EVERY_JOURNEY, limit: int = 10) -> pd.DataFrame:
    """The most frequent touchpoints of the selected journeys, with events and unique customers."""
    with dataset_engine(dataset_id) as engine:
        table = engine.activities(filters).head(limit)
    return table.rename(columns={"activity": "Touchpoint", "events": "Events", "cases": "Customers"})


@st.cache_data(show_spinner=False, max_entries=64)
def channels(dataset_id: str) -> list[str]:
    """Every channel of a stored log, the one most customers used first."""
    with dataset_engine(dataset_id) as engine:
        return engine.channel_values()["value"].tolist()


@st.cache_data(show_spinner=False, max_entries=64)
def attribute_columns(dataset_id: str) -> dict[str, str]:
    """Attribute names of a stored log with their DuckDB types, in source order."""
    with dataset_engine(dataset_id) as engine:
        return engine.attribute_columns


@st.cache_data(show_spinner=False, max_entries=256)
def attribute_values(dataset_id: str, column: str) -> list:
    """The most common values of one attribute (most customers first), as plain Python values."""
    with dataset_engine(dataset_id) as engine:
        values = engine.attribute_values(column, limit=ATTRIBUTE_VALUES_SHOWN)
    return values["value"].tolist()


@st.cache_data(show_spinner=False, max_entries=4)
def read_upload(path: str, sha256: str, name: str) -> RawLog:
    """Read a staged upload (its file `path`, its hash `sha256`) in a child process under the operator's limits, so
    no file can take the server down: whole, or a large CSV's first rows (`data.read_upload`).

    The hash keys the cache: the same file staged again is read once for everyone.
    """
    config = settings()
    call = partial(read_staged_upload, path, name=name, settings=config)
    return run_isolated(call, step="reading", file=name, settings=config)


@st.cache_data(show_spinner=False, max_entries=4)
def read_parquet_sample(path: str, sha256: str, name: str) -> RawLog | None:
    """The first rows of a staged upload (its file `path`, its hash `sha256`) when it is a Parquet file DuckDB can
    import whole, read in a child process; None for any other file, which `read_upload` reads.

    The hash keys the cache: the same file staged again is not read again.
    """
    config = settings()
    call = partial(typed_parquet_sample, path, name=name, settings=config)
    return run_isolated(call, step="reading", file=name, settings=config)


@st.cache_data(show_spinner=False, max_entries=4, ttl=SQL_CACHE_SECONDS)
def read_sql_source(source: str, table: str | None = None, query: str | None = None) -> RawLog:
    """Read a table or a query of an operator-configured SQL source in a child process; re-read after ten minutes.

    A query is typed by a user: whatever it makes the driver hold stays in the child, under the operator's limits.
    """
    config = settings()
    call = partial(read_sql, source, table=table, query=query, settings=config)
    return run_isolated(call, step="reading", file=source, settings=config)


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CONTENT)
def suggest_mapping(raw: RawLog) -> MappingSuggestion:
    """The detected mapping of a raw log, with every candidate and example values."""
    with guarded("mapping", raw.name):
        return detect_mapping(raw.frame)


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=BY_CONTENT)
def build_log(
    raw: RawLog, mapping: ColumnMapping, drop_invalid_rows: bool, split_after_days: float | None
) -> EventLog | LogError:
    """Return the canonical log of `raw` read through `mapping`, or the LogError saying why it cannot be.

    The log is built and checked in a child process under the operator's limits. The error is returned
    rather than raised because Streamlit caches only results: a refused file would otherwise be parsed
    again on every rerun of the page.
    """
    config = settings()
    call = partial(to_event_log, raw, mapping, drop_invalid_rows=drop_invalid_rows, split_after_days=split_after_days)
    try:
        return run_isolated(call, step="checking", file=raw.name, settings=config)
    except LogError as error:
        return error


@st.cache_data(show_spinner="Suggesting a journey definition…", max_entries=64)
def _suggested_definition(dataset_id: str) -> JourneyDefinition:
    with dataset_engine(dataset_id) as engine:
        return suggest_definition(engine)


@st.cache_data(show_spinner=False, max_entries=256)
def _saved_definition(dataset_id: str, version: int) -> JourneyDefinition:
    saved = store().definition(dataset_id, version)
    return JourneyDefinition.from_dict(saved.payload, source=f"dataset {dataset_id}, version {version}")


def _definition_in_force(dataset_id: str) -> tuple[JourneyDefinition, int | None]:
    """The newest saved version, asked of the store on every run (a CLI or another server may have saved one),
    else the suggestion."""
    version = store().definition_version(dataset_id)
    if version is None:
        return _suggested_definition(dataset_id), None
    return _saved_definition(dataset_id, version), version


def journey_definition(dataset_id: str) -> JourneyDefinition:
    """The log's journey definition in force on every page: the newest one saved, else the suggested one."""
    return _definition_in_force(dataset_id)[0]


def definition_version(dataset_id: str) -> int | None:
    """The saved version in force, or None while the suggestion has not been confirmed."""
    return _definition_in_force(dataset_id)[1]


def save_journey_definition(dataset_id: str, definition: JourneyDefinition) -> int:
    """Save the definition as the log's new version, in force on every page at once; return its number."""
    return save_definition(store(), dataset_id, definition)


@st.cache_data(show_spinner="Finding the churn points…", max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def churn_figures(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> ChurnPoints:
    """The churn figures of every touchpoint of the selected journeys: the Stages page lists them, the maps colour
    them, so a filter change computes them once for both."""
    with dataset_engine(dataset_id) as engine:
        return churn_points(engine, definition, filters)
