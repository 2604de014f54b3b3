"""Pure builders of the tables pages show: plain data in, a display-ready DataFrame out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from data import Dataset, MappingSuggestion, Problem, QualityReport
from data.errors import spreadsheet_row

__all__ = [
    "PERCENT_STEP",
    "columns_table",
    "count_column",
    "count_columns",
    "datasets_table",
    "findings_table",
    "human_bytes",
    "numbered_rows",
    "offending_rows",
    "percent_column",
    "problems_table",
    "quality_badge",
]

# Text symbols rather than colour emoji: they render in every font, also on a server's headless browser.
SEVERITY_ICONS = {"error": "✖ error", "warning": "⚠ warning", "info": "ℹ info"}
ROLE_NAMES = {"case_id": "customer / case", "activity": "touchpoint", "timestamp": "time", "channel": "channel"}
ROW_COLUMN = "Row"
_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")
# Streamlit's "percent" format drops trailing zeros ("25%" above "25.37%"); a step of a thousandth fixes one decimal
# in every row ("25.0%", "25.4%"), as the metrics and the downloads write shares.
PERCENT_STEP = 0.001


def count_column(help_text: str | None = None, label: str | None = None) -> dict:
    """Return the column format of a count: thousands separated, as the metrics above a table write it."""
    return st.column_config.NumberColumn(label, help=help_text, format="localized", width="small")


def count_columns(*names: str) -> dict:
    """Return the column formats that write these columns' counts as the metrics do (3,000)."""
    return {name: st.column_config.NumberColumn(format="localized") for name in names}


def percent_column(help_text: str | None = None, label: str | None = None) -> dict:
    """Return the column format of a share kept as a fraction (0.25), shown as a percentage with one decimal (25.0%)."""
    return st.column_config.NumberColumn(label, help=help_text, format="percent", step=PERCENT_STEP, width="small")


def quality_badge(report: QualityReport) -> str:
    """Return a short verdict on a log's quality: errors, then warnings, else fine."""
    counts = report.count_by_severity()
    if counts["error"]:
        return f"✖ {counts['error']} error(s)"
    if counts["warning"]:
        return f"⚠ {counts['warning']} warning(s)"
    return "✔ fine"


def human_bytes(size_bytes: int) -> str:
    """Return a size the way a file manager writes it: 2.6 MB."""
    size = float(size_bytes)
    for unit in _BYTE_UNITS[:-1]:
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} {_BYTE_UNITS[-1]}"


def datasets_table(datasets: Sequence[Dataset]) -> pd.DataFrame:
    """Return one row per stored log: name, counts, size on disk, last opened, period, quality badge and imported."""
    return pd.DataFrame(
        {
            "Log": [d.name for d in datasets],
            "Customers": [d.n_cases for d in datasets],
            "Events": [d.n_events for d in datasets],
            "Touchpoints": [d.n_activities for d in datasets],
            "Size on disk": [human_bytes(d.size_bytes) for d in datasets],
            "Last opened": [_moment(d.last_opened_at) if d.last_opened_at else "never" for d in datasets],
            "Period": [_period(d) for d in datasets],
            "Quality": [quality_badge(d.quality) for d in datasets],
            "Imported": [_moment(d.created_at) for d in datasets],
        }
    )


def findings_table(report: QualityReport) -> pd.DataFrame:
    """Return one row per finding of the quality report, errors first, with its example rows."""
    findings = report.findings
    return pd.DataFrame(
        {
            "Severity": [SEVERITY_ICONS.get(f.severity, f.severity) for f in findings],
            "Finding": [f.message for f in findings],
            "Count": [f.count for f in findings],
            "Example rows": [", ".join(map(str, f.examples)) for f in findings],
            "Details": ["; ".join(f.details) for f in findings],
        }
    )


def problems_table(problems: Sequence[Problem]) -> pd.DataFrame:
    """Return one row per problem: where it is (row, column, value), what is wrong and how to fix it."""
    return pd.DataFrame(
        {
            ROW_COLUMN: pd.array([p.row for p in problems], dtype="Int64"),
            "Column": [p.column or "" for p in problems],
            "Value": [p.value or "" for p in problems],
            "Problem": [p.message for p in problems],
            "Fix": [p.fix for p in problems],
        }
    )


def offending_rows(frame: pd.DataFrame, rows: Sequence[int]) -> pd.DataFrame:
    """Return the source rows at these spreadsheet row numbers, as read, with their number in front."""
    rows = np.asarray(rows, dtype="int64")
    positions = rows - spreadsheet_row(0)
    inside = (positions >= 0) & (positions < len(frame))
    return numbered_rows(frame.iloc[positions[inside]].set_axis(rows[inside]))


def numbered_rows(picked: pd.DataFrame) -> pd.DataFrame:
    """Return source rows indexed by their spreadsheet row number, as read, with that number in front."""
    label = ROW_COLUMN if ROW_COLUMN not in picked.columns else f"{ROW_COLUMN} (Parcours)"
    numbered = picked.reset_index(drop=True)
    numbered.insert(0, label, picked.index.to_numpy())
    return numbered


def columns_table(suggestion: MappingSuggestion, columns: Sequence[str]) -> pd.DataFrame:
    """Return one row per source column: example values and the roles it may play, with their scores."""
    roles_of: dict[str, list[str]] = {column: [] for column in columns}
    for role, candidates in suggestion.candidates.items():
        for candidate in candidates:
            roles_of[candidate.column].append(f"{ROLE_NAMES[role]} {candidate.score:.0%}")
    return pd.DataFrame(
        {
            "Column": list(columns),
            "Examples": [" · ".join(suggestion.examples.get(column, ())) for column in columns],
            "Could be": [", ".join(roles_of[column]) for column in columns],
        }
    )


def _moment(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _period(dataset: Dataset) -> str:
    if dataset.start_time is None:
        return ""
    return f"{dataset.start_time:%Y-%m-%d} → {dataset.end_time:%Y-%m-%d}"
