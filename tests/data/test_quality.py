"""The data-quality report: each finding counted and located on tiny logs, and its JSON round trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest

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
