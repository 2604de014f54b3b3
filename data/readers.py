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
import os
import re
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path, PurePath
from typing import BinaryIO

import charset_normalizer
import defusedxml
import defusedxml.ElementTree
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from defusedxml.ElementTree import ParseError as XMLParseError
from lxml import etree

from data.errors import (
    EmptyLog,
    LimitExceeded,
    LogError,
    Problem,
    TimestampError,
    UnsafeInput,
    UnsupportedFormat,
)
from data.schema import RawLog
from data.settings import Settings
from data.timestamps import dates_out_of_range

__all__ = ["FORMATS", "read_log"]

FORMATS = ("csv", "xlsx", "parquet", "jsonl", "xes")
"""Formats `read_log` understands; `RawLog.format` is one of these or "sql"."""

BYTES_PER_MB = 1024 * 1024

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
_CONTROL_CHARACTERS = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 50
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")  # pandas counts that row from 0
_NAME_WHITESPACE = re.compile(r"[\r\n\t]+")


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
    data, name = _load_source(source, name, settings)
    return _read_bytes(data, name, format, settings)


def _load_source(source: object, name: str | None, settings: Settings) -> tuple[bytes, str]:
    limit = settings.max_upload_mb * BYTES_PER_MB
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > limit:
                raise LimitExceeded(_too_large(name or path.name, size, settings))
            data = path.read_bytes()
        except OSError:
            raise LogError(
                Problem("The file does not exist or cannot be read.", fix="Check the path.", file=str(path))
            ) from None
        return data, name or path.name
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        default_name = ""
    elif hasattr(source, "read"):
        data = source.read(limit + 1)
        if not isinstance(data, bytes):
            raise TypeError("open the file in binary mode ('rb')")
        default_name = PurePath(str(getattr(source, "name", "") or "")).name
    else:
        raise TypeError(f"source must be a path, bytes or a binary file object, not {type(source).__name__}")
    name = name or default_name
    if len(data) > limit:
        raise LimitExceeded(_too_large(name, len(data), settings))
    return data, name


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
    fmt, compressed = _resolve_format(data[:8], name, declared)
    content = _gunzip(data, file, settings) if compressed else data
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet, "jsonl": _read_jsonl, "xes": _read_xes}
    frame = reader[fmt](content, file, settings)
    if frame.empty:
        raise EmptyLog(
            Problem("The file has no rows of data.", fix="Check that you exported the right log.", file=file)
        )
    if len(frame) > settings.max_events:
        raise LimitExceeded(_too_many_events(name, settings))
    return RawLog(frame=frame, name=name, format=fmt, sha256=hashlib.sha256(data).hexdigest())


def _resolve_format(head: bytes, name: str, declared: str | None) -> tuple[str, bool]:
    """Return the format and whether the bytes are gzip-compressed, trusting the name only if the content agrees."""
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
        raise UnsupportedFormat(
            Problem(
                f"The file is not a valid {_LABELS[fmt]}{actually}.",
                fix=f"Export it again, or save the log as {_SUPPORTED}.",
                file=file,
            )
        )
    return fmt, compressed


def _gunzip(data: bytes, file: str | None, settings: Settings) -> bytes:
    cap = settings.max_uncompressed_mb * BYTES_PER_MB
    try:
        # GzipFile.read(n) decompresses chunk by chunk and stops after n bytes: a bomb never expands in memory.
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            content = archive.read(cap + 1)
    except (OSError, EOFError, zlib.error):
        raise UnsupportedFormat(
            Problem(
                "The gzip archive is damaged or truncated.",
                fix="Compress the file again or upload it as is.",
                file=file,
            )
        ) from None
    if len(content) > cap:
        raise UnsafeInput(_expands_too_much(file, settings))
    return content


def _expands_too_much(file: str | None, settings: Settings) -> Problem:
    return Problem(
        f"The compressed file expands to more than {settings.max_uncompressed_mb} MB.",
        fix="Upload a smaller extract, or ask the operator to raise PARCOURS_MAX_UNCOMPRESSED_MB.",
        file=file,
    )


def _decode(content: bytes, file: str | None) -> tuple[str, str]:
    """Return the text and its encoding: BOM, then strict UTF-8, then a (Latin-biased) guess, then cp1252."""
    declared = next((encoding for mark, encoding in _BOMS if content.startswith(mark)), None)
    for encoding in [declared] if declared else ["utf-8", _guess_encoding(content), "cp1252"]:
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


def _guess_encoding(content: bytes) -> str:
    guess = charset_normalizer.from_bytes(content[:_ENCODING_SAMPLE_BYTES]).best()
    if guess is None or codecs.lookup(guess.encoding).name in _LATIN_CODE_PAGES:
        return "cp1252"
    return guess.encoding


def _read_text(content: bytes, file: str | None) -> tuple[str, str]:
    """Return the decoded text and its encoding, refusing binary files and NUL bytes."""
    text, encoding = _decode(content, file)
    if not text.strip():
        raise EmptyLog(Problem("The file is empty.", fix="Export the log again.", file=file))
    sample = text[:_TEXT_SAMPLE_CHARS]
    if len(_CONTROL_CHARACTERS.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise UnsupportedFormat(
            Problem("The file is not text: it holds binary data.", fix=f"Save the log as {_SUPPORTED}.", file=file)
        )
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            table = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                on_bad_lines="warn",
                nrows=settings.max_events + 2,  # the header, the allowed rows and one more to notice the excess
                engine="c",
            )
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
    if len(table) < 2:
        raise EmptyLog(Problem("The file has a header but no rows.", fix="Export the log with its rows.", file=file))
    frame = _with_clean_columns(table.iloc[1:].reset_index(drop=True), table.iloc[0].tolist(), file)
    frame.attrs.update(encoding=encoding, delimiter=delimiter)
    return frame


def _sniff_delimiter(sample: str) -> str:
    """Return the delimiter that splits the header, then the most records like the header, into the most columns.

    Sniffing reads only the first records of a sample, through the csv module so quoted
    delimiters and line breaks are understood.
    """

    def fitness(delimiter: str) -> tuple[bool, float, int]:
        try:
            records = itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), _SNIFF_RECORDS)
            widths = [len(record) for record in records if record]
        except csv.Error:
            return False, 0.0, 0
        if not widths:
            return False, 0.0, 0
        return widths[0] > 1, widths.count(widths[0]) / len(widths), widths[0]

    return max(_DELIMITERS, key=fitness)


def _read_jsonl(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    text, encoding = _read_text(content, file)
    try:
        frame = pd.read_json(io.StringIO(text), lines=True, dtype=False, nrows=settings.max_events + 1)
    except ValueError as error:
        raise UnsupportedFormat(
            Problem(
                f"The file is not valid JSON lines ({error}).",
                fix='Write one JSON object per line, e.g. {"customer": "c1", "action": "visit", "time": "…"}.',
                file=file,
            )
        ) from None
    frame = _with_clean_columns(frame, list(frame.columns), file)
    frame.attrs.update(encoding=encoding)
    return frame


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
            cells = pd.read_excel(
                io.BytesIO(content),
                sheet_name=0,
                header=None,
                dtype=object,
                na_filter=False,
                nrows=settings.max_events + 2,  # the header, the allowed rows and one more to notice the excess
                engine="openpyxl",
            )
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, XMLParseError, etree.LxmlError):
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


def _read_parquet(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(content))
        metadata = parquet.metadata
        if metadata.num_rows > settings.max_events:
            raise LimitExceeded(_too_many_events(file or "", settings))
        expanded_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        if expanded_bytes > settings.max_uncompressed_mb * BYTES_PER_MB:
            raise UnsafeInput(_expands_too_much(file, settings))
        frame = parquet.read().to_pandas()
    except (pa.ArrowException, OSError, ValueError):
        raise UnsupportedFormat(
            Problem(
                "The Parquet file is damaged or uses a feature Parcours cannot read.",
                fix="Write it again with pandas, pyarrow, DuckDB or Spark.",
                file=file,
            )
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # a pandas index saved in the file is data, not row numbers
    return _with_clean_columns(frame, list(frame.columns), file)


def _read_xes(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    _refuse_xml_declarations(content, file)
    # Every XES event opens with "<event", so counting is exact and far cheaper than parsing.
    if content.count(b"<event") > settings.max_events:
        raise LimitExceeded(_too_many_events(file or "", settings))
    import pm4py  # slow to import, and only XES needs it

    with tempfile.TemporaryDirectory(prefix="parcours-xes-") as folder:
        path = Path(folder) / "log.xes"
        path.write_bytes(content)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)
        except etree.XMLSyntaxError as error:
            raise UnsupportedFormat(
                Problem(
                    f"The XES file is not well-formed XML ({error.msg}).",
                    fix="Export the log again.",
                    file=file,
                    row=error.lineno,
                )
            ) from None
        except (ValueError, TypeError, KeyError) as error:
            raise UnsupportedFormat(
                Problem(
                    f"The XES file holds a value pm4py cannot read ({error}).", fix="Export the log again.", file=file
                )
            ) from None
        except OverflowError:
            raise _xes_dates_out_of_range(content, file) from None
    return _with_clean_columns(frame, list(frame.columns), file)


def _xes_dates_out_of_range(content: bytes, file: str | None) -> TimestampError:
    """The error naming each XES date whose instant is outside the years 1 to 9999 (pm4py overflows on them).

    Only called once pm4py has read the XML, so the DOCTYPE check already ran.
    """
    dates = [
        (element.sourceline, element.get("key", ""), element.get("value", ""))
        for _, element in etree.iterparse(io.BytesIO(content), tag="{*}date", resolve_entities=False)
    ]
    positions = dates_out_of_range(pd.Series([value for *_, value in dates], dtype="str"))
    return TimestampError(
        [
            Problem(
                "The date falls outside the years 1 to 9999 once converted to UTC.",
                fix="correct the date (0001-01-01T00:30:00+01:00 is in the year 0 in UTC) or remove its event",
                file=file,
                row=dates[position][0],
                column=dates[position][1],
                value=dates[position][2],
            )
            for position in positions
        ]
        or [Problem("A date of the XES file is out of range.", fix="correct the dates of the log", file=file)]
    )


def _refuse_xml_declarations(content: bytes, file: str | None) -> None:
    """Raise UnsafeInput if the XML declares a DOCTYPE or entities (XXE, billion laughs).

    A DOCTYPE may only stand before the root element, so the scan stops at the root's opening
    tag; lxml (inside pm4py) rejects a DOCTYPE anywhere later as malformed XML.
    """
    try:
        next(defusedxml.ElementTree.iterparse(io.BytesIO(content), events=("start",), forbid_dtd=True), None)
    except defusedxml.DefusedXmlException:
        raise UnsafeInput(
            Problem(
                "The XES file declares a DOCTYPE or entities, which can read server files or expand without end.",
                fix="Export the log again without a DOCTYPE: XES needs none.",
                file=file,
            )
        ) from None
    except XMLParseError as error:
        raise UnsupportedFormat(
            Problem(
                f"The XES file is not well-formed XML ({error}).",
                fix="Export the log again.",
                file=file,
                row=error.position[0],
            )
        ) from None


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
