"""The canonical log: roles, activity joining, attribute typing, invalid rows and the real Sepsis log."""

from __future__ import annotations

import pandas as pd
import pytest

from data.canonical import to_event_log
from data.errors import EmptyLog, MappingError, TimestampError
from data.quality import EMPTY_ACTIVITY, EMPTY_CASE_ID, INVALID_TIMESTAMP
from data.schema import ColumnMapping, RawLog
from tests.conftest import DATASETS

MAPPING = ColumnMapping(case_id="customer", activity="action", timestamp="time")


def raw_log(**columns: list) -> RawLog:
    """A raw table of text columns, as the CSV reader returns it."""
    return RawLog(pd.DataFrame(columns, dtype="str"), name="visits.csv", format="csv", sha256="abc123")


def test_roles_become_canonical_columns_in_file_order() -> None:
    raw = raw_log(
        customer=[" c1 ", "c2"],
        action=["visit ", " buy"],
        time=["2024-01-01 10:00", "2024-01-02 11:30"],
        via=["web", ""],
    )

    log = to_event_log(raw, ColumnMapping("customer", "action", "time", channel="via"))

    frame = log.frame
    assert frame.columns.tolist() == ["case_id", "activity", "timestamp", "channel", "source_row"]
    assert frame["case_id"].tolist() == ["c1", "c2"]
    assert frame["activity"].tolist() == ["visit", "buy"]
    assert frame["timestamp"].tolist() == [
        pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        pd.Timestamp("2024-01-02 11:30", tz="UTC"),
    ]
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert frame["channel"].tolist()[0] == "web"
    assert pd.isna(frame["channel"].iloc[1])
    assert frame["source_row"].tolist() == [0, 1]
    assert (log.name, log.source_sha256) == ("visits.csv", "abc123")


def test_an_unmapped_channel_is_null() -> None:
    log = to_event_log(raw_log(customer=["c1"], action=["visit"], time=["2024-01-01"]), MAPPING)

    assert log.frame["channel"].isna().all()


def test_na_is_a_case_id_like_any_other() -> None:
    raw = raw_log(customer=["NA", "NA", "N/A"], action=["visit", "buy", "visit"], time=["2024-01-01"] * 3)

    log = to_event_log(raw, MAPPING)

    assert log.frame["case_id"].tolist() == ["NA", "NA", "N/A"]
    assert log.quality.cases == 2


def test_activity_columns_are_joined_with_a_dash_skipping_empty_parts() -> None:
    raw = raw_log(
        customer=["c1"] * 4,
        action=["A", "A", " B ", ""],
        lifecycle=["complete", "", " start", "complete"],
        time=["2024-01-01"] * 4,
    )

    log = to_event_log(raw, ColumnMapping("customer", ("action", "lifecycle"), "time"))

    assert log.frame["activity"].tolist() == ["A-complete", "A", "B-start", "complete"]


def test_numeric_text_attributes_become_numbers_and_the_rest_stays_text() -> None:
    raw = raw_log(
        customer=["c1", "c2", "c3"],
        action=["visit"] * 3,
        time=["2024-01-01"] * 3,
        age=["34", "", "51"],
        revenue=["10.5", "-2", "1e3"],
        postcode=["01234", "75001", "13001"],
        segment=["gold", " silver ", ""],
        flag=["true", "false", "true"],
        mixed=["12", "twelve", "12"],
    )

    frame = to_event_log(raw, MAPPING).frame

    assert str(frame["age"].dtype) == "Int64"
    assert frame["age"].tolist() == [34, pd.NA, 51]
    assert frame["revenue"].tolist() == [10.5, -2.0, 1000.0]
    assert frame["postcode"].tolist() == ["01234", "75001", "13001"]
    assert frame["segment"].tolist()[:2] == ["gold", "silver"]
    assert pd.isna(frame["segment"].iloc[2])
    assert frame["flag"].tolist() == ["true", "false", "true"]
    assert frame["mixed"].tolist() == ["12", "twelve", "12"]


def test_only_the_listed_attributes_are_kept() -> None:
    raw = raw_log(customer=["c1"], action=["visit"], time=["2024-01-01"], region=["north"], note=["x"])

    log = to_event_log(raw, ColumnMapping("customer", "action", "time", attributes=("region",)))

    assert log.frame.columns.tolist() == ["case_id", "activity", "timestamp", "channel", "source_row", "region"]


def test_an_attribute_named_like_a_canonical_column_is_renamed() -> None:
    raw = raw_log(customer=["c1"], action=["visit"], time=["2024-01-01"], channel=["web"], activity=["x"])

    frame = to_event_log(raw, MAPPING).frame

    assert frame.columns.tolist()[-2:] == ["channel (source)", "activity (source)"]
    assert frame["channel (source)"].tolist() == ["web"]


def test_invalid_rows_stop_the_import_listing_every_one_at_its_spreadsheet_row() -> None:
    raw = raw_log(
        customer=["c1", "", "c1", "c2", "  "],
        action=["visit", "buy", "", "visit", "call"],
        time=["2024-01-01", "2024-01-02", "2024-01-03", "soon", ""],
    )

    with pytest.raises(TimestampError) as raised:
        to_event_log(raw, MAPPING)

    listed = [(p.row, p.column, p.value, p.message) for p in raised.value.problems]
    assert listed == [
        (3, "customer", "", "The case id is empty."),
        (4, "action", "", "The activity is empty."),
        (5, "time", "soon", "The timestamp cannot be read as 'ISO8601'."),
        (6, "customer", "  ", "The case id is empty."),
        (6, "time", "", "The timestamp is missing."),
    ]
    assert {p.fix for p in raised.value.problems} == {
        "correct or delete these rows, or import with 'drop invalid rows'"
    }
    assert {p.file for p in raised.value.problems} == {"visits.csv"}


def test_empty_case_ids_without_timestamp_problems_are_a_mapping_error() -> None:
    raw = raw_log(customer=["c1", ""], action=["visit", "buy"], time=["2024-01-01", "2024-01-02"])

    with pytest.raises(MappingError) as raised:
        to_event_log(raw, MAPPING)

    assert [p.row for p in raised.value.problems] == [3]


def test_dropping_invalid_rows_keeps_the_rest_and_reports_them() -> None:
    raw = raw_log(
        customer=["c1", "", "c1", "c2"],
        action=["visit", "buy", "", "visit"],
        time=["2024-01-01", "2024-01-02", "2024-01-03", "not a date"],
    )
    raw = RawLog(pd.concat([raw.frame] * 2, ignore_index=True), raw.name, raw.format, raw.sha256)

    log = to_event_log(raw, MAPPING, drop_invalid_rows=True)

    assert log.frame["source_row"].tolist() == [0, 4]
    assert log.quality.finding(EMPTY_CASE_ID).examples == (3, 7)
    assert log.quality.finding(EMPTY_ACTIVITY).examples == (4, 8)
    assert log.quality.finding(INVALID_TIMESTAMP).examples == (5, 9)
    assert log.options["dropped_rows"] == 6


def test_nothing_valid_left_is_an_empty_log() -> None:
    raw = raw_log(customer=["", "c1"], action=["visit", ""], time=["2024-01-01", "2024-01-02"])

    with pytest.raises(EmptyLog):
        to_event_log(raw, MAPPING, drop_invalid_rows=True)


def test_a_file_without_rows_is_an_empty_log() -> None:
    with pytest.raises(EmptyLog):
        to_event_log(raw_log(customer=[], action=[], time=[]), MAPPING)


def test_a_mapping_naming_a_missing_column_is_refused() -> None:
    raw = raw_log(customer=["c1"], action=["visit"], time=["2024-01-01"])

    with pytest.raises(MappingError, match="'when'"):
        to_event_log(raw, ColumnMapping("customer", "action", "when"))


def test_the_mapping_reads_timestamps_in_its_format_order_and_zone() -> None:
    raw = raw_log(customer=["c1", "c1"], action=["visit", "buy"], time=["01/02/2024 09:00", "03/02/2024 09:00"])
    mapping = ColumnMapping("customer", "action", "time", dayfirst=True, timezone="Europe/Paris")

    log = to_event_log(raw, mapping)

    assert log.frame["timestamp"].tolist() == [
        pd.Timestamp("2024-02-01 08:00", tz="UTC"),
        pd.Timestamp("2024-02-03 08:00", tz="UTC"),
    ]
    assert log.options["timestamp_format"] == "DD/MM/YYYY"


def test_dst_adjusted_times_reach_the_quality_report() -> None:
    raw = raw_log(customer=["c1", "c1"], action=["visit", "buy"], time=["2023-10-29 02:30", "2023-10-29 04:00"])

    log = to_event_log(raw, ColumnMapping("customer", "action", "time", timezone="Europe/Paris"))

    assert log.quality.finding("dst_adjusted").examples == (2,)


def test_splitting_cuts_customers_into_journeys_after_the_given_silence() -> None:
    raw = raw_log(
        customer=["ann", "ann", "ann", "bob"],
        action=["visit", "buy", "visit", "visit"],
        time=["2024-01-01", "2024-01-03", "2024-03-01", "2024-01-02"],
        customer_id=["x1", "x1", "x1", "x2"],
    )

    log = to_event_log(raw, MAPPING, split_after_days=30)

    assert log.frame["case_id"].tolist() == ["ann#1", "ann#1", "ann#2", "bob#1"]
    assert log.frame["customer_id"].tolist() == ["ann", "ann", "ann", "bob"]
    assert log.frame["customer_id (source)"].tolist() == ["x1", "x1", "x1", "x2"]
    assert log.quality.cases == 3
    assert log.options["split_after_days"] == 30


def test_future_timestamps_are_judged_against_the_given_now() -> None:
    raw = raw_log(customer=["c1", "c1"], action=["visit", "buy"], time=["2024-01-01", "2024-06-01"])

    log = to_event_log(raw, MAPPING, now=pd.Timestamp("2024-03-01", tz="UTC"))

    assert log.quality.finding("future_timestamps").examples == (3,)


def test_the_real_sepsis_log_has_1050_cases_and_15214_events() -> None:
    frame = pd.read_csv(DATASETS / "sepsis" / "sepsis.csv", sep=";", dtype=str, keep_default_na=False)
    raw = RawLog(frame, name="sepsis.csv", format="csv", sha256="sepsis")

    log = to_event_log(raw, ColumnMapping("Case ID", "Activity", "Complete Timestamp"))

    assert (log.quality.events, log.quality.cases, log.quality.activities) == (15_214, 1_050, 16)
    assert log.frame["case_id"].eq("NA").any()
    assert log.quality.start == pd.Timestamp("2013-11-07 08:18:29", tz="UTC")
    assert log.options["timestamp_format"] == "YYYY/MM/DD"
