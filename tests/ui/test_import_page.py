"""The Import & data quality page, run as Streamlit runs it, from the upload to the stored dataset."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from data import Dataset, FirstLook, Settings, Store, load_log
from data.importing import import_file
from tests.conftest import DATASETS
from tests.data.corpus import XXE_XES
from tests.data.test_large_uploads import EVENTS, journeys_csv
from tests.ui.apptest import errors, metrics, open_import_page, upload, widget
from ui import importing as ui_importing
from ui.markup import plain

COMPLAINTS = DATASETS / "bpic16-complaints" / "BPI2016_Complaints.csv"
JOURNEYS = b"""client;etape;canal;horodatage
c1;visit;web;2025-01-06 09:00
c1;buy;store;2025-01-07 10:00
c2;visit;app;2025-01-06 11:00
c2;call;call center;2025-01-08 12:00
c2;buy;store;2025-01-09 13:00
"""


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def test_before_an_upload_the_page_says_what_it_accepts() -> None:
    app = open_import_page()
    assert not app.exception
    assert app.file_uploader[0].allowed_type == [
        ".csv",
        ".tsv",
        ".txt",
        ".gz",
        ".xlsx",
        ".parquet",
        ".jsonl",
        ".ndjson",
        ".xes",
    ]
    assert any("At most 500 MB per file" in caption.value for caption in app.caption)
    assert "No log is stored yet." in [caption.value for caption in app.sidebar.caption]


def test_a_stored_log_stays_chosen_in_the_sidebar_while_importing(demo_copy: tuple[Store, Dataset]) -> None:
    _, demo = demo_copy
    app = open_import_page(dataset=demo.id)
    assert not app.exception
    assert widget(app.selectbox, "Log").value == demo.id


def test_the_form_proposes_the_detected_mapping_and_the_log_counts() -> None:
    app = upload(open_import_page(), COMPLAINTS.name, COMPLAINTS.read_bytes())
    assert not app.exception
    assert widget(app.selectbox, "Customer / case id").value == "CustomerID"
    assert widget(app.multiselect, "Touchpoint / activity").value == ["ComplaintTopic_EN"]
    assert widget(app.selectbox, "Time").value == "ContactDate"
    assert widget(app.selectbox, "Channel (optional)").value == "ContactChannelID"
    expected = load_log(COMPLAINTS).quality
    assert metrics(app) == {
        "Customers (unique journeys)": f"{expected.cases:,}",
        "Events": f"{expected.events:,}",
        "Touchpoints (distinct activities)": f"{expected.activities:,}",
        "Invalid rows dropped": "0",
    }
    (findings,) = [table.value for table in app.dataframe if "Finding" in table.value.columns]
    single = expected.findings[0]
    assert findings.loc[0, ["Finding", "Count", "Example rows"]].tolist() == [
        single.message,
        single.count,
        ", ".join(map(str, single.examples)),
    ]
    behind_first = [table.value for table in app.dataframe if "CustomerID" in table.value.columns][1]
    assert behind_first["Row"].tolist() == list(single.examples)


def test_an_edited_mapping_applies_when_the_form_is_submitted() -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    widget(app.multiselect, "Touchpoint / activity").set_value(["canal"])
    widget(app.selectbox, "Channel (optional)").select_index(0)  # "(none)"
    widget(app.button, "Apply the mapping").click().run()
    assert not app.exception
    assert metrics(app)["Touchpoints (distinct activities)"] == "4"  # web, store, app, call center


def test_saving_stores_the_log_and_links_its_map_and_home_with_it_selected(store: Store) -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    widget(app.text_input, "Name").input("First week").run()
    widget(app.button, "Save to the store").click().run()
    assert not app.exception
    (dataset,) = store.datasets()
    assert (dataset.name, dataset.n_events, dataset.n_cases) == ("First week", 5, 2)
    stored = plain("Stored as “First week”: 5 events of 2 customers (3 touchpoints).")
    assert [success.value for success in app.success][-1] == stored
    links = [(link.value, link.proto.page, link.proto.query_string) for link in app.main.get("page_link")]
    assert links == [
        ("Open its journey map", "Journey_map", f"dataset={dataset.id}"),
        ("Open it on the home page", "", f"dataset={dataset.id}"),
    ]
    assert app.query_params["dataset"] == dataset.id


def test_garbage_timestamps_list_every_bad_row_and_offer_to_drop_them() -> None:
    garbage = JOURNEYS.replace(b"2025-01-07 10:00", b"tomorrow").replace(b"2025-01-09 13:00", b"")
    app = upload(open_import_page(), "journeys.csv", garbage)
    assert not app.exception
    assert errors(app) == ["2 problems: each row below says where one is and how to fix it."]
    problems = app.dataframe[-1].value
    assert problems[["Row", "Column", "Value"]].to_dict("list") == {
        "Row": [3, 6],
        "Column": ["horodatage", "horodatage"],
        "Value": ["tomorrow", ""],
    }
    assert not app.metric
    (drop,) = app.checkbox
    assert drop.label == "Drop invalid rows: skip these 2 row(s) and import the other 3 events"
    drop.check().run()
    assert (metrics(app)["Events"], metrics(app)["Invalid rows dropped"]) == ("3", "2")


def test_ambiguous_dates_ask_the_order_then_read_them_that_way() -> None:
    ambiguous = b"client,etape,horodatage\nc1,visit,03/04/2025 10:00\nc1,buy,05/06/2025 11:00\n"
    app = upload(open_import_page(), "ambiguous.csv", ambiguous)
    assert not app.exception
    assert errors(app)[0].startswith("Dates in this column could be day/month or month/day: '03/04/2025 10:00'")
    (order,) = app.radio
    assert order.options == ["Day first (31/12/2025)", "Month first (12/31/2025)"]
    order.set_value(True).run()
    assert not errors(app)
    assert any(caption.value.startswith("From 2025-04-03 10:00 to 2025-06-05 11:00 UTC") for caption in app.caption)


def test_an_xes_file_with_a_doctype_is_refused_with_the_fix() -> None:
    app = upload(open_import_page(), "complaints.xes", XXE_XES)
    assert not app.exception
    assert errors(app) == [
        "The XES file declares a DOCTYPE or entities, which can read server files or expand without end."
    ]
    assert app.dataframe[-1].value["Fix"].tolist() == ["Export the log again without a DOCTYPE: XES needs none."]
    assert not app.get("form")


def test_a_configured_sql_source_is_read_by_table_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE touchpoints (client TEXT, etape TEXT, horodatage TEXT)")
        connection.executemany(
            "INSERT INTO touchpoints VALUES (?, ?, ?)",
            [("c1", "visit", "2025-01-06 09:00"), ("c1", "buy", "2025-01-07 10:00")],
        )
    monkeypatch.setenv("PARCOURS_SQL_SOURCES", f'{{"crm": "sqlite:///{database}"}}')
    app = open_import_page()
    widget(app.radio, "Where is the log?").set_value("A configured database").run()
    assert not app.get("text_area") and widget(app.selectbox, "Source").options == ["crm"]
    widget(app.text_input, "Table or view").input("touchpoints").run()
    widget(app.button, "Read from the database").click().run()
    assert not app.exception
    assert metrics(app)["Events"] == "2"


def test_a_hostile_sql_view_is_stopped_in_the_child_and_the_page_reads_the_next_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE touchpoints (client TEXT, etape TEXT, horodatage TEXT)")
        connection.execute("INSERT INTO touchpoints VALUES ('c1', 'visit', '2025-01-06 09:00')")
        connection.execute(
            "CREATE VIEW endless AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) "
            "AS c FROM n"
        )
    monkeypatch.setenv("PARCOURS_SQL_SOURCES", f'{{"crm": "sqlite:///{database}"}}')
    monkeypatch.setenv("PARCOURS_SQL_TIMEOUT_SECONDS", "1")
    app = open_import_page()
    widget(app.radio, "Where is the log?").set_value("A configured database").run()
    widget(app.text_input, "Table or view").input("endless").run()
    widget(app.button, "Read from the database").click().run()
    assert not app.exception
    shown = [*errors(app), *(str(cell) for table in app.dataframe for cell in table.value.to_numpy().ravel())]
    assert any("ran longer than the 1 s" in text for text in shown)
    widget(app.text_input, "Table or view").input("touchpoints").run()
    widget(app.button, "Read from the database").click().run()
    assert not app.exception
    assert metrics(app)["Events"] == "1"


ECOMMERCE = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "ecommerce_utc.csv"


def test_times_ending_in_utc_parse_as_the_caption_says_and_import() -> None:
    app = upload(open_import_page(), ECOMMERCE.name, ECOMMERCE.read_bytes())
    assert not app.exception
    assert widget(app.selectbox, "Time").value == "event_time"
    reason = plain("event_time: name 'event_time' means timestamp; 100% of values parse as dates (ISO8601).")
    assert reason in [caption.value for caption in app.caption]
    assert metrics(app)["Events"] == "17"
    assert any(caption.value.startswith("From 2019-10-01 00:00 to 2019-10-01 02:40 UTC") for caption in app.caption)


def test_a_format_pandas_cannot_use_is_shown_as_a_fix_not_a_crash() -> None:
    app = upload(open_import_page(), ECOMMERCE.name, ECOMMERCE.read_bytes())
    widget(app.text_input, "Timestamp format").input("%Q")
    widget(app.button, "Apply the mapping").click().run()
    assert not app.exception
    assert errors(app) == ["'%Q' is not a strptime format pandas can read ('Q' is a bad directive in format '%Q')."]
    assert not app.metric


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as a Parquet file's bytes, as an upload sends them."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


TYPED = pd.DataFrame(
    {
        "client": ["c1", "c1", "c2", "c2", "c2"],
        "etape": ["visit", "buy", "visit", "call", "buy"],
        "canal": ["web", "store", "app", "call center", "store"],
        "horodatage": pd.to_datetime(
            ["2025-01-06 09:00", "2025-01-07 10:00", "2025-01-06 11:00", "2025-01-08 12:00", "2025-01-09 13:00"],
            utc=True,
        ),
        "montant": [0.0, 29.9, 0.0, 0.0, 49.9],
    }
)


def test_a_typed_parquet_file_is_checked_and_stored_by_duckdb_never_read_whole_here(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Read whole into pandas, checked and stored, 10M events took 68 s and 4.9 GB of the server's memory.
    monkeypatch.setattr(ui_importing, "read_upload", _never_read_whole)
    first_looks: list[FirstLook] = []
    drawing = ui_importing.show_first_look

    def drawn_while_importing(slot: object, look: FirstLook) -> None:
        first_looks.append(look)
        drawing(slot, look)

    monkeypatch.setattr(ui_importing, "show_first_look", drawn_while_importing)
    content = parquet_bytes(TYPED)
    app = upload(open_import_page(), "journeys.parquet", content)
    assert not app.exception
    assert widget(app.selectbox, "Customer / case id").value == "client"
    assert not app.metric  # no report before the rows are checked
    widget(app.text_input, "Name").input("Typed week").run()
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    (dataset,) = store.datasets()
    assert (dataset.name, dataset.n_events, dataset.n_cases) == ("Typed week", 5, 2)
    stored = plain("Stored as “Typed week”: 5 events of 2 customers (3 touchpoints).")
    assert [success.value for success in app.success][-1] == stored
    assert app.query_params["dataset"] == dataset.id
    (look,) = first_looks  # drawn while the import went on, once its events were sorted
    assert (look.cases, look.events, len(look.touchpoints)) == (2, 5, 3)
    assert [link.value for link in app.main.get("page_link")][-2:] == [
        "Open its journey map",
        "Open it on the home page",
    ]
    assert any(text.value.startswith("**Data quality** · ") for text in app.markdown)
    # the rows behind each finding, read from the stored file by their number, as the whole file's page shows them
    behind = [table.value for table in app.dataframe if "Row" in table.value.columns]
    assert [table["Row"].tolist() for table in behind] == [list(found.examples) for found in dataset.quality.findings]
    for table in behind:
        expected = TYPED.iloc[table["Row"] - 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(table.drop(columns="Row"), expected, check_dtype=False)
    # the same dataset as `python -m data import` makes of the file, with the mapping the form proposed
    (path := tmp_path / "journeys.parquet").write_bytes(content)
    again = import_file(path, store=store, mapping=dataset.mapping)
    assert again.id == dataset.id


def test_a_parquet_file_with_a_bad_row_past_the_preview_is_named_and_dropped_without_reading_it_here(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The preview shows the first 20,000 rows; DuckDB checks every row and leaves one without a customer to the
    # row-by-row checks in the same child, which name it; the page offers to drop it and stores the others.
    monkeypatch.setattr(ui_importing, "read_upload", _never_read_whole)
    many = pd.concat([TYPED] * 4_001, ignore_index=True).assign(
        client=lambda frame: frame["client"] + frame.index.astype(str)
    )
    many.loc[len(many) - 1, "client"] = " "
    app = upload(open_import_page(), "journeys.parquet", parquet_bytes(many))
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    assert not store.datasets()
    assert app.dataframe[-1].value["Row"].tolist() == [len(many) + 1]  # the spreadsheet's row, below the header
    (drop,) = app.checkbox
    assert drop.label == "Drop invalid rows: skip these 1 row(s) and import the others"
    drop.check().run()
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    (dataset,) = store.datasets()
    assert (dataset.n_events, dataset.options["dropped_rows"]) == (len(many) - 1, 1)
    assert [success.value for success in app.success][-1].startswith(plain("Stored as “journeys.parquet”"))


def test_a_large_csv_is_previewed_then_checked_and_stored_in_a_child_never_held_whole_here(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Past PARCOURS_WHOLE_UPLOAD_ROWS the server gets the first rows only; the rows are checked where they are stored.
    monkeypatch.setenv("PARCOURS_WHOLE_UPLOAD_ROWS", "1000")
    monkeypatch.setattr(ui_importing, "build_log", _never_checked_here)
    bad = EVENTS - 5
    content = journeys_csv(bad_row=bad)
    app = upload(open_import_page(), "journeys.csv", content)
    assert not app.exception
    assert widget(app.selectbox, "Customer / case id").value == "client"
    assert not app.metric
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    assert not store.datasets()
    assert app.dataframe[-1].value["Row"].tolist() == [bad + 2]  # past the preview, named by its spreadsheet row
    (drop,) = app.checkbox
    drop.check().run()
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    (dataset,) = store.datasets()
    assert (dataset.n_events, dataset.options["dropped_rows"]) == (EVENTS - 1, 1)
    assert [success.value for success in app.success][-1] == plain(
        f"Stored as “journeys.csv”: {EVENTS - 1:,} events of {dataset.n_cases:,} customers (3 touchpoints)."
    )
    # the rows behind each finding, as the file has them; the same dataset as `python -m data import` makes
    behind = [table.value for table in app.dataframe if "Row" in table.value.columns]
    assert [table["Row"].tolist() for table in behind] == [list(found.examples) for found in dataset.quality.findings]
    rows = pd.read_csv(io.BytesIO(content), sep=";", dtype=str, keep_default_na=False)
    for table in behind:
        expected = rows.iloc[table["Row"] - 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(table.drop(columns="Row"), expected, check_dtype=False)
    (path := tmp_path / "journeys.csv").write_bytes(content)
    again = import_file(path, store=store, mapping=dataset.mapping, drop_invalid_rows=True)
    assert again.id == dataset.id


def test_a_large_csv_mapped_to_the_wrong_time_column_is_refused_without_offering_to_drop_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_WHOLE_UPLOAD_ROWS", "1000")
    app = upload(open_import_page(), "journeys.csv", journeys_csv(events=3_000))
    widget(app.selectbox, "Channel (optional)").select_index(0)
    widget(app.selectbox, "Time").set_value("canal")
    widget(app.button, "Apply the mapping").click().run()
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    assert errors(app) == ["5 problems: each row below says where one is and how to fix it."]
    problems = app.dataframe[-1].value["Problem"]
    assert problems.str.startswith("3,000 of 3,000 timestamps cannot be read: no format fits them").all()
    assert not app.checkbox  # dropping rows would not mend a wrong column
    assert not store.datasets()


def test_a_large_csv_with_ambiguous_dates_asks_their_order_then_stores_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_WHOLE_UPLOAD_ROWS", "10")
    steps = ("visit", "call", "quote", "buy")
    lines = [f"C{index // 4:04d},{steps[index % 4]},0{1 + index % 4}/0{1 + index // 4 % 9}/2025" for index in range(40)]
    app = upload(open_import_page(), "journeys.csv", "\n".join(["client,etape,horodatage", *lines]).encode())
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    assert not store.datasets()
    order = widget(app.radio, "The dates could be read both ways: which order does this file use?")
    order.set_value(True).run()
    widget(app.button, "Check every row and save to the store").click().run()
    assert not app.exception
    (dataset,) = store.datasets()
    assert dataset.mapping.dayfirst is True
    assert dataset.n_events == 40


def _never_read_whole(path: str, sha256: str, name: str) -> None:
    raise AssertionError(f"{name} was read whole into the server")


def _never_checked_here(*_args: object) -> None:
    raise AssertionError("the whole log was checked through the server")
