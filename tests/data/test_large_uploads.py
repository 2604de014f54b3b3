"""A large CSV upload, read in one child (its first rows come back) and checked and stored whole in another."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from data import (
    ColumnMapping,
    InvalidRows,
    LogError,
    Settings,
    Store,
    TimestampError,
    import_file,
    import_sample_isolated,
    read_log,
    read_upload,
)
from data.columnar import SAMPLE_ROWS
from data.importing import ROWS_FILE

MAPPING = ColumnMapping(case_id="client", activity=("etape",), timestamp="horodatage", channel="canal")
MAPPING_XES = ColumnMapping(case_id="case:concept:name", activity=("concept:name",), timestamp="time:timestamp")
EVENTS = SAMPLE_ROWS + 30  # a few rows past the preview


def journeys_csv(events: int = EVENTS, *, bad_row: int | None = None) -> bytes:
    """A semicolon-separated log of three-event journeys, one event a quarter, every time with its zone; `bad_row`
    (0-based) unreadable."""
    frame = pd.DataFrame(
        {
            "client": [f"c{index // 3}" for index in range(events)],
            "etape": [("visit", "call", "buy")[index % 3] for index in range(events)],
            "canal": [("web", "call center", "store")[index % 3] for index in range(events)],
            "horodatage": [
                f"2025-{1 + index % 3 * 3:02d}-{1 + index // 3 % 28:02d}T{8 + index % 10:02d}:00:00+01:00"
                for index in range(events)
            ],
            "montant": [f"{index % 7 * 9.5:.1f}" for index in range(events)],
        }
    )
    if bad_row is not None:
        frame.loc[bad_row, "horodatage"] = "not a time"
    return frame.to_csv(sep=";", index=False).encode("utf-8")


@pytest.fixture
def small_whole(settings: Settings) -> Settings:
    """Settings under which a CSV of more than 1,000 rows is read as its first rows."""
    return replace(settings, whole_upload_rows=1_000)


def staged(tmp_path: Path, content: bytes) -> Path:
    """The upload's bytes in a folder of its own, as `StagedUploads` keeps them."""
    (folder := tmp_path / "staged").mkdir()
    (path := folder / "content").write_bytes(content)
    return path


def test_a_csv_past_the_limit_comes_back_as_its_first_rows_with_every_row_kept_beside_it(
    small_whole: Settings, tmp_path: Path
) -> None:
    content = journeys_csv()
    path = staged(tmp_path, content)
    raw = read_upload(path, name="journeys.csv", settings=small_whole)
    assert raw.sample_of == path.with_name(ROWS_FILE)
    assert (raw.name, raw.format, raw.sha256) == ("journeys.csv", "csv", hashlib.sha256(content).hexdigest())
    whole = read_log(path, name="journeys.csv", settings=small_whole).frame
    pd.testing.assert_frame_equal(raw.frame, whole.head(SAMPLE_ROWS))
    pd.testing.assert_frame_equal(pd.read_parquet(raw.sample_of), whole)  # every row as read, all text
    assert raw.frame.attrs["delimiter"] == ";"


def test_within_the_limit_or_in_another_format_an_upload_is_read_whole(
    settings: Settings, small_whole: Settings, tmp_path: Path
) -> None:
    path = staged(tmp_path, journeys_csv())
    assert read_upload(path, name="journeys.csv", settings=settings).sample_of is None  # 100,000 rows by default
    assert len(read_upload(path, name="journeys.csv", settings=settings).frame) == EVENTS
    parquet = tmp_path / "journeys.parquet"
    read_log(path, name="journeys.csv", settings=settings).frame.to_parquet(parquet, index=False)
    assert read_upload(parquet, name="journeys.parquet", settings=small_whole).sample_of is None
    assert not path.with_name(ROWS_FILE).exists()


def test_stored_from_its_rows_a_large_csv_is_the_dataset_the_cli_makes_of_the_file(
    small_whole: Settings, tmp_path: Path
) -> None:
    path = staged(tmp_path, content := gzip.compress(journeys_csv()))  # as most large exports come
    sample = read_upload(path, name="journeys.csv.gz", settings=small_whole)
    heard: list[str] = []
    dataset = import_sample_isolated(sample, MAPPING, settings=small_whole, on_progress=heard.append)
    assert (dataset.n_events, dataset.n_cases) == (EVENTS, -(-EVENTS // 3))
    assert heard[:2] == ["Reading every row…", "Checking every row…"]
    (file := tmp_path / "journeys.csv.gz").write_bytes(content)
    assert import_file(file, store=Store(small_whole), mapping=MAPPING).id == dataset.id
    split = import_sample_isolated(sample, MAPPING, settings=small_whole, split_after_days=20)
    assert split.n_cases == EVENTS  # a journey an event: three months apart
    assert import_file(file, store=Store(small_whole), mapping=MAPPING, split_after_days=20).id == split.id


def test_a_bad_row_past_the_preview_is_named_then_dropped_on_request(small_whole: Settings, tmp_path: Path) -> None:
    bad = EVENTS - 5
    path = staged(tmp_path, content := journeys_csv(bad_row=bad))
    sample = read_upload(path, name="journeys.csv", settings=small_whole)
    with pytest.raises(TimestampError) as refused:
        import_sample_isolated(sample, MAPPING, settings=small_whole)
    assert isinstance(refused.value, InvalidRows)  # dropping them is a fix
    assert [problem.row for problem in refused.value.problems] == [bad + 2]  # the header is row 1
    assert not Store(small_whole).datasets()
    dataset = import_sample_isolated(sample, MAPPING, settings=small_whole, drop_invalid_rows=True)
    assert (dataset.n_events, dataset.options["dropped_rows"]) == (EVENTS - 1, 1)
    (file := tmp_path / "journeys.csv").write_bytes(content)
    assert import_file(file, store=Store(small_whole), mapping=MAPPING, drop_invalid_rows=True).id == dataset.id


def test_a_mapping_the_rows_cannot_take_is_a_typed_error_and_stores_nothing(
    small_whole: Settings, tmp_path: Path
) -> None:
    sample = read_upload(staged(tmp_path, journeys_csv()), name="journeys.csv", settings=small_whole)
    with pytest.raises(LogError) as refused:
        import_sample_isolated(sample, replace(MAPPING, timestamp="canal"), settings=small_whole)
    assert not isinstance(refused.value, InvalidRows)  # a wrong column: dropping rows would not mend it
    assert not Store(small_whole).datasets()


def test_rows_removed_with_their_upload_are_asked_for_again_not_a_crash(small_whole: Settings, tmp_path: Path) -> None:
    sample = read_upload(staged(tmp_path, journeys_csv()), name="journeys.csv", settings=small_whole)
    sample.sample_of.unlink()  # the upload was unused for an hour
    with pytest.raises(LogError, match="no longer kept on the server"):
        import_sample_isolated(sample, MAPPING, settings=small_whole)


def journeys_xes(traces: int) -> bytes:
    """An XES log of `traces` three-event traces, as process-mining tools export it."""
    steps = ("visit", "call", "buy")
    events = "".join(
        f'<trace><string key="concept:name" value="c{trace}"/>'
        + "".join(
            f'<event><string key="concept:name" value="{step}"/><string key="org:resource" value="r{trace % 4}"/>'
            f'<date key="time:timestamp" value="2025-0{1 + index}-{1 + trace % 28:02d}T10:00:00.000+01:00"/></event>'
            for index, step in enumerate(steps)
        )
        + "</trace>"
        for trace in range(traces)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><log xes.version="1.0">{events}</log>'.encode()


def test_a_large_xes_log_of_text_and_times_goes_the_same_way(small_whole: Settings, tmp_path: Path) -> None:
    path = staged(tmp_path, content := journeys_xes(400))
    sample = read_upload(path, name="journeys.xes", settings=small_whole)
    assert sample.sample_of == path.with_name(ROWS_FILE)
    dataset = import_sample_isolated(sample, MAPPING_XES, settings=small_whole)
    assert (dataset.n_events, dataset.n_cases, dataset.format) == (1_200, 400, "xes")
    (file := tmp_path / "journeys.xes").write_bytes(content)
    assert import_file(file, store=Store(small_whole), mapping=MAPPING_XES).id == dataset.id


def test_a_large_file_with_values_of_mixed_kinds_is_read_whole(small_whole: Settings, tmp_path: Path) -> None:
    # A column of numbers and text is a column of Python objects, which Parquet would turn into one kind.
    lines = [
        f'{{"who": "c{index // 3}", "what": "visit", "when": "2025-01-0{1 + index % 3}T10:00:00Z", "size": '
        + (f'"{index}"' if index % 2 else str(index))
        + "}"
        for index in range(1_200)
    ]
    path = staged(tmp_path, "\n".join(lines).encode())
    raw = read_upload(path, name="journeys.jsonl", settings=small_whole)
    assert (raw.sample_of, len(raw.frame)) == (None, 1_200)
    assert not path.with_name(ROWS_FILE).exists()
