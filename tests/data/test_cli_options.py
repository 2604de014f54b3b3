"""One set of mapping options: every command line that reads a log file takes and reads them alike."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from data.__main__ import _parser as data_parser
from data.cli import MAPPING_FLAGS, log_options, open_log
from data.errors import DatasetNotFound, MappingError, TimestampError
from data.importing import import_file
from data.settings import Settings
from data.store import Store
from discovery.__main__ import _parser as discovery_parser
from segmentation.__main__ import _parser as segmentation_parser

COMMANDS = [
    (data_parser, ["import"]),
    (data_parser, ["quality"]),
    (discovery_parser, ["summary"]),
    (discovery_parser, ["map"]),
    (discovery_parser, ["model"]),
    (segmentation_parser, ["personas"]),
    (segmentation_parser, ["compare", "--a", "channel=web", "--b", "channel=app"]),
]
OPTIONS = [
    "--case", "client", "--activity", "etape", "lifecycle", "--timestamp", "horodatage", "--channel", "canal",
    "--timestamp-format", "%d/%m/%Y %H:%M", "--monthfirst", "--timezone", "Europe/Paris",
    "--split-after-days", "30", "--drop-invalid-rows",
]  # fmt: skip


def parsed(parser, command: list[str], options: list[str]) -> argparse.Namespace:
    return parser().parse_args([command[0], "log.csv", *command[1:], *options])


@pytest.mark.parametrize(("parser", "command"), COMMANDS)
def test_every_command_reading_a_file_reads_the_mapping_options_alike(parser, command: list[str]) -> None:
    assert log_options(parsed(parser, command, OPTIONS)) == {
        "case_id": "client",
        "activity": ("etape", "lifecycle"),
        "timestamp": "horodatage",
        "channel": "canal",
        "timestamp_format": "%d/%m/%Y %H:%M",
        "dayfirst": False,
        "timezone": "Europe/Paris",
        "split_after_days": 30.0,
        "drop_invalid_rows": True,
    }


@pytest.mark.parametrize(("parser", "command"), COMMANDS)
def test_options_left_out_leave_the_choice_to_detection(parser, command: list[str]) -> None:
    options = log_options(parsed(parser, command, []))

    assert options == dict.fromkeys(MAPPING_FLAGS.values()) | {"drop_invalid_rows": False}


@pytest.mark.parametrize(("parser", "command"), COMMANDS)
def test_day_first_and_month_first_exclude_each_other(parser, command: list[str]) -> None:
    with pytest.raises(SystemExit):
        parsed(parser, command, ["--dayfirst", "--monthfirst"])


def test_a_bad_format_is_refused_before_any_file_is_read() -> None:
    args = parsed(data_parser, ["quality"], ["--timestamp", "when", "--timestamp-format", "%Q"])

    with pytest.raises(TimestampError) as raised:
        log_options(args)

    assert raised.value.problems[0].column == "when"


def test_the_help_shows_strptime_formats_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        discovery_parser().parse_args(["summary", "--help"])

    shown = " ".join(capsys.readouterr().out.split())
    assert "%d/%m/%Y %H:%M" in shown and "epoch_ns" in shown


ECOMMERCE = Path(__file__).resolve().parent / "fixtures" / "ecommerce_utc.csv"


def test_a_file_opens_in_memory_and_a_stored_dataset_by_its_id(settings: Settings) -> None:
    dataset = import_file(ECOMMERCE, store=Store(settings))
    args = parsed(discovery_parser, ["summary"], ["--case", "user_session"])

    with open_log(str(ECOMMERCE), args, settings) as from_file:
        assert (from_file.dataset_id, from_file.engine.summary().cases) == (None, 6)
    with open_log(dataset.id, parsed(discovery_parser, ["summary"], []), settings) as stored:
        assert (stored.dataset_id, stored.engine.summary().cases) == (dataset.id, 5)  # imported by user_id
    with pytest.raises(MappingError, match="--case only apply to a log file"), open_log(dataset.id, args, settings):
        pass
    missing = parsed(discovery_parser, ["summary"], [])
    with (
        pytest.raises(DatasetNotFound, match="no such file, nor a stored dataset"),
        open_log("nope", missing, settings),
    ):
        pass
