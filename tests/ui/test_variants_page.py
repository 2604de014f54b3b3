"""The Variants & paths page: its builders on hand-made flows, and the page run as Streamlit runs it on the demo."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Filters, Settings, Store
from data.importing import import_demo
from discovery import (
    END_LABEL,
    OTHER_LABEL,
    OUTCOME_LABELS,
    START_LABEL,
    ChurnRule,
    JourneyDefinition,
    PathFlows,
    VariantTable,
    journey_outcomes,
    paths,
    paths_between,
    save_definition,
    suggest_definition,
    variant_cases,
    variant_table,
)
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics, widget
from ui.markup import plain
from ui.variants import (
    customers_column_order,
    customers_table,
    path_label,
    paths_caption,
    rates_caption,
    sankey_figure,
    variant_column_order,
    variants_table,
)

PAGE = "pages/3_Variants_and_paths.py"
SHOWN_BY_DEFAULT = 25


def open_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def flows(direction: str, links: list[tuple], *, anchor: str = "call", target: str | None = None) -> PathFlows:
    frame = pd.DataFrame(links, columns=["step", "source", "target", "customers"])
    return PathFlows(anchor, direction, target, frame, customers=3, reached=(3, 2))


def sankey(figure) -> dict:
    return figure.to_dict()["data"][0]


def placed_nodes(trace: dict) -> dict[tuple[float, str], float]:
    """Return each node's y by (x, label)."""
    node = trace["node"]
    return {(round(x, 2), label): y for x, label, y in zip(node["x"], node["label"], node["y"], strict=True)}


# --- builders ---


def test_a_path_label_writes_repeated_steps_once_with_their_count() -> None:
    assert path_label(["visit", "call", "call", "call", "buy"]) == "visit → call ×3 → buy"


def test_a_long_path_label_keeps_its_first_and_last_steps() -> None:
    assert path_label(list("abcdefgh"), max_steps=5) == "a → b → c → … 4 more … → h"
    assert path_label(["a", "b", "c", "d", "d", "e", "f"], max_steps=5) == "a → b → c → … 3 more … → f"


def test_the_variants_table_puts_the_kpis_next_to_the_path_and_picks_a_readable_duration_unit() -> None:
    frame = pd.DataFrame(
        {
            "activities": [["visit", "buy"], ["visit", "call", "call"]],
            "cases": [3, 1],
            "share": [0.75, 0.25],
            "cumulative_share": [0.75, 1.0],
            "median_duration_seconds": [7200.0, 1800.0],
            "length": [2, 3],
            "conversion_rate": [1.0, float("nan")],
            "churn_rate": [0.0, float("nan")],
        }
    )
    shown = variants_table(VariantTable(frame=frame, cases=4, collapse_repeats=False))
    assert list(shown.columns[:6]) == ["Rank", "Path", "Customers", "Share", "Conversion", "Churn"]
    assert shown["Path"].tolist() == ["visit → buy", "visit → call ×2"]
    assert shown["Median duration (hours)"].tolist() == [2.0, 0.5]
    assert shown["Full path"].tolist() == ["visit → buy", "visit → call → call"]
    # Without a goal neither rate exists: the columns go rather than read "None" on every path.
    no_goal = frame.assign(conversion_rate=float("nan"), churn_rate=float("nan"))
    shown = variants_table(VariantTable(frame=no_goal, cases=4, collapse_repeats=False))
    assert list(shown.columns[:5]) == ["Rank", "Path", "Customers", "Share", "Median duration (hours)"]


def test_a_paths_customers_table_names_each_outcome() -> None:
    customers = pd.DataFrame(
        {
            "case_id": ["ann", "bob"],
            "first_activity": ["visit", "visit"],
            "last_activity": ["buy", "buy"],
            "start_time": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True),
            "end_time": pd.to_datetime(["2025-01-03 00:00", "2025-01-02 12:00"], utc=True),
            "events": [2, 2],
            "duration_seconds": [172_800.0, 43_200.0],
            "outcome": ["converted", "censored"],
        }
    )
    shown = customers_table(customers)
    assert shown[["Customer", "Duration (days)", "Outcome"]].values.tolist() == [
        ["ann", 2.0, "converted (stayed)"],
        ["bob", 0.5, "still open (censored)"],
    ]


def test_a_sankey_after_an_anchor_has_a_column_per_step_and_ends_where_journeys_end() -> None:
    trace = sankey(
        sankey_figure(flows("after", [(1, "call", "buy", 2), (1, "call", END_LABEL, 1), (2, "buy", END_LABEL, 2)]))
    )
    nodes = placed_nodes(trace)
    assert set(nodes) == {(0.01, "call"), (0.5, "buy"), (0.5, END_LABEL), (0.99, END_LABEL)}
    assert nodes[(0.5, "buy")] < nodes[(0.5, END_LABEL)]  # the bigger flow on top, the journey's end below
    labels = trace["node"]["label"]
    link = trace["link"]
    drawn = [(labels[s], labels[t], v) for s, t, v in zip(link["source"], link["target"], link["value"], strict=True)]
    assert drawn == [("call", "buy", 2), ("call", END_LABEL, 1), ("buy", END_LABEL, 2)]
    assert "customers" in link["hovertemplate"]


def test_a_sankey_before_an_anchor_ends_at_the_anchor_on_the_right() -> None:
    trace = sankey(sankey_figure(flows("before", [(1, "visit", "call", 2), (1, START_LABEL, "call", 1)])))
    assert set(placed_nodes(trace)) == {(0.01, "visit"), (0.01, START_LABEL), (0.99, "call")}


def test_a_sankey_colours_an_activity_alike_in_every_column_and_greys_the_other_tail() -> None:
    links = [(1, "call", "visit", 2), (1, "call", OTHER_LABEL, 1), (2, "visit", "chat", 1), (2, "chat", "visit", 1)]
    trace = sankey(sankey_figure(flows("after", links)))
    colour = {}
    for label, node_colour in zip(trace["node"]["label"], trace["node"]["color"], strict=True):
        colour.setdefault(label, set()).add(node_colour)
    assert len(colour["visit"]) == len(colour["chat"]) == 1
    assert colour["visit"] != colour["chat"] != colour[OTHER_LABEL] != colour["call"]


def test_the_paths_caption_says_links_count_unique_customers() -> None:
    between = PathFlows("visit", "between", "buy", pd.DataFrame(), customers=4, reached=(3, 3, 1))
    assert paths_caption(between, 2).startswith(
        plain("Link widths are unique customers. Of the 4 customers who did visit, 3 went on to buy within 2 steps;")
    )


def test_the_rates_caption_says_what_conversion_and_churn_mean() -> None:
    definition = JourneyDefinition(goal=("buy",), churn=ChurnRule(("cancel",)))
    assert rates_caption(definition).startswith(
        plain("Conversion: doing 'buy', out of every journey. Churn: doing 'cancel' (after the last goal step")
    )


# --- the page ---


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Dataset]]:
    """One stored demo for the whole file: importing it is the slow part of every page test."""
    home = tmp_path_factory.mktemp("variants-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARCOURS_HOME", str(home))
        yield home, import_demo(Store(Settings.from_env()))


@pytest.fixture
def demo(demo_home: tuple[Path, Dataset], monkeypatch: pytest.MonkeyPatch) -> Dataset:
    home, dataset = demo_home
    monkeypatch.setenv("PARCOURS_HOME", str(home))
    return dataset


@pytest.fixture
def store(demo: Dataset) -> Store:
    return Store(Settings.from_env())


def expected_variants(store: Store, demo: Dataset, definition: JourneyDefinition | None = None, **options):
    with store.engine(demo.id) as engine:
        definition = definition or suggest_definition(engine)
        return variant_table(engine, limit=SHOWN_BY_DEFAULT, definition=definition, **options)


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert not app.dataframe
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]


def test_the_demo_shows_the_most_common_paths_with_the_librarys_counts_and_rates(store: Store, demo: Dataset) -> None:
    app = open_page(dataset=demo.id)
    assert not app.exception
    with store.engine(demo.id) as engine:
        summary = engine.summary()
    expected = expected_variants(store, demo)
    assert metrics(app) == {
        "Customers (unique journeys)": f"{summary.cases:,}",
        "Journey variants (distinct paths)": f"{summary.variants:,}",
        f"Customers covered by the {SHOWN_BY_DEFAULT} paths shown": f"{expected.covered_share:.1%}",
    }
    shown = app.dataframe[0].value
    assert shown["Customers"].tolist() == expected.frame["cases"].tolist()
    assert shown["Conversion"].tolist() == pytest.approx(expected.frame["conversion_rate"].tolist(), nan_ok=True)
    assert shown["Churn"].tolist() == pytest.approx(expected.frame["churn_rate"].tolist(), nan_ok=True)
    assert shown["Full path"].tolist() == [" → ".join(path) for path in expected.frame["activities"]]


def test_the_first_paths_customers_are_listed_with_their_outcome(store: Store, demo: Dataset) -> None:
    app = open_page(dataset=demo.id)
    top = expected_variants(store, demo).frame.iloc[0]
    with store.engine(demo.id) as engine:
        expected = variant_cases(engine, top["variant_id"])
        outcome = journey_outcomes(engine, suggest_definition(engine))
    customers = app.dataframe[1].value
    assert customers["Customer"].tolist() == expected["case_id"].tolist()
    assert customers["Outcome"].tolist() == expected["case_id"].map(outcome).map(OUTCOME_LABELS).tolist()
    (link,) = [link for link in app.main.get("page_link") if link.label == "Open one customer"]
    assert link.proto.page == "Customer_journey"
    assert f"customer={expected['case_id'].iloc[0]}" in link.proto.query_string
    assert f"variant_ids=%5B%22{top['variant_id']}%22%5D" in link.proto.query_string


def test_merging_repeated_steps_counts_paths_that_differ_only_by_repeats_as_one(store: Store, demo: Dataset) -> None:
    app = open_page(dataset=demo.id)
    widget(app.toggle, "Merge repeated steps").set_value(True).run()
    assert not app.exception
    expected = expected_variants(store, demo, collapse_repeats=True)
    assert app.dataframe[0].value["Customers"].tolist() == expected.frame["cases"].tolist()


def test_a_path_chosen_as_a_filter_travels_in_the_url_and_can_be_dropped_again(store: Store, demo: Dataset) -> None:
    app = open_page(dataset=demo.id)
    widget(app.selectbox, "Path").select(1).run()
    second = expected_variants(store, demo).frame.iloc[1]
    widget(app.button, "Show only this path on every page").click().run()
    assert not app.exception
    assert json.loads(app.query_params["variant_ids"]) == sorted(second["variant_ids"])
    assert metrics(app)["Customers (unique journeys)"] == f"{second['cases']:,}"
    assert app.dataframe[0].value["Customers"].tolist() == [second["cases"]]
    widget(app.button, "Show every path").click().run()
    assert "variant_ids" not in app.query_params
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"


def test_conversion_and_churn_follow_the_saved_definition(
    demo_home: tuple[Path, Dataset], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, demo = demo_home
    shutil.copytree(home, tmp_path / "home")
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "home"))
    store = Store(Settings.from_env())
    with store.engine(demo.id) as engine:
        suggested = suggest_definition(engine)
    upgrades = JourneyDefinition(goal=("upgrade_plan",), stages=suggested.stages, churn=ChurnRule())
    save_definition(store, demo.id, upgrades)
    app = open_page(dataset=demo.id)
    expected = expected_variants(store, demo, upgrades)
    assert app.dataframe[0].value["Conversion"].tolist() == pytest.approx(
        expected.frame["conversion_rate"].tolist(), nan_ok=True
    )
    assert any("doing \\'upgrade\\_plan\\'" in caption.value for caption in app.caption)


def test_filters_that_keep_no_customer_say_what_to_do(demo: Dataset) -> None:
    app = open_page(dataset=demo.id, channels='["carrier pigeon"]')
    assert not app.exception
    assert not app.dataframe
    assert app.info[-1].value.startswith("No customer matches: customers who used carrier pigeon.")


def sankey_links(app: AppTest) -> list[tuple]:
    trace = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    labels, link = trace["node"]["label"], trace["link"]
    return sorted(
        (labels[s], labels[t], v) for s, t, v in zip(link["source"], link["target"], link["value"], strict=True)
    )


def test_the_paths_after_and_between_touchpoints_are_the_librarys(store: Store, demo: Dataset) -> None:
    app = open_page(dataset=demo.id, channels='["store"]')
    filters = Filters(channels={"store"})
    anchor = widget(app.selectbox, "Touchpoint").value
    with store.engine(demo.id) as engine:
        after = paths(engine, anchor, steps=3, top=6, filters=filters)
        between = paths_between(engine, "visit_store", "subscribe", max_steps=5, top=6, filters=filters)
    assert sankey_links(app) == sorted(
        after.links[["source", "target", "customers"]].itertuples(index=False, name=None)
    )
    assert plain(f"{after.customers:,} customers did {anchor}") in app.main.caption[-1].value

    widget(app.radio, "Show paths").set_value("between").run()
    widget(app.selectbox, "From").select("visit_store").run()
    widget(app.selectbox, "To").select("subscribe").run()
    assert not app.exception
    assert sankey_links(app) == sorted(
        between.links[["source", "target", "customers"]].itertuples(index=False, name=None)
    )
    assert app.main.caption[-1].value.startswith(
        plain(
            f"Link widths are unique customers. Of the {between.customers:,} customers who did visit_store, "
            f"{between.reached[0]:,} went on to subscribe within 5 steps"
        )
    )


def test_the_page_hides_what_only_repeats_the_path_and_the_downloads_keep_it() -> None:
    shown = pd.DataFrame(columns=["Rank", "Path", "Customers", "Full path"])
    assert variant_column_order(shown) == ["Rank", "Path", "Customers"]
    customers = pd.DataFrame(columns=["Customer", "First touchpoint", "Last touchpoint", "Events"])
    assert customers_column_order(customers) == ["Customer", "Events"]
