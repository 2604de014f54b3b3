"""Every table a page shows can be downloaded, as CSV and as Excel, without carrying formulas.

A log's labels come from outside: a cell such as `=HYPERLINK(…)` or `@SUM(…)` would run as a formula
when the download is opened in a spreadsheet (CSV injection). Every text cell and header starting
with one of = + - @ tab or carriage return therefore gets a leading apostrophe, as OWASP advises.
"""

from __future__ import annotations

import io
import re
from functools import partial

import pandas as pd
import streamlit as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["neutralise_formulas", "show_table", "to_csv_bytes", "to_excel_bytes"]

FORMULA_START = re.compile(r"[=+\-@\t\r]")
EXCEL_SHEET_NAME_CHARS = 31
LIST_JOINER = " → "


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `frame` whose text cells and headers cannot start a spreadsheet formula."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    safe = frame.set_axis([_neutralised_name(name) for name in frame.columns], axis=1)
    for position, values in _text_columns(safe):
        risky = _matches(values, FORMULA_START)
        if risky.any():
            safe.isetitem(position, values.mask(risky, "'" + values.astype("str")))
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the table as UTF-8 CSV with a byte-order mark, which Excel needs to read accents right."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def to_excel_bytes(frame: pd.DataFrame, sheet_name: str = "Parcours") -> bytes:
    """Return the table as an .xlsx workbook of one sheet."""
    buffer = io.BytesIO()
    _excel_ready(neutralise_formulas(frame)).to_excel(
        buffer, index=False, sheet_name=sheet_name[:EXCEL_SHEET_NAME_CHARS], engine="openpyxl"
    )
    return buffer.getvalue()


_FORMATS = (
    ("CSV", to_csv_bytes, "csv", "text/csv"),
    ("Excel", to_excel_bytes, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)


def show_table(frame: pd.DataFrame, file_stem: str, **dataframe_options) -> None:
    """Show a table with its CSV and Excel downloads; `file_stem` names the files and keys the buttons."""
    st.dataframe(frame, hide_index=True, width="stretch", **dataframe_options)
    with st.container(horizontal=True):
        for label, build, extension, mime in _FORMATS:
            st.download_button(
                label,
                data=partial(build, frame),
                file_name=f"{file_stem}.{extension}",
                mime=mime,
                icon=":material/download:",
                key=f"download-{extension}-{file_stem}",
                on_click="ignore",
            )


def _neutralised_name(name: object) -> object:
    return f"'{name}" if isinstance(name, str) and FORMULA_START.match(name) else name


def _text_columns(frame: pd.DataFrame):
    """Yield (position, values) of every column that may hold text, categories read as plain values."""
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("object")
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            yield position, values


def _matches(values: pd.Series, pattern: re.Pattern) -> pd.Series:
    """Return where a text cell matches; `.str` gives NaN for the other cells of an object column (numbers, lists)."""
    return values.str.match(pattern).eq(True)


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn what a workbook cannot hold into what it can: zoned times to UTC, lists to text, no control bytes."""
    ready = frame.copy()
    for position in range(ready.shape[1]):
        values = ready.iloc[:, position]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            ready.isetitem(position, values.dt.tz_convert("UTC").dt.tz_localize(None))
    for position, values in _text_columns(ready):
        filled = values.dropna()
        if not filled.empty and isinstance(filled.iloc[0], list | tuple):
            ready.isetitem(position, values.str.join(LIST_JOINER))
            continue
        illegal = values.str.contains(ILLEGAL_CHARACTERS_RE).eq(True)
        if illegal.any():
            ready.isetitem(position, values.mask(illegal, values.str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True)))
    return ready
