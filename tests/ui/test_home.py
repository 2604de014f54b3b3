"""The home page, run as Streamlit runs it: the stored logs, the chosen one's figures, the view in the URL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from data import Dataset, Filters, Settings, Store, import_file, load_log
from data.importing import DEMO_SAMPLES, import_demo
from discovery import outcome_counts, save_definition, suggest_definition
from tests.ui.apptest import errors, metrics, open_home, widget


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def test_first_run_stores_the_demo_and_shows_its_counts(store: Store) -> None:
    app = open_home()
    assert not app.exception
    expected = load_log(DEMO_SAMPLES["telecom"]).frame
    (demo,) = store.datasets()
    with store.engine(demo.id) as engine:
        outcomes = outcome_counts(engine, suggest_definition(engine))
    assert metrics(app) | {"Journey variants": ""} == {
        "Customers (unique journeys)": f"{expected['case_id'].nunique():,}",
        "Events": f"{len(expected):,}",
        "Touchpoints (distinct activities)": f"{expected['activity'].nunique():,}",
        "Journey variants": "",
        "Converted (of every journey)": f"{outcomes.conversion_rate:.1%}",
        "Churned (of decided journeys)": f"{outcomes.churn_rate:.1%}",
        "Still open (censored)": f"{outcomes.censored:,}",
    }
    assert app.warning[0].value.startswith("These figures follow a **suggested** journey definition")
    assert app.query_params["dataset"] == demo.id
    assert app.dataframe[0].value["Log"].tolist() == [demo.name]


def test_without_a_goal_neither_headline_rate_is_given(demo_copy: tuple[Store, Dataset]) -> None:
    # Nobody converts then, so every decided journey is a churn: "0 %" and "100 %" would say nothing of the customers.
    store, demo = demo_copy
    with store.engine(demo.id) as engine:
        save_definition(store, demo.id, dataclasses.replace(suggest_definition(engine), goal=()))
    app = open_home(dataset=demo.id)
    assert not app.exception
    shown = metrics(app)
    assert (shown["Converted"], shown["Churned (of decided journeys)"]) == ("no goal", "no goal")
    churned = next(metric for metric in app.metric if metric.label == "Churned (of decided journeys)")
    assert "every decided journey is a churn" in churned.help


def test_a_log_already_stored_is_not_joined_by_the_demo(store: Store) -> None:
    shop = import_demo(store, "shop")
    app = open_home()
    assert [dataset.id for dataset in store.datasets()] == [shop.id]
    assert metrics(app)["Customers (unique journeys)"] == f"{shop.n_cases:,}"


def test_choosing_another_log_shows_its_figures_and_puts_it_in_the_url(store: Store) -> None:
    app = open_home()
    shop = import_demo(store, "shop")
    app.run()
    widget(app.selectbox, "Log").select(shop.id).run()
    assert not app.exception
    assert metrics(app)["Customers (unique journeys)"] == f"{shop.n_cases:,}"
    assert app.query_params["dataset"] == shop.id


def test_a_copied_link_reopens_the_same_log_and_filters(store: Store) -> None:
    telecom, shop = import_demo(store, "telecom"), import_demo(store, "shop")
    app = open_home(dataset=shop.id, channels='["store"]', start="2025-03-01")
    assert not app.exception
    with store.engine(shop.id) as engine:
        expected = engine.summary(Filters(channels={"store"}, start="2025-03-01T00:00Z"))
    assert metrics(app)["Customers (unique journeys)"] == f"{expected.cases:,}"
    assert metrics(app)["Events"] == f"{expected.events:,}"
    assert widget(app.multiselect, "Channels").value == ["store"]
    assert widget(app.selectbox, "Log").value == shop.id != telecom.id


def test_choosing_a_channel_filters_the_counts_and_the_url(store: Store) -> None:
    app = open_home()
    widget(app.multiselect, "Channels").select("store").run()
    (demo,) = store.datasets()
    with store.engine(demo.id) as engine:
        expected = engine.summary(Filters(channels={"store"}))
    assert metrics(app)["Customers (unique journeys)"] == f"{expected.cases:,}"
    assert app.query_params == {"dataset": demo.id, "channels": '["store"]'}
    assert any(caption.value.startswith("Customers who used store") for caption in app.caption)


def test_an_attribute_filter_keeps_its_values_type(store: Store) -> None:
    app = open_home()
    widget(app.multiselect, "Attributes").select("satisfaction").run()
    widget(app.multiselect, "satisfaction").select(5).run()
    assert not app.exception
    (demo,) = store.datasets()
    with store.engine(demo.id) as engine:
        expected = engine.summary(Filters(attributes={"satisfaction": {5}}))
    assert app.query_params["attr.satisfaction"] == "[5]"
    assert metrics(app)["Customers (unique journeys)"] == f"{expected.cases:,}"


def test_an_unreadable_link_says_what_is_wrong_and_shows_everyone(demo_copy: tuple[Store, Dataset]) -> None:
    _, demo = demo_copy
    app = open_home(dataset=demo.id, channels="web")
    assert not app.exception
    assert errors(app) == ['The filter \'channels\' in this link is not a list of names such as ["web","store"].']
    assert app.dataframe[0].value["Value"].tolist() == ["web"]
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"
    assert app.query_params == {"dataset": demo.id}


def test_a_link_to_a_log_no_longer_stored_shows_the_newest(store: Store) -> None:
    app = open_home(dataset="0123456789abcdef")
    (demo,) = store.datasets()
    assert app.warning[0].value == (
        "The log named in this link is no longer stored, or not in your workspaces; showing the newest one instead."
    )
    assert app.query_params["dataset"] == demo.id


def test_an_emptied_store_shows_how_to_begin_and_the_demo_is_one_click_away(store: Store) -> None:
    app = open_home()
    (demo,) = store.datasets()
    store.delete(demo.id)
    app.run()
    assert not app.exception
    assert not app.metric
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]
    app.button(key="open-demo-home").click().run()
    assert not app.exception
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"
    assert app.query_params["dataset"] == demo.id


def test_a_log_without_channels_or_attributes_offers_only_the_time_window(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "plain.csv"
    source.write_bytes(b"client,etape,horodatage\nc1,visit,2025-01-06\nc1,buy,2025-01-07\n")
    plain = import_file(source, store=store)
    app = open_home(dataset=plain.id)
    assert not app.exception
    assert not app.multiselect
    assert [date.label for date in app.date_input] == ["Active between (UTC)"]
    assert metrics(app)["Events"] == "2"


def test_the_caption_writes_attribute_values_as_they_are_in_the_data(demo_copy: tuple[Store, Dataset]) -> None:
    _, demo = demo_copy
    app = open_home(dataset=demo.id, **{"attr.plan": '["Mobile 10GB"]'})
    assert not app.exception
    assert any(caption.value.startswith("Customers whose plan is Mobile 10GB, from ") for caption in app.caption)


def test_each_filter_in_force_is_shown_and_removed_in_one_click(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_home(dataset=demo.id, channels='["store"]', with_activities='["visit_store"]')
    assert [button.label for button in app.button][:2] == ["who used store", "who did visit\\_store"]
    widget(app.button, "who did visit\\_store").click().run()
    assert not app.exception
    assert app.query_params == {"dataset": demo.id, "channels": '["store"]'}
    with store.engine(demo.id) as engine:
        expected = engine.summary(Filters(channels={"store"}))
    assert metrics(app)["Customers (unique journeys)"] == f"{expected.cases:,}"
    widget(app.button, "who used store").click().run()
    assert app.query_params == {"dataset": demo.id}
    assert widget(app.multiselect, "Channels").value == []
