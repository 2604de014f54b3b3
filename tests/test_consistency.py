"""One journey definition, one set of numbers: every headline figure is the same on every page, in every CLI and
through the API, for the suggested definition and for a saved one, with and without a filter.

The headline figures are the conversion rate, the churn rate, the journeys still open (censored), the customers who
got at least as far as each stage and the drop-off between stages.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import discovery.__main__ as discovery_cli
import segmentation.__main__ as segmentation_cli
from data import Dataset, Filters, Store
from discovery import (
    OUTCOMES,
    ChurnRule,
    JourneyDefinition,
    Outcomes,
    definition_of,
    outcome_counts,
    save_definition,
    stage_kpis,
    variant_table,
)
from segmentation import compare_segments, persona_profiles
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics
from ui.definition import outcome_sentence
from ui.markup import plain

STAGES_PAGE = "pages/4_Stages_funnel_and_churn.py"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> None:
    """Each test has a home of its own, and Streamlit's caches (the store among them) outlive one AppTest run."""
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(params=["suggested", "saved"])
def demo(request: pytest.FixtureRequest, demo_copy: tuple[Store, Dataset]):
    """The demo with its suggested definition, or with a saved one that differs from it (a 30-day window, an
    empty stage, a goal that includes an upgrade)."""
    store, dataset = demo_copy
    if request.param == "saved":
        suggested, _ = definition_of(store, dataset.id)
        model = suggested.stages.with_overrides(dict.fromkeys(suggested.stages.activities_in("loyalty")))
        changed = JourneyDefinition(
            (*suggested.goal, "upgrade_plan"), model, ChurnRule(suggested.churn.touchpoints, 30)
        )
        save_definition(store, dataset.id, changed)
    return store, dataset


def open_page(page: str | None = None, **query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return (app.switch_page(page) if page else app).run()


def api_figures(store: Store, dataset: Dataset, filters: Filters) -> tuple[Outcomes, list[int], list[int]]:
    definition, _ = definition_of(store, dataset.id)
    with store.engine(dataset.id) as engine:
        table = stage_kpis(engine, definition, filters).table
        return outcome_counts(engine, definition, filters), table["customers"].tolist(), table["drop_off"].tolist()


@pytest.mark.parametrize(
    "filters", [Filters(), pytest.param(Filters(channels={"store"}), marks=pytest.mark.slow)], ids=["everyone", "store"]
)
def test_every_page_cli_and_the_api_give_the_same_headline_figures(
    demo: tuple[Store, Dataset], filters: Filters, capsys: pytest.CaptureFixture
) -> None:
    store, dataset = demo
    outcomes, reached, dropped = api_figures(store, dataset, filters)
    query = {"dataset": dataset.id, **({"channels": '["store"]'} if filters.channels else {})}

    home = open_page(**query)
    assert not home.exception
    shown = metrics(home)
    assert shown["Converted (of every journey)"] == f"{outcomes.conversion_rate:.1%}"
    assert shown["Churned (of decided journeys)"] == f"{outcomes.churn_rate:.1%}"
    assert shown["Still open (censored)"] == f"{outcomes.censored:,}"

    stages = open_page(STAGES_PAGE, **query)
    assert not stages.exception
    cards = [metric.value for metric in stages.metric][: len(reached)]
    assert cards == [f"{count:,}" for count in reached]
    deltas = [metric.delta for metric in stages.metric][: len(reached)]
    # No delta where none dropped, nor at a stage without touchpoints (no drop-off: nobody gets there).
    assert deltas == ["" if pd.isna(count) or not count else f"{count:,} dropped" for count in dropped]
    stages.session_state["tab"] = "Churn points"
    assert plain(outcome_sentence(outcomes)) in stages.run().markdown[0].value

    # The variants of the selected journeys add up to the same conversions and churns.
    definition, _ = definition_of(store, dataset.id)
    with store.engine(dataset.id) as engine:
        variants = variant_table(engine, filters, definition=definition).frame
    assert variants["converted"].sum() == outcomes.converted_total
    assert variants["churned"].sum() == outcomes.churned_total
    assert variants["censored"].sum() == outcomes.censored

    # Compare takes the same figures for a segment; the personas of any clustering add up to them.
    with store.engine(dataset.id) as engine:
        others = Filters(channels={"web"})
        compared = compare_segments(engine, filters, others, definition=definition)
        kpis = compared.kpis.set_index("kpi")
        assert kpis.loc["conversion rate", "a"] == pytest.approx(outcomes.conversion_rate)
        assert kpis.loc["churn rate", "a"] == pytest.approx(outcomes.churn_rate)
        assert compared.funnel["customers_a"].tolist() == reached
        selected = engine.cases(filters)["case_id"]
        labels = np.arange(len(selected)) % 3
        profiles = persona_profiles(engine, selected.tolist(), labels, definition=definition, filters=filters).table
    for outcome in OUTCOMES:
        assert profiles[outcome].sum() == getattr(outcomes, outcome)

    if filters.is_empty:  # the CLIs read the whole log
        assert discovery_cli.main(["summary", dataset.id, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["outcomes"] == json.loads(json.dumps(outcomes.to_dict()))
        assert [stage["got_this_far"] for stage in summary["stages"]] == reached
        assert (
            segmentation_cli.main(["compare", dataset.id, "--a", "channel=store", "--b", "channel=web", "--json"]) == 0
        )
        compared_cli = json.loads(capsys.readouterr().out)
        with store.engine(dataset.id) as engine:
            store_only = outcome_counts(engine, definition, Filters(channels={"store"}))
        conversion = next(row for row in compared_cli["kpis"] if row["kpi"] == "conversion rate")
        assert conversion["a"] == pytest.approx(store_only.conversion_rate)
