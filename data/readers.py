"""Readers: a file becomes a `RawLog`, or a typed error (SQL sources: `data.sql_sources`).

Text formats (CSV/TSV/TXT, JSON lines) are decoded by us, so every column of a CSV stays a string and
a case id `NA` survives; binary formats keep their types. Every limit in `Settings` is checked before
the expensive step it protects: the upload size before reading, the expanded size before
decompressing (streamed, capped), the row count while parsing.

Column names are cleaned (whitespace, empty names, duplicates) and each rename is recorded as a
`Problem` in `frame.attrs["column_renames"]`, so the import page can show it. Text files also
record `frame.attrs["encoding"]` and, for CSV, `frame.attrs["delimiter"]`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

import charset_normalizer
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from defusedxml.ElementTree import ParseError as XMLParseError
from lxml import etree
from openpyxl.utils.exceptions import InvalidFileException

from data.errors import (
    EmptyLog,
    LimitExceeded,
    LogError,
    Problem,
    UnsafeInput,
    UnsupportedFormat,
    spreadsheet_row,
)
from data.isolation import guarded
from data.schema import RawLog
from data.settings import Settings
from data.xes import read_xes

__all__ = ["FORMATS", "check_path", "read_log"]

FORMATS = ("csv", "xlsx", "parquet", "jsonl", "xes")
"""Formats `read_log` understands; `RawLog.format` is one of these or "sql"."""

BYTES_PER_MB = 1024 * 1024
# The least memory one cell of a table read from a file takes: a pointer in the row read, one in the column built.
BYTES_PER_CELL = 16

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xes": "xes",
}
_FORMAT_ALIASES = {"tsv": "csv", "txt": "csv", "excel": "xlsx", "ndjson": "jsonl", "xls": "xls"}
_TEXT_FORMATS = ("csv", "jsonl", "xes")
_LABELS = {
    "csv": "CSV file",
    "xlsx": "Excel workbook (.xlsx)",
    "xls": "old Excel workbook (.xls)",
    "parquet": "Parquet file",
    "jsonl": "JSON lines file",
    "xes": "XES file",
    "gzip": "gzip archive",
}
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "xlsx"),
    (b"PAR1", "parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
)
# A password-protected .xlsx is an OLE compound file (the .xls container) whose directory names this stream.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_SUPPORTED = (
    "CSV (.csv, .tsv, .txt, optionally .gz), Excel (.xlsx), Parquet, JSON lines (.jsonl) or XES (.xes, .xes.gz)"
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer cannot tell Western from Central European code pages apart on short samples
# (it reads BPIC 2016's Latin-1 "ï" as cp1250 "ď"); Parcours' users write English and French, so
# when it guesses any Latin single-byte code page we read cp1252 instead.
_LATIN_CODE_PAGES = frozenset(
    codecs.lookup(name).name
    for name in (
        "cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "cp437", "cp850", "cp852", "cp858", "latin_1", "iso8859_2",
        "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16",
        "mac_roman", "mac_latin2", "mac_iceland", "mac_turkish",
    )
)  # fmt: skip
_ENCODING_SAMPLE_BYTES = 1024 * 1024
_TEXT_SAMPLE_CHARS = 64 * 1024
# A well-formed UTF-8 sequence of two to four bytes, and a run of non-ASCII bytes.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
_CONTROL_CHARACTERS = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
# Text in UTF-16 without a byte-order mark: NUL in most high bytes (Latin letters), in almost no low byte.
_UTF16_NUL_SHARE, _STRAY_NUL_SHARE = 0.5, 0.01
_DELIMITERS = (",", ";", "\t", "|")
# The streaming pass reads 1 MiB at a time: a multiple of 4, so no UTF-16 or UTF-32 code unit is cut in two.
SCAN_CHUNK_BYTES = 1 << 20
_NEWLINE, _CARRIAGE_RETURN, _QUOTE = ord("\n"), ord("\r"), ord('"')
# Byte-order marks of texts whose code units are wider than a byte; UTF-32's LE mark begins with UTF-16's.
_WIDE_UNITS = (
    (codecs.BOM_UTF32_LE, "<u4", "utf-32-le"),
    (codecs.BOM_UTF32_BE, ">u4", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "<u2", "utf-16-le"),
    (codecs.BOM_UTF16_BE, ">u2", "utf-16-be"),
)
_SNIFF_RECORDS = 50
# JSON lines become a table this many lines at a time, each batch's keys counted before its table is built.
JSON_LINES_PER_BATCH = 10_000
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")  # pandas counts that row from 0
_NAME_WHITESPACE = re.compile(r"[\r\n\t]+")
_JSON_LIST = re.compile(r"\s*\[")
_LINE_WITH_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_SPECIAL_FILES = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISCHR, "device"),
    (stat.S_ISBLK, "device"),
    (stat.S_ISSOCK, "socket"),
)


def read_log(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    name: str | None = None,
    format: str | None = None,
    settings: Settings | None = None,
) -> RawLog:
    """Return the table in a file, checked against the operator's limits.

    `source` is a path, the file's bytes, or a binary file object such as Streamlit's
    `UploadedFile` (read from its current position). `name` is the file name shown to the user,
    whose extension picks the format unless `format` (one of `FORMATS`, or "tsv", "ndjson") says
    otherwise; it defaults to the path's or file object's name.

        raw = read_log("journeys.csv.gz")
        raw.frame.attrs["column_renames"]   # Problems describing each renamed column
    """
    settings = Settings.from_env() if settings is None else settings
    if format is not None:
        format = _FORMAT_ALIASES.get(format.lower(), format.lower())
        if format not in (*FORMATS, "xls"):
            raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    name = name or _source_name(source)
    with guarded("reading", name or None):
        return _read_bytes(_load_source(source, name, settings), name, format, settings)


def _source_name(source: object) -> str:
    """Return the file name a source carries ("" for bytes), refusing what is not a source at all."""
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    if isinstance(source, bytes | bytearray | memoryview):
        return ""
    if hasattr(source, "read"):
        return PurePath(str(getattr(source, "name", "") or "")).name
    raise TypeError(f"source must be a path, bytes or a binary file object, not {type(source).__name__}")


def _load_source(source: object, name: str, settings: Settings) -> bytes:
    limit = settings.max_upload_mb * BYTES_PER_MB
    if isinstance(source, str | os.PathLike):
        return _read_regular_file(Path(source), name, settings)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = source.read(limit + 1)
        if not isinstance(data, bytes):
            raise TypeError("open the file in binary mode ('rb')")
    if len(data) > limit:
        raise LimitExceeded(_too_large(name, len(data), settings))
    return data


def check_path(path: str | os.PathLike, settings: Settings) -> None:
    """Raise a LogError unless `path` is a readable regular file within the upload limit; it opens nothing.

    A FIFO would block the first open until a writer comes, a device such as /dev/zero never ends and
    reports a size of 0: only regular files are read.
    """
    try:
        status = os.stat(path)
    except OSError:
        raise LogError(_unreadable(Path(path))) from None
    _check_status(status, Path(path), Path(path).name, settings)


def _read_regular_file(path: Path, name: str, settings: Settings) -> bytes:
    limit = settings.max_upload_mb * BYTES_PER_MB
    try:
        # Non-blocking, so that a FIFO opens at once and is refused below instead of waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise LogError(_unreadable(path)) from None
    try:
        _check_status(os.fstat(descriptor), path, name, settings)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            # At most one byte past the limit, whatever size the file claims: it may grow while read.
            data = stream.read(limit + 1)
    except OSError:
        raise LogError(_unreadable(path)) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise LimitExceeded(_too_large(name, len(data), settings))
    return data


def _check_status(status: os.stat_result, path: Path, name: str, settings: Settings) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((kind for test, kind in _SPECIAL_FILES if test(status.st_mode)), "special file")
        raise UnsupportedFormat(
            Problem(
                f"The path is a {kind}, not a regular file: Parcours reads only files.",
                fix="Give the path of the log file itself (copy a stream to a file first).",
                file=str(path),
            )
        )
    if status.st_size > settings.max_upload_mb * BYTES_PER_MB:
        raise LimitExceeded(_too_large(name, status.st_size, settings))


def _unreadable(path: Path) -> Problem:
    return Problem("The file does not exist or cannot be read.", fix="Check the path.", file=str(path))


def _too_large(name: str, size_bytes: int, settings: Settings) -> Problem:
    return Problem(
        f"The file is larger than the {settings.max_upload_mb} MB this installation accepts "
        f"({size_bytes / BYTES_PER_MB:,.1f} MB or more).",
        fix="Compress it (.csv.gz), convert it to Parquet, filter it to a period, or ask the operator to raise "
        "PARCOURS_MAX_UPLOAD_MB.",
        file=name or None,
    )


def _too_many_events(name: str, settings: Settings) -> Problem:
    return Problem(
        f"The log has more than {settings.max_events:,} events, the most this installation accepts.",
        fix="Filter it to a period or a sample of customers, or ask the operator to raise PARCOURS_MAX_EVENTS.",
        file=name or None,
    )


def _read_bytes(data: bytes, name: str, declared: str | None, settings: Settings) -> RawLog:
    file = name or None
    if not data:
        raise EmptyLog(Problem("The file is empty.", fix="Export the log again.", file=file))
    fmt, compressed = _resolve_format(data, name, declared)
    scanned = None
    if compressed:
        # Two passes: the first expands the archive chunk by chunk and keeps nothing, so a bomb is refused at
        # the first limit it passes; only an archive within every limit is expanded again, into memory.
        scanned = _scan(_gunzipped(data, file), fmt, file, settings, cap=settings.max_uncompressed_mb * BYTES_PER_MB)
    elif fmt in _TEXT_FORMATS:
        scanned = _scan(_slices(data), fmt, file, settings, cap=None)
    if fmt == "csv":
        head = next(iter(_gunzipped(data, file) if compressed else _slices(data)), b"")
        _check_cells(head, scanned.records - 1, file, settings)
    content = _gunzip(data, scanned.size_bytes, file) if compressed else data
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet, "jsonl": _read_jsonl, "xes": read_xes}
    frame = reader[fmt](content, file, settings)
    if frame.empty:
        raise EmptyLog(
            Problem("The file has no rows of data.", fix="Check that you exported the right log.", file=file)
        )
    if len(frame) > settings.max_events:
        raise LimitExceeded(_too_many_events(name, settings))
    if len(frame.columns) > settings.max_columns:
        raise LimitExceeded(too_many_columns(file, len(frame.columns), settings))
    if scanned is not None and scanned.longest_record_bytes > settings.max_field_bytes:
        _check_field_sizes(frame, file, settings)  # no field is longer than the longest record
    return RawLog(frame=frame, name=name, format=fmt, sha256=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class _Scanned:
    """What a streaming pass over a text file found: its size, its records and the longest one."""

    size_bytes: int
    records: int
    longest_record_bytes: int


def _scan(chunks: Iterable[bytes], fmt: str, file: str | None, settings: Settings, *, cap: int | None) -> _Scanned:
    """Return what a streaming pass over a text file's bytes finds, refusing it as soon as it passes a limit.

    Records are counted as they stream by (CSV: line breaks outside double quotes; JSON lines: lines; XES:
    `<event` tags), so a file with too many rows is refused before any of it is parsed. No record of an
    acceptable file is longer than `max_columns` fields of `max_field_bytes`, and a compressed file may
    not expand past `cap` bytes.
    """
    longest_allowed = settings.max_columns * settings.max_field_bytes
    records_allowed = settings.max_events + (1 if fmt == "csv" else 0)  # a CSV's header is a record too
    counter: _RecordCounter | None = None
    size = 0
    for chunk in chunks:
        if counter is None:
            counter = _RecordCounter(chunk, fmt)
        size += len(chunk)
        if cap is not None and size > cap:
            raise UnsafeInput(_expands_too_much(file, settings))
        counter.feed(chunk)
        if counter.records > records_allowed:
            raise LimitExceeded(_too_many_events(file or "", settings))
        if counter.longest_bytes > longest_allowed:
            raise LimitExceeded(_record_too_long(file, counter.longest_bytes, settings))
    if counter is None:
        return _Scanned(0, 0, 0)
    counter.finish()
    if counter.records > records_allowed:
        raise LimitExceeded(_too_many_events(file or "", settings))
    return _Scanned(size, counter.records, counter.longest_bytes)


class _RecordCounter:
    """Counts the records of a text streamed in chunks, and the longest one, in its code units (NumPy per chunk).

    A byte-order mark says whether the text is UTF-16 or UTF-32, whose line breaks and quotes are code units
    of two or four bytes; any other text is read byte by byte, which finds them in UTF-8 and single-byte code
    pages alike. Blank lines are not records; XES records are the events, found by their opening tag.
    """

    def __init__(self, head: bytes, fmt: str):
        unmarked = _utf16_without_mark(head)
        self._dtype, self._codec = next(
            ((dtype, codec) for mark, dtype, codec in _WIDE_UNITS if head.startswith(mark)),
            (f"{'<' if unmarked == 'utf-16-le' else '>'}u2", unmarked) if unmarked else ("u1", "utf-8"),
        )
        self._width = np.dtype(self._dtype).itemsize
        # Old Mac files end their lines with a carriage return alone.
        only_returns = "\n".encode(self._codec) not in head and "\r".encode(self._codec) in head
        self._newline = _CARRIAGE_RETURN if only_returns else _NEWLINE
        self._quoted = fmt == "csv"
        self._tag = "<event".encode(self._codec) if fmt == "xes" else None
        self._quote = '"'.encode(self._codec)
        self._pending = b""
        self._inside_quotes = 0
        self._current = 0
        self.records = 0
        self.longest_bytes = 0

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk if self._pending else chunk
        if self._tag is not None:
            # A tag split across two chunks is found once: the kept tail is one byte shorter than the tag.
            self.records += data.count(self._tag)
            self._pending = data[-(len(self._tag) - 1) :]
            return
        usable = len(data) - len(data) % self._width
        self._pending = data[usable:]
        units = np.frombuffer(data, dtype=self._dtype, count=usable // self._width)
        breaks = np.flatnonzero(units == self._newline)
        if self._quoted and (self._inside_quotes or self._quote in data):
            # A line break is inside a quoted field when an odd number of quotes precede it ("" counts twice).
            quotes = np.flatnonzero(units == _QUOTE)
            breaks = breaks[(np.searchsorted(quotes, breaks) + self._inside_quotes) % 2 == 0]
            self._inside_quotes = (self._inside_quotes + len(quotes)) % 2
        if len(breaks):
            lengths = np.diff(breaks, prepend=-1)  # each record's code units, its line break included
            lengths[0] += self._current
            before = units[np.maximum(breaks - 1, 0)]
            blank = (lengths == 1) | ((lengths == 2) & (before == _CARRIAGE_RETURN) & (self._newline == _NEWLINE))
            self.records += len(breaks) - int(blank.sum())
            self.longest_bytes = max(self.longest_bytes, int(lengths.max()) * self._width)
            self._current = len(units) - 1 - int(breaks[-1])
        else:
            self._current += len(units)
        self.longest_bytes = max(self.longest_bytes, self._current * self._width)

    def finish(self) -> None:
        """Count the last record when the text does not end with a line break."""
        if self._tag is None and self._current:
            self.records += 1


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), SCAN_CHUNK_BYTES):
        yield view[start : start + SCAN_CHUNK_BYTES].tobytes()


def _gunzipped(data: bytes, file: str | None) -> Iterator[bytes]:
    """Yield the expanded bytes of a gzip archive one chunk at a time."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            while chunk := archive.read(SCAN_CHUNK_BYTES):
                yield chunk
    except (OSError, EOFError, zlib.error):
        raise UnsupportedFormat(
            Problem(
                "The gzip archive is damaged or truncated.",
                fix="Compress the file again or upload it as is.",
                file=file,
            )
        ) from None


def _gunzip(data: bytes, size_bytes: int, file: str | None) -> bytearray:
    """Return the expanded bytes of an archive already scanned, in one buffer of the size the scan found."""
    content = bytearray(size_bytes)
    with memoryview(content) as view:
        filled = 0
        for chunk in _gunzipped(data, file):
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
    return content


def _check_field_sizes(frame: pd.DataFrame, file: str | None, settings: Settings) -> None:
    """Raise LimitExceeded naming each text column with a value of more than `max_field_bytes` (UTF-8)."""
    problems = []
    for column in frame.columns:
        values = frame[column]
        if not isinstance(values.dtype, pd.StringDtype):
            continue
        sizes = pc.binary_length(pa.array(values, from_pandas=True)).to_numpy(zero_copy_only=False)
        too_long = np.flatnonzero(np.nan_to_num(sizes, nan=0) > settings.max_field_bytes)
        if len(too_long):
            first = int(too_long[0])
            problems.append(
                _values_too_long(file, str(column), too_long, int(sizes[first]), values.iloc[first], settings)
            )
    if problems:
        raise LimitExceeded(problems)


def _values_too_long(
    file: str | None, column: str, rows: np.ndarray, first_bytes: int, first: str | None, settings: Settings
) -> Problem:
    """The problem of a column whose values at 0-based `rows` are longer than a cell may hold."""
    return Problem(
        f"{len(rows):,} value(s) of this column are longer than the {settings.max_field_bytes:,} bytes a cell may "
        f"hold (the first{', shown,' if first is not None else ''} has {first_bytes:,}).",
        fix="Shorten or remove these values: Parcours reads event logs, not documents; or ask the operator to raise "
        "PARCOURS_MAX_FIELD_BYTES.",
        file=file,
        row=spreadsheet_row(rows[0]),
        column=column,
        value=first,
    )


def too_many_columns(file: str | None, columns: int, settings: Settings) -> Problem:
    """The problem of a log with more columns than the operator allows."""
    return Problem(
        f"The log has {columns:,} columns or more; this installation accepts at most {settings.max_columns:,}.",
        fix="Keep only the columns you need (customer, touchpoint, time, channel and a few attributes), or ask "
        "the operator to raise PARCOURS_MAX_COLUMNS.",
        file=file,
    )


def _record_too_long(file: str | None, size_bytes: int, settings: Settings) -> Problem:
    return Problem(
        f"A line of the file is {size_bytes:,} bytes long or more: longer than {settings.max_columns:,} columns of "
        f"{settings.max_field_bytes:,} bytes could make, so it is not a row of an event log.",
        fix="Check that the file is a table with one event per line (a quote left open joins all the lines "
        "after it); or ask the operator to raise PARCOURS_MAX_FIELD_BYTES or PARCOURS_MAX_COLUMNS.",
        file=file,
    )


def _resolve_format(data: bytes, name: str, declared: str | None) -> tuple[str, bool]:
    """Return the format and whether the bytes are gzip-compressed, trusting the name only if the content agrees."""
    head = data[:8]
    suffixes = [suffix.lower() for suffix in PurePath(name).suffixes]
    named_gzip = suffixes[-1:] == [".gz"]
    extension = next(iter(suffixes[-2:-1] if named_gzip else suffixes[-1:]), "")
    magic = next((fmt for prefix, fmt in _MAGIC if head.startswith(prefix)), None)
    file = name or None
    fmt = declared or _EXTENSIONS.get(extension)
    if fmt is None:
        problem = (
            f"Parcours does not read {extension!r} files." if extension else "Parcours cannot tell the file's format."
        )
        raise UnsupportedFormat(Problem(problem, fix=f"Save the log as {_SUPPORTED}.", file=file))
    if magic == "xls" and _ENCRYPTED_PACKAGE in data:
        raise UnsupportedFormat(
            Problem(
                "The Excel workbook is protected by a password, so Parcours cannot read it.",
                fix="Open it in Excel, remove the password (File › Info › Protect Workbook › Encrypt with Password), "
                "and save it as .xlsx or CSV.",
                file=file,
            )
        )
    if "xls" in (fmt, magic):
        raise UnsupportedFormat(
            Problem(
                "Old Excel workbooks (.xls) are not supported.",
                fix="Open it in Excel and save it as .xlsx or CSV.",
                file=file,
            )
        )
    compressed = magic == "gzip"
    if named_gzip and not compressed:
        raise UnsupportedFormat(
            Problem(
                "The name ends in .gz but the file is not gzip-compressed.",
                fix="Remove '.gz' from the name.",
                file=file,
            )
        )
    if fmt in _TEXT_FORMATS and magic in ("xlsx", "parquet"):
        raise UnsupportedFormat(
            Problem(
                f"The file is named as a {_LABELS[fmt]} but is a {_LABELS[magic]}.",
                fix=f"Rename it with the right extension or choose the format {magic!r}.",
                file=file,
            )
        )
    if fmt not in _TEXT_FORMATS and magic != fmt:
        actually = f" (it looks like a {_LABELS[magic]})" if magic else ""
        if magic is None and not _CONTROL_CHARACTERS.search(data[:_TEXT_SAMPLE_CHARS].decode("utf-8", "replace")):
            actually = " (it is text: a CSV or JSON lines file under another name?)"
        raise UnsupportedFormat(
            Problem(
                f"The file is not a valid {_LABELS[fmt]}{actually}.",
                fix=f"Export it again, or save the log as {_SUPPORTED}.",
                file=file,
            )
        )
    return fmt, compressed


def _expands_too_much(file: str | None, settings: Settings) -> Problem:
    return Problem(
        f"The compressed file expands to more than {settings.max_uncompressed_mb} MB.",
        fix="Upload a smaller extract, or ask the operator to raise PARCOURS_MAX_UNCOMPRESSED_MB.",
        file=file,
    )


def _decode(content: bytes, file: str | None) -> tuple[str, str]:
    """Return the text and its encoding: BOM, then strict UTF-8, then a (Latin-biased) guess, then cp1252."""
    declared = next((encoding for mark, encoding in _BOMS if content.startswith(mark)), None)
    declared = declared or _utf16_without_mark(content[:_ENCODING_SAMPLE_BYTES])
    if declared is None:
        try:
            return content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    for encoding in [declared] if declared else [_guess_encoding(content), "cp1252"]:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnsupportedFormat(
        Problem(
            "The file is not text in an encoding Parcours recognises.",
            fix="Save it as 'CSV UTF-8' (Excel: File › Save As › CSV UTF-8).",
            file=file,
        )
    )


def _refuse_mixed_encodings(content: bytes, other: str, file: str | None) -> None:
    """Raise UnsupportedFormat if a text that is not all UTF-8 has UTF-8 lines too, naming the lines in the minority.

    Only runs of non-ASCII bytes can tell encodings apart, and a run is UTF-8 exactly when it decodes as such;
    a text with no UTF-8 sequence at all (the usual single-byte file) is told at once by one regular expression.
    """
    if not _UTF8_SEQUENCE.search(content):
        return
    runs = [(run.start(), _is_utf8(run.group())) for run in _NON_ASCII_RUN.finditer(content)]
    utf8 = [start for start, valid in runs if valid]
    others = [start for start, valid in runs if not valid]
    if not utf8 or not others:
        return
    minority, kind = (others, f"not UTF-8 (it reads as {other})") if len(others) <= len(utf8) else (utf8, "UTF-8")
    line_starts = np.flatnonzero(np.frombuffer(content, dtype=np.uint8) == _NEWLINE) + 1
    lines = np.unique(np.searchsorted(line_starts, minority, side="right"))  # 0-based line of each run
    bounds = np.concatenate([[0], line_starts, [len(content)]])
    raise UnsupportedFormat(
        Problem(
            f"The line is {kind}, unlike the rest of the file: the file mixes two encodings.",
            fix="Save the whole file in one encoding, preferably UTF-8 (Excel: File › Save As › CSV UTF-8).",
            file=file,
            row=int(line) + 1,
            value=bytes(content[bounds[line] : bounds[line + 1]]).decode(other, "replace").rstrip("\r\n"),
        )
        for line in lines
    )


def _utf16_without_mark(head: bytes) -> str | None:
    """Return "utf-16-le" or "utf-16-be" for a text without byte-order mark whose every other byte is mostly NUL.

    Such a text (Latin script in UTF-16, as some Windows tools export it) is valid UTF-8 too, read as
    letters and NULs; no text in UTF-8 or a code page has NUL bytes at every other position.
    """
    sample = head[: len(head) - len(head) % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > _UTF16_NUL_SHARE * pairs and even < _STRAY_NUL_SHARE * pairs:
        return "utf-16-le"
    if even > _UTF16_NUL_SHARE * pairs and odd < _STRAY_NUL_SHARE * pairs:
        return "utf-16-be"
    return None


def _guess_encoding(content: bytes) -> str:
    guess = charset_normalizer.from_bytes(content[:_ENCODING_SAMPLE_BYTES]).best()
    if guess is None or codecs.lookup(guess.encoding).name in _LATIN_CODE_PAGES:
        return "cp1252"
    return guess.encoding


def _read_text(content: bytes, file: str | None) -> tuple[str, str]:
    """Return the decoded text and its encoding, refusing binary files and NUL bytes."""
    text, encoding = _decode(content, file)
    if not text or text.isspace():  # what `not text.strip()` says, without copying the text (4 s at 10M events)
        raise EmptyLog(Problem("The file is empty.", fix="Export the log again.", file=file))
    sample = text[:_TEXT_SAMPLE_CHARS]
    if len(_CONTROL_CHARACTERS.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise UnsupportedFormat(
            Problem("The file is not text: it holds binary data.", fix=f"Save the log as {_SUPPORTED}.", file=file)
        )
    if not codecs.lookup(encoding).name.startswith("utf"):
        # Read in a single-byte code page, the UTF-8 lines of a mixed file would be stored garbled ("cafÃ©").
        _refuse_mixed_encodings(content, encoding, file)
    if "\x00" in text:
        # NUL and newline are single bytes in UTF-8, so their byte offsets give the line of each NUL.
        encoded = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        lines = np.searchsorted(np.flatnonzero(encoded == ord("\n")), np.flatnonzero(encoded == 0)) + 1
        raise UnsupportedFormat(
            Problem(
                "The line contains NUL bytes, which text files never hold (the file may be damaged).",
                fix="Remove the NUL characters, or export the log again.",
                file=file,
                row=int(line),
            )
            for line in np.unique(lines)
        )
    return text, encoding


def _read_csv(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    text, encoding = _read_text(content, file)
    delimiter = _sniff_delimiter(text[:_TEXT_SAMPLE_CHARS])
    _check_header_width(text, delimiter, file, settings)
    # UTF-8 is parsed from the bytes, each field decoded as it is read: a copy of the text as a stream took three
    # times the memory and twice the time (10M events needed more than the child's 8 GB). Other encodings are rare.
    utf8 = encoding == "utf-8"
    buffer = io.BytesIO(content) if utf8 else io.StringIO(text)
    del text  # a stream of the text holds its own copy: keep one
    table = _arrow_csv(content, delimiter, settings) if utf8 else None
    if table is None:
        table = _pandas_csv(buffer, delimiter, file, settings)
    if len(table) < 2:
        raise EmptyLog(Problem("The file has a header but no rows.", fix="Export the log with its rows.", file=file))
    frame = _with_clean_columns(table.iloc[1:].reset_index(drop=True), table.iloc[0].tolist(), file)
    frame.attrs.update(encoding=encoding, delimiter=delimiter)
    return frame


def _pandas_csv(buffer: io.IOBase, delimiter: str, file: str | None, settings: Settings) -> pd.DataFrame:
    """Parse a CSV with pandas' parser, every field as text, the header as the first row; name each bad line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            table = pd.read_csv(
                buffer,
                sep=delimiter,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                on_bad_lines="warn",
                nrows=settings.max_events + 2,  # the header, the allowed rows and one more to notice the excess
                engine="c",
                encoding="utf-8" if isinstance(buffer, io.BytesIO) else None,
            )
        except pd.errors.EmptyDataError:  # only blank lines before the first line break
            raise EmptyLog(
                Problem("The file has no header line.", fix="Export the log with its column names.", file=file)
            ) from None
        except pd.errors.ParserError as error:
            unclosed = _UNCLOSED_QUOTE.search(str(error))
            raise UnsupportedFormat(
                Problem(
                    "A quoted field starting on this line is never closed."
                    if unclosed
                    else f"The file cannot be read as CSV ({str(error).strip()}).",
                    fix='Check the quotes: a field opened with " must be closed, and a " inside it doubled ("").',
                    file=file,
                    row=int(unclosed.group(1)) + 1 if unclosed else None,
                )
            ) from None
    skipped = [match for warning in caught for match in _SKIPPED_LINE.finditer(str(warning.message))]
    if skipped:
        raise UnsupportedFormat(
            Problem(
                f"The line has {saw} fields where the header has {expected}.",
                fix=f"Quote values that contain {delimiter!r}, or remove the extra separators.",
                file=file,
                row=int(line),
            )
            for line, expected, saw in (match.groups() for match in skipped)
        )
    return table


def _arrow_csv(content: bytes, delimiter: str, settings: Settings) -> pd.DataFrame | None:
    """Parse a UTF-8 CSV with Arrow's parser as `_pandas_csv` does; None for a file it finds irregular (a short or
    long row, a line of spaces, a quote never closed…), which pandas reads leniently or names line by line.

    Where both read a file they give the same table (every CSV of the shared datasets and of the tests, and each odd
    quoting kept), but pandas makes a Python string of each cell before it turns them into Arrow's: 15 of its 22 s
    on a 10M-event log.
    """
    if content.count(b'"') % 2:
        return None  # a quote never closed: Arrow reads it to the end of the file, pandas names its line
    names = [f"f{index}" for index in range(settings.max_columns)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(content),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except pa.ArrowException:  # a bad row, a record longer than Arrow's block…
        return None
    frame = table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    return frame.set_axis(range(frame.shape[1]), axis=1)


def _check_header_width(text: str, delimiter: str, file: str | None, settings: Settings) -> None:
    """Refuse a CSV whose header has more columns than allowed, before any row is parsed."""
    try:
        header = next(csv.reader(_lines_with_ends(text), delimiter=delimiter), [])
    except csv.Error as error:
        raise UnsupportedFormat(
            Problem(
                f"The header line cannot be read as CSV ({error}).",
                fix="Check the first line: it names the columns, separated by the delimiter.",
                file=file,
                row=1,
            )
        ) from None
    if len(header) > settings.max_columns:
        raise LimitExceeded(too_many_columns(file, len(header), settings))


def _check_cells(head: bytes, rows: int, file: str | None, settings: Settings) -> None:
    """Refuse a CSV whose rows times its header's columns make more cells than allowed, before it is expanded.

    pandas fills a short row up to the header's width, so a row of commas (or of nothing) costs as many cells
    as a full one: half a megabyte of gzip can hold 540 million. The header is read from the first chunk.
    """
    encoding = next((codec for mark, _, codec in _WIDE_UNITS if head.startswith(mark)), None)
    text = head.decode(encoding or _utf16_without_mark(head) or "utf-8", "replace").lstrip("\ufeff")
    sample = text[:_TEXT_SAMPLE_CHARS]
    try:
        header = next(csv.reader(_lines_with_ends(sample), delimiter=_sniff_delimiter(sample)), [])
    except csv.Error:
        return  # the header check says what is wrong with it
    if rows * len(header) > max_cells(settings):
        raise LimitExceeded(_too_many_cells(file, rows, len(header), settings, where=f"row {rows + 1:,}"))


def _lines_with_ends(text: str) -> Iterator[str]:
    """Yield the lines of a text with their line breaks, which may be "\r\n", "\n" or "\r" alone (as pandas reads)."""
    return (match.group() for match in _LINE_WITH_END.finditer(text))


def _sniff_delimiter(sample: str) -> str:
    """Return the delimiter that splits the header, then the most records like the header, into the most columns.

    Sniffing reads only the first records of a sample, through the csv module so quoted
    delimiters and line breaks are understood.
    """

    def fitness(delimiter: str) -> tuple[bool, float, int]:
        try:
            records = itertools.islice(csv.reader(_lines_with_ends(sample), delimiter=delimiter), _SNIFF_RECORDS)
            widths = [len(record) for record in records if record]
        except csv.Error:
            return False, 0.0, 0
        if not widths:
            return False, 0.0, 0
        return widths[0] > 1, widths.count(widths[0]) / len(widths), widths[0]

    return max(_DELIMITERS, key=fitness)


def _read_jsonl(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    """Read JSON lines a batch of lines at a time, refusing too many distinct keys before a batch becomes a table."""
    text, encoding = _read_text(content, file)
    keys: set[str] = set()
    batches = []
    for lines in _line_batches(text):
        records = _json_objects(lines, file)
        keys.update(*records)
        if len(keys) > settings.max_columns:
            raise LimitExceeded(too_many_columns(file, len(keys), settings))
        batches.append(pd.DataFrame(records))
    frame = pd.concat(batches, ignore_index=True) if batches else pd.DataFrame()
    frame = _with_clean_columns(frame, list(frame.columns), file)
    frame.attrs.update(encoding=encoding)
    return frame


def _line_batches(text: str) -> Iterator[list[tuple[int, str]]]:
    """Yield the non-blank lines of a text in batches, each line with its 1-based number."""
    numbered = ((number, line) for number, line in enumerate(_lines(text), start=1) if line.strip())
    while batch := list(itertools.islice(numbered, JSON_LINES_PER_BATCH)):
        yield batch


def _lines(text: str) -> Iterator[str]:
    """Yield the lines of a text split at "\n" only: JSON strings may hold other line separators (U+2028)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _json_objects(lines: list[tuple[int, str]], file: str | None) -> list[dict]:
    """Return the JSON object on each line, or raise naming the first line that is not one."""
    records = []
    for number, line in lines:
        record, problem = _parsed_object(line)
        if problem is None:
            records.append(record)
            continue
        raise UnsupportedFormat(
            Problem(
                problem,
                fix='Write one JSON object per line, e.g. {"customer": "c1", "action": "visit", "time": "…"}.',
                file=file,
                row=number,
                value=line.rstrip("\r\n"),
            )
        )
    return records


def _parsed_object(line: str) -> tuple[dict | None, str | None]:
    """Return the object a line of JSON lines holds, or None and what is wrong with the line.

    A list is refused unparsed: one line may hold millions of objects, each taking memory once parsed.
    """
    if _JSON_LIST.match(line):
        return None, "The line holds a JSON list, not an object with one field per column."
    try:
        record = json.loads(line)
    except RecursionError:
        return None, "The line is not valid JSON (nested too deeply)."
    except json.JSONDecodeError as error:
        return None, f"The line is not valid JSON ({error.msg})."
    except ValueError:  # Python reads no integer of more than 4,300 digits (sys.int_info)
        return None, "The line holds a number of more than 4,300 digits, which no event log needs."
    if isinstance(record, dict):
        return record, None
    return None, f"The line holds a JSON {type(record).__name__}, not an object with one field per column."


def _read_xlsx(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        members = []
    if not any(member.filename == "xl/workbook.xml" for member in members):
        raise UnsupportedFormat(
            Problem(
                "The file is not a valid Excel workbook.", fix="Open it in Excel and save it as .xlsx again.", file=file
            )
        )
    # zipfile never inflates a member past its declared size, so the declared sizes bound the work.
    if sum(member.file_size for member in members) > settings.max_uncompressed_mb * BYTES_PER_MB:
        raise UnsafeInput(_expands_too_much(file, settings))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and data validation it ignores
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
            try:
                # The sheet pandas reads (the first), found as openpyxl finds it, is measured before pandas reads it.
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    _check_sheet_extent(archive.open(workbook.worksheets[0]._worksheet_path), file, settings)
                cells = pd.read_excel(
                    workbook,
                    sheet_name=0,
                    header=None,
                    dtype=object,
                    na_filter=False,
                    nrows=settings.max_events + 2,  # the header, the allowed rows and one more to notice the excess
                    engine="openpyxl",
                )
            finally:
                workbook.close()
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        OSError,
        zipfile.BadZipFile,
        XMLParseError,
        etree.LxmlError,
        InvalidFileException,
    ):
        raise UnsupportedFormat(
            Problem("The Excel workbook is damaged.", fix="Open it in Excel and save it as .xlsx again.", file=file)
        ) from None
    if len(cells) < 2:
        raise EmptyLog(
            Problem("The first sheet has no rows below its header.", fix="Put the log on the first sheet.", file=file)
        )
    body = cells.iloc[1:].reset_index(drop=True)
    typed = body.replace("", None).convert_dtypes()
    # Text cells stay text ("007" is not 7); a column mixing text with numbers or dates is all text.
    text_columns = [
        column
        for column, dtype in typed.dtypes.items()
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)
    ]
    typed[text_columns] = body[text_columns].astype(str)
    return _with_clean_columns(typed, cells.iloc[0].tolist(), file)


def _check_sheet_extent(sheet: BinaryIO, file: str | None, settings: Settings) -> None:
    """Refuse a sheet spanning more columns, rows or cells than allowed, as its XML streams by.

    The table pandas builds is rectangular: openpyxl yields a row for every row number a sheet skips and pandas
    pads every row to the widest, so a sheet of a few kilobytes holding one cell at XFD1048576 would become 17
    billion cells. Empty cells count, and a sheet is refused before any of them is built.
    """
    row = column = widest = 0
    cells_allowed = max_cells(settings)
    elements = etree.iterparse(
        sheet, events=("start", "end"), tag=("{*}row", "{*}c"), resolve_entities=False, no_network=True
    )
    for action, element in elements:
        is_row = etree.QName(element).localname == "row"
        if action == "end":
            if is_row:  # read rows are dropped, so that memory holds one row of the sheet at a time
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del element.getparent()[0]
            continue
        reference = element.get("r") or ""
        if is_row:
            row = int(reference) if reference.isdecimal() else row + 1
            column = 0
            if row > settings.max_events + 1:
                raise LimitExceeded(_too_many_events(file or "", settings))
            continue
        letters = reference.rstrip("0123456789").upper()
        column = _column_number(letters) if letters.isalpha() else column + 1
        if column > settings.max_columns:
            raise LimitExceeded(too_many_columns(file, column, settings))
        widest = max(widest, column)
        if row * widest > cells_allowed:
            raise LimitExceeded(_too_many_cells(file, row, widest, settings, where=f"cell {letters}{row}"))


def _column_number(letters: str) -> int:
    """Return the 1-based number of a spreadsheet column ("A" is 1, "XFD" 16,384)."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def max_cells(settings: Settings) -> int:
    """The most cells (rows times columns, empty ones included) a table read from a file may have.

    A cell costs a table at least two pointers (the row pandas builds, then the column), so more than this many
    could not fit in the memory a child reading a file is allowed: such a file is refused at once rather than
    read until the child is stopped.
    """
    return settings.worker_memory_mb * BYTES_PER_MB // BYTES_PER_CELL


def _too_many_cells(file: str | None, rows: int, columns: int, settings: Settings, *, where: str) -> Problem:
    return Problem(
        f"The table spans {rows:,} rows by {columns:,} columns (up to {where}): {rows * columns:,} cells, empty ones "
        f"included, more than fit in the {settings.worker_memory_mb:,} MB this installation gives to reading a file.",
        fix="Delete the empty rows and columns beyond the log (select them in Excel, then Delete), keep only the "
        "columns you need, or ask the operator to raise PARCOURS_WORKER_MEMORY_MB.",
        file=file,
    )


def _read_parquet(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    try:
        # INT96 instants (Spark, Impala) read as microseconds: in nanoseconds, a date past 2262 would wrap around.
        parquet = pq.ParquetFile(pa.BufferReader(content), coerce_int96_timestamp_unit="us")
        metadata = parquet.metadata
        if metadata.num_rows > settings.max_events:
            raise LimitExceeded(_too_many_events(file or "", settings))
        expanded_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if expanded_bytes > settings.max_uncompressed_mb * BYTES_PER_MB:
            raise UnsafeInput(_expands_too_much(file, settings))
        columns = len(parquet.schema_arrow)
        if columns > settings.max_columns:
            raise LimitExceeded(too_many_columns(file, columns, settings))
        if metadata.num_rows * columns > max_cells(settings):
            raise LimitExceeded(_too_many_cells(file, metadata.num_rows, columns, settings, where="its last row"))
        # Text is read as dictionaries, as most writers store it: sized before any repeated value is copied out.
        texts = [field.name for field in parquet.schema_arrow if _is_text(field.type)]
        table = pq.ParquetFile(pa.BufferReader(content), read_dictionary=texts, coerce_int96_timestamp_unit="us").read()
        _check_text_sizes(table, file, settings)
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError):
        raise UnsupportedFormat(
            Problem(
                "The Parquet file is damaged or uses a feature Parcours cannot read.",
                fix="Write it again with pandas, pyarrow, DuckDB or Spark.",
                file=file,
            )
        ) from None
    categorical = [column for column, dtype in frame.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]
    # Each value becomes the one object its dictionary holds, shared by every row that repeats it.
    frame[categorical] = frame[categorical].astype(object).where(frame[categorical].notna(), None)
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # a pandas index saved in the file is data, not row numbers
    return _decoded_binary(_with_clean_columns(frame, list(frame.columns), file), file)


def _is_text(kind: pa.DataType) -> bool:
    return any(
        test(kind)
        for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    )


def _check_text_sizes(table: pa.Table, file: str | None, settings: Settings) -> None:
    """Refuse text values longer than a cell may hold, and text expanding past the expanded-size limit.

    A Parquet file stores a repeated value once, in a dictionary: a file of a few kilobytes may repeat a
    100 MB value a thousand times. Values are measured in the dictionary and counted per row, copying none.
    """
    problems = []
    expanded = 0
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not (_is_text(column.type) or pa.types.is_dictionary(column.type)):
            continue
        lengths = pa.chunked_array(
            [
                pc.cast(
                    pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
                    if pa.types.is_dictionary(chunk.type)
                    else pc.binary_length(chunk),
                    pa.int64(),
                )
                for chunk in column.chunks
            ],
            type=pa.int64(),
        )
        expanded += pc.sum(lengths).as_py() or 0
        too_long = np.flatnonzero(lengths.to_numpy(zero_copy_only=False) > settings.max_field_bytes)
        if len(too_long):
            first = int(too_long[0])
            problems.append(_values_too_long(file, str(name), too_long, lengths[first].as_py(), None, settings))
    if problems:
        raise LimitExceeded(problems)
    if expanded > settings.max_uncompressed_mb * BYTES_PER_MB:
        raise UnsafeInput(_expands_too_much(file, settings))


def _with_clean_columns(frame: pd.DataFrame, names: list, file: str | None) -> pd.DataFrame:
    """Return the frame under cleaned column names, recording each rename in `attrs["column_renames"]`.

    Names are data, whatever they hold (formulas, SQL, 300 characters): only whitespace is tidied,
    empty names become "column N" and repeated names "name (2)", "name (3)".
    """
    originals = ["" if pd.isna(name) else str(name) for name in names]
    tidied = [_NAME_WHITESPACE.sub(" ", name).strip() or f"column {i}" for i, name in enumerate(originals, start=1)]
    taken = set(tidied)
    seen: set[str] = set()
    cleaned: list[str] = []
    renames: list[Problem] = []
    for position, (original, name) in enumerate(zip(originals, tidied, strict=True), start=1):
        unique = name
        if name in seen:
            unique = next(f"{name} ({n})" for n in itertools.count(2) if f"{name} ({n})" not in taken)
            taken.add(unique)
        seen.add(unique)
        cleaned.append(unique)
        if unique == original:
            continue
        if not original.strip():
            reason = "it has no name"
        elif unique != name:
            reason = "an earlier column has the same name"
        else:
            reason = "spaces, tabs or line breaks in it were tidied"
        renames.append(
            Problem(
                f"Column {position} is called {unique!r} because {reason}.",
                fix="Rename the column in the source if you prefer another name.",
                file=file,
                column=unique,
                value=original,
            )
        )
    frame = frame.set_axis(cleaned, axis="columns")
    frame.attrs["column_renames"] = tuple(renames)
    return frame


def _decoded_binary(frame: pd.DataFrame, file: str | None) -> pd.DataFrame:
    """Return the frame with values of bytes (Parquet BINARY columns) read as UTF-8 text.

    Raise UnsupportedFormat naming each column whose bytes are not text, rather than guess at them.
    """
    decoded, problems = {}, []
    for column in frame.columns[[pd.api.types.is_object_dtype(dtype) for dtype in frame.dtypes]]:
        values = frame[column]
        if pd.api.types.infer_dtype(values, skipna=True) not in ("bytes", "mixed"):
            continue
        binary = values.map(lambda value: isinstance(value, bytes | bytearray | memoryview)).to_numpy(dtype=bool)
        if not binary.any():
            continue
        try:
            decoded[column] = values.where(~binary, values[binary].map(lambda value: bytes(value).decode("utf-8")))
        except UnicodeDecodeError:
            first = next(row for row in np.flatnonzero(binary) if not _is_utf8(bytes(values.iloc[row])))
            problems.append(
                Problem(
                    "The column holds binary data that is not text (not UTF-8), e.g. this value.",
                    fix="Leave the column out of the export, or store it as text (UTF-8 strings).",
                    file=file,
                    row=spreadsheet_row(first),
                    column=str(column),
                    value=bytes(values.iloc[first])[:40].hex(" "),
                )
            )
    if problems:
        raise UnsupportedFormat(problems)
    return frame.assign(**decoded) if decoded else frame


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
