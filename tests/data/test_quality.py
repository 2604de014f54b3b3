"""The data-quality report: each finding counted and located on tiny logs, from a frame or a DuckDB relation."""

from __future__ import annotations

import json
from unittest import mock

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import quality
from data.quality import (
    DST_ADJUSTED,
    DUPLICATE_EVENTS,
    EMPTY_ACTIVITY,
    EMPTY_CASE_ID,
    FUTURE_TIMESTAMPS,
    INVALID_TIMESTAMP,
    NEAR_DUPLICATE_ACTIVITIES,
    OUT_OF_ORDER,
    SINGLE_EVENT_CASES,
    TIMESTAMP_TIES,
    TRUNCATED_AT_END,
    TRUNCATED_AT_START,
    Finding,
    QualityReport,
    assess,
    assess_relation,
)

NOW = pd.Timestamp("2030-01-01", tz="UTC")


def canonical(*events: tuple, **attributes: list) -> pd.DataFrame:
    """A canonical frame of (case, activity, time) events in file order, plus attribute columns."""
    return pd.DataFrame(
        {
            "case_id": [case for case, _, _ in events],
            "activity": [activity for _, activity, _ in events],
            "timestamp": pd.to_datetime([time for _, _, time in events], format="ISO8601").tz_localize("UTC"),
            "channel": pd.Series([None] * len(events), dtype="str"),
            "source_row": range(len(events)),
            **attributes,
        }
    )


def test_headline_figures_count_events_cases_activities_and_the_time_span() -> None:
    report = assess(
        canonical(("a", "visit", "2024-01-01 10:00"), ("a", "buy", "2024-01-02 10:00"), ("b", "visit", "2024-01-03")),
        now=NOW,
    )

    assert (report.events, report.cases, report.activities) == (3, 2, 2)
    assert (report.start, report.end) == (
        pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        pd.Timestamp("2024-01-03", tz="UTC"),
    )


def test_a_log_of_one_event_per_case_warns_that_the_case_column_may_be_wrong() -> None:
    report = assess(canonical(("a", "visit", "2024-01-01"), ("b", "visit", "2024-01-02"), ("c", "buy", "2024-01-03")))

    single = report.finding(SINGLE_EVENT_CASES)
    assert (single.severity, single.count, single.examples) == ("warning", 3, (2, 3, 4))
    assert "is the case column really the customer" in single.message


def test_a_few_single_event_cases_are_only_information() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "buy", "2024-01-02"),
        ("b", "visit", "2024-01-02"),
        ("b", "buy", "2024-01-03"),
        ("c", "visit", "2024-01-03"),
    )

    single = assess(frame).finding(SINGLE_EVENT_CASES)

    assert (single.severity, single.count, single.examples) == ("info", 1, (6,))


def test_exact_duplicates_are_counted_beyond_the_first_copy() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        region=["north", "north", "north", "south"],
    )

    duplicates = assess(frame).finding(DUPLICATE_EVENTS)

    # Rows 3 and 4 repeat row 2; row 5 differs in its region, so it is a tie, not a duplicate.
    assert (duplicates.severity, duplicates.count, duplicates.examples) == ("warning", 2, (3, 4))


def test_events_sharing_a_time_in_a_case_are_reported_as_ties() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "call", "2024-01-01"),
        ("b", "visit", "2024-01-01"),
        ("b", "call", "2024-01-02"),
    )

    ties = assess(frame).finding(TIMESTAMP_TIES)

    assert (ties.severity, ties.count, ties.examples) == ("info", 2, (2, 3))
    assert "order is taken from the file" in ties.message


def test_events_after_now_are_future_timestamps() -> None:
    frame = canonical(("a", "visit", "2024-01-01"), ("a", "buy", "2031-06-01"), ("b", "visit", "2030-01-01"))

    future = assess(frame, now=NOW).finding(FUTURE_TIMESTAMPS)

    assert (future.severity, future.count, future.examples) == ("warning", 1, (3,))


def test_labels_differing_in_case_spacing_accents_or_punctuation_are_near_duplicates() -> None:
    frame = canonical(
        ("a", "Checkout", "2024-01-01"),
        ("a", "checkout", "2024-01-02"),
        ("b", "check-out", "2024-01-03"),
        ("b", "Réclamation", "2024-01-04"),
        ("c", "reclamation", "2024-01-05"),
        ("c", "visit", "2024-01-06"),
    )

    similar = assess(frame).finding(NEAR_DUPLICATE_ACTIVITIES)

    assert (similar.severity, similar.count) == ("warning", 2)
    assert similar.details == ("'Checkout' ~ 'check-out' ~ 'checkout'", "'Réclamation' ~ 'reclamation'")
    assert similar.examples == (2, 3, 4, 5, 6)


def test_a_typo_in_a_long_word_is_a_near_duplicate() -> None:
    frame = canonical(("a", "Cancellation request", "2024-01-01"), ("b", "Cancelation request", "2024-01-02"))

    similar = assess(frame).finding(NEAR_DUPLICATE_ACTIVITIES)

    assert similar.details == ("'Cancelation request' ~ 'Cancellation request'",)


@pytest.mark.parametrize(
    "labels",
    [("Release A", "Release B"), ("Admission NC", "Admission IC"), ("T02 Check receipt", "T03 Check receipt")],
)
def test_labels_differing_in_a_code_are_distinct_steps(labels: tuple[str, str]) -> None:
    frame = canonical(("a", labels[0], "2024-01-01"), ("b", labels[1], "2024-01-02"))

    assert assess(frame).finding(NEAR_DUPLICATE_ACTIVITIES) is None


def test_cases_touching_the_edges_of_the_time_span_look_truncated() -> None:
    # The log spans 100 days, so its edges are the first and last 2 days.
    frame = canonical(
        ("early", "visit", "2024-01-01"),
        ("early", "buy", "2024-01-11"),
        ("middle", "visit", "2024-02-10"),
        ("middle", "buy", "2024-03-01"),
        ("late", "visit", "2024-03-31"),
        ("late", "buy", "2024-04-08"),
        ("late", "call", "2024-04-10"),
    )

    report = assess(frame)

    assert (report.finding(TRUNCATED_AT_START).count, report.finding(TRUNCATED_AT_START).examples) == (1, (2,))
    assert (report.finding(TRUNCATED_AT_END).count, report.finding(TRUNCATED_AT_END).examples) == (1, (8,))
    assert "first 2% of the log's time span" in report.finding(TRUNCATED_AT_START).message


def test_a_log_spanning_one_instant_has_no_truncation_findings() -> None:
    report = assess(canonical(("a", "visit", "2024-01-01"), ("b", "visit", "2024-01-01")))

    assert report.finding(TRUNCATED_AT_START) is None
    assert report.finding(TRUNCATED_AT_END) is None


def test_events_listed_before_an_earlier_event_are_out_of_order() -> None:
    frame = canonical(("a", "buy", "2024-01-02"), ("a", "visit", "2024-01-01"), ("a", "call", "2024-01-03"))

    out_of_order = assess(frame).finding(OUT_OF_ORDER)

    assert (out_of_order.count, out_of_order.examples) == (1, (3,))


def test_dropped_rows_and_dst_adjustments_are_reported_at_their_spreadsheet_rows() -> None:
    frame = canonical(("a", "visit", "2024-01-01"), ("a", "buy", "2024-01-02"))

    report = assess(frame, invalid={"timestamp": [4, 2], "case_id": [3], "activity": []}, dst_adjusted=[0])

    assert (report.finding(INVALID_TIMESTAMP).severity, report.finding(INVALID_TIMESTAMP).examples) == ("error", (4, 6))
    assert report.finding(EMPTY_CASE_ID).examples == (5,)
    assert report.finding(EMPTY_ACTIVITY) is None
    assert (report.finding(DST_ADJUSTED).count, report.finding(DST_ADJUSTED).examples) == (1, (2,))


def test_findings_come_errors_first_and_examples_stop_at_five() -> None:
    frame = canonical(*[(f"c{number}", "visit", "2024-01-01") for number in range(8)])

    report = assess(frame, invalid={"activity": [9]})

    assert [finding.severity for finding in report.findings] == ["error", "warning"]
    assert report.finding(SINGLE_EVENT_CASES).count == 8
    assert report.finding(SINGLE_EVENT_CASES).examples == (2, 3, 4, 5, 6)


def test_the_report_round_trips_through_json_exactly() -> None:
    frame = canonical(
        ("a", "Checkout", "2024-01-01 10:00:00.123456"),
        ("a", "checkout", "2024-01-01 10:00:00.123456"),
        ("b", "visit", "2031-01-01"),
    )
    report = assess(frame, invalid={"timestamp": [7]}, dst_adjusted=[1], now=NOW)

    restored = QualityReport.from_dict(json.loads(json.dumps(report.to_dict())))

    assert restored == report
    assert restored.to_dict() == report.to_dict()
    assert restored.start == pd.Timestamp("2024-01-01 10:00:00.123456", tz="UTC")


def test_the_printed_report_has_the_headline_and_one_line_per_finding() -> None:
    report = QualityReport(
        events=3,
        cases=2,
        activities=2,
        start=pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        end=pd.Timestamp("2024-01-03", tz="UTC"),
        findings=(Finding("duplicate_events", "warning", "1 event(s) repeat an earlier event.", 1, (3,)),),
    )

    assert str(report) == (
        "3 events, 2 cases, 2 activities, from 2024-01-01 10:00:00 to 2024-01-03 00:00:00 UTC.\n"
        "- [warning] 1 event(s) repeat an earlier event. E.g. row(s) 3."
    )


def test_a_report_without_findings_says_no_problems_were_found() -> None:
    report = QualityReport(events=0, cases=0, activities=0, start=None, end=None)

    assert str(report) == "0 events, 0 cases, 0 activities.\n- No problems found."


def test_a_duplicate_may_miss_an_attribute_as_its_original_does() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        region=pd.array([None, None, "north"], dtype="str"),
    )

    duplicates = assess(frame).finding(DUPLICATE_EVENTS)

    # Row 3 repeats row 2, both without a region; row 4 has one.
    assert (duplicates.count, duplicates.examples) == (1, (3,))


@pytest.mark.parametrize("width", [300, pytest.param(20_000, marks=pytest.mark.slow)])
def test_duplicates_of_a_wide_log_must_agree_on_every_attribute(width: int) -> None:
    # DuckDB crashed (SIGFPE) grouping rows by 20,000 columns; one JSON value per row is grouped instead.
    tied = [("a", "visit", "2024-01-01")] * 4
    attributes = {f"x{i}": ["1", "1", "1", "1"] for i in range(width - 2)}
    frame = canonical(
        *tied,
        **attributes,
        text=pd.array(["null", "null", None, None], dtype="str"),
        last=["same", "same", "same", "differs"],
    )

    duplicates = assess(frame).finding(DUPLICATE_EVENTS)

    # Row 3 repeats row 2; row 4 has a missing text, not the word "null"; row 5 differs in the last column only.
    assert (duplicates.count, duplicates.examples) == (1, (3,))


def test_a_duplicate_in_a_tie_of_three_need_not_follow_its_original() -> None:
    frame = canonical(("a", "visit", "2024-01-01"), ("a", "call", "2024-01-01"), ("a", "visit", "2024-01-01"))

    duplicates = assess(frame).finding(DUPLICATE_EVENTS)

    assert (duplicates.count, duplicates.examples) == (1, (4,))


def test_a_case_first_event_is_its_earliest_and_the_first_in_the_file_among_equal_times() -> None:
    # Case a starts on Jan 1 with two events, listed after a later one; the log spans 100 days.
    frame = canonical(
        ("a", "buy", "2024-01-05"),
        ("a", "call", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("b", "visit", "2024-02-01"),
        ("b", "buy", "2024-04-10"),
    )

    start = assess(frame).finding(TRUNCATED_AT_START)

    assert (start.count, start.examples) == (1, (3,))


def test_a_case_last_event_is_its_latest_and_the_last_in_the_file_among_equal_times() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("b", "visit", "2024-02-01"),
        ("b", "call", "2024-04-10"),
        ("b", "buy", "2024-04-10"),
        ("b", "chat", "2024-03-01"),
    )

    end = assess(frame).finding(TRUNCATED_AT_END)

    assert (end.count, end.examples) == (1, (5,))


def test_an_event_is_out_of_order_only_against_the_event_just_before_it_in_its_case() -> None:
    # 3, 1, 2 o'clock: the 1 o'clock event follows a later one; the 2 o'clock event follows an earlier one.
    frame = canonical(
        ("a", "visit", "2024-01-01 03:00"),
        ("b", "visit", "2024-01-01 00:00"),
        ("a", "call", "2024-01-01 01:00"),
        ("a", "buy", "2024-01-01 02:00"),
    )

    out_of_order = assess(frame).finding(OUT_OF_ORDER)

    assert (out_of_order.count, out_of_order.examples) == (1, (4,))


def test_ties_are_found_when_a_case_is_split_over_the_file() -> None:
    frame = canonical(("a", "visit", "2024-01-01"), ("b", "visit", "2024-01-01"), ("a", "call", "2024-01-01"))

    ties = assess(frame).finding(TIMESTAMP_TIES)

    assert (ties.count, ties.examples) == (2, (2, 4))


def test_an_event_within_the_microsecond_of_now_is_not_in_the_future() -> None:
    frame = canonical(("a", "visit", "2024-01-01 10:00:00"), ("a", "buy", "2024-01-01 10:00:00.000001"))

    future = assess(frame, now=pd.Timestamp("2024-01-01 10:00:00.000000500", tz="UTC")).finding(FUTURE_TIMESTAMPS)

    assert (future.count, future.examples) == (1, (3,))


def test_an_empty_log_has_no_findings() -> None:
    report = assess(canonical(), now=NOW)

    assert report == QualityReport(events=0, cases=0, activities=0, start=None, end=None)


def test_attribute_names_are_compared_as_data() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        **{'say "hi"': ["x", "x"], "source_row (source)": [1, 2]},
    )

    assert assess(frame).finding(DUPLICATE_EVENTS) is None


def test_a_column_of_mixed_python_values_is_compared_as_text() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        payload=pd.Series([7, 7, "seven"], dtype=object),
    )

    assert assess(frame).finding(DUPLICATE_EVENTS).examples == (3,)


def test_a_relation_gives_the_report_of_its_frame() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("b", "buy", "2024-01-03"),
        ("a", "call", "2023-12-31"),
        region=["north", "north", None, "south"],
    )
    with duckdb.connect() as connection:
        connection.register("frame", pa.Table.from_pandas(frame, preserve_index=False))
        connection.execute("CREATE VIEW events AS SELECT * FROM frame")

        report = assess_relation(connection, "events", invalid={"activity": [4]}, now=NOW)

    assert report == assess(frame, invalid={"activity": [4]}, now=NOW)


def test_a_relation_read_in_another_order_than_the_file_gives_the_same_report() -> None:
    frame = canonical(
        ("a", "visit", "2024-01-01"),
        ("a", "visit", "2024-01-01"),
        ("a", "buy", "2024-01-02"),
        ("b", "call", "2024-01-03"),
    )
    with duckdb.connect() as connection:
        connection.register("frame", pa.Table.from_pandas(frame, preserve_index=False))
        connection.execute("CREATE VIEW backwards AS SELECT * FROM frame ORDER BY source_row DESC")

        report = assess_relation(connection, "backwards", now=NOW)

    assert report == assess(frame, now=NOW)
    assert report.finding(DUPLICATE_EVENTS).examples == (3,)


def test_assess_relation_needs_the_canonical_columns() -> None:
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE events AS SELECT 'a' AS case_id, 'visit' AS activity")

        with pytest.raises(ValueError, match="timestamp, source_row"):
            assess_relation(connection, "events")


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["visit", "call"]),
        st.integers(min_value=0, max_value=3),
        st.sampled_from(["north", None]),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(events=EVENTS, grouped=st.booleans(), first_look=st.sampled_from([1, quality.FIRST_LOOK]))
def test_the_report_does_not_depend_on_how_duckdb_reads_the_rows(
    events: list[tuple], grouped: bool, first_look: int
) -> None:
    # Grouped by case and in time order, the file is read in one pass; backwards, every case is sorted. A first
    # look at one row leaves the whole pass to find out when the file is not grouped.
    if grouped:
        events = sorted(events, key=lambda event: (event[0], event[2]))
    frame = canonical(
        *((case, activity, f"2024-01-0{day + 1}") for case, activity, day, _ in events),
        region=pd.array([region for *_, region in events], dtype="str"),
    )
    with duckdb.connect() as connection, mock.patch.object(quality, "FIRST_LOOK", first_look):
        connection.register("frame", pa.Table.from_pandas(frame, preserve_index=False))
        connection.execute("CREATE VIEW backwards AS SELECT * FROM frame ORDER BY source_row DESC")

        assert assess_relation(connection, "backwards", now=NOW) == assess(frame, now=NOW)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(events=EVENTS, in_case_order=st.booleans())
def test_a_relation_said_to_be_in_case_order_gives_the_report_of_its_frame(
    events: list[tuple], in_case_order: bool
) -> None:
    # As a layout lists them (by case, time, then file order) the events are read in one pass; listed otherwise,
    # the pass finds out and the events are sorted after all.
    frame = canonical(
        *((case, activity, f"2024-01-0{day + 1}") for case, activity, day, _ in events),
        region=pd.array([region for *_, region in events], dtype="str"),
    )
    order = "case_id, timestamp, source_row" if in_case_order else "source_row DESC"
    with duckdb.connect() as connection:
        connection.register("frame", pa.Table.from_pandas(frame, preserve_index=False))
        connection.execute(f"CREATE TABLE listed AS SELECT * FROM frame ORDER BY {order}")

        assert assess_relation(connection, "listed", now=NOW, in_case_order=True) == assess(frame, now=NOW)
