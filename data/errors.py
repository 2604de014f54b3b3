"""Typed errors for input a user can fix.

Every error carries *all* the problems found, not just the first, and each problem says where it
is (file, row, column, value) and how to fix it. Pages and CLIs catch `LogError` and show
`str(error)`; anything else escaping the library is a bug.

Row numbers are spreadsheet rows: in a file with a header line the header is row 1 and the first
record is row 2, so a user can jump straight to it in Excel or LibreOffice (`spreadsheet_row`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "AmbiguousDateError",
    "DatasetNotFound",
    "EmptyLog",
    "InvalidCaseOrActivityRows",
    "InvalidRows",
    "InvalidTimestampRows",
    "LimitExceeded",
    "LogError",
    "MappingError",
    "PermissionDenied",
    "Problem",
    "SourceNotConfigured",
    "StorageFull",
    "TimestampError",
    "UnexpectedFailure",
    "UnsafeInput",
    "UnsupportedFormat",
    "spreadsheet_row",
]

MAX_PROBLEMS_SHOWN = 20


def spreadsheet_row(record_index: int) -> int:
    """Return the spreadsheet row of a 0-based record index in a file with one header line."""
    return int(record_index) + 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located and with a fix."""

    message: str
    fix: str = ""
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file and f"file {self.file!r}",
                self.row is not None and f"row {self.row}",
                self.column is not None and f"column {self.column!r}",
                self.value is not None and f"value {_shorten(self.value)!r}",
            )
            if part
        )
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} Fix: {self.fix}" if self.fix else text


class LogError(Exception):
    """Base of every error caused by the input rather than by Parcours."""

    def __init__(self, problems: Problem | str | Iterable[Problem], *, fix: str = ""):
        if isinstance(problems, str):
            problems = [Problem(problems, fix=fix)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("a LogError needs at least one problem")
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            lines.append(f"… and {hidden} more problem(s) of the same kind.")
        if len(lines) == 1:
            return lines[0]
        return f"{len(self.problems)} problem(s):\n" + "\n".join(f"- {line}" for line in lines)

    def __reduce__(self):
        return (type(self), (self.problems,))


class UnsupportedFormat(LogError):
    """The file is not a format Parcours reads, or is corrupt."""


class OutdatedLayout(UnsupportedFormat):
    """A stored journey layout was written by another version of Parcours; it is rebuilt from the events."""


class UnsafeInput(LogError):
    """The file tries something dangerous (XML entities, DOCTYPE, decompression bomb)."""


class MappingError(LogError):
    """The columns cannot be mapped to case, activity and timestamp."""


class TimestampError(LogError):
    """Timestamps are missing or cannot be parsed."""


class InvalidRows(LogError):
    """Rows that are not events (no case id, no activity or no readable time), each named: importing the log without
    them ("drop invalid rows") is a fix, where it is not for a refused file or mapping."""


class InvalidCaseOrActivityRows(InvalidRows, MappingError):
    """Rows without a case id or an activity."""


class InvalidTimestampRows(InvalidRows, TimestampError):
    """Rows whose time is missing or unreadable (and perhaps others without a case id or activity)."""


class AmbiguousDateError(TimestampError):
    """Day and month order cannot be told apart: the user must choose."""


class EmptyLog(LogError):
    """Nothing is left to analyse: no rows, or no valid events."""


class LimitExceeded(LogError):
    """The input is larger than an operator-configured limit allows."""


class UnexpectedFailure(LogError):
    """Parcours failed on this input in a way it does not recognise; the traceback is logged under `reference`."""

    def __init__(self, problems: Problem | str | Iterable[Problem], *, fix: str = "", reference: str = ""):
        super().__init__(problems, fix=fix)
        self.reference = reference

    def __reduce__(self):
        return (_unexpected_failure, (self.problems, self.reference))


def _unexpected_failure(problems: tuple[Problem, ...], reference: str) -> UnexpectedFailure:
    return UnexpectedFailure(problems, reference=reference)


class SourceNotConfigured(LogError):
    """A SQL source name that the operator did not configure."""


class DatasetNotFound(LogError):
    """No stored dataset has this id."""


class PermissionDenied(LogError):
    """The acting user's role in the workspace does not allow this; nothing was changed."""


class StorageFull(LogError):
    """The disk holding the stored logs or the metadata database is full; nothing was changed."""


def _shorten(value: str, limit: int = 80) -> str:
    """Cut a long value in its middle: a path's file name and a label's end stay readable."""
    value = str(value)
    if len(value) <= limit:
        return value
    head = (limit - 1) // 2
    return value[:head] + "…" + value[-(limit - 1 - head) :]
