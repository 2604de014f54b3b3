"""The data-quality report kept with every imported log.

Import does not just pass or fail: it says what looks wrong, how often and where (spreadsheet
rows), so the user can judge whether the maps built on the log can be trusted. Each finding is a
count, up to five example rows and a message in plain words; the report round-trips through JSON
because the store saves it beside the dataset.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.errors import spreadsheet_row
from data.schema import ACTIVITY, CASE_ID, SOURCE_ROW, TIMESTAMP

__all__ = [
    "DST_ADJUSTED",
    "DUPLICATE_EVENTS",
    "EMPTY_ACTIVITY",
    "EMPTY_CASE_ID",
    "FUTURE_TIMESTAMPS",
    "INVALID_TIMESTAMP",
    "NEAR_DUPLICATE_ACTIVITIES",
    "OUT_OF_ORDER",
    "SEVERITIES",
    "SINGLE_EVENT_CASES",
    "TIMESTAMP_TIES",
    "TRUNCATED_AT_END",
    "TRUNCATED_AT_START",
    "Finding",
    "QualityReport",
    "assess",
]

SEVERITIES = ("error", "warning", "info")

INVALID_TIMESTAMP = "invalid_timestamp"
EMPTY_CASE_ID = "empty_case_id"
EMPTY_ACTIVITY = "empty_activity"
DUPLICATE_EVENTS = "duplicate_events"
FUTURE_TIMESTAMPS = "future_timestamps"
SINGLE_EVENT_CASES = "single_event_cases"
NEAR_DUPLICATE_ACTIVITIES = "near_duplicate_activities"
TRUNCATED_AT_START = "truncated_at_start"
TRUNCATED_AT_END = "truncated_at_end"
TIMESTAMP_TIES = "timestamp_ties"
OUT_OF_ORDER = "out_of_order"
DST_ADJUSTED = "dst_adjusted"

EXAMPLES_KEPT = 5
EDGE_SHARE = 0.02
SIMILAR_LABEL_RATIO = 0.9
# Comparing every pair of labels costs n²/2 string comparisons: beyond this many, only exact variants are sought.
SIMILAR_LABEL_LIMIT = 300
# Labels differing in a short or numbered word ("Release A"/"Release B", "T02"/"T03") are distinct steps, not typos.
SHORTEST_TYPO_WORD = 4

_DROPPED = {
    TIMESTAMP: (INVALID_TIMESTAMP, "{count:,} row(s) had a missing or unreadable timestamp and were dropped."),
    CASE_ID: (EMPTY_CASE_ID, "{count:,} row(s) had an empty case id and were dropped."),
    ACTIVITY: (EMPTY_ACTIVITY, "{count:,} row(s) had an empty activity and were dropped."),
}


@dataclass(frozen=True)
class Finding:
    """One kind of problem: how often it occurs and where (spreadsheet rows of up to five examples)."""

    code: str
    severity: str
    message: str
    count: int
    examples: tuple[int, ...] = ()
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        rows = f" E.g. row(s) {', '.join(map(str, self.examples))}." if self.examples else ""
        details = "".join(f"\n    {detail}" for detail in self.details)
        return f"[{self.severity}] {self.message}{rows}{details}"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
            "details": list(self.details),
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> Finding:
        return cls(
            code=values["code"],
            severity=values["severity"],
            message=values["message"],
            count=int(values["count"]),
            examples=tuple(int(row) for row in values["examples"]),
            details=tuple(values["details"]),
        )


@dataclass(frozen=True)
class QualityReport:
    """Headline figures of a log and what looks wrong in it, errors first."""

    events: int
    cases: int
    activities: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    findings: tuple[Finding, ...] = ()

    def finding(self, code: str) -> Finding | None:
        """Return the finding with this code, or None when the log does not have that problem."""
        return next((finding for finding in self.findings if finding.code == code), None)

    def count_by_severity(self) -> dict[str, int]:
        """Return how many findings of each severity the log has, for a one-glance badge."""
        return {severity: sum(f.severity == severity for f in self.findings) for severity in SEVERITIES}

    def to_dict(self) -> dict:
        """Return the report as JSON-safe values (timestamps as ISO 8601 text)."""
        return {
            "events": self.events,
            "cases": self.cases,
            "activities": self.activities,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> QualityReport:
        return cls(
            events=int(values["events"]),
            cases=int(values["cases"]),
            activities=int(values["activities"]),
            start=None if values["start"] is None else pd.Timestamp(values["start"]),
            end=None if values["end"] is None else pd.Timestamp(values["end"]),
            findings=tuple(Finding.from_dict(finding) for finding in values["findings"]),
        )

    def __str__(self) -> str:
        span = (
            "" if self.start is None else f", from {self.start:%Y-%m-%d %H:%M:%S} to {self.end:%Y-%m-%d %H:%M:%S} UTC"
        )
        headline = f"{self.events:,} events, {self.cases:,} cases, {self.activities:,} activities{span}."
        body = [str(finding) for finding in self.findings] or ["No problems found."]
        return "\n".join([headline, *(f"- {line}" for line in body)])


def assess(
    frame: pd.DataFrame,
    *,
    invalid: Mapping[str, Sequence[int]] | None = None,
    dst_adjusted: Sequence[int] = (),
    now: pd.Timestamp | None = None,
) -> QualityReport:
    """Return the quality report of a canonical frame.

    `invalid` maps a canonical role ("timestamp", "case_id", "activity") to the 0-based source rows
    dropped because that value was missing or unreadable; `dst_adjusted` lists the source rows whose
    local time fell in a daylight-saving change; `now` (default: the current time) marks the future.
    """
    missing = [column for column in (CASE_ID, ACTIVITY, TIMESTAMP, SOURCE_ROW) if column not in frame.columns]
    if missing:
        raise ValueError(f"assess needs a canonical frame; missing column(s): {', '.join(missing)}")
    unknown = set(invalid or {}) - set(_DROPPED)
    if unknown:
        raise ValueError(f"invalid rows are keyed by {', '.join(_DROPPED)}, not {', '.join(sorted(unknown))}")
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    return _assess(frame, invalid or {}, np.asarray(dst_adjusted, dtype="int64"), now)


def _assess(
    frame: pd.DataFrame, invalid: Mapping[str, Sequence[int]], dst_adjusted: np.ndarray, now: pd.Timestamp
) -> QualityReport:
    findings = [
        *(_dropped_rows(role, np.asarray(dropped, dtype="int64")) for role, dropped in invalid.items()),
        _duplicate_events(frame),
        _future_timestamps(frame, now),
        _near_duplicate_activities(frame),
        _single_event_cases(frame),
        *_truncated_cases(frame),
        _timestamp_ties(frame),
        _out_of_order(frame),
        _finding(
            DST_ADJUSTED,
            "info",
            f"{len(dst_adjusted):,} local time(s) fell in a daylight-saving change: times repeated in the autumn "
            "were read as standard time, times skipped in the spring were moved forward to the first valid time.",
            dst_adjusted,
        ),
    ]
    kept = sorted((finding for finding in findings if finding.count), key=lambda f: SEVERITIES.index(f.severity))
    timestamps = frame[TIMESTAMP]
    return QualityReport(
        events=len(frame),
        cases=int(frame[CASE_ID].nunique()),
        activities=int(frame[ACTIVITY].nunique()),
        start=None if frame.empty else timestamps.min(),
        end=None if frame.empty else timestamps.max(),
        findings=tuple(kept),
    )


def _finding(
    code: str,
    severity: str,
    message: str,
    source_rows: Iterable[int],
    *,
    count: int | None = None,
    details: Iterable[str] = (),
) -> Finding:
    """Build a finding whose count defaults to the number of rows and whose examples are the first rows."""
    source_rows = np.sort(np.asarray(source_rows, dtype="int64"))
    return Finding(
        code=code,
        severity=severity,
        message=message,
        count=len(source_rows) if count is None else count,
        examples=tuple(spreadsheet_row(row) for row in source_rows[:EXAMPLES_KEPT]),
        details=tuple(details),
    )


def _dropped_rows(role: str, dropped: np.ndarray) -> Finding:
    code, message = _DROPPED[role]
    return _finding(code, "error", message.format(count=len(dropped)), dropped)


def _duplicate_events(frame: pd.DataFrame) -> Finding:
    # Only events tied on case, activity and time can be duplicates: compare every column on those alone.
    tied = frame.loc[frame.duplicated([CASE_ID, ACTIVITY, TIMESTAMP], keep=False)]
    repeated = tied.duplicated([column for column in frame.columns if column != SOURCE_ROW], keep="first")
    return _finding(
        DUPLICATE_EVENTS,
        "warning",
        f"{repeated.sum():,} event(s) repeat an earlier event exactly (same case, activity, time and attributes); "
        "double exports inflate counts.",
        tied.loc[repeated, SOURCE_ROW],
    )


def _future_timestamps(frame: pd.DataFrame, now: pd.Timestamp) -> Finding:
    future = frame[TIMESTAMP].gt(now)
    return _finding(
        FUTURE_TIMESTAMPS,
        "warning",
        f"{future.sum():,} event(s) are dated after {now:%Y-%m-%d %H:%M} UTC; check the time zone or the date format.",
        frame.loc[future, SOURCE_ROW],
    )


def _single_event_cases(frame: pd.DataFrame) -> Finding:
    lonely = ~frame[CASE_ID].duplicated(keep=False)
    cases = frame[CASE_ID].nunique()
    # When most cases have one event the case column is probably an event id, not a customer.
    mostly = lonely.sum() * 2 > cases
    hint = " Most cases have a single event: is the case column really the customer?" if mostly else ""
    return _finding(
        SINGLE_EVENT_CASES,
        "warning" if mostly else "info",
        f"{lonely.sum():,} case(s) have a single event, so they add no path to the journey map.{hint}",
        frame.loc[lonely, SOURCE_ROW],
    )


def _truncated_cases(frame: pd.DataFrame) -> list[Finding]:
    """Cases whose first (last) event lies in the first (last) 2% of the log's time span.

    A log is an extract: journeys under way when it starts or still running when it ends appear
    cut. Starting or ending that close to the edge is a hint, not proof.
    """
    if frame.empty:
        return []
    timestamps = frame[TIMESTAMP]
    log_start, log_end = timestamps.min(), timestamps.max()
    window = (log_end - log_start) * EDGE_SHARE
    if window == pd.Timedelta(0):
        return []
    by_case = frame.groupby(CASE_ID, sort=False)[TIMESTAMP]
    first_event = timestamps.eq(by_case.transform("min")) & ~frame.duplicated([CASE_ID, TIMESTAMP])
    last_event = timestamps.eq(by_case.transform("max")) & ~frame.duplicated([CASE_ID, TIMESTAMP], keep="last")
    early = first_event & timestamps.le(log_start + window)
    late = last_event & timestamps.ge(log_end - window)
    percent = f"{EDGE_SHARE:.0%}"
    return [
        _finding(
            TRUNCATED_AT_START,
            "info",
            f"{early.sum():,} case(s) begin in the first {percent} of the log's time span "
            f"(by {log_start + window:%Y-%m-%d}); they may have begun before the extract and miss their first events.",
            frame.loc[early, SOURCE_ROW],
        ),
        _finding(
            TRUNCATED_AT_END,
            "info",
            f"{late.sum():,} case(s) end in the last {percent} of the log's time span "
            f"(from {log_end - window:%Y-%m-%d}); they may still be under way and miss their last events.",
            frame.loc[late, SOURCE_ROW],
        ),
    ]


def _timestamp_ties(frame: pd.DataFrame) -> Finding:
    tied = frame.duplicated([CASE_ID, TIMESTAMP], keep=False)
    return _finding(
        TIMESTAMP_TIES,
        "info",
        f"{tied.sum():,} event(s) share their exact time with another event of the same case; "
        "their order is taken from the file.",
        frame.loc[tied, SOURCE_ROW],
    )


def _out_of_order(frame: pd.DataFrame) -> Finding:
    in_file_order = frame[[CASE_ID, TIMESTAMP, SOURCE_ROW]].sort_values([CASE_ID, SOURCE_ROW], kind="stable")
    same_case = in_file_order[CASE_ID].eq(in_file_order[CASE_ID].shift())
    earlier = same_case & in_file_order[TIMESTAMP].lt(in_file_order[TIMESTAMP].shift())
    return _finding(
        OUT_OF_ORDER,
        "info",
        f"{earlier.sum():,} event(s) are listed after a later event of the same case; "
        "Parcours orders each case by time.",
        in_file_order.loc[earlier, SOURCE_ROW],
    )


def _near_duplicate_activities(frame: pd.DataFrame) -> Finding:
    """Labels that differ only in case, accents, spacing or punctuation, or by a typo in a long word."""
    first_rows = frame.groupby(ACTIVITY, sort=True)[SOURCE_ROW].min()
    groups = _similar_label_groups(first_rows.index.tolist())
    return _finding(
        NEAR_DUPLICATE_ACTIVITIES,
        "warning",
        f"{len(groups):,} group(s) of activity labels look like spellings of the same activity; "
        "map them to one label if they are.",
        first_rows[[label for group in groups for label in group]],
        count=len(groups),
        details=(" ~ ".join(repr(label) for label in group) for group in groups),
    )


def _similar_label_groups(labels: list[str]) -> list[tuple[str, ...]]:
    by_key: dict[str, list[str]] = {}
    word_counts: dict[str, Counter] = {}
    for label in labels:
        words = _words(label)
        key = "".join(words)
        by_key.setdefault(key, []).append(label)
        word_counts.setdefault(key, Counter(words))
    # Shortest first: once the next key is too long to reach the ratio, so are all after it.
    keys = sorted(by_key, key=len)
    group_of = {key: index for index, key in enumerate(keys)}
    if len(keys) <= SIMILAR_LABEL_LIMIT:
        for index, key in enumerate(keys):
            for other in keys[index + 1 :]:
                if 2 * len(key) < SIMILAR_LABEL_RATIO * (len(key) + len(other)):
                    break
                if group_of[key] != group_of[other] and _typo_apart(key, other, word_counts):
                    _merge(group_of, group_of[key], group_of[other])
    members: dict[int, list[str]] = {}
    for key in keys:
        members.setdefault(group_of[key], []).extend(by_key[key])
    return sorted(tuple(sorted(group)) for group in members.values() if len(group) > 1)


def _words(label: str) -> list[str]:
    """Return the label's words without case, accents or punctuation."""
    plain = "".join(char for char in unicodedata.normalize("NFKD", label) if not unicodedata.combining(char))
    return re.findall(r"[^\W_]+", plain.casefold())


def _typo_apart(key: str, other: str, word_counts: Mapping[str, Counter]) -> bool:
    """Tell whether two labels differ only by a typo in long words (the cheap word test runs first)."""
    these, those = word_counts[key], word_counts[other]
    differing = (these - those) + (those - these)
    if not all(len(word) >= SHORTEST_TYPO_WORD and word.isalpha() for word in differing):
        return False
    matcher = difflib.SequenceMatcher(None, key, other)
    return matcher.quick_ratio() >= SIMILAR_LABEL_RATIO and matcher.ratio() >= SIMILAR_LABEL_RATIO


def _merge(group_of: dict[str, int], keep: int, absorb: int) -> None:
    for key, group in group_of.items():
        if group == absorb:
            group_of[key] = keep
