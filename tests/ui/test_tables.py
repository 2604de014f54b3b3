"""The pure builders behind the pages: tables, mapping proposals, the date window, upload limits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from data import Candidate, ColumnMapping, Dataset, MappingSuggestion, Problem, QualityReport, Settings
from data.quality import Finding
from ui.importing import limits_text, proposed_mapping, role_options
from ui.sidebar import filterable_attributes, window_bounds
from ui.tables import (
    PERCENT_STEP,
    columns_table,
    datasets_table,
    findings_table,
    human_bytes,
    offending_rows,
    percent_column,
    problems_table,
    quality_badge,
)
from ui.variants import variant_column_config

COLUMNS = ["who", "what", "when", "note"]
SUGGESTION = MappingSuggestion(
    mapping=ColumnMapping(case_id="who", activity="what", timestamp="when", timestamp_format="ISO8601"),
    candidates={
        "case_id": (Candidate("who", 0.8, "name 'who'"), Candidate("note", 0.3, "repeats")),
        "activity": (Candidate("what", 0.7, "labels"),),
        "timestamp": (Candidate("when", 0.9, "dates"),),
        "channel": (),
    },
    examples={"who": ("c1", "c2"), "what": ("visit",), "when": ("2025-01-01",), "note": ()},
)


def _report(*findings: Finding) -> QualityReport:
    return QualityReport(events=3, cases=1, activities=2, start=None, end=None, findings=findings)


def test_quality_badge_names_the_worst_severity() -> None:
    warning = Finding("duplicate_events", "warning", "2 repeats", 2)
    error = Finding("invalid_timestamp", "error", "1 bad time", 1)
    assert quality_badge(_report()) == "✔ fine"
    assert quality_badge(_report(warning)) == "⚠ 1 warning(s)"
    assert quality_badge(_report(error, warning)) == "✖ 1 error(s)"


def test_findings_table_lists_counts_and_example_rows() -> None:
    table = findings_table(_report(Finding("timestamp_ties", "info", "4 ties", 4, (2, 5), ("a", "b"))))
    assert table.to_dict("records") == [
        {"Severity": "ℹ info", "Finding": "4 ties", "Count": 4, "Example rows": "2, 5", "Details": "a; b"}
    ]


def test_problems_table_keeps_every_problem_and_where_it_is() -> None:
    problems = [Problem("Bad time.", fix="Correct it.", row=3, column="when", value="soon"), Problem("No rows.")]
    table = problems_table(problems)
    assert table.to_dict("records") == [
        {"Row": 3, "Column": "when", "Value": "soon", "Problem": "Bad time.", "Fix": "Correct it."},
        {"Row": None, "Column": "", "Value": "", "Problem": "No rows.", "Fix": ""},
    ]


def test_offending_rows_are_the_spreadsheet_rows_named() -> None:
    frame = pd.DataFrame({"who": ["a", "b", "c"], "Row": ["x", "y", "z"]})
    table = offending_rows(frame, [4, 2])  # the header is row 1: row 2 is the first record
    assert table.to_dict("list") == {"Row (Parcours)": [4, 2], "who": ["c", "a"], "Row": ["z", "x"]}


def test_columns_table_shows_examples_and_possible_roles() -> None:
    table = columns_table(SUGGESTION, COLUMNS)
    assert table.set_index("Column")["Could be"].to_dict() == {
        "who": "customer / case 80%",
        "what": "touchpoint 70%",
        "when": "time 90%",
        "note": "customer / case 30%",
    }
    assert table["Examples"].tolist() == ["c1 · c2", "visit", "2025-01-01", ""]


@pytest.mark.parametrize(("size_bytes", "shown"), [(512, "512 B"), (2_769_308, "2.6 MB"), (5 * 1024**4, "5.0 TB")])
def test_sizes_read_like_a_file_manager(size_bytes: int, shown: str) -> None:
    assert human_bytes(size_bytes) == shown


def test_candidates_come_first_then_the_other_columns_in_file_order() -> None:
    assert role_options(SUGGESTION, COLUMNS, "case_id") == ["who", "note", "what", "when"]
    assert role_options(SUGGESTION, COLUMNS, "channel") == COLUMNS


def test_the_detected_mapping_is_proposed_in_the_operators_time_zone() -> None:
    proposed = proposed_mapping(SUGGESTION, COLUMNS, "Europe/Paris")
    assert proposed == ColumnMapping("who", "what", "when", timestamp_format="ISO8601", timezone="Europe/Paris")


def test_without_a_detected_mapping_each_roles_best_candidate_is_proposed() -> None:
    undecided = MappingSuggestion(mapping=None, candidates={**SUGGESTION.candidates, "activity": ()}, examples={})
    assert proposed_mapping(undecided, COLUMNS, "UTC") == ColumnMapping("who", "who", "when")


def test_limits_are_said_in_words() -> None:
    text = limits_text(Settings(max_upload_mb=20, max_uncompressed_mb=100, max_events=1_000_000))
    assert "At most 20 MB per file, 100 MB once decompressed, and 1,000,000 events." in text


def test_the_whole_period_sets_no_time_window() -> None:
    first, last = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    assert window_bounds((first, last), first, last) == (None, None)


def test_picked_days_bound_the_window_from_midnight_to_midnight_after() -> None:
    first, last = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    assert window_bounds((dt.date(2025, 3, 1), dt.date(2025, 3, 31)), first, last) == (
        pd.Timestamp("2025-03-01", tz="UTC"),
        pd.Timestamp("2025-04-01", tz="UTC"),
    )


def test_a_range_being_picked_bounds_only_its_start() -> None:
    first, last = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    assert window_bounds((dt.date(2025, 3, 1),), first, last) == (pd.Timestamp("2025-03-01", tz="UTC"), None)


def test_times_are_not_offered_as_attribute_filters() -> None:
    types = {"plan": "VARCHAR", "nps": "BIGINT", "paid": "BOOLEAN", "renewed_at": "TIMESTAMP WITH TIME ZONE"}
    assert filterable_attributes(types) == ["plan", "nps", "paid"]


def test_stored_logs_keep_their_counts_as_numbers_for_the_downloads(tmp_path) -> None:
    when = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    log = Dataset(
        id="a1",
        name="Shop",
        source_name="shop.csv",
        format="csv",
        n_events=55_561,
        n_cases=3_000,
        n_activities=22,
        start_time=when,
        end_time=when,
        mapping=ColumnMapping(case_id="who", activity="what", timestamp="when"),
        options={},
        quality=_report(),
        owner="",
        created_at=when,
        updated_at=when,
        size_bytes=1024,
        events_path=tmp_path,
        layout_path=tmp_path,
    )
    shown = datasets_table([log]).iloc[0]
    assert (shown["Customers"], shown["Events"], shown["Touchpoints"]) == (3_000, 55_561, 22)
    assert (shown["Size on disk"], shown["Imported"], shown["Last opened"]) == (
        "1.0 KB",
        "2025-01-01 00:00 UTC",
        "never",
    )
    opened = dataclasses.replace(log, last_opened_at=dt.datetime(2026, 12, 6, 4, 5, 59, tzinfo=dt.UTC))
    assert datasets_table([opened]).iloc[0]["Last opened"] == "2026-12-06 04:05 UTC"


def test_every_share_column_shows_one_decimal() -> None:
    """Streamlit's percent format alone writes "25%" above "25.37%": each share column fixes one decimal."""
    shown = pd.DataFrame({"Share": [0.25, 0.2537], "Median duration (days)": [1.0, 2.0]})
    configs = [percent_column(), *variant_column_config(shown).values()]
    shares = [config["type_config"] for config in configs if config["type_config"].get("format") == "percent"]
    assert len(shares) == 5  # percent_column, then the Variants page's share, conversion, churn and coverage
    assert {share["step"] for share in shares} == {PERCENT_STEP}
