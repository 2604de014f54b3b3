"""Column mapping: detection on real logs and hand-made English and French headers, and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.errors import MappingError
from data.mapping import ROLES, detect_mapping, validate_mapping
from data.readers import read_log
from data.schema import ColumnMapping
from tests.conftest import DATASETS


def journeys(case: str, activity: str, timestamp: str, channel: str) -> pd.DataFrame:
    """Three customers, three touchpoints each, under the given column names, plus a revenue attribute."""
    return pd.DataFrame(
        {
            case: ["c1", "c1", "c1", "c2", "c2", "c2", "NA", "NA", "NA"],
            activity: ["visit website", "add to cart", "pay"] * 3,
            timestamp: [f"2024-03-0{day} 1{hour}:00" for day in (1, 2, 3) for hour in (0, 1, 2)],
            channel: ["web", "app", "store", "web", "web", "call center", "email", "app", "store"],
            "revenue": ["0", "0", "30", "0", "0", "12", "0", "0", "55"],
        }
    )


@pytest.mark.parametrize(
    ("path", "case", "activities", "timestamp"),
    [
        ("bpic16-complaints/BPI2016_Complaints.csv", "CustomerID", {"ComplaintTheme_EN", "ComplaintTopic_EN"},
         "ContactDate"),
        ("sepsis/sepsis.csv", "Case ID", {"Activity"}, "Complete Timestamp"),
        ("helpdesk/helpdesk_tax2017.csv", "CaseID", {"ActivityID"}, "CompleteTimestamp"),
        ("receipt-wabo/receipt.parquet", "case:concept:name", {"concept:name"}, "time:timestamp"),
        ("running-example/running-example.xes", "case:concept:name", {"concept:name"}, "time:timestamp"),
        ("sepsis/Sepsis.xes.gz", "case:concept:name", {"concept:name"}, "time:timestamp"),
    ],
    ids=["bpic16", "sepsis-csv", "helpdesk", "receipt", "running-example", "sepsis-xes"],
)  # fmt: skip
def test_real_logs_get_their_three_roles(settings, path, case, activities, timestamp):
    mapping = detect_mapping(read_log(DATASETS / path, settings=settings).frame).mapping

    assert mapping.case_id == case
    assert set(mapping.activity) <= activities
    assert mapping.timestamp == timestamp
    assert mapping.attributes is None


def test_channel_columns_of_real_logs_are_found(settings):
    receipt = read_log(DATASETS / "receipt-wabo" / "receipt.parquet", settings=settings).frame
    complaints = read_log(DATASETS / "bpic16-complaints" / "BPI2016_Complaints.csv", settings=settings).frame

    assert detect_mapping(receipt).mapping.channel == "case:channel"
    assert detect_mapping(complaints).mapping.channel == "ContactChannelID"


@pytest.mark.parametrize(
    "names",
    [
        ("customer_id", "touchpoint", "timestamp", "channel"),
        ("CustomerID", "Action", "Created At", "Medium"),
        ("user", "event", "datetime", "source"),
        ("id_client", "étape", "horodatage", "canal"),
        ("Client", "Point de contact", "Date heure", "Canal"),
        ("parcours", "Événement", "date_heure", "canal"),
    ],
    ids=["english", "english-camel", "english-web", "french", "french-spaced", "french-accents"],
)
def test_english_and_french_headers_are_mapped(names):
    case, activity, timestamp, channel = names

    mapping = detect_mapping(journeys(*names)).mapping

    assert mapping == ColumnMapping(case_id=case, activity=activity, timestamp=timestamp, channel=channel)


def test_every_role_lists_ranked_candidates_with_reasons():
    suggestion = detect_mapping(journeys("id_client", "étape", "horodatage", "canal"))

    assert set(suggestion.candidates) == set(ROLES)
    best = suggestion.candidates["timestamp"][0]
    assert best.column == "horodatage"
    assert best.reason == "name 'horodatage' means timestamp; 100% of values parse as dates (ISO8601)"
    scores = [candidate.score for candidate in suggestion.candidates["activity"]]
    assert scores == sorted(scores, reverse=True)


def test_examples_are_up_to_three_distinct_values_per_column():
    examples = detect_mapping(journeys("customer", "activity", "time", "channel")).examples

    assert examples["customer"] == ("c1", "c2", "NA")
    assert examples["channel"] == ("web", "app", "store")
    assert set(examples) == {"customer", "activity", "time", "channel", "revenue"}


def test_value_shapes_alone_find_the_roles():
    customers = np.repeat([f"c{i:03d}" for i in range(150)], 4)
    frame = pd.DataFrame(
        {
            "col_a": np.tile(["2024-01-05 10:00", "2024-01-06 11:30", "2024-01-08 09:15", "2024-01-09 17:45"], 150),
            "col_b": customers,
            "col_c": np.tile(["visit website", "add to cart", "call support", "pay"], 150),
            "col_d": np.tile(["web", "app", "call center", "store"], 150),
        }
    )

    mapping = detect_mapping(frame).mapping

    assert (mapping.case_id, mapping.activity, mapping.timestamp, mapping.channel) == (
        "col_b",
        ("col_c",),
        "col_a",
        "col_d",
    )


def test_xes_keys_name_one_role_only():
    frame = pd.DataFrame(
        {
            "case:concept:name": ["A1", "A1", "A2", "A2"],
            "concept:name": ["create", "pay", "create", "send"],
            "time:timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-05"], utc=True),
        }
    )

    activity_candidates = detect_mapping(frame).candidates["activity"]

    assert "case:concept:name" not in [candidate.column for candidate in activity_candidates]


def test_unix_seconds_are_found_with_their_format():
    frame = pd.DataFrame(
        {
            "customer": ["c1", "c1", "c2", "c2"],
            "action": ["visit", "buy", "visit", "call"],
            "time": [1_704_096_000, 1_704_099_600, 1_704_182_400, 1_704_186_000],
        }
    )

    mapping = detect_mapping(frame).mapping

    assert (mapping.timestamp, mapping.timestamp_format) == ("time", "epoch_s")


def test_no_mapping_without_a_timestamp_but_candidates_remain():
    frame = journeys("customer", "activity", "time", "channel").drop(columns="time")

    suggestion = detect_mapping(frame)

    assert suggestion.mapping is None
    assert suggestion.candidates["case_id"][0].column == "customer"
    assert suggestion.candidates["timestamp"] == ()


def test_detection_rejects_a_non_frame():
    with pytest.raises(TypeError):
        detect_mapping([["c1", "visit", "2024-01-01"]])


# --- validate_mapping ---------------------------------------------------------------------------------


def test_valid_mapping_passes():
    frame = journeys("customer", "activity", "time", "channel")

    assert validate_mapping(frame, ColumnMapping("customer", "activity", "time", channel="channel")) is None


def test_unknown_column_suggests_close_names():
    frame = journeys("customer", "activity", "time", "channel")

    with pytest.raises(MappingError) as error:
        validate_mapping(frame, ColumnMapping("Customer", "activty", "time"))

    assert [(problem.column, problem.fix) for problem in error.value.problems] == [
        ("Customer", "Did you mean 'customer'?"),
        ("activty", "Did you mean 'activity'?"),
    ]


def test_unknown_column_without_a_close_name_lists_the_columns():
    frame = journeys("customer", "activity", "time", "channel")

    with pytest.raises(MappingError) as error:
        validate_mapping(frame, ColumnMapping("customer", "activity", "zzz"))

    assert error.value.problems[0].fix.startswith("Choose one of the file's columns: 'customer', 'activity'")


def test_every_problem_is_listed_at_once():
    frame = journeys("customer", "activity", "time", "channel").assign(channel=["", " ", None] * 3)
    mapping = ColumnMapping("client", ("activity", "time"), "time", channel="channel", attributes=("regionn",))

    with pytest.raises(MappingError) as error:
        validate_mapping(frame, mapping)

    assert [problem.message for problem in error.value.problems] == [
        "The case id column does not exist in the file.",
        "The attribute column does not exist in the file.",
        "The column is used 2 times: as activity and timestamp.",
        "The channel column is entirely empty.",
    ]
    assert [problem.column for problem in error.value.problems] == ["client", "regionn", "time", "channel"]


def test_entirely_empty_case_column_is_refused_even_when_typed():
    frame = pd.DataFrame({"case": [np.nan, np.nan], "activity": ["visit", "buy"], "time": ["t1", "t2"]})

    with pytest.raises(MappingError, match="case id column is entirely empty"):
        validate_mapping(frame, ColumnMapping("case", "activity", "time"))


@pytest.mark.parametrize(("filled_from_row", "empty"), [(None, True), (1_500, False), (0, False)])
def test_a_column_is_entirely_empty_only_when_no_row_of_it_is_filled_in(filled_from_row, empty):
    rows = 2_000
    channel = pd.array([" "] * rows, dtype="str")
    if filled_from_row is not None:
        channel[filled_from_row] = "web"  # past the first rows looked at, or among them
    frame = pd.DataFrame(
        {"case": ["c1"] * rows, "activity": ["visit"] * rows, "time": ["t1"] * rows, "channel": channel}
    )

    mapping = ColumnMapping("case", "activity", "time", channel="channel")
    if empty:
        with pytest.raises(MappingError, match="channel column is entirely empty"):
            validate_mapping(frame, mapping)
    else:
        validate_mapping(frame, mapping)


def test_validation_rejects_a_non_mapping():
    with pytest.raises(TypeError):
        validate_mapping(journeys("customer", "activity", "time", "channel"), {"case_id": "customer"})
