"""The import page after a browser reload (a new session opened with the same URL): same file, same choices."""

from __future__ import annotations

import hashlib
import json

import pytest
from streamlit.testing.v1 import AppTest

from data import Settings, Store
from data.importing import import_demo
from tests.ui.apptest import errors, metrics, open_import_page, upload, widget
from tests.ui.test_import_page import JOURNEYS
from ui.import_memory import choices_from_param, choices_to_param
from ui.markup import plain

SHA = hashlib.sha256(JOURNEYS).hexdigest()
COLUMNS = ["client", "etape", "canal", "horodatage"]


def reloaded(app: AppTest) -> AppTest:
    """Open the page again in a new session with the URL the browser shows."""
    return open_import_page(**{name: app.query_params[name] for name in app.query_params})


def test_a_reload_shows_the_same_file_and_every_mapping_choice() -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    widget(app.multiselect, "Touchpoint / activity").set_value(["canal"])
    widget(app.selectbox, "Channel (optional)").select_index(0)  # "(none)"
    widget(app.selectbox, "Time zone of times that carry none").select("Europe/Paris")
    widget(app.button, "Apply the mapping").click().run()
    assert app.query_params["upload"] == SHA

    again = reloaded(app)

    assert not again.exception
    assert not again.file_uploader[0].value
    assert any(plain("journeys.csv") in caption.value and "reloaded" in caption.value for caption in again.caption)
    assert widget(again.multiselect, "Touchpoint / activity").value == ["canal"]
    assert widget(again.selectbox, "Channel (optional)").value is None
    assert widget(again.selectbox, "Time zone of times that carry none").value == "Europe/Paris"
    assert metrics(again)["Touchpoints (distinct activities)"] == "4"  # web, store, app, call center
    assert metrics(again)["Events"] == "5"


def test_a_reload_keeps_the_day_order_and_the_dropped_rows() -> None:
    ambiguous = b"client,etape,horodatage\nc1,visit,03/04/2025 10:00\nc1,buy,05/06/2025 11:00\nc2,buy,never\n"
    app = upload(open_import_page(), "ambiguous.csv", ambiguous)
    app.radio[0].set_value(True).run()
    app.checkbox[0].check().run()
    assert metrics(app)["Invalid rows dropped"] == "1"

    again = reloaded(app)

    assert not again.exception
    assert again.radio[0].value is True
    assert again.checkbox[0].value is True
    assert (metrics(again)["Events"], metrics(again)["Invalid rows dropped"]) == ("2", "1")
    assert any(caption.value.startswith("From 2025-04-03 10:00 to 2025-06-05 11:00 UTC") for caption in again.caption)


def test_saving_after_a_reload_stores_the_log_with_the_choices(store_of_env: Store) -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    widget(app.multiselect, "Touchpoint / activity").set_value(["canal"])
    widget(app.selectbox, "Channel (optional)").select_index(0)  # "(none)"
    widget(app.button, "Apply the mapping").click().run()
    again = reloaded(app)
    widget(again.button, "Save to the store").click().run()
    assert not again.exception
    # Run alone in a process, the store also holds the demo by now (so does test_import_page.py's saving test
    # at 1a341b5, not understood yet): look for this log only.
    (dataset,) = [dataset for dataset in store_of_env.datasets() if dataset.source_name == "journeys.csv"]
    assert (dataset.n_events, dataset.n_activities, dataset.mapping.activity) == (5, 4, ("canal",))


@pytest.mark.slow
def test_choosing_another_log_in_the_sidebar_keeps_the_restored_file(store_of_env: Store) -> None:
    telecom, shop = import_demo(store_of_env, "telecom"), import_demo(store_of_env, "shop")
    app = upload(open_import_page(dataset=telecom.id), "journeys.csv", JOURNEYS)
    again = reloaded(app)
    widget(again.selectbox, "Log").select(shop.id).run()
    assert not again.exception
    assert (again.query_params["dataset"], again.query_params["upload"]) == (shop.id, SHA)
    assert metrics(again)["Events"] == "5"


def test_a_file_removed_from_the_uploader_is_not_shown_again() -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    app.file_uploader[0].set_value(None).run()
    assert not app.exception
    assert "upload" not in app.query_params and "choices" not in app.query_params
    assert not app.metric


@pytest.mark.slow
def test_start_again_forgets_the_restored_file() -> None:
    again = reloaded(upload(open_import_page(), "journeys.csv", JOURNEYS))
    widget(again.button, "Start again without this file").click().run()
    assert not again.exception
    assert "upload" not in again.query_params
    assert not again.metric


def test_a_link_to_an_upload_no_longer_kept_says_to_upload_again() -> None:
    app = open_import_page(upload="0" * 64)
    assert not app.exception
    assert app.info[0].value.startswith("The file uploaded before this page was reloaded is no longer kept")
    assert "upload" not in app.query_params


# One unreadable link in the quick tests; every kind of misfit in .ci/run.
_SLOW = pytest.mark.slow
_MISFITS = [
    "not json",
    pytest.param(
        json.dumps({"file": SHA[:16], "mapping": {"case_id": "secret", "activity": ["etape"], "timestamp": "x"}}),
        marks=_SLOW,
    ),
    pytest.param(
        json.dumps({"file": SHA[:16], "mapping": {"case_id": "client", "activity": 3, "timestamp": "horodatage"}}),
        marks=_SLOW,
    ),
    pytest.param(
        json.dumps(
            {
                "file": SHA[:16],
                "mapping": {
                    "case_id": "client",
                    "activity": ["etape"],
                    "timestamp": "horodatage",
                    "timezone": "**bold**",
                },
            }
        ),
        marks=_SLOW,
    ),
    pytest.param(
        json.dumps(
            {"file": "0" * 16, "mapping": {"case_id": "canal", "activity": ["etape"], "timestamp": "horodatage"}}
        ),
        marks=_SLOW,
    ),
]


@pytest.mark.parametrize("choices", _MISFITS)
def test_choices_that_do_not_fit_the_file_give_way_to_the_detected_mapping(choices: str) -> None:
    app = upload(open_import_page(), "journeys.csv", JOURNEYS)
    app.query_params["choices"] = choices
    again = reloaded(app)
    assert not again.exception
    assert widget(again.selectbox, "Customer / case id").value == "client"
    assert widget(again.selectbox, "Time zone of times that carry none").value != "**bold**"
    assert not errors(again)


def test_choices_travel_as_json_tied_to_their_file() -> None:
    text = choices_to_param(SHA, {"split_after_days": 30.0, "dayfirst": False})
    assert json.loads(text) == {"file": SHA[:16], "split_after_days": 30.0, "dayfirst": False}
    assert choices_from_param(text, SHA, COLUMNS) == {"split_after_days": 30.0, "dayfirst": False}
    assert choices_from_param(text, "f" * 64, COLUMNS) == {}
    assert choices_from_param(choices_to_param(SHA, {"split_after_days": -1}), SHA, COLUMNS) == {}


def test_the_restored_files_name_is_shown_as_text() -> None:
    app = upload(open_import_page(), "[x](javascript:alert) **b**.csv", JOURNEYS)
    again = reloaded(app)
    assert not again.exception
    caption = next(caption.value for caption in again.caption if "reloaded" in caption.value)
    assert plain("[x](javascript:alert) **b**.csv") in caption


@pytest.fixture
def store_of_env() -> Store:
    return Store(Settings.from_env())
