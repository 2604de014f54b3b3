"""Timestamps: every shape we sniff, day/month ambiguity, bad values, time zones and DST."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from data.errors import AmbiguousDateError, TimestampError
from data.timestamps import parse_timestamps


def utc(*texts: str | None) -> list[pd.Timestamp | None]:
    return [None if text is None else pd.Timestamp(text, tz="UTC") for text in texts]


def as_list(parsed) -> list[pd.Timestamp | None]:
    return [None if pd.isna(value) else value for value in parsed.values]


def test_mixed_utc_offsets_in_one_column_are_each_converted_to_utc() -> None:
    parsed = parse_timestamps(
        pd.Series(["2011-10-11 13:45:40.276000+02:00", "2011-11-24 15:36:51.302000+01:00", "2020-01-01T10:00:00Z"])
    )

    assert parsed.format == "ISO8601"
    assert as_list(parsed) == utc("2011-10-11 11:45:40.276", "2011-11-24 14:36:51.302", "2020-01-01 10:00")
    assert str(parsed.values.dtype) == "datetime64[us, UTC]"


def test_iso_shapes_without_offset_are_read_in_the_chosen_zone() -> None:
    values = pd.Series(["2020-01-15T10:00:00", "2020-01-15 10:00", "2020-01-15 10:00:00.250", "2020-01-15"])

    parsed = parse_timestamps(values, timezone="Europe/Paris")

    assert parsed.format == "ISO8601"
    assert as_list(parsed) == utc("2020-01-15 09:00", "2020-01-15 09:00", "2020-01-15 09:00:00.25", "2020-01-14 23:00")


def test_offsets_and_naive_times_mixed_keep_their_own_meaning() -> None:
    values = pd.Series(["2020-07-01 12:00:00+00:00", "2020-07-01 12:00:00", "2020-07-01T12+03"])

    parsed = parse_timestamps(values, timezone="Europe/Paris")

    assert as_list(parsed) == utc("2020-07-01 12:00", "2020-07-01 10:00", "2020-07-01 09:00")


def test_date_only_iso_values_are_midnight() -> None:
    parsed = parse_timestamps(pd.Series(["2020-01-15", "2020-02-01"]))

    assert as_list(parsed) == utc("2020-01-15", "2020-02-01")


@pytest.mark.parametrize(
    ("texts", "expected_format", "expected"),
    [
        (
            ["2014/10/22 11:15:41.000", "2014/10/22 11:27:00.000"],
            "YYYY/MM/DD",
            ["2014-10-22 11:15:41", "2014-10-22 11:27"],
        ),
        (["2014/10/22", "2014/11/02"], "YYYY/MM/DD", ["2014-10-22", "2014-11-02"]),
        (["25/12/2020 18:30", "01/02/2021 08:00"], "DD/MM/YYYY", ["2020-12-25 18:30", "2021-02-01 08:00"]),
        (
            ["12/25/2020 18:30:15", "01/02/2021 08:00:00"],
            "MM/DD/YYYY",
            ["2020-12-25 18:30:15", "2021-01-02 08:00"],
        ),
        (["25.12.2020", "01.02.2021"], "DD.MM.YYYY", ["2020-12-25", "2021-02-01"]),
        (["25-12-2020 06:05", "01-02-2021 23:59"], "DD-MM-YYYY", ["2020-12-25 06:05", "2021-02-01 23:59"]),
    ],
)
def test_common_spreadsheet_formats_are_sniffed(texts: list[str], expected_format: str, expected: list[str]) -> None:
    parsed = parse_timestamps(pd.Series(texts))

    assert parsed.format == expected_format
    assert as_list(parsed) == utc(*expected)


def test_epoch_seconds_are_recognised_by_their_magnitude() -> None:
    parsed = parse_timestamps(pd.Series([1_700_000_000, 1_700_003_600]), timezone="Europe/Paris")

    assert parsed.format == "epoch_s"
    assert as_list(parsed) == utc("2023-11-14 22:13:20", "2023-11-14 23:13:20")


def test_epoch_milliseconds_as_digit_text_are_recognised_by_their_magnitude() -> None:
    parsed = parse_timestamps(pd.Series(["1700000000500", "", "1700000001000"]))

    assert parsed.format == "epoch_ms"
    assert as_list(parsed) == utc("2023-11-14 22:13:20.5", None, "2023-11-14 22:13:21")
    assert parsed.invalid.tolist() == [1]


def test_epoch_numbers_with_gaps_mark_the_gaps_invalid() -> None:
    parsed = parse_timestamps(pd.Series([1_700_000_000.0, np.nan]))

    assert as_list(parsed) == utc("2023-11-14 22:13:20", None)
    assert parsed.invalid.tolist() == [1]


def test_day_month_order_that_values_cannot_settle_is_asked() -> None:
    values = pd.Series(["01/02/2020", "03/04/2020", "05/05/2020"])

    with pytest.raises(AmbiguousDateError) as raised:
        parse_timestamps(values, column="Date", file="visits.csv")

    (problem,) = raised.value.problems
    assert problem.column == "Date"
    assert problem.file == "visits.csv"
    assert problem.row == 2
    assert problem.fix == "choose day/month order"
    assert "'01/02/2020' reads as 1 February 2020 (day first) or 2 January 2020 (month first)" in problem.message
    assert "'03/04/2020' reads as 3 April 2020 (day first) or 4 March 2020 (month first)" in problem.message


@pytest.mark.parametrize(
    ("dayfirst", "expected"),
    [(True, ["2020-02-01", "2020-04-03"]), (False, ["2020-01-02", "2020-03-04"])],
)
def test_dayfirst_settles_an_ambiguous_order(dayfirst: bool, expected: list[str]) -> None:
    parsed = parse_timestamps(pd.Series(["01/02/2020", "03/04/2020"]), dayfirst=dayfirst)

    assert as_list(parsed) == utc(*expected)


def test_one_day_above_twelve_settles_the_order_without_asking() -> None:
    parsed = parse_timestamps(pd.Series(["01/02/2020", "03/04/2020", "25/12/2020"]))

    assert parsed.format == "DD/MM/YYYY"
    assert as_list(parsed) == utc("2020-02-01", "2020-04-03", "2020-12-25")


def test_dates_that_read_the_same_either_way_are_not_ambiguous() -> None:
    parsed = parse_timestamps(pd.Series(["01/01/2020", "02/02/2020"]))

    assert as_list(parsed) == utc("2020-01-01", "2020-02-02")


def test_an_explicit_format_is_used_as_given() -> None:
    parsed = parse_timestamps(pd.Series(["01/02/2020", "03/04/2020"]), format="%m/%d/%Y")

    assert parsed.format == "%m/%d/%Y"
    assert as_list(parsed) == utc("2020-01-02", "2020-03-04")


def test_empty_and_unreadable_values_are_invalid_positions() -> None:
    parsed = parse_timestamps(pd.Series(["2020-01-01 10:00", "", "  ", "2020-01-02 10:00", "2020-13-45 10:00"]))

    assert parsed.invalid.tolist() == [1, 2, 4]
    assert as_list(parsed) == utc("2020-01-01 10:00", None, None, "2020-01-02 10:00", None)


def test_mostly_garbage_lists_the_bad_values_with_their_spreadsheet_rows() -> None:
    values = pd.Series(["yesterday", "2020-01-01", "soon", "n/a"])

    with pytest.raises(TimestampError) as raised:
        parse_timestamps(values, column="When", file="log.csv")

    problems = raised.value.problems
    assert [(p.row, p.value, p.column, p.file) for p in problems] == [
        (2, "yesterday", "When", "log.csv"),
        (4, "soon", "When", "log.csv"),
        (5, "n/a", "When", "log.csv"),
    ]
    assert "3 of 4 timestamps cannot be read" in problems[0].message


def test_an_explicit_format_that_fits_nothing_is_refused() -> None:
    with pytest.raises(TimestampError, match=re.escape("do not match the format '%d.%m.%Y'")):
        parse_timestamps(pd.Series(["2020-01-01", "2020-01-02"]), format="%d.%m.%Y")


def test_a_format_without_directives_is_refused() -> None:
    with pytest.raises(TimestampError, match="is not a timestamp format"):
        parse_timestamps(pd.Series(["2020-01-01"]), format="dd/mm/yyyy")


def test_an_empty_column_is_refused() -> None:
    with pytest.raises(TimestampError, match="column is empty"):
        parse_timestamps(pd.Series(["", " "]))


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(TimestampError) as raised:
        parse_timestamps(pd.Series(["2020-01-01 10:00"]), timezone="Europe/Atlantis")

    assert raised.value.problems[0].value == "Europe/Atlantis"
    assert "Unknown time zone" in str(raised.value)


def test_autumn_overlap_is_read_as_standard_time_and_counted() -> None:
    parsed = parse_timestamps(pd.Series(["2023-10-29 01:30", "2023-10-29 02:30"]), timezone="Europe/Paris")

    # 01:30 is summer time (UTC+2); 02:30 happens twice and is read as winter time (UTC+1).
    assert as_list(parsed) == utc("2023-10-28 23:30", "2023-10-29 01:30")
    assert parsed.shifted_for_dst == 1
    assert parsed.dst_adjusted.tolist() == [1]


def test_spring_gap_is_moved_forward_and_counted() -> None:
    parsed = parse_timestamps(pd.Series(["2023-03-26 01:30", "2023-03-26 02:30"]), timezone="Europe/Paris")

    # 02:30 does not exist in Paris that night: it becomes 03:00 summer time, 01:00 UTC.
    assert as_list(parsed) == utc("2023-03-26 00:30", "2023-03-26 01:00")
    assert parsed.shifted_for_dst == 1


def test_times_carrying_an_offset_are_never_dst_adjusted() -> None:
    parsed = parse_timestamps(pd.Series(["2023-10-29T02:30:00+01:00"]), timezone="Europe/Paris")

    assert as_list(parsed) == utc("2023-10-29 01:30")
    assert parsed.shifted_for_dst == 0


def test_naive_datetime_columns_are_localised_in_the_chosen_zone() -> None:
    values = pd.Series(pd.to_datetime(["2020-07-01 12:00", None]))

    parsed = parse_timestamps(values, timezone="America/New_York")

    assert parsed.format == "datetime"
    assert as_list(parsed) == utc("2020-07-01 16:00", None)
    assert parsed.invalid.tolist() == [1]


def test_aware_datetime_columns_are_converted_to_utc() -> None:
    values = pd.Series(pd.to_datetime(["2020-07-01 12:00"]).tz_localize("Asia/Tokyo"))

    parsed = parse_timestamps(values, timezone="Europe/Paris")

    assert as_list(parsed) == utc("2020-07-01 03:00")


def test_the_caller_index_is_kept() -> None:
    parsed = parse_timestamps(pd.Series(["2020-01-01", "bad", "2020-01-03"], index=[10, 20, 30]))

    assert parsed.values.index.tolist() == [10, 20, 30]
    assert parsed.invalid.tolist() == [1]
