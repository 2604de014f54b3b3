"""The options every command line that reads a log file shares, defined once.

`python -m data import|quality`, `python -m discovery summary|map|model` and
`python -m segmentation personas|compare` take the same mapping options through one argparse parent
(`mapping_options`), read them the same way (`log_options`) and open a log the same way (`open_log`):
a file read through those options, or a stored dataset, which keeps the mapping it was imported with.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.engine import Engine
from data.errors import DatasetNotFound, MappingError, Problem
from data.importing import load_log_isolated
from data.settings import Settings
from data.store import Store
from data.timestamps import FORMAT_HELP, check_timestamp_format

__all__ = ["MAPPING_FLAGS", "OpenedLog", "acting_as", "log_options", "mapping_options", "open_log", "user_option"]

USER_VARIABLE = "PARCOURS_USER"

# Each option's flag and the `load_log` keyword it sets.
MAPPING_FLAGS = {
    "--case": "case_id",
    "--activity": "activity",
    "--timestamp": "timestamp",
    "--channel": "channel",
    "--timestamp-format": "timestamp_format",
    "--dayfirst": "dayfirst",
    "--timezone": "timezone",
    "--split-after-days": "split_after_days",
    "--drop-invalid-rows": "drop_invalid_rows",
}


def user_option(parser: argparse.ArgumentParser) -> None:
    """Add `--as USER` to a command line's top-level parser: who the command acts as, with that user's role."""
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help=f"act as this user (as they sign in: e-mail, else id), with their role in each workspace; "
        f"default: {USER_VARIABLE}",
    )


@contextmanager
def acting_as(user: str | None) -> Iterator[None]:
    """Run a command as `user` (None: as `PARCOURS_USER` says): every `Store` it opens, and the child process that
    reads a file, take their user from the settings, which read it from the environment."""
    if user is None:
        yield
        return
    before = os.environ.get(USER_VARIABLE)
    os.environ[USER_VARIABLE] = user
    try:
        yield
    finally:
        if before is None:
            del os.environ[USER_VARIABLE]
        else:
            os.environ[USER_VARIABLE] = before


@dataclass(frozen=True)
class OpenedLog:
    """The engine of an opened log, and the id of its stored dataset (None for a file read in memory)."""

    engine: Engine
    dataset_id: str | None


def mapping_options() -> argparse.ArgumentParser:
    """Return the parent parser of the mapping options: pass it in `parents=[…]` of every command reading a file.

    Options left out keep what Parcours detects; `log_options` turns the parsed ones into `load_log` keywords.
    """
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group(
        "reading a log file", "How a file's columns are read (ignored for a stored dataset); detected when left out."
    )
    group.add_argument("--case", dest="case_id", metavar="COLUMN", help="column holding the customer / case id")
    group.add_argument(
        "--activity", nargs="+", metavar="COLUMN", help="column(s) holding the touchpoint; several are joined with '-'"
    )
    group.add_argument("--timestamp", metavar="COLUMN", help="column holding when the event happened")
    group.add_argument("--channel", metavar="COLUMN", help="column holding the channel")
    group.add_argument("--timestamp-format", metavar="FORMAT", help=_escaped(f"{FORMAT_HELP}; default: detected"))
    order = group.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", action="store_const", const=True, help="ambiguous dates are day/month")
    order.add_argument(
        "--monthfirst", dest="dayfirst", action="store_const", const=False, help="ambiguous dates are month/day"
    )
    group.add_argument(
        "--timezone", metavar="ZONE", help="time zone of times that carry none (default: PARCOURS_TIMEZONE, else UTC)"
    )
    group.add_argument(
        "--split-after-days", type=float, metavar="DAYS", help="start a new journey after this many days of inactivity"
    )
    group.add_argument(
        "--drop-invalid-rows",
        action="store_true",
        help="skip rows with no case, activity or readable time (the report lists them) instead of refusing the file",
    )
    return parser


def log_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the `load_log` / `import_file` keywords the mapping options hold; a bad timestamp format is refused now.

    Checking the format before the file is read spares reading a large file to learn that `%Q` is no format.
    """
    check_timestamp_format(args.timestamp_format, column=args.timestamp)
    options = {keyword: getattr(args, keyword) for keyword in MAPPING_FLAGS.values()}
    if options["activity"] is not None:
        options["activity"] = tuple(options["activity"])
    return options


@contextmanager
def open_log(log: str, args: argparse.Namespace, settings: Settings) -> Iterator[OpenedLog]:
    """Yield the opened `log`: a file read through the mapping options, else the stored dataset with this id."""
    if Path(log).exists():
        # Read and checked in a child process under the operator's limits, like `python -m data import`.
        loaded = load_log_isolated(log, settings=settings, **log_options(args))
        with Engine.from_frame(loaded.frame, settings) as engine:
            yield OpenedLog(engine, None)
        return
    given = [flag for flag, keyword in MAPPING_FLAGS.items() if getattr(args, keyword) not in (None, False)]
    if given:
        raise MappingError(
            Problem(
                f"{', '.join(given)} only apply to a log file: a stored dataset keeps the mapping it was imported "
                "with.",
                fix="leave these options out, or give the log file and import it again with them.",
                value=log,
            )
        )
    try:
        engine = Store(settings).engine(log)
    except DatasetNotFound:
        raise DatasetNotFound(
            Problem(
                "There is no such file, nor a stored dataset with this id.",
                fix="give a log file, or a dataset id from `python -m data list`.",
                value=log,
            )
        ) from None
    with engine:
        yield OpenedLog(engine, log)


def _escaped(help_text: str) -> str:
    """argparse formats help with %: a literal % (as in strptime formats) is written %%."""
    return help_text.replace("%", "%%")
