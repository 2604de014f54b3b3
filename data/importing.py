"""The import pipeline in one place: read → map → validate → (store).

The CLI, the dashboard and Python users all go through these functions, so a file imported one
way gives the same dataset (and the same id) as the same file imported another way.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from data.canonical import to_event_log
from data.columnar import import_columnar, parquet_sample
from data.errors import MappingError, Problem
from data.mapping import detect_mapping
from data.readers import read_log
from data.schema import ColumnMapping, EventLog, RawLog
from data.settings import Settings
from data.store import Dataset, Store

__all__ = ["DEMO_SAMPLES", "import_demo", "import_file", "load_log", "resolve_mapping"]

_LOG_OPTIONS = frozenset({"mapping", "drop_invalid_rows", "split_after_days", "settings", "name"})
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
    resolved = _resolved_mapping(raw, mapping, settings, overrides)
    return to_event_log(raw, resolved, drop_invalid_rows=drop_invalid_rows, split_after_days=split_after_days)


def import_file(
    source: Any, *, store: Store, name: str | None = None, owner: str | None = None, **options: Any
) -> Dataset:
    """Load a file like `load_log` and store it; importing the same thing twice returns the same dataset.

    A typed Parquet file goes straight from disk to the store through DuckDB (`data.columnar`), never through
    pandas; it gets the same dataset as the pandas importer would give it.
    """
    if options.get("split_after_days") is None:
        sample = parquet_sample(source, name=None, settings=store.settings)
        if sample is not None:
            overrides = {key: value for key, value in options.items() if key not in _LOG_OPTIONS}
            mapping = _resolved_mapping(sample, options.get("mapping"), store.settings, overrides)
            dataset = import_columnar(
                source,
                sample,
                mapping,
                store=store,
                name=name,
                owner=owner,
                drop_invalid_rows=options.get("drop_invalid_rows", False),
            )
            if dataset is not None:
                return dataset
    log = load_log(source, settings=store.settings, **options)
    return store.import_log(log, name=name or log.name, owner=owner)


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
