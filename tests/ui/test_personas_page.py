"""The Personas page, run as Streamlit runs it, and its pure builders: runs found, explained, profiled, saved and
filtered by."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Filters, Settings, Store
from discovery import JourneyDefinition, Outcomes, definition_of, save_definition, stage_kpis
from segmentation import PERSONAS_KIND, FoundPersonas, PersonaRun, find_personas, persona_profiles, save_run
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics, open_home, widget
from ui.downloads import to_csv_bytes
from ui.markup import plain
from ui.personas import (
    attribute_lines,
    churn_text,
    events_text,
    evidence_table,
    journey_text,
    overview_table,
    selection_caption,
    signature_table,
    stage_table,
)

PAGE = "pages/5_Personas.py"
# A small selection of the demo (one plan) keeps each clustering to a few seconds.
FIBRE = {"attr.plan": '["Fibre + Mobile"]'}
FIBRE_FILTERS = Filters(attributes={"plan": {"Fibre + Mobile"}})


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def open_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def library_personas(store: Store, dataset_id: str, filters: Filters, k: int | None):
    with store.engine(dataset_id) as engine:
        definition = definition_of(store, dataset_id, engine)[0]
        found = find_personas(engine, filters, definition=definition, k=k)
        profiles = persona_profiles(engine, found.case_ids, found.labels, definition=definition, filters=filters)
    return found, profiles


def shown_text(app: AppTest) -> str:
    return "\n".join(element.value for element in [*app.markdown, *app.caption, *app.metric])


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]
    assert not app.metric


def test_found_personas_show_the_librarys_figures_and_once_saved_filter_every_page(
    demo_copy: tuple[Store, Dataset],
) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id, **FIBRE)
    assert app.info[0].value.startswith("Choose how many personas")
    app.toggle(key="auto_k").set_value(False).run()
    app.number_input(key="k").set_value(2).run()
    app.button(key=f"personas-find-{demo.id}").click().run()
    assert not app.exception

    found, profiles = library_personas(store, demo.id, FIBRE_FILTERS, 2)
    shown = [(metric.label, metric.value) for metric in app.metric]
    assert shown[:2] == [("Customers (unique journeys)", f"{len(found.case_ids):,}"), ("Personas", "2")]
    card_customers = [value for label, value in shown[3:] if label == "Customers (unique journeys)"]
    assert card_customers == [f"{count:,}" for count in profiles.table["customers"]]
    overview = next(frame.value for frame in app.dataframe if "Persona" in frame.value)
    assert overview["Persona"].tolist() == profiles.table["name"].tolist()
    assert overview["Conversion"].tolist() == [f"{100 * rate:.1f} %" for rate in profiles.table["conversion_rate"]]
    assert overview["Share of customers (%)"].tolist() == [round(100 * share, 1) for share in profiles.table["share"]]
    evidence = next(frame.value for frame in app.dataframe if "Personas (k)" in frame.value)
    assert evidence["Personas (k)"].tolist() == [2] and evidence["Kept"].tolist() == ["✔ kept"]
    text = shown_text(app)
    assert not re.search(r"\bnan\b|\binf\b|infinity", text, re.IGNORECASE)
    # Every card has an attribute profile (labels escaped for Markdown): the demo's age bands, revenue …
    assert text.count(plain("age_band:")) == text.count(plain("revenue_eur:")) == 2

    [text for text in app.text_input if text.label == "Persona name"][1].input("Fibre families").run()
    widget(app.text_input, "Run name").input("Fibre 2025")
    widget(app.button, "Save personas").click().run()
    assert not app.exception
    saved = store.annotation(demo.id, PERSONAS_KIND, "Fibre 2025")
    assert (saved["k"], saved["seed"], saved["algorithm"], saved["selection"]) == (2, 0, "kmeans", FIBRE)
    assert saved["names"] == {"0": profiles.table["name"][0], "1": "Fibre families"}
    assert saved["definition"]["goal"] == list(definition_of(store, demo.id)[0].goal)

    home = open_home(dataset=demo.id, persona="Fibre 2025:1")
    assert not home.exception
    assert widget(home.selectbox, "Persona").value == "Fibre 2025:1"
    assert metrics(home)["Customers (unique journeys)"] == f"{int((found.labels == 1).sum()):,}"
    assert home.query_params["persona"] == "Fibre 2025:1"

    # The saved run's name in the Personas page's link reopens it, with its settings.
    again = open_page(dataset=demo.id, run="Fibre 2025", persona_map="Fibre families", **FIBRE)
    assert not again.exception
    assert metrics(again)["Personas"] == "2"
    assert again.selectbox(key="run").value == "Fibre 2025"
    assert again.selectbox(key="persona_map").value == 1


def test_the_page_explains_how_many_personas_were_kept(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id, **FIBRE)
    app.button(key=f"personas-find-{demo.id}").click().run()
    assert not app.exception
    found, _profiles = library_personas(store, demo.id, FIBRE_FILTERS, None)
    assert metrics(app)["Personas"] == str(found.n_clusters)
    evidence = next(frame.value for frame in app.dataframe if "Personas (k)" in frame.value)
    assert evidence["Personas (k)"].tolist() == list(range(2, 9))
    assert evidence["Stability"].tolist() == [round(found.stability_by_k[k], 2) for k in range(2, 9)]
    assert any("smallest whose silhouette" in caption.value for caption in app.caption)


def test_a_card_without_a_goal_shows_dashes_and_says_why_below_them(demo_copy: tuple[Store, Dataset]) -> None:
    # "no goal chosen" as a metric's value was cut to "no goal cho…" on a half-page card (the receipt log).
    store, demo = demo_copy
    with store.engine(demo.id) as engine:
        suggested = definition_of(store, demo.id, engine)[0]
    save_definition(store, demo.id, replace(suggested, goal=()))
    app = open_page(dataset=demo.id, **FIBRE)
    app.toggle(key="auto_k").set_value(False).run()
    app.number_input(key="k").set_value(2).run()
    app.button(key=f"personas-find-{demo.id}").click().run()
    assert not app.exception
    rates = [metric.value for metric in app.metric if metric.label in ("Conversion", "Churn")]
    assert rates == ["—"] * 4
    reasons = [caption.value for caption in app.caption if caption.value.startswith("Conversion: ")]
    assert reasons == ["Conversion: no goal chosen · Churn: no goal chosen"] * 2


def test_a_link_to_a_persona_no_longer_saved_shows_everyone(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    save_run(store, demo.id, "Other", PersonaRun(2, 0, "kmeans", names={0: "A", 1: "B"}))
    app = open_home(dataset=demo.id, persona="Gone:0")
    assert not app.exception
    assert any("The persona named in this link is no longer saved" in warning.value for warning in app.warning)
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"
    assert "persona" not in app.query_params


def test_signature_table_names_paths_with_an_arrow_keeps_one_persona_and_gives_shares_in_percent() -> None:
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
        {"Path": "call → cancel", "Customers": 3, "Persona (%)": 30.0, "Others (%)": 10.0, "Lift": 3.0}
    ]


PROFILE_ROW = pd.Series(
    {
        "name": "App-first · browse",
        "customers": 40,
        "share": 0.25,
        "converted": 10,
        "converted_then_churned": 2,
        "churned": 3,
        "censored": 25,
        "has_goal": True,
        "conversion_rate": 0.3,
        "churn_rate": pd.NA,
        "median_duration_seconds": 3.5 * 3600,
        "median_events": 4.0,
        "dominant_channels": ("app", "email"),
        "typical_journey": (),
        "typical_journey_customers": 0,
        "typical_journey_share": 0.0,
    }
)
COMMON = pd.DataFrame({"persona": [0, 0], "source": ["a", "b"], "target": ["b", "c"], "share": [0.64, 0.5]})


def test_the_overview_gives_rates_in_percent_durations_in_words_and_never_nan() -> None:
    table = overview_table(pd.DataFrame([PROFILE_ROW], index=[0]), COMMON)
    row = table.iloc[0].to_dict()
    assert row["Share of customers (%)"] == 25.0
    assert row["Conversion"] == "30.0 %"
    assert row["Churn"] == "cannot be estimated"
    assert row["Still open (%)"] == 62.5
    assert row["Median journey duration"] == "3.5 hours"
    assert row["Typical journey"] == (
        "No single journey is followed by 10.0 % of them; their most common steps: a → b (64.0 %); b → c (50.0 %)"
    )
    csv = to_csv_bytes(table).decode("utf-8-sig")
    assert not re.search(r"\bnan\b|\binf\b|infinity", csv, re.IGNORECASE)


def test_a_typical_journey_says_how_many_follow_it() -> None:
    row = PROFILE_ROW.copy()
    row[["typical_journey", "typical_journey_customers", "typical_journey_share"]] = (("a", "b"), 9, 0.225)
    assert journey_text(row, COMMON) == "Typical journey, followed by 22.5 % of them (9 customers): a → b"


def test_churn_that_cannot_be_estimated_says_how_many_are_still_open() -> None:
    outcomes = Outcomes(journeys=40, converted=10, converted_then_churned=2, churned=3, censored=25)
    assert math.isnan(outcomes.churn_rate)
    assert churn_text(outcomes.churn_rate, outcomes) == "cannot be estimated (62.5 % still open)"
    assert churn_text(0.125) == "12.5 %"


def test_without_a_goal_churn_says_so_not_that_it_cannot_be_estimated() -> None:
    outcomes = Outcomes(journeys=40, converted=0, converted_then_churned=0, churned=30, censored=10, has_goal=False)
    assert math.isnan(outcomes.churn_rate)  # it would be 30 of 30 decided: 100 %
    assert churn_text(outcomes.churn_rate, outcomes) == "no goal chosen"
    assert churn_text(math.nan, has_goal=False) == "no goal chosen"


def test_attribute_lines_follow_each_attributes_role() -> None:
    attributes = pd.DataFrame(
        {
            "persona": [0] * 7,
            "attribute": ["age_band", "age_band", "revenue", "revenue", "revenue", "nps", "satisfaction"],
            "role": ["category", "category", "amount", "amount", "amount", "score (NPS)", "score (CSAT)"],
            "figure": ["25-34", "35-44", "total", "per customer", "per event", "NPS", "share satisfied"],
            "value": [0.41, 0.3, 12300.0, 41.0, 20.5, -16.8, 0.78],
            "values": [300, 300, 600, 600, 600, 120, 200],
        }
    )
    assert attribute_lines(attributes, 0) == [
        "age_band: 25-34 41.0 %, 35-44 30.0 % (of 300 customers)",
        "revenue: 12,300.00 in total, 41.00 per customer",
        "nps: NPS -17 (promoters − detractors, 120 values)",
        "satisfaction: 78.0 % satisfied (200 values)",
    ]


def test_stage_table_shows_both_readings_of_reaching_a_stage(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    with store.engine(demo.id) as engine:
        kpis = stage_kpis(engine, definition_of(store, demo.id, engine)[0])
    table = stage_table(kpis)
    assert table["Got at least this far"].tolist() == kpis.table["customers"].tolist()
    assert table["Did a step of it"].tolist() == kpis.table["did_stage"].tolist()
    assert not table["Median time to reach"].str.contains("nan").any()


def test_the_evidence_table_marks_the_number_kept() -> None:
    found = FoundPersonas(
        pd.Index(["a", "b", "c"]), np.array([0, 1, 1]), 3, {2: 0.2, 3: 0.3}, {2: 0.51, 3: 0.987}, None
    )
    assert evidence_table(found).to_dict("records") == [
        {"Personas (k)": 2, "Silhouette": 0.2, "Stability": 0.51, "Kept": ""},
        {"Personas (k)": 3, "Silhouette": 0.3, "Stability": 0.99, "Kept": "✔ kept"},
    ]


@pytest.mark.parametrize(("count", "shown"), [(1, "1 event"), (1.5, "1.5 events"), (20, "20 events")])
def test_a_journey_length_is_said_in_the_right_number(count: float, shown: str) -> None:
    assert events_text(count) == shown


def test_the_selection_caption_writes_attribute_values_as_they_are_in_the_data() -> None:
    caption = selection_caption(Filters(attributes={"plan": {"Mobile 10GB"}}), JourneyDefinition())
    assert caption.startswith(plain("Customers whose plan is Mobile 10GB."))
