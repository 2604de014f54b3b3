"""Shared Streamlit widgets and pure table/figure builders; the only UI layer above the library."""

from ui.state import dataset_summary, demo_dataset, settings, store, top_activities
from ui.tables import datasets_table, quality_badge

__all__ = ["dataset_summary", "datasets_table", "demo_dataset", "quality_badge", "settings", "store", "top_activities"]
