"""Shared Streamlit widgets and pure table builders; the only UI layer above the library.

Pages call these in order and add no logic of their own: `dataset_picker` and `filter_bar` make the
sidebar, `show_table` shows a table with its downloads, `reported_errors` turns a LogError into a
table of what to fix.
"""

from ui.downloads import neutralise_formulas, show_table, to_csv_bytes, to_excel_bytes
from ui.errors import reported_errors, show_error
from ui.importing import (
    ImportChoice,
    checked_log,
    choose_source,
    limits_text,
    mapping_form,
    proposed_mapping,
    role_options,
    save_section,
    show_preview,
    show_quality,
)
from ui.params import filters_from_params, filters_to_params, is_filter_param
from ui.sidebar import dataset_picker, filter_bar, filterable_attributes, open_demo_button, show_dataset, window_bounds
from ui.state import (
    attribute_columns,
    attribute_values,
    build_log,
    channels,
    churn_definition,
    dataset_summary,
    first_run_demo,
    read_sql_source,
    read_upload,
    reset_stage_setup,
    save_stage_setup,
    settings,
    stage_model,
    store,
    suggest_mapping,
    top_activities,
)
from ui.tables import (
    columns_table,
    datasets_table,
    findings_table,
    human_bytes,
    offending_rows,
    problems_table,
    quality_badge,
)

__all__ = [
    "ImportChoice",
    "attribute_columns",
    "attribute_values",
    "build_log",
    "channels",
    "checked_log",
    "choose_source",
    "churn_definition",
    "columns_table",
    "dataset_picker",
    "dataset_summary",
    "datasets_table",
    "filter_bar",
    "filterable_attributes",
    "filters_from_params",
    "filters_to_params",
    "findings_table",
    "first_run_demo",
    "human_bytes",
    "is_filter_param",
    "limits_text",
    "mapping_form",
    "neutralise_formulas",
    "offending_rows",
    "open_demo_button",
    "problems_table",
    "proposed_mapping",
    "quality_badge",
    "read_sql_source",
    "read_upload",
    "reported_errors",
    "reset_stage_setup",
    "role_options",
    "save_section",
    "save_stage_setup",
    "settings",
    "show_dataset",
    "show_error",
    "show_preview",
    "show_quality",
    "show_table",
    "stage_model",
    "store",
    "suggest_mapping",
    "to_csv_bytes",
    "to_excel_bytes",
    "top_activities",
    "window_bounds",
]
