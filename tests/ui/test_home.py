"""The home page, loaded as Streamlit runs it: first run stores the demo and shows its real counts."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from data import Settings, Store, load_log
from data.importing import DEMO_SAMPLES, import_demo

TIMEOUT_SECONDS = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_first_run_shows_the_demo_log_summary() -> None:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS).run()
    assert not app.exception
    expected = load_log(DEMO_SAMPLES["telecom"]).frame
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Customers (unique journeys)"] == f"{expected['case_id'].nunique():,}"
    assert metrics["Events"] == f"{len(expected):,}"
    assert metrics["Touchpoints (distinct activities)"] == f"{expected['activity'].nunique():,}"
    stored = app.dataframe[0].value
    assert stored["Log"].tolist() == [d.name for d in Store(Settings.from_env()).datasets()]


def test_a_second_stored_log_can_be_chosen() -> None:
    store = Store(Settings.from_env())
    shop = import_demo(store, "shop")
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS).run()
    app.selectbox[0].select(shop).run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Customers (unique journeys)"] == f"{shop.n_cases:,}"
