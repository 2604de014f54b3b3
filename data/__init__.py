"""The event log: readers, column mapping, validation, canonical log, storage and the engine."""

from data.errors import (
    AmbiguousDateError,
    DatasetNotFound,
    EmptyLog,
    LimitExceeded,
    LogError,
    MappingError,
    Problem,
    SourceNotConfigured,
    TimestampError,
    UnsafeInput,
    UnsupportedFormat,
)
from data.schema import ColumnMapping, EventLog, RawLog
from data.settings import Settings

__all__ = [
    "AmbiguousDateError",
    "ColumnMapping",
    "DatasetNotFound",
    "EmptyLog",
    "EventLog",
    "LimitExceeded",
    "LogError",
    "MappingError",
    "Problem",
    "RawLog",
    "Settings",
    "SourceNotConfigured",
    "TimestampError",
    "UnsafeInput",
    "UnsupportedFormat",
]
