"""The Personas page, run as Streamlit runs it, and its pure builders: runs found, profiled, saved and filtered by."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Filters, LogError, Settings, Store
from data.importing import import_demo
from discovery import ChurnDefinition, journey_outcomes, suggest_stages
from segmentation import Personas, customer_features, persona_profiles
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics, open_home, widget
from ui.params import persona_from_param, persona_to_param
from ui.personas import checked_names, events_text, persona_options, run_payload, signature_table

PAGE = "pages/5_Personas.py"
# A small selection of the demo (one plan) keeps each clustering to a few seconds.
FIBRE = {"attr.plan": '["Fibre + Mobile"]'}


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def open_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def library_personas(store: Store, dataset_id: str, filters: Filters, k: int):
    with store.engine(dataset_id) as engine:
        features = customer_features(engine, filters)
        model = Personas(k=k, random_state=0).fit(features.matrix)
        outcomes = journey_outcomes(engine, suggest_stages(engine), ChurnDefinition(), filters)
        profiles = persona_profiles(engine, features.case_ids, model.labels_, outcomes=outcomes, filters=filters)
    return features, model, profiles


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.get("page_link")] == ["Import a log"]
    assert not app.metric


def test_found_personas_show_the_librarys_figures_and_once_saved_filter_every_page(store: Store) -> None:
    demo = import_demo(store)
    app = open_page(dataset=demo.id, **FIBRE)
    assert app.info[0].value.startswith("Choose how many personas")
    app.toggle(key=f"personas-auto-{demo.id}").set_value(False).run()
    app.number_input(key=f"personas-k-{demo.id}").set_value(2).run()
    app.button(key=f"personas-find-{demo.id}").click().run()
    assert not app.exception

    features, model, profiles = library_personas(store, demo.id, Filters(attributes={"plan": {"Fibre + Mobile"}}), 2)
    shown = [(metric.label, metric.value) for metric in app.metric]
    assert shown[:2] == [("Customers (unique journeys)", f"{len(features.case_ids):,}"), ("Personas", "2")]
    card_customers = [value for label, value in shown[3:] if label == "Customers (unique journeys)"]
    assert card_customers == [f"{count:,}" for count in profiles.table["customers"]]
    overview = next(frame.value for frame in app.dataframe if "Persona" in frame.value)
    assert overview["Persona"].tolist() == profiles.table["name"].tolist()
    assert overview["Conversion rate"].tolist() == pytest.approx(profiles.table["conversion_rate"].tolist())

    [text for text in app.text_input if text.label == "Persona name"][1].input("Fibre families").run()
    widget(app.text_input, "Run name").input("Fibre 2025")
    widget(app.button, "Save personas").click().run()
    assert not app.exception
    saved = store.annotation(demo.id, "personas", "Fibre 2025")
    assert (saved["k"], saved["seed"], saved["algorithm"], saved["selection"]) == (2, 0, "kmeans", FIBRE)
    assert saved["names"] == {"0": profiles.table["name"][0], "1": "Fibre families"}

    home = open_home(dataset=demo.id, persona="Fibre 2025:1")
    assert not home.exception
    assert widget(home.selectbox, "Persona").value == "Fibre 2025:1"
    assert metrics(home)["Customers (unique journeys)"] == f"{int((model.labels_ == 1).sum()):,}"
    assert home.query_params["persona"] == "Fibre 2025:1"


def test_a_link_to_a_persona_no_longer_saved_shows_everyone(store: Store) -> None:
    demo = import_demo(store)
    store.save_annotation(demo.id, "personas", "Other", run_payload(2, 0, "kmeans", {0: "A", 1: "B"}, {}))
    app = open_home(dataset=demo.id, persona="Gone:0")
    assert not app.exception
    assert "The persona named in this link is no longer saved" in app.warning[0].value
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"
    assert "persona" not in app.query_params


def test_a_persona_parameter_names_the_run_and_the_label_even_with_colons_in_the_run() -> None:
    assert persona_from_param(persona_to_param("Q1: spring", 3)) == ("Q1: spring", 3)
    with pytest.raises(LogError):
        persona_from_param("spring")


def test_persona_options_list_every_persona_of_every_run_in_label_order() -> None:
    runs = {"Spring": {"names": {"10": "Late", "2": "Early"}}, "Summer": {"names": {"0": "Only"}}}
    assert persona_options(runs) == {
        "Spring:2": "Spring · Early",
        "Spring:10": "Spring · Late",
        "Summer:0": "Summer · Only",
    }


def test_blank_and_repeated_persona_names_are_all_refused() -> None:
    with pytest.raises(LogError) as refused:
        checked_names({0: " ", 1: "Shoppers", 2: "Shoppers "})
    assert [problem.message for problem in refused.value.problems] == [
        "A persona needs a name.",
        "Two personas have this name.",
    ]
    assert checked_names({0: " Shoppers "}) == {0: "Shoppers"}


def test_signature_table_names_paths_with_an_arrow_and_keeps_one_persona() -> None:
    paths = pd.DataFrame(
        {
            "persona": [0, 1],
            "source": ["visit", "call"],
            "target": ["buy", "cancel"],
            "customers": [8, 3],
            "share": [0.8, 0.3],
            "others_share": [0.2, 0.1],
            "lift": [4.0, 3.0],
        }
    )
    table = signature_table(paths, 1)
    assert table.to_dict("records") == [
        {"Path": "call → cancel", "Customers": 3, "Share of persona": 0.3, "Share of others": 0.1, "Lift": 3.0}
    ]


@pytest.mark.parametrize(("count", "shown"), [(1, "1 event"), (1.5, "1.5 events"), (20, "20 events")])
def test_a_journey_length_is_said_in_the_right_number(count: float, shown: str) -> None:
    assert events_text(count) == shown
