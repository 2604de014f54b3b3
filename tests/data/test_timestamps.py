"""Timestamps: every shape we sniff, day/month ambiguity, bad values, time zones and DST."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.errors import AmbiguousDateError, TimestampError
from data.timestamps import check_timestamp_format, parse_timestamps


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


# --- every form the grammar reads, with instants computed by hand -------------------------------------------
# 2019-10-01 00:00:04 UTC is the Unix time 1,569,888,004 s (2019-10-01 00:00:00 UTC is 1,569,888,000).
FOUR_SECONDS_PAST = "2019-10-01 00:00:04"


@pytest.mark.parametrize(
    "text",
    [
        "2019-10-01 00:00:04 UTC",  # BigQuery and most analytics exports
        "2019-10-01 00:00:04UTC",
        "2019-10-01 00:00:04 utc",
        "2019-10-01 00:00:04 GMT",
        "2019-10-01T00:00:04Z",
        "2019-10-01t00:00:04z",
        "2019-10-01T02:00:04+02:00",
        "2019-10-01T02:00:04+0200",
        "2019-10-01T02:00:04 +02",
        "2019-09-30T19:00:04-05:00",
        "2019-10-01 05:30:04+05:30",
        "2019-10-01 01:00:04 CET",  # CET is always UTC+1, CEST always UTC+2
        "2019-10-01 02:00:04 CEST",
        "2019-09-30 20:00:04 EDT",
        "2019-10-01 02:00:04 Europe/Paris",  # summer time in Paris: UTC+2
        "2019-09-30 20:00:04 America/New_York",  # summer time in New York: UTC-4
        "2019-10-01 09:00:04 Asia/Tokyo",
        "2019-10-01 02:00:04 UTC+2",
        "2019-10-01 02:00:04 GMT+02:00",
        "2019-09-30 19:00:04 UTC-5",
        "2019-10-01 02:00:04 +0200 CEST",  # Go's time.String()
        "2019-10-01 00:00:04 +0000 UTC",
        "2019-10-01 02:00:04 +02:00 (CEST)",
    ],
)
def test_trailing_zone_names_and_offsets_name_the_instant(text: str) -> None:
    parsed = parse_timestamps(pd.Series([text, "2019-10-01 00:00:00Z"]), timezone="America/Los_Angeles")

    assert parsed.format == "ISO8601"
    assert as_list(parsed) == utc(FOUR_SECONDS_PAST, "2019-10-01 00:00:00")
    assert parsed.shifted_for_dst == 0


def test_a_zone_name_in_winter_reads_its_winter_offset() -> None:
    parsed = parse_timestamps(pd.Series(["2019-12-01 01:00:04 Europe/Paris", "2019-12-01 01:00:04 CEST"]))

    # Paris is UTC+1 in December; the abbreviation CEST says UTC+2 whatever the date.
    assert as_list(parsed) == utc("2019-12-01 00:00:04", "2019-11-30 23:00:04")


def test_one_column_may_mix_zone_names_offsets_and_naive_times() -> None:
    values = pd.Series(
        [
            "2019-10-01 00:00:04 UTC",
            "2019-10-01T02:00:04+02:00",
            "2019-10-01 02:00:04 Europe/Paris",
            "2019-10-01 01:00:04 CET",
            "2019-10-01 03:00:04",
            "2019-10-01T00:00:04Z",
        ]
    )

    parsed = parse_timestamps(values, timezone="Europe/Helsinki")  # naive times: UTC+3 in October

    assert as_list(parsed) == utc(*[FOUR_SECONDS_PAST] * 6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-10-01 00:00:04.5 UTC", "2019-10-01 00:00:04.500000"),
        ("2019-10-01 00:00:04,25Z", "2019-10-01 00:00:04.250000"),
        ("2019-10-01T00:00:04.123456Z", "2019-10-01 00:00:04.123456"),
        ("2019-10-01T00:00:04.1234567Z", "2019-10-01 00:00:04.123456"),
        ("2019-10-01T00:00:04.123456789Z", "2019-10-01 00:00:04.123456"),  # nanoseconds cut to the microsecond
        ("2019-10-01T00:00:04.999999999+00:00", "2019-10-01 00:00:04.999999"),
    ],
)
def test_fractional_seconds_are_kept_to_the_microsecond(text: str, expected: str) -> None:
    parsed = parse_timestamps(pd.Series([text]))

    assert as_list(parsed) == utc(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-10-01T13", "2019-10-01 13:00"),
        ("2019-10-01 13:05", "2019-10-01 13:05"),
        ("2019-10-01  13:05:09", "2019-10-01 13:05:09"),
        ("2019-10-01t13:05:09", "2019-10-01 13:05:09"),
        ("2019-10-01", "2019-10-01 00:00"),
        ("2019-10-01 UTC", "2019-10-01 00:00"),
        ("2019-10-1 9:05", "2019-10-01 09:05"),
    ],
)
def test_t_or_spaces_separate_the_date_from_a_time_of_any_precision(text: str, expected: str) -> None:
    assert as_list(parse_timestamps(pd.Series([text]))) == utc(expected)


def test_twelve_hour_times_read_am_and_pm() -> None:
    values = pd.Series(["12/25/2020 6:30:00 PM", "12/26/2020 12:15 AM", "12/26/2020 12:15 p.m."])

    parsed = parse_timestamps(values)

    assert parsed.format == "MM/DD/YYYY"
    assert as_list(parsed) == utc("2020-12-25 18:30", "2020-12-26 00:15", "2020-12-26 12:15")


def test_zones_follow_every_date_order() -> None:
    parsed = parse_timestamps(pd.Series(["25/12/2020 18:30 UTC", "26/12/2020 08:00:00.5+01:00"]))

    assert parsed.format == "DD/MM/YYYY"
    assert as_list(parsed) == utc("2020-12-25 18:30", "2020-12-26 07:00:00.5")


def test_a_zone_abbreviation_that_names_several_zones_is_not_guessed() -> None:
    parsed = parse_timestamps(pd.Series(["2019-10-01 05:30:04 IST", *["2019-10-01 00:00:04 UTC"] * 3]))

    # IST is India (+05:30), Ireland (+01:00) or Israel (+02:00): the value is unreadable, not guessed.
    assert parsed.invalid.tolist() == [0]
    assert parsed.out_of_range.tolist() == []


def test_a_named_zone_in_its_daylight_saving_overlap_is_read_as_standard_time_and_counted() -> None:
    parsed = parse_timestamps(pd.Series(["2023-10-29 02:30 Europe/Paris", "2023-10-29 02:30+02:00"]))

    assert as_list(parsed) == utc("2023-10-29 01:30", "2023-10-29 00:30")
    assert parsed.dst_adjusted.tolist() == [0]


@pytest.mark.parametrize(
    ("values", "unit", "expected"),
    [
        ([1_569_888_004, 1_569_888_005], "epoch_s", ["2019-10-01 00:00:04", "2019-10-01 00:00:05"]),
        ([1_569_888_004_123, 1_569_888_005_000], "epoch_ms", ["2019-10-01 00:00:04.123", "2019-10-01 00:00:05"]),
        ([1_569_888_004_123_456], "epoch_us", ["2019-10-01 00:00:04.123456"]),
        ([1_569_888_004_123_456_789], "epoch_ns", ["2019-10-01 00:00:04.123456"]),
        (["1569888004"], "epoch_s", ["2019-10-01 00:00:04"]),
        (["1569888004.25"], "epoch_s", ["2019-10-01 00:00:04.25"]),
        (["1569888004123456"], "epoch_us", ["2019-10-01 00:00:04.123456"]),
        (["1569888004123456789"], "epoch_ns", ["2019-10-01 00:00:04.123456"]),
        ([1_704_067_200_000_000], "epoch_us", ["2024-01-01"]),  # was read as milliseconds: year 55969
    ],
)
def test_unix_times_in_every_unit_are_told_apart_by_magnitude(values: list, unit: str, expected: list[str]) -> None:
    parsed = parse_timestamps(pd.Series(values))

    assert parsed.format == unit
    assert as_list(parsed) == utc(*expected)


@pytest.mark.parametrize(
    ("values", "unit", "expected"),
    [
        ([-86_400, 0], "epoch_s", ["1969-12-31", "1970-01-01"]),
        (["-1", "0"], "epoch_ms", ["1969-12-31 23:59:59.999", "1970-01-01"]),
        ([-1_500, 1_500], "epoch_ns", ["1969-12-31 23:59:59.999998", "1970-01-01 00:00:00.000001"]),
        ([-62_135_596_800], "epoch_s", ["0001-01-01"]),
        ([-1.5], "epoch_s", ["1969-12-31 23:59:58.5"]),
    ],
)
def test_chosen_units_read_negative_unix_times_before_1970(values: list, unit: str, expected: list[str]) -> None:
    parsed = parse_timestamps(pd.Series(values), format=unit)

    assert as_list(parsed) == utc(*expected)


def test_python_date_times_are_read_from_their_fields_and_offsets() -> None:
    paris_summer = datetime.timezone(datetime.timedelta(hours=2))
    values = pd.Series(
        [datetime.datetime(2019, 10, 1, 2, 0, 4, tzinfo=paris_summer), datetime.datetime(2019, 10, 1, 0, 0, 4)],
        dtype=object,
    )

    parsed = parse_timestamps(values, timezone="UTC")

    assert parsed.format == "datetime"
    assert as_list(parsed) == utc(FOUR_SECONDS_PAST, FOUR_SECONDS_PAST)


# --- hostile values: refused by value, never a traceback --------------------------------------------------


def test_an_instant_before_the_year_1_in_utc_is_refused_by_value() -> None:
    parsed = parse_timestamps(pd.Series(["0001-01-01T00:30:00+01:00", "2020-01-01T00:00:00+01:00", "2020-01-02"]))

    # 00:30 at UTC+1 on 1 January of the year 1 is 23:30 UTC on 31 December of the year 0.
    assert parsed.invalid.tolist() == [0]
    assert parsed.out_of_range.tolist() == [0]
    assert as_list(parsed) == utc(None, "2019-12-31 23:00", "2020-01-02")


def test_the_year_1_itself_is_read() -> None:
    parsed = parse_timestamps(pd.Series(["0001-01-01T00:30:00", "0001-01-01T01:30:00+01:00", "9999-12-31 23:59:59Z"]))

    assert as_list(parsed) == utc("0001-01-01 00:30", "0001-01-01 00:30", "9999-12-31 23:59:59")


def test_naive_times_at_the_ends_of_the_range_are_read_in_the_chosen_zone() -> None:
    parsed = parse_timestamps(
        pd.Series(["0001-01-01 12:00", "9999-12-31 12:00", "9999-12-31 23:30"]), timezone="Europe/Paris"
    )

    # Paris kept its local mean time (+00:09:21) until 1891; in 9999 its rules give UTC+1 in December.
    assert as_list(parsed) == utc("0001-01-01 11:50:39", "9999-12-31 11:00", "9999-12-31 22:30")


def test_a_naive_time_pushed_past_the_year_9999_by_its_zone_is_refused() -> None:
    parsed = parse_timestamps(pd.Series(["9999-12-31 23:30", "2020-01-01 00:00"]), timezone="America/Los_Angeles")

    assert parsed.out_of_range.tolist() == [0]
    assert as_list(parsed) == utc(None, "2020-01-01 08:00")


def test_a_written_year_0_is_refused_by_value() -> None:
    parsed = parse_timestamps(pd.Series(["0000-06-01", "2020-01-01", "2020-01-02"]))

    assert parsed.out_of_range.tolist() == [0]


def test_python_date_times_in_the_year_1_at_an_offset_are_refused_without_overflow() -> None:
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    values = pd.Series(
        [datetime.datetime(1, 1, 1, 0, 30, tzinfo=plus_one), datetime.datetime(2020, 1, 1, tzinfo=plus_one)] * 2,
        dtype=object,
    )

    parsed = parse_timestamps(values)

    assert parsed.out_of_range.tolist() == [0, 2]
    assert as_list(parsed)[1] == pd.Timestamp("2019-12-31 23:00", tz="UTC")


def test_a_date_time_column_beyond_the_year_9999_is_refused_by_value() -> None:
    far = np.array([1_704_067_200_000_000 * 1_000, 1_704_067_200_000_000, 1_704_067_201_000_000], dtype="int64")
    values = pd.Series(far.view("datetime64[us]")).dt.tz_localize("UTC")

    parsed = parse_timestamps(values)

    assert parsed.out_of_range.tolist() == [0]
    assert as_list(parsed)[1:] == utc("2024-01-01", "2024-01-01 00:00:01")


def test_microseconds_read_as_milliseconds_are_refused_with_row_column_value_and_fix() -> None:
    values = pd.Series([1_704_067_200_000_000, 1_704_067_201_000_000])

    with pytest.raises(TimestampError) as raised:
        parse_timestamps(values, format="epoch_ms", column="event_time", file="events.csv")

    first = raised.value.problems[0]
    assert (first.row, first.column, first.value, first.file) == (2, "event_time", "1704067200000000", "events.csv")
    assert "fall outside the years 1 to 9999" in first.message
    assert "epoch_us" in first.fix


def test_one_unix_time_in_the_wrong_unit_among_many_is_refused_alone() -> None:
    parsed = parse_timestamps(pd.Series([1_569_888_004, 1_569_888_005, 1_569_888_004_000_000_000]))

    assert parsed.format == "epoch_s"
    assert parsed.out_of_range.tolist() == [2]


@pytest.mark.parametrize("format", ["%Q", "%", "abc%", "%Y %Y", "%Y-%m-%d %"])
def test_a_strptime_format_pandas_cannot_use_is_refused_before_reading(format: str) -> None:
    with pytest.raises(TimestampError) as raised:
        parse_timestamps(pd.Series(["2020-01-01"]), format=format, column="when")

    (problem,) = raised.value.problems
    assert (problem.column, problem.value) == ("when", format)
    assert "strptime format such as" in problem.fix


@given(st.text(max_size=12))
@settings(max_examples=300, deadline=None)
def test_any_format_text_is_used_or_refused_with_a_timestamp_error(format: str) -> None:
    try:
        check_timestamp_format(format)
        parse_timestamps(pd.Series(["2020-01-01 10:00:00", "01/02/2020"]), format=format)
    except TimestampError:
        pass


def test_a_strptime_format_with_an_offset_keeps_each_values_offset() -> None:
    parsed = parse_timestamps(
        pd.Series(["01/10/2019 02:00:04 +0200", "01/10/2019 00:00:04 +0000"]), format="%d/%m/%Y %H:%M:%S %z"
    )

    assert as_list(parsed) == utc(FOUR_SECONDS_PAST, FOUR_SECONDS_PAST)
