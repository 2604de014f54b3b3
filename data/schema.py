"""The canonical event log: fixed column names whatever the source called them.

A canonical frame has one row per event and the columns
`case_id` (string), `activity` (string), `timestamp` (UTC, microseconds), `channel` (string or
null), `source_row` (0-based record index in the source, which keeps the file order of events
with equal timestamps) and then every kept attribute under its source name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from data.quality import QualityReport

__all__ = [
    "ACTIVITY",
    "CANONICAL_COLUMNS",
    "CASE_ID",
    "CHANNEL",
    "SOURCE_ROW",
    "TIMESTAMP",
    "ColumnMapping",
    "EventLog",
    "RawLog",
]

CASE_ID = "case_id"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
CHANNEL = "channel"
SOURCE_ROW = "source_row"
CANONICAL_COLUMNS = (CASE_ID, ACTIVITY, TIMESTAMP, CHANNEL, SOURCE_ROW)

ACTIVITY_JOINER = "-"


@dataclass(frozen=True)
class RawLog:
    """A table as read from a file or database, before any mapping.

    Text formats are read with every column as a string (so `NA` stays a case id), binary formats
    keep their types. `sha256` is the hash of the source bytes (or of the query and its result for
    SQL), from which a stored dataset is named.
    """

    frame: pd.DataFrame
    name: str
    format: str
    sha256: str
    # The Parquet file this frame is the first rows of (`data.columnar.parquet_sample`), which DuckDB imports whole
    # without pandas; None when the frame is the whole table.
    sample_of: Path | None = None


@dataclass(frozen=True)
class ColumnMapping:
    """Which source columns play which canonical role, and how to read the timestamps.

    `activity` may name several columns, joined with '-' and skipping empty parts (the
    "activity + lifecycle" classifier of Disco). `attributes=None` keeps every other column.
    `timestamp_format` is a strptime format, a named one (`data.timestamps.NAMED_FORMATS`: "ISO8601",
    "DD/MM/YYYY"…, "epoch_s", "epoch_ms", "epoch_us", "epoch_ns"), or None to sniff.
    `dayfirst` settles a day/month order that the values alone leave ambiguous.
    """

    case_id: str
    activity: tuple[str, ...] | str
    timestamp: str
    channel: str | None = None
    attributes: tuple[str, ...] | None = None
    timestamp_format: str | None = None
    dayfirst: bool | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if isinstance(self.activity, str):
            object.__setattr__(self, "activity", (self.activity,))
        else:
            object.__setattr__(self, "activity", tuple(self.activity))
        if self.attributes is not None:
            object.__setattr__(self, "attributes", tuple(self.attributes))

    @property
    def role_columns(self) -> tuple[str, ...]:
        """Source columns consumed by a canonical role (not kept as attributes)."""
        roles = (self.case_id, *self.activity, self.timestamp, self.channel)
        return tuple(dict.fromkeys(c for c in roles if c))

    def to_dict(self) -> dict:
        return {
            "case_id": self.case_id,
            "activity": list(self.activity),
            "timestamp": self.timestamp,
            "channel": self.channel,
            "attributes": None if self.attributes is None else list(self.attributes),
            "timestamp_format": self.timestamp_format,
            "dayfirst": self.dayfirst,
            "timezone": self.timezone,
        }

    @classmethod
    def from_dict(cls, values: dict) -> ColumnMapping:
        return cls(**values)


@dataclass(frozen=True)
class EventLog:
    """A validated canonical frame with the mapping that produced it and its quality report."""

    frame: pd.DataFrame
    mapping: ColumnMapping
    quality: QualityReport
    name: str = ""
    source_sha256: str = ""
    options: dict = field(default_factory=dict)
