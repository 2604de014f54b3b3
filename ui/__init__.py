"""Shared Streamlit widgets and pure table builders; the only UI layer above the library.

Pages call these in order and add no logic of their own: `dataset_picker` and `filter_bar` make the
sidebar, `show_table` shows a table with its downloads, `reported_errors` turns a LogError into a
table of what to fix.
"""

from ui.definition import show_outcome_metrics
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
from ui.logs import deletion_question, manage_stored_logs, stored_logs
from ui.markup import plain
from ui.navigation import IMPORT_PAGE
from ui.params import filters_from_params, filters_to_params, is_filter_param
from ui.sidebar import (
    dataset_picker,
    filter_bar,
    filterable_attributes,
    open_demo_button,
    show_dataset,
    stop_without_log,
    window_bounds,
)
from ui.state import (
    attribute_columns,
    attribute_values,
    build_log,
    channels,
    churn_figures,
    dataset_summary,
    definition_version,
    first_run_demo,
    forget_dataset,
    journey_definition,
    read_sql_source,
    read_upload,
    save_journey_definition,
    settings,
    store,
    suggest_mapping,
    top_activities,
)
from ui.tables import (
    columns_table,
    count_column,
    count_columns,
    datasets_table,
    findings_table,
    human_bytes,
    offending_rows,
    percent_column,
    problems_table,
    quality_badge,
)
from ui.views import saved_views_section, view_saver

__all__ = [
    "IMPORT_PAGE",
    "ImportChoice",
    "attribute_columns",
    "attribute_values",
    "build_log",
    "channels",
    "checked_log",
    "choose_source",
    "churn_figures",
    "columns_table",
    "count_column",
    "count_columns",
    "dataset_picker",
    "dataset_summary",
    "datasets_table",
    "definition_version",
    "deletion_question",
    "filter_bar",
    "filterable_attributes",
    "filters_from_params",
    "filters_to_params",
    "findings_table",
    "first_run_demo",
    "forget_dataset",
    "human_bytes",
    "is_filter_param",
    "journey_definition",
    "limits_text",
    "manage_stored_logs",
    "mapping_form",
    "neutralise_formulas",
    "offending_rows",
    "open_demo_button",
    "percent_column",
    "plain",
    "problems_table",
    "proposed_mapping",
    "quality_badge",
    "read_sql_source",
    "read_upload",
    "reported_errors",
    "role_options",
    "save_journey_definition",
    "save_section",
    "saved_views_section",
    "settings",
    "show_dataset",
    "show_error",
    "show_outcome_metrics",
    "show_preview",
    "show_quality",
    "show_table",
    "stop_without_log",
    "store",
    "stored_logs",
    "suggest_mapping",
    "to_csv_bytes",
    "to_excel_bytes",
    "top_activities",
    "view_saver",
    "window_bounds",
]
