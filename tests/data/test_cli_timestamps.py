"""Timestamps through `python -m data quality` and `import`: hostile values get a typed message, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.__main__ import main

REPO = Path(__file__).resolve().parents[2]
ECOMMERCE = Path(__file__).resolve().parent / "fixtures" / "ecommerce_utc.csv"
MAPPING = ("--case", "c", "--activity", "a", "--timestamp", "t")
YEAR_ONE_XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
<trace><string key="concept:name" value="c1"/>
<event><string key="concept:name" value="a"/><date key="time:timestamp" value="0001-01-01T00:30:00.000+01:00"/></event>
<event><string key="concept:name" value="b"/><date key="time:timestamp" value="2020-01-01T00:30:00.000+01:00"/></event>
</trace>
</log>
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def csv_file(tmp_path: Path, *times: str) -> Path:
    path = tmp_path / "log.csv"
    rows = [f"{case},{activity},{time}" for case, activity, time in zip("1122", "xyxy", times, strict=False)]
    path.write_text("\n".join(["c,a,t", *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["quality", "import"])
def test_an_export_whose_times_end_in_utc_is_read_with_no_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, printed, error = run(capsys, command, str(ECOMMERCE), "--json")

    assert status == 0, error
    document = json.loads(printed)
    quality = document.get("quality", document)
    assert (quality["events"], quality["start"], quality["end"]) == (
        17,
        "2019-10-01T00:00:04+00:00",
        "2019-10-01T02:40:00+00:00",
    )


@pytest.mark.parametrize("command", ["quality", "import"])
def test_epoch_microseconds_are_read_as_microseconds(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, "1704067200000000", "1704067201000000", "1704067202000000")

    status, printed, error = run(capsys, command, str(path), *MAPPING, "--json")

    assert status == 0, error
    document = json.loads(printed)
    assert document.get("quality", document)["start"] == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize("command", ["quality", "import"])
@pytest.mark.parametrize(
    ("times", "options", "expected"),
    [
        (
            ("1704067200000000", "1704067201000000"),
            ("--timestamp-format", "epoch_ms"),
            "row 2, column 't', value '1704067200000000': 2 of 2 timestamps cannot be read: read as 'epoch_ms' "
            "they fall outside the years 1 to 9999.",
        ),
        (
            ("0001-01-01T00:30:00+01:00", "2020-01-01T00:00:00+01:00", "2020-01-02T00:00:00+01:00"),
            (),
            "row 2, column 't', value '0001-01-01T00:30:00+01:00': Read as 'ISO8601', the timestamp falls outside "
            "the years 1 to 9999.",
        ),
        (
            ("9999-12-31 23:30", "2020-01-01 00:00", "2020-01-02 00:00"),
            ("--timezone", "America/Los_Angeles"),
            "row 2, column 't', value '9999-12-31 23:30': Read as 'ISO8601', the timestamp falls outside",
        ),
        (
            ("2020-01-01", "2020-01-02"),
            ("--timestamp-format", "%Q"),
            "'%Q' is not a strptime format pandas can read ('Q' is a bad directive in format '%Q').",
        ),
        (("2020-01-01", "2020-01-02"), ("--timestamp-format", "%Y %Y"), "is not a strptime format pandas can read"),
        (("2020-01-01", "2020-01-02"), ("--timestamp-format", "yyyy-mm-dd"), "'yyyy-mm-dd' is not a timestamp format."),
    ],
)
def test_hostile_timestamps_exit_2_naming_row_column_value_and_fix(
    command: str,
    times: tuple[str, ...],
    options: tuple[str, ...],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = csv_file(tmp_path, *times)

    status, _, error = run(capsys, command, str(path), *MAPPING, *options)

    assert status == 2
    assert expected in error
    assert "Fix:" in error


def test_dropping_invalid_rows_imports_the_rest_and_counts_the_refused_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, "0001-01-01T00:30:00+01:00", "2020-01-01T00:00:00+01:00", "2020-01-02T00:00:00Z")

    status, printed, error = run(capsys, "import", str(path), *MAPPING, "--drop-invalid-rows", "--json")

    assert status == 0, error
    dataset = json.loads(printed)
    assert dataset["events"] == 2
    (finding,) = [f for f in dataset["quality"]["findings"] if f["code"] == "invalid_timestamp"]
    assert (finding["count"], finding["examples"]) == (1, [2])


def test_the_year_1_read_in_a_zone_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file(tmp_path, "0001-01-01T12:00:00", "2020-01-01T00:00:00")

    status, printed, error = run(capsys, "quality", str(path), *MAPPING, "--timezone", "Europe/Paris", "--json")

    assert status == 0, error
    # Paris kept its local mean time, 9 minutes 21 seconds ahead of UTC, until 1891.
    assert json.loads(printed)["quality"]["start"] == "0001-01-01T11:50:39+00:00"


@pytest.mark.parametrize("command", ["quality", "import"])
def test_an_xes_date_in_the_year_0_in_utc_names_its_event_and_value(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.xes"
    path.write_text(YEAR_ONE_XES, encoding="utf-8")

    status, _, error = run(capsys, command, str(path))

    assert status == 2
    # The event is the log's first: row 2 of its table, as every format numbers rows (header = row 1).
    assert "row 2, column 'time:timestamp', value '0001-01-01T00:30:00.000+01:00'" in error
    assert "outside the years 1 to 9999" in error


def test_a_parquet_instant_beyond_the_year_9999_is_refused_by_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    microseconds = np.array([1_704_067_200_000_000 * 1_000, 1_704_067_201_000_000, 1_704_067_202_000_000])
    path = tmp_path / "log.parquet"
    instants = pa.array(microseconds, type=pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"c": ["1", "1", "2"], "a": ["x", "y", "x"], "t": instants}), path)

    status, _, error = run(capsys, "import", str(path), *MAPPING)
    assert status == 2
    assert "row 2, column 't', value '55969-09-28" in error

    status, printed, error = run(capsys, "import", str(path), *MAPPING, "--drop-invalid-rows", "--json")
    assert status == 0, error
    assert json.loads(printed)["events"] == 2


def test_a_bad_format_as_a_program_prints_no_traceback(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2020-01-01", "2020-01-02")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    finished = subprocess.run(
        [sys.executable, "-m", "data", "quality", str(path), "--timestamp-format", "%Q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )

    assert finished.returncode == 2
    assert finished.stderr.startswith("error: ") and "Traceback" not in finished.stderr
