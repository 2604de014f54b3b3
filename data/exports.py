"""What Parcours writes for other programs: tables for spreadsheets, text for terminals.

A log's labels come from outside, so both outputs are built to carry them as plain text:

- **Spreadsheets.** A CSV cell such as `=HYPERLINK(…)` or `@SUM(…)` would run as a formula when the file is
  opened (CSV injection). List cells are joined first, *then* every text cell and header starting with one of
  = + - @ (or their full-width forms), tab or carriage return gets a leading apostrophe, as OWASP advises. In an
  Excel workbook every text cell is written as a string cell, which Excel shows as typed and never evaluates; a
  formula-like one also carries Excel's own "quote prefix" style, so that it stays text when someone edits it,
  and no apostrophe is seen. A workbook may carry a second sheet, "About", saying where its table comes from.
- **Terminals.** A file name holding `ESC [ 2 J` would clear the screen of whoever lists the datasets; control
  characters (except line breaks and tabs) and bidirectional overrides are dropped from everything a CLI prints.

The dashboard's downloads (`ui.downloads`) and every CLI `--out` use these functions.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from data.filters import Filters
from data.params import filters_to_params

if TYPE_CHECKING:
    from data.schema import RawLog
    from data.store import Dataset

__all__ = [
    "ExportStamp",
    "neutralise_formulas",
    "terminal_safe",
    "terminal_safe_output",
    "to_csv_bytes",
    "to_excel_bytes",
    "write_csv",
]

FORMULA_START = re.compile(r"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
EXCEL_SHEET_NAME_CHARS = 31
EXCEL_CELL_CHARS = 32_767  # the most a workbook cell holds; Excel reports a file with a longer one as damaged
ABOUT_SHEET = "About"
LIST_JOINER = " → "
# What `pandas.api.types.infer_dtype` calls an object column that may hold text (or lists, joined into text).
_HOLDING_TEXT = frozenset({"string", "mixed", "mixed-integer", "mixed-integer-float", "empty"})
# C0 and C1 controls but line feed and tab, DEL, and the bidirectional embeddings, overrides and isolates.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAME_CHARS = 40
_DIGEST_CHARS = 6
_UNSAFE_IN_FILE_NAME = re.compile(r"[^\w.]+")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `frame` whose lists are joined and whose text cells and headers cannot start a formula."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    safe = _joined_lists(frame).set_axis([_neutralised_name(name) for name in frame.columns], axis=1)
    for position, values in _text_columns(safe):
        risky = _matches(values, FORMULA_START)
        if risky.any():
            safe.isetitem(position, values.mask(risky, "'" + values.astype("str")))
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the table as UTF-8 CSV with a byte-order mark, which Excel needs to read accents right."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write the table to `path` as `to_csv_bytes` does: what a CLI's `--out` writes."""
    Path(path).write_bytes(to_csv_bytes(frame))


def to_excel_bytes(frame: pd.DataFrame, sheet_name: str = "Parcours", about: Sequence[tuple[str, str]] = ()) -> bytes:
    """Return the table as an .xlsx workbook whose text cells are strings, never formulas.

    `about` holds (field, value) pairs, such as the log and filters the table comes from; when given they fill a
    second sheet, "About", after the table's, so a reader taking the first sheet still gets the table.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    buffer = io.BytesIO()
    sheet_name = sheet_name[:EXCEL_SHEET_NAME_CHARS]
    if sheet_name == ABOUT_SHEET and about:
        sheet_name = "Table"
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _excel_ready(_joined_lists(frame)).to_excel(writer, index=False, sheet_name=sheet_name)
        if about:
            about_frame = pd.DataFrame(list(about), columns=["Field", "Value"], dtype=object)
            _excel_ready(about_frame).to_excel(writer, index=False, sheet_name=ABOUT_SHEET)
        for sheet in writer.sheets.values():
            _text_as_strings(sheet)
    return buffer.getvalue()


def terminal_safe(text: str) -> str:
    """Return `text` without the characters a terminal would act on instead of showing."""
    return _TERMINAL_UNSAFE.sub("", text)


@contextmanager
def terminal_safe_output() -> Iterator[None]:
    """Pass everything printed to stdout and stderr inside the block (or decorated function) through `terminal_safe`."""
    with redirect_stdout(_TerminalSafeStream(sys.stdout)), redirect_stderr(_TerminalSafeStream(sys.stderr)):
        yield


class _TerminalSafeStream(io.TextIOBase):
    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def _text_as_strings(sheet) -> None:
    """Make every text cell of an openpyxl sheet a string cell; formula-like ones also get the quote prefix style."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # openpyxl reads any text starting with '=' as a formula
                cell.data_type = "s"
            if cell.data_type == "s" and isinstance(cell.value, str) and FORMULA_START.match(cell.value):
                # What Excel sets when one types '=x: shown as =x, kept as text if edited, never evaluated.
                cell.quotePrefix = True


def _neutralised_name(name: object) -> object:
    return f"'{name}" if isinstance(name, str) and FORMULA_START.match(name) else name


def _text_columns(frame: pd.DataFrame):
    """Yield (position, values) of every column that may hold text, categories read as plain values."""
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            yield position, values
        elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in _HOLDING_TEXT:
            yield position, values  # an object column of numbers only has no text (and no `.str`)


def _matches(values: pd.Series, pattern: re.Pattern) -> pd.Series:
    """Return where a text cell matches; `.str` gives NaN for the other cells of an object column (numbers)."""
    return values.str.match(pattern).eq(True)


def _joined_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose list cells (a variant's touchpoints) are text joined with an arrow."""
    joined = frame.copy()
    for position, values in _text_columns(joined):
        lists = values.map(lambda value: isinstance(value, list | tuple))
        if lists.any():
            as_text = values[lists].map(lambda items: LIST_JOINER.join(map(str, items)))
            joined.isetitem(position, values.mask(lists, as_text))
    return joined


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn what a workbook cannot hold into what it can: zoned times to UTC, no control bytes, text cut to fit."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # slow to import, and only workbooks need it

    ready = frame.copy()
    for position in range(ready.shape[1]):
        values = ready.iloc[:, position]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            ready.isetitem(position, values.dt.tz_convert("UTC").dt.tz_localize(None))
    for position, values in _text_columns(ready):
        illegal = values.str.contains(ILLEGAL_CHARACTERS_RE).eq(True)
        if illegal.any():
            values = values.mask(illegal, values.str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True))
            ready.isetitem(position, values)
        too_long = values.str.len().gt(EXCEL_CELL_CHARS).eq(True)
        if too_long.any():
            ready.isetitem(position, values.mask(too_long, values.str.slice(0, EXCEL_CELL_CHARS - 1) + "…"))
    return ready


@dataclass(frozen=True)
class ExportStamp:
    """Where a downloaded table comes from: which log, which journey definition, which of its customers."""

    log_name: str = ""
    log_id: str | None = None  # None for an upload not stored yet
    definition_version: int | None = None  # None while the suggested definition has not been saved
    filters: str = "all customers"  # as `Filters.describe()` says it
    filters_link: str = ""  # the filters as the page's link holds them (JSON), empty when there are none

    @classmethod
    def of_log(
        cls,
        dataset: Dataset,
        filters: Filters,
        definition_version: int | None,
        link_params: dict[str, str] | None = None,
        persona: str | None = None,
    ) -> ExportStamp:
        """The stamp of a stored log's tables under these filters.

        `link_params` are the filters as the page's link holds them (a persona by its run and number, not its
        customers), by default those of `filters`; `persona` names the persona the filters keep, if any.
        """
        params = filters_to_params(filters) if link_params is None else link_params
        link = json.dumps(params, sort_keys=True, ensure_ascii=False) if params else ""
        described = filters.describe() if persona is None else f"{filters.describe()} (persona {persona})"
        return cls(dataset.name, dataset.id, definition_version, described, link)

    @classmethod
    def of_upload(cls, raw: RawLog) -> ExportStamp:
        """The stamp of an upload's tables, before it is stored."""
        return cls(raw.name, None, None, "every row read")

    def about(self) -> list[tuple[str, str]]:
        """Return the (field, value) rows of the Excel file's About sheet."""
        if not self.log_name:
            return [("Log", "none")]
        if self.log_id is None:
            return [
                ("Log", self.log_name),
                ("Log id", "not stored yet (an upload being checked)"),
                ("Rows", self.filters),
            ]
        version = "suggested (no version saved yet)" if self.definition_version is None else self.definition_version
        rows = [
            ("Log", self.log_name),
            ("Log id", self.log_id),
            ("Journey definition version", str(version)),
            ("Filters", self.filters),
        ]
        if self.filters_link:
            rows.append(("Filters as in the page's link", self.filters_link))
        return rows

    def file_name(self, stem: str, extension: str) -> str:
        """Return `stem` followed by the log, its id, the definition version and the filters, for a file name."""
        if not self.log_name:
            return f"{stem}.{extension}"
        parts = [stem, _file_name_part(self.log_name)]
        if self.log_id is None:
            parts.append("upload")
        else:
            parts += [self.log_id, "suggested" if self.definition_version is None else f"v{self.definition_version}"]
            parts.append(f"filtered-{_digest(self.filters_link)}" if self.filters_link else "all-customers")
        return f"{'_'.join(part for part in parts if part)}.{extension}"


def _file_name_part(text: str) -> str:
    """Return `text` as letters, digits, dots and dashes only (a log's name is anyone's), at most 40 characters."""
    return _UNSAFE_IN_FILE_NAME.sub("-", text).strip("-.")[:_NAME_CHARS].strip("-.")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
