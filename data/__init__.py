"""The event log: readers, column mapping, validation, canonical log, storage and the engine.

>>> from data import Store, Settings, import_file
>>> dataset = import_file("journeys.csv", store=Store(Settings.from_env()))  # doctest: +SKIP
>>> with Store(Settings.from_env()).engine(dataset.id) as engine:  # doctest: +SKIP
...     engine.dfg()
"""

import importlib

from data.canonical import to_event_log
from data.columnar import import_columnar, parquet_rows, parquet_sample, typed_parquet_sample
from data.engine import Engine, LogSummary, build_layout, quote_identifier
from data.errors import (
    AmbiguousDateError,
    DatasetNotFound,
    EmptyLog,
    InvalidRows,
    LimitExceeded,
    LogError,
    MappingError,
    OutdatedLayout,
    PermissionDenied,
    Problem,
    SourceNotConfigured,
    StorageFull,
    TimestampError,
    UnexpectedFailure,
    UnsafeInput,
    UnsupportedFormat,
)
from data.exports import (
    neutralise_formulas,
    terminal_safe,
    terminal_safe_output,
    to_csv_bytes,
    to_excel_bytes,
    write_csv,
)
from data.filters import Filters
from data.first_look import FIRST_LOOK_TOUCHPOINTS, FirstLook, first_look
from data.importing import (
    DEMO_SAMPLES,
    dataset_name,
    import_demo,
    import_file,
    import_file_isolated,
    import_sample_isolated,
    load_log,
    load_log_isolated,
    read_upload,
    resolve_mapping,
)
from data.isolation import (
    ChildRun,
    guarded,
    measure_isolated,
    previews_wanted,
    report_preview,
    report_progress,
    run_isolated,
)
from data.journeys import split_journeys
from data.mapping import Candidate, MappingSuggestion, detect_mapping, validate_mapping
from data.parquet_layout import import_layout
from data.quality import Finding, QualityReport, assess, assess_relation
from data.readers import FORMATS, check_path, read_log
from data.schema import ACTIVITY, CASE_ID, CHANNEL, SOURCE_ROW, TIMESTAMP, ColumnMapping, EventLog, RawLog
from data.settings import SETTINGS, Settings
from data.sql_sources import read_sql
from data.store import Dataset, SavedPayload, Store
from data.timestamps import ParsedTimestamps, parse_timestamps
from data.uploads import StagedUpload, StagedUploads
from data.views import REPORTS_PAGE, SavedView, delete_view, page_address, save_view, saved_reports, saved_views
from data.workspaces import DEFAULT_WORKSPACE, ROLES, Change, Comment, Member, Workspace
from data.xes import read_xes

# Imported on first use: the demo generator, so that `python -m data.demo` runs it only once, and the Spark
# backend, because pyspark is only installed where Spark is used.
_LAZY_NAMES = {
    **dict.fromkeys(("DemoFile", "DemoLog", "generate_demo", "write_demo"), "data.demo"),
    **dict.fromkeys(("build_layout_with_spark", "prepare_layout", "spark_session"), "data.spark"),
}


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'data' has no attribute {name!r}")


__all__ = [
    "ACTIVITY",
    "CASE_ID",
    "CHANNEL",
    "DEFAULT_WORKSPACE",
    "DEMO_SAMPLES",
    "FIRST_LOOK_TOUCHPOINTS",
    "FORMATS",
    "REPORTS_PAGE",
    "ROLES",
    "SETTINGS",
    "SOURCE_ROW",
    "TIMESTAMP",
    "AmbiguousDateError",
    "Candidate",
    "Change",
    "ChildRun",
    "ColumnMapping",
    "Comment",
    "Dataset",
    "DatasetNotFound",
    "DemoFile",
    "DemoLog",
    "EmptyLog",
    "Engine",
    "EventLog",
    "Filters",
    "Finding",
    "FirstLook",
    "InvalidRows",
    "LimitExceeded",
    "LogError",
    "LogSummary",
    "MappingError",
    "MappingSuggestion",
    "Member",
    "OutdatedLayout",
    "ParsedTimestamps",
    "PermissionDenied",
    "Problem",
    "QualityReport",
    "RawLog",
    "SavedPayload",
    "SavedView",
    "Settings",
    "SourceNotConfigured",
    "StagedUpload",
    "StagedUploads",
    "StorageFull",
    "Store",
    "TimestampError",
    "UnexpectedFailure",
    "UnsafeInput",
    "UnsupportedFormat",
    "Workspace",
    "assess",
    "assess_relation",
    "build_layout",
    "build_layout_with_spark",
    "check_path",
    "dataset_name",
    "delete_view",
    "detect_mapping",
    "first_look",
    "generate_demo",
    "guarded",
    "import_columnar",
    "import_demo",
    "import_file",
    "import_file_isolated",
    "import_layout",
    "import_sample_isolated",
    "load_log",
    "load_log_isolated",
    "measure_isolated",
    "neutralise_formulas",
    "page_address",
    "parquet_rows",
    "parquet_sample",
    "parse_timestamps",
    "prepare_layout",
    "previews_wanted",
    "quote_identifier",
    "read_log",
    "read_sql",
    "read_upload",
    "read_xes",
    "report_preview",
    "report_progress",
    "resolve_mapping",
    "run_isolated",
    "save_view",
    "saved_reports",
    "saved_views",
    "spark_session",
    "split_journeys",
    "terminal_safe",
    "terminal_safe_output",
    "to_csv_bytes",
    "to_event_log",
    "to_excel_bytes",
    "typed_parquet_sample",
    "validate_mapping",
    "write_csv",
    "write_demo",
]
