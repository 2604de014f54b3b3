"""The Compare page, run as Streamlit runs it, and its pure builders: segments, the comparison, the map difference."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Engine, Filters, Settings, Store
from discovery import definition_of
from segmentation import PersonaRun, attribute_ranges, attribute_segments, compare_segments, save_run
from tests.segmentation.test_compare import DEFINITION, LOG
from tests.segmentation.test_compare import A as GROUP_A
from tests.segmentation.test_compare import B as GROUP_B
from tests.ui.apptest import APP, TIMEOUT_SECONDS, widget
from ui.compare import (
    COLOURS,
    channels_table,
    difference_dot,
    edges_table,
    family_caption,
    funnel_figure,
    funnel_table,
    kpi_table,
    variants_table,
)
from ui.markup import plain

PAGE = "pages/6_Compare.py"


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def open_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def shown_metrics(app: AppTest) -> list[tuple[str, str]]:
    return [(metric.label, metric.value) for metric in app.metric]


def captions(app: AppTest) -> list[str]:
    return [caption.value for caption in app.caption]


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]


def test_two_attribute_values_are_compared_as_the_library_compares_them(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id)
    assert not app.exception
    with store.engine(demo.id) as engine:
        definition, _ = definition_of(store, demo.id, engine)
        plans = attribute_segments(engine, "plan")
        first, second = plans.value_counts().index[:2]
        a, b = (Filters(case_ids=frozenset(plans.index[plans == value])) for value in (first, second))
        expected = compare_segments(engine, a, b, definition=definition)
    assert shown_metrics(app) == [
        (plain(f"Customers in A (plan = {first})"), f"{expected.customers_a:,}"),
        (plain(f"Customers in B (plan = {second})"), f"{expected.customers_b:,}"),
        ("Customers in both", "0"),
    ]
    pd.testing.assert_frame_equal(app.dataframe[0].value, kpi_table(expected), check_dtype=False)
    assert app.dataframe[0].value["A"].str.contains("%").sum() == 2  # conversion and churn, as percentages
    shown = captions(app)
    assert plain(definition.rules_in_words()) in shown
    assert "Tests as named in each row. Benjamini–Hochberg over the 4 headline tests, on their own." in shown
    tests = expected.families.set_index("table")["tests"]
    assert any(f"Benjamini–Hochberg over the {tests['edges']:,} transition tests" in text for text in shown)
    assert len(app.get("plotly_chart")) == 1
    assert app.get("bidi_component")


def test_a_rerun_reads_the_cached_comparison_and_a_filter_or_value_change_computes_a_new_one(
    demo_copy: tuple[Store, Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.compare

    store, demo = demo_copy
    compared = []
    monkeypatch.setattr(
        ui.compare,
        "compare_segments",
        lambda *args, **kwargs: compared.append(args) or compare_segments(*args, **kwargs),
    )
    app = open_page(dataset=demo.id)
    app.run()  # a rerun: nothing computed again
    assert not app.exception and len(compared) == 1

    widget(app.sidebar.multiselect, "Channels").select("store").run()
    with store.engine(demo.id) as engine:
        plans = attribute_segments(engine, "plan", Filters(channels={"store"}))
    first, second = plans.value_counts().index[:2]
    assert len(compared) == 2
    assert [metric.value for metric in app.metric[:2]] == [
        f"{(plans == first).sum():,}",
        f"{(plans == second).sum():,}",
    ]
    assert compared[-1][1] == Filters(channels={"store"}, case_ids=frozenset(plans.index[plans == first]))

    app.selectbox(key="b_value").set_value(first).run()  # B is A's value now: every customer in both
    assert len(compared) == 3 and app.metric[2].value == f"{(plans == first).sum():,}"
    app.run()
    assert len(compared) == 3


def test_a_numeric_attribute_is_offered_as_ranges(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id)
    for side in "AB":
        app.selectbox(key=f"{side.lower()}_attribute").set_value("revenue_eur")
    app.run()
    assert not app.exception
    with store.engine(demo.id) as engine:
        ranges = attribute_ranges(engine, "revenue_eur")
    value_box = app.selectbox(key="a_value")
    assert value_box.label == "Range (of each customer's mean)"
    assert value_box.options == list(ranges.cat.categories)
    low, high = ranges.cat.categories[:2]
    assert app.metric[0].label == plain(f"Customers in A (revenue_eur: {low})")
    assert app.metric[0].value == f"{(ranges == low).sum():,}"
    assert app.metric[1].label == plain(f"Customers in B (revenue_eur: {high})")


def test_the_current_filters_saved_as_a_segment_can_be_compared(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id, channels='["store"]')
    widget(app.text_input, "Segment name").input("Store customers")
    widget(app.button, "Save the current filters as a segment").click().run()
    assert store.annotation(demo.id, "segment", "Store customers") == {"filters": {"channels": '["store"]'}}
    for side in "AB":
        app.radio(key=f"{side.lower()}_is").set_value("Saved segment")
    app.run()
    assert not app.exception
    with store.engine(demo.id) as engine:
        customers = engine.summary(Filters(channels={"store"})).cases
    assert shown_metrics(app) == [
        (plain("Customers in A (Store customers)"), f"{customers:,}"),
        (plain("Customers in B (Store customers)"), f"{customers:,}"),
        ("Customers in both", f"{customers:,}"),
    ]
    assert any(
        warning.value.startswith(plain(f"{customers:,} customers are in both segments")) for warning in app.warning
    )


def test_two_personas_of_one_run_carry_the_caveat(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    save_run(store, demo.id, "Spring", PersonaRun(2, 0, "kmeans", names={0: "Web", 1: "Store"}))
    app = open_page(dataset=demo.id)
    assert not app.exception
    assert [app.radio(key=f"{side.lower()}_is").value for side in "AB"] == ["Persona", "Persona"]
    assert any(warning.value.startswith(plain("A and B are personas of one run.")) for warning in app.warning)


def test_a_page_without_saved_personas_says_where_to_make_them(demo_copy: tuple[Store, Dataset]) -> None:
    _, demo = demo_copy
    app = open_page(dataset=demo.id)
    app.radio(key="a_is").set_value("Persona").run()
    assert not app.exception
    assert app.info[0].value.startswith("No persona run is saved yet")
    assert not app.metric


@pytest.fixture
def small(settings: Settings):
    with Engine.from_frame(LOG, settings) as engine:
        return compare_segments(engine, GROUP_A, GROUP_B, definition=DEFINITION)


def test_share_tables_read_in_percentages_with_their_tests(small) -> None:
    stages = funnel_table(small).set_index("Stage")
    assert stages.loc["consideration", ["Got this far in A", "Did a step of it in A"]].tolist() == [5, 2]
    assert stages.loc["consideration", "Share of A (%)"] == 83.3
    assert stages.loc["purchase", "Difference (pts)"] == 16.7
    assert stages.loc["purchase", "95 % interval (pts)"].startswith("−")
    assert set(stages["Test"]) == {"Fisher's exact"}
    channels = channels_table(small).set_index("Channel")
    assert channels.loc["web", ["Share of A (%)", "Share of B (%)"]].tolist() == [83.3, 16.7]
    edges = edges_table(small).set_index("Transition")
    assert edges.loc["buy → review", "Seen in"] == "A only"
    assert variants_table(small).loc[0, "Journey variant"] == "visit → buy"
    assert set(edges["Significant"]) == {"no"}


def test_a_stage_without_touchpoints_reads_not_tested(settings: Settings) -> None:
    definition = replace(DEFINITION, stages=DEFINITION.stages.with_overrides({"call": None}))
    with Engine.from_frame(LOG, settings) as engine:
        compared = compare_segments(engine, GROUP_A, GROUP_B, definition=definition)
    stages = funnel_table(compared).set_index("Stage")
    assert stages.loc[
        "consideration (no touchpoint in this stage)", ["95 % interval (pts)", "Test", "Significant"]
    ].tolist() == [
        "—",
        "",
        "not tested",
    ]
    assert family_caption(compared, "funnel").startswith("Tests: Fisher's exact (see how these are tested).")
    bars = funnel_figure(compared, {"A": "a", "B": "b"}).to_dict()["data"][0]
    assert list(bars["y"]) == ["discovery", "consideration (no touchpoint in this stage)", "purchase"]


def test_each_table_says_its_tests_and_how_many_its_correction_covers(small) -> None:
    assert family_caption(small, "kpis") == (
        "Tests as named in each row. Benjamini–Hochberg over the 4 headline tests, on their own."
    )
    assert family_caption(small, "edges") == (
        "Tests: Fisher's exact (see how these are tested). Benjamini–Hochberg over the 8 transition tests."
    )
    assert family_caption(small, "variants").endswith("over the 8 variants either segment follows.")
    families = small.families
    fewer = replace(small, families=families.assign(rows_shown=families["rows_shown"].where(families.index < 4, 2)))
    assert family_caption(fewer, "variants").endswith("; the 2 whose shares differ most are shown.")


def test_the_map_difference_colours_edges_by_segment_and_bolds_significant_ones() -> None:
    edges = pd.DataFrame(
        {
            "source": ["visit", "visit", "call"],
            "target": ["buy", 'say "hi"', "cancel"],
            "share_a": [0.5, 0.4, 0.0],
            "share_b": [0.5, 0.0, 0.2],
            "presence": ["common", "A only", "B only"],
            "significant": [False, True, False],
        }
    )
    lines = [line.strip() for line in difference_dot(edges).splitlines()]
    assert 'n3 [label="say \\"hi\\""];' in lines
    drawn = [line for line in lines if "->" in line]
    assert [line.split(" [")[0] for line in drawn] == ["n0 -> n2", "n0 -> n3", "n1 -> n4"]
    colours = [COLOURS["common"], COLOURS["A only"], COLOURS["B only"]]
    assert all(f'color="{colour}"' in line for line, colour in zip(drawn, colours, strict=True))
    assert ['style="bold"' in line for line in drawn] == [False, True, False]
    assert 'label="A 40% · B 0%"' in drawn[1]
    assert difference_dot(edges, max_edges=1).count("->") == 1
