"""The import pipeline in one place: read → map → validate → (store).

The CLI, the dashboard and Python users all go through these functions, so a file imported one
way gives the same dataset (and the same id) as the same file imported another way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePath
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.canonical import to_event_log
from data.columnar import SAMPLE_ROWS, import_columnar, parquet_sample
from data.errors import LogError, MappingError, Problem
from data.first_look import FirstLook
from data.isolation import guarded, report_progress, run_isolated
from data.mapping import detect_mapping
from data.readers import check_path, read_log
from data.schema import ColumnMapping, EventLog, RawLog
from data.settings import Settings
from data.store import MAX_NAME_CHARS, Dataset, Store, showable
from data.workspaces import DEFAULT_WORKSPACE

__all__ = [
    "DEMO_SAMPLES",
    "dataset_name",
    "import_demo",
    "import_file",
    "import_file_isolated",
    "import_sample_isolated",
    "load_log",
    "load_log_isolated",
    "read_upload",
    "resolve_mapping",
]

# A name too long for a dataset keeps its end, where the extension and often a date or version are.
KEPT_NAME_END_CHARS = 24
_LOG_OPTIONS = frozenset({"mapping", "drop_invalid_rows", "split_after_days", "settings", "name"})
# Beside a large staged upload, its rows as read (`read_upload`), so that the file is parsed once.
ROWS_FILE = "rows.parquet"
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
DEMO_SAMPLES = {
    "telecom": SAMPLES_DIR / "demo_telecom.csv.gz",
    "shop": SAMPLES_DIR / "demo_shop.csv.gz",
}
DEMO_NAMES = {
    "telecom": "Demo — telecom subscribers' first year",
    "shop": "Demo — online shop with store pickup",
}


def resolve_mapping(raw: RawLog, mapping: ColumnMapping | None = None, **overrides: Any) -> ColumnMapping:
    """Return `mapping`, or the detected one, with every role the caller named replaced.

    `overrides` are ColumnMapping fields (case_id=…, activity=…, timestamp=…); None values are
    ignored so that CLI flags left out keep the detected choice.
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if mapping is None:
        suggestion = detect_mapping(raw.frame)
        if suggestion.mapping is None:
            if {"case_id", "activity", "timestamp"} <= overrides.keys():
                return ColumnMapping(**overrides)
            raise MappingError(
                Problem(
                    "Parcours could not tell which columns hold the customer, the touchpoint and the time.",
                    fix="name them explicitly (--case, --activity, --timestamp, or the mapping form).",
                    file=raw.name,
                )
            )
        mapping = suggestion.mapping
    return replace(mapping, **overrides) if overrides else mapping


def load_log(
    source: Any,
    *,
    mapping: ColumnMapping | None = None,
    drop_invalid_rows: bool = False,
    split_after_days: float | None = None,
    settings: Settings | None = None,
    name: str | None = None,
    **overrides: Any,
) -> EventLog:
    """Read a file (path, bytes or upload) and return the validated canonical event log."""
    settings = settings or Settings.from_env()
    raw = read_log(source, name=name, settings=settings)
    with guarded("mapping", raw.name):
        resolved = _resolved_mapping(raw, mapping, settings, overrides)
    with guarded("checking", raw.name):
        return to_event_log(raw, resolved, drop_invalid_rows=drop_invalid_rows, split_after_days=split_after_days)


def import_file(
    source: Any,
    *,
    store: Store,
    name: str | None = None,
    owner: str | None = None,
    workspace: str = DEFAULT_WORKSPACE,
    **options: Any,
) -> Dataset:
    """Load a file like `load_log` and store it; importing the same thing twice returns the same dataset.

    A typed Parquet file goes straight from disk to the store through DuckDB (`data.columnar`), never through
    pandas; it gets the same dataset as the pandas importer would give it. Without `name`, the dataset is
    named after the file (`dataset_name`).
    """
    if isinstance(source, str | os.PathLike):
        check_path(source, store.settings)  # before anything opens it: a FIFO would block the first open
    if options.get("split_after_days") is None:
        sample = parquet_sample(source, name=None, settings=store.settings)
        if sample is not None:
            overrides = {key: value for key, value in options.items() if key not in _LOG_OPTIONS}
            with guarded("mapping", sample.name):
                mapping = _resolved_mapping(sample, options.get("mapping"), store.settings, overrides)
            with guarded("storing", sample.name):
                dataset = import_columnar(
                    source,
                    sample,
                    mapping,
                    store=store,
                    name=name or dataset_name(sample.name),
                    owner=owner,
                    workspace=workspace,
                    drop_invalid_rows=options.get("drop_invalid_rows", False),
                )
            if dataset is not None:
                return dataset
    log = load_log(source, settings=store.settings, **options)
    with guarded("storing", log.name):
        return store.import_log(log, name=name or dataset_name(log.name), owner=owner, workspace=workspace)


def load_log_isolated(source: str | os.PathLike | bytes, *, settings: Settings, **options: Any) -> EventLog:
    """Return `load_log(source, …)` computed in a child process under the operator's limits (`data.isolation`)."""
    _check_before_a_child(source, settings)
    call = partial(load_log, source, settings=settings, **options)
    return run_isolated(call, step="checking", file=_file_name(source, options.get("name")), settings=settings)


def import_file_isolated(
    source: str | os.PathLike | bytes,
    *,
    settings: Settings,
    name: str | None = None,
    on_progress: Callable[[str], None] | None = None,
    on_first_look: Callable[[FirstLook], None] | None = None,
    **options: Any,
) -> Dataset:
    """Import a file like `import_file`, in a child process under the operator's limits, into the store of `settings`.

    The child opens its own `Store`: an open one cannot be handed to another process. `on_progress` hears what the
    import is doing and `on_first_look` gets its first look at the journey map (`import_sample_isolated`).
    """
    _check_before_a_child(source, settings)
    call = partial(_import_into_new_store, source, settings=settings, name=name, **options)
    file = _file_name(source, name)
    return run_isolated(
        call, step="importing", file=file, settings=settings, on_progress=on_progress, on_preview=on_first_look
    )


def read_upload(path: str | os.PathLike, *, name: str, settings: Settings) -> RawLog:
    """Read the uploaded file at `path` named `name`; one of more rows than `settings.whole_upload_rows` whose columns
    Parquet keeps as they are (text, numbers, booleans and times: every CSV, most XES logs) is kept beside it as
    Parquet (`ROWS_FILE`, its rows as read) and only its first rows are returned, `sample_of` naming that file.

    This is how the dashboard reads an upload in a child process: what comes back to the server is at most a sample
    of a large file, which `import_sample_isolated` then checks and stores whole from the Parquet file, in a child
    too, without parsing the upload again. Read whole into the server, 10M events took 4.8 GB there, and a 10M-event
    CSV more than the child's 8 GB (`benchmarks/upload.py`).
    """
    raw = read_log(path, name=name, settings=settings)
    if len(raw.frame) <= settings.whole_upload_rows or not _kept_as_they_are(raw.frame):
        return raw
    rows = Path(path).with_name(ROWS_FILE)
    writing = rows.with_name(f".{ROWS_FILE}.{os.getpid()}")
    with guarded("reading", name):
        pq.write_table(pa.Table.from_pandas(raw.frame, preserve_index=False), writing, compression="zstd")
        if not pq.read_schema(writing).empty_table().to_pandas().dtypes.equals(raw.frame.dtypes):
            writing.unlink()
            return raw
        os.replace(writing, rows)
    return replace(raw, frame=raw.frame.head(SAMPLE_ROWS), sample_of=rows)


def import_sample_isolated(
    sample: RawLog,
    mapping: ColumnMapping,
    *,
    settings: Settings,
    user: str | None = None,
    workspace: str = DEFAULT_WORKSPACE,
    name: str | None = None,
    drop_invalid_rows: bool = False,
    split_after_days: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    on_first_look: Callable[[FirstLook], None] | None = None,
) -> Dataset:
    """Check every row of the Parquet file `sample` is the first rows of (`sample.sample_of`) and store it, read
    through `mapping`, in a child process under the operator's limits, acting as `user`. `on_progress` hears what
    the import is doing ("Sorting the events by journey…"); `on_first_look` gets the journey map's first look as soon
    as the events are sorted (`FirstLook`), while the import goes on to the per-journey tables, the stats and the
    quality report (a third to a half of its time at 10M events).

    DuckDB imports a typed file alone; any other (a CSV's rows kept by `read_upload`, times kept as text, a row
    without a customer…) is checked by pandas in the same child, whose LogError names each bad row, as `load_log`'s.
    This is how the dashboard stores a large upload without reading it whole into the server's memory: read into
    pandas there, checked, then stored, 10M events took 73 s and 4.8 GB (`benchmarks/upload.py`).
    """
    if sample.sample_of is None:
        raise ValueError("sample must come from read_upload, parquet_sample or typed_parquet_sample")
    header = replace(sample, frame=sample.frame.head(0))  # its name and hash name the dataset: the rows stay here
    call = partial(
        _import_sample,
        header,
        mapping,
        settings=settings,
        user=user,
        drop_invalid_rows=drop_invalid_rows,
        split_after_days=split_after_days,
        workspace=workspace,
        name=name,
    )
    return run_isolated(
        call, step="importing", file=sample.name, settings=settings, on_progress=on_progress, on_preview=on_first_look
    )


def dataset_name(file_name: str) -> str:
    """Return the name a dataset gets from its file: the file name, cut in the middle when too long to be one.

    A file name may hold line breaks, escapes or a right-to-left override ("\u202egpj.csv" shows as "vsc.jpg"):
    each becomes a space, so the name shows what the file is called.
    """
    file_name = " ".join(showable(file_name).split())
    if len(file_name) <= MAX_NAME_CHARS:
        return file_name
    tail = file_name[-KEPT_NAME_END_CHARS:]
    return file_name[: MAX_NAME_CHARS - len(tail) - 1] + "…" + tail


def _import_sample(
    sample: RawLog,
    mapping: ColumnMapping,
    *,
    settings: Settings,
    user: str | None,
    drop_invalid_rows: bool,
    split_after_days: float | None,
    **options: Any,
) -> Dataset:
    if not Path(sample.sample_of).is_file():  # an upload unused for an hour is removed with its rows
        raise LogError(
            Problem("The upload is no longer kept on the server.", fix="Upload the file again.", file=sample.name)
        )
    store = Store(settings, user=user)
    kept_rows = Path(sample.sample_of).name == ROWS_FILE
    if not kept_rows and split_after_days is None:  # the upload itself, a typed Parquet file
        dataset = import_columnar(
            sample.sample_of, sample, mapping, store=store, drop_invalid_rows=drop_invalid_rows, **options
        )
        if dataset is not None:
            return dataset
    report_progress("Reading every row…")
    if kept_rows:  # kept by `read_upload` once they passed the limits; the upload's name and hash stay
        frame = pd.read_parquet(sample.sample_of)
        frame.attrs.update(sample.frame.attrs)
        raw = replace(sample, frame=frame, sample_of=None)
    else:
        raw = read_log(sample.sample_of, name=sample.name, format="parquet", settings=settings)
    report_progress("Checking every row…")
    with guarded("checking", raw.name):
        log = to_event_log(raw, mapping, drop_invalid_rows=drop_invalid_rows, split_after_days=split_after_days)
    with guarded("storing", raw.name):
        return store.import_log(log, **options)


def _kept_as_they_are(frame: pd.DataFrame) -> bool:
    """Whether Parquet keeps every column of `frame` as it is: text, numbers, booleans and times, never objects."""
    return all(isinstance(name, str) for name in frame.columns) and all(
        isinstance(dtype, pd.StringDtype) or dtype.kind in "biufM" for dtype in frame.dtypes
    )


def _import_into_new_store(source: Any, *, settings: Settings, **options: Any) -> Dataset:
    return import_file(source, store=Store(settings), **options)


def _check_before_a_child(source: object, settings: Settings) -> None:
    """Refuse a missing, special or too large file at once: a child process costs seconds to start."""
    if isinstance(source, str | os.PathLike):
        check_path(source, settings)


def _file_name(source: object, name: str | None) -> str | None:
    if name:
        return name
    return PurePath(source).name if isinstance(source, str | os.PathLike) else None


def _resolved_mapping(
    raw: RawLog, mapping: ColumnMapping | None, settings: Settings, overrides: dict[str, Any]
) -> ColumnMapping:
    """The mapping given or detected, with the operator's time zone unless the caller chose one."""
    if mapping is None and overrides.get("timezone") is None:
        overrides = {**overrides, "timezone": settings.timezone}
    return resolve_mapping(raw, mapping, **overrides)


def import_demo(store: Store, scenario: str = "telecom") -> Dataset:
    """Store the bundled demo log for `scenario` (once) and return it."""
    if scenario not in DEMO_SAMPLES:
        raise MappingError(f"Unknown demo {scenario!r}.", fix=f"choose one of {', '.join(DEMO_SAMPLES)}.")
    return import_file(DEMO_SAMPLES[scenario], store=store, name=DEMO_NAMES[scenario])
