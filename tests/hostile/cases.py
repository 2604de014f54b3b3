"""The hostile corpus: every input, and what it must end with on every path (CLI quality, CLI import, upload).

Small inputs are committed under `files/`; bombs and oversized inputs are built by `generate.py` at test time.
A fast case keeps a bomb small by lowering the limit it trips (`limits`, environment variables); the
full-size bombs run under the default limits and are marked slow.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from data import (
    LimitExceeded,
    LogError,
    Store,
    TimestampError,
    UnsafeInput,
    UnsupportedFormat,
)
from tests.hostile import generate

FILES = Path(__file__).resolve().parent / "files"
GOOD_CSV = b"customer,touchpoint,time\nc1,visit,2025-01-01 10:00\nc1,buy,2025-01-02 11:00\nc2,visit,2025-01-03 09:00\n"
# Peak memory a bomb or an oversized input may add to the process reading it.
PEAK_GROWTH_MB = 1024


@dataclass(frozen=True)
class Case:
    """One hostile input: a typed error it must end with (saying `says`), or a correct report of `events` events."""

    name: str
    error: type[LogError] | None
    says: str
    build: Callable[[], bytes] | None = None
    limits: Mapping[str, str] = field(default_factory=dict)
    slow: bool = False
    events: int | None = None

    def path(self, folder: Path) -> Path:
        """Return the input's file: the committed one, or one built into `folder` (once per folder)."""
        if self.build is None:
            return FILES / self.name
        path = folder / self.name
        if not path.exists():
            path.write_bytes(self.build())
        return path

    def param(self, *, slow: bool = False) -> pytest.param:
        return pytest.param(self, id=self.name, marks=[pytest.mark.slow] if self.slow or slow else [])


_SMALL_RECORDS = {"PARCOURS_MAX_COLUMNS": "10", "PARCOURS_MAX_FIELD_BYTES": "1000"}
_FEW_EVENTS = {"PARCOURS_MAX_EVENTS": "50000"}
_SMALL_EXPANSION = {"PARCOURS_MAX_UNCOMPRESSED_MB": "2"}
_LONG_LINE = "A line of the file is"
_SMALL_WORKER = {"PARCOURS_WORKER_MEMORY_MB": "1024"}  # room for 64 million cells
_SMALL_DICTIONARY = partial(generate.dictionary_parquet, 100_000, 100)  # 10 MB as rows
_SMALL_TYPED_DICTIONARY = partial(generate.dictionary_parquet, 100_000, 100, typed=True)
_FEWER_EMPTY_CELLS = partial(generate.gzip_of_empty_cells, 70_000)  # 70 million cells


CASES = [
    # XES structure, encodings and values
    Case("xes-unknown-encoding.xes", UnsupportedFormat, "encoding Parcours does not know"),
    Case("xes-date-without-value.xes", TimestampError, "The timestamp is missing"),
    Case("xes-bad-date.xes", TimestampError, "yesterday"),
    Case("xes-trace-in-trace.xes", UnsupportedFormat, "<trace> inside a <trace>"),
    Case("xes-log-in-log.xes", UnsupportedFormat, "<log> inside the <log>"),
    Case("xes-global-outside-log.xes", UnsupportedFormat, "not an XES log"),
    Case("xes-event-in-x.xes", UnsupportedFormat, "not an XES log"),
    Case("xes-event-outside-trace.xes", UnsupportedFormat, "outside any <trace>"),
    Case("xes-attribute-without-key.xes", UnsupportedFormat, "has no key"),
    Case("xes-not-well-formed.xes", UnsupportedFormat, "not well-formed XML"),
    Case("xes-doctype.xes", UnsafeInput, "DOCTYPE"),
    Case("xes-utf16.xes", None, "3 events, 2 cases", events=3),
    # text and binary traps
    Case("mixed-encodings.csv", UnsupportedFormat, "mixes two encodings"),
    Case("unclosed-quote.csv", UnsupportedFormat, "never closed"),
    Case("nul-bytes.csv", UnsupportedFormat, "NUL bytes"),
    Case("random-bytes.csv", UnsupportedFormat, "not text"),
    Case("not-objects.jsonl", UnsupportedFormat, "JSON list, not an object"),
    Case("binary-activity.parquet", UnsupportedFormat, "binary data that is not text"),
    Case("utf8-binary-activity.parquet", None, "3 events, 2 cases", events=3),
    # oversized, under the default limits
    Case("columns-20000.csv", LimitExceeded, "20,000 columns", build=lambda: generate.wide_csv(20_000)),
    Case("columns-10000.csv", LimitExceeded, "10,000 columns", build=lambda: generate.wide_csv(10_000)),
    Case("attributes-20000.xes", LimitExceeded, "distinct attribute keys", build=generate.wide_xes),
    Case("keys-5000.jsonl", LimitExceeded, "columns or more", build=generate.wide_jsonl),
    Case("columns-2000.parquet", LimitExceeded, "2,000 columns", build=generate.wide_parquet),
    Case("columns-2000.xlsx", LimitExceeded, "1,001 columns or more", build=generate.wide_xlsx),
    Case("field-300kb.csv", LimitExceeded, "bytes a cell may hold", build=generate.huge_field_csv),
    # bombs kept small by a lowered limit
    Case("zeros-1mb.csv.gz", LimitExceeded, _LONG_LINE, lambda: generate.gzip_bomb_of_zeros(1), _SMALL_RECORDS),
    Case("endless-2mb.csv.gz", LimitExceeded, _LONG_LINE, lambda: generate.gzip_of_one_endless_line(2), _SMALL_RECORDS),
    Case("rows-60k.csv.gz", LimitExceeded, "50,000 events", lambda: generate.gzip_of_rows(60_000), _FEW_EVENTS),
    Case("events-60k.xes.gz", LimitExceeded, "50,000 events", lambda: generate.gzip_of_xes_events(60_000), _FEW_EVENTS),
    Case("lines-3mb.csv.gz", UnsafeInput, "more than 2 MB", lambda: generate.gzip_of_long_lines(3), _SMALL_EXPANSION),
    Case("zip-bomb-3mb.xlsx", UnsafeInput, "more than 2 MB", lambda: generate.zip_bomb_xlsx(3), _SMALL_EXPANSION),
    # found by the re-check: line ends, encodings, numbers and containers the first corpus did not hold
    Case("csv-cr-line-ends.csv", None, "3 events, 2 cases", events=3),
    Case("csv-utf16le-without-bom.csv", None, "3 events, 2 cases", events=3),
    Case("csv-utf16be-without-bom.csv", None, "3 events, 2 cases", events=3),
    Case("jsonl-5000-digit-number.jsonl", UnsupportedFormat, "more than 4,300 digits"),
    Case("xlsx-password-protected.xlsx", UnsupportedFormat, "protected by a password"),
    Case("xlsx-that-is-csv.xlsx", UnsupportedFormat, "it is text"),
    Case("parquet-int96-year-3000.parquet", None, "3 events, 2 cases", events=3),
    Case("xes-nested-300-deep.xes", LimitExceeded, "more than 256 deep"),
    Case("text-11mb.xes", LimitExceeded, "text of more than 10 MB", build=generate.xes_with_text),
    Case("list-5m-objects.jsonl", UnsupportedFormat, "JSON list", build=generate.list_of_objects_jsonl),
    Case("far-cell-all600000.xlsx", LimitExceeded, "600,000 rows by 1,000 columns", build=generate.far_cell_xlsx),
    Case("far-cell-xfd1048576.xlsx", LimitExceeded, "16,384 columns", lambda: generate.far_cell_xlsx("XFD1048576")),
    Case("dictionary-100mb.parquet", LimitExceeded, "bytes a cell may hold", build=generate.dictionary_parquet),
    Case("dictionary-10mb.parquet", UnsafeInput, "more than 2 MB", _SMALL_DICTIONARY, _SMALL_EXPANSION),
    # the same with instants, as the Import page previews and DuckDB stores; then a long value past the preview
    Case(
        "typed-dictionary-100mb.parquet",
        LimitExceeded,
        "bytes a cell may hold",
        partial(generate.dictionary_parquet, typed=True),
    ),
    Case("typed-dictionary-10mb.parquet", UnsafeInput, "more than 2 MB", _SMALL_TYPED_DICTIONARY, _SMALL_EXPANSION),
    Case(
        "long-value-past-preview.parquet",
        LimitExceeded,
        "bytes a cell may hold",
        generate.long_value_past_the_preview_parquet,
    ),
    Case("empty-cells-70m.csv.gz", LimitExceeded, "empty ones", _FEWER_EMPTY_CELLS, _SMALL_WORKER),
    # full-size bombs, under the default limits
    Case("gzip-bomb-26mb.csv.gz", LimitExceeded, _LONG_LINE, build=generate.gzip_bomb_of_zeros, slow=True),
    Case("one-endless-line.csv.gz", LimitExceeded, _LONG_LINE, build=generate.gzip_of_one_endless_line, slow=True),
    Case("rows-52m.csv.gz", LimitExceeded, "50,000,000 events", build=generate.gzip_of_rows, slow=True),
    Case("events-51m.xes.gz", LimitExceeded, "50,000,000 events", build=generate.gzip_of_xes_events, slow=True),
    Case("long-lines-4200mb.csv.gz", UnsafeInput, "more than 4096 MB", build=generate.gzip_of_long_lines, slow=True),
    Case("zip-bomb-4200mb.xlsx", UnsafeInput, "more than 4096 MB", build=generate.zip_bomb_xlsx, slow=True),
    Case("empty-cells-540m.csv.gz", LimitExceeded, "cells, empty ones", build=generate.gzip_of_empty_cells, slow=True),
]
PARAMS = [case.param() for case in CASES]
# The dashboard's upload and the child's memory are checked for every case in .ci/run (`slow`); the quick tests
# take one case of each kind of trap there, since the command-line tests already run every case through the same
# reading code in the same child process.
SAMPLE = {"xes-bad-date.xes", "xes-utf16.xes", "binary-activity.parquet", "columns-20000.csv", "zeros-1mb.csv.gz"}
SAMPLED_PARAMS = [case.param(slow=case.name not in SAMPLE) for case in CASES]


def assert_store_intact(store: Store, before: list) -> None:
    """The database passes an integrity check, lists what it listed, every dataset loads, no import is half done."""
    database = store.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    after = Store(store.settings).datasets()
    assert [d.id for d in after] == [d.id for d in before]
    for dataset in after:
        assert len(store.load_events(dataset.id)) == dataset.n_events
    folders = {path.name for path in store.settings.datasets_dir.iterdir() if not path.name.startswith(".")}
    assert folders == {d.id for d in after}
    incoming = store.settings.datasets_dir / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())
