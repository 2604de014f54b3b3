"""Pure builders of the tables pages show: plain data in, a display-ready DataFrame out."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from data.quality import QualityReport
from data.store import Dataset


def quality_badge(report: QualityReport) -> str:
    """Return a short verdict on a log's quality: errors, then warnings, else fine."""
    counts = report.count_by_severity()
    if counts["error"]:
        return f"❌ {counts['error']} error(s)"
    if counts["warning"]:
        return f"⚠️ {counts['warning']} warning(s)"
    return "✅ fine"


def datasets_table(datasets: Sequence[Dataset]) -> pd.DataFrame:
    """Return one row per stored log: name, size, period and quality badge."""
    return pd.DataFrame(
        {
            "Log": [d.name for d in datasets],
            "Customers": [d.n_cases for d in datasets],
            "Events": [d.n_events for d in datasets],
            "Touchpoints": [d.n_activities for d in datasets],
            "Period": [_period(d) for d in datasets],
            "Quality": [quality_badge(d.quality) for d in datasets],
            "Imported": [d.created_at for d in datasets],
        }
    )


def _period(dataset: Dataset) -> str:
    if dataset.start_time is None:
        return ""
    return f"{dataset.start_time:%Y-%m-%d} → {dataset.end_time:%Y-%m-%d}"
