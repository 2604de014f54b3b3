"""The Journey map page, run as Streamlit runs it, and the pure builders of ui/journey.py on hand-made logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as SafeXml
import pytest
from streamlit.testing.v1 import AppTest

import discovery._dot as dot_module
from data import FIRST_LOOK_TOUCHPOINTS, Dataset, Filters, Settings, Store
from data.engine import Engine
from data.importing import import_demo, import_file
from discovery import (
    DRAWN_TOUCHPOINTS,
    ChurnRule,
    JourneyDefinition,
    StageModel,
    churn_points,
    discover_model,
    journey_map,
    map_to_dot,
    save_definition,
    suggest_definition,
    to_bpmn_xml,
)
from tests.data.test_engine import journeys
from tests.ui.apptest import APP, TIMEOUT_SECONDS, metrics, widget
from ui.graph_view import svg_of
from ui.journey import (
    END_LABEL,
    SHARE_COLUMN,
    START_LABEL,
    activity_facts,
    arrivals_table,
    bpmn_to_dot,
    churn_facts,
    departures_table,
    map_caption,
    map_dot,
    map_element,
    map_elements,
    map_hover,
    map_layout,
    model_facts,
    step_facts,
)
from ui.warmup import frontend_chunks

PAGE = "pages/2_Journey_map.py"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DEFAULT_PATH_COVERAGE = 0.8
EVERYONE = Filters()

# anna comes back to the website after a call, bob buys straight away, carl calls before buying;
# dan cancels after a call and eve right after her visit.
SHOP = journeys(
    ("anna", "visit", 0),
    ("anna", "call", 10),
    ("anna", "visit", 30),
    ("anna", "buy", 90),
    ("bob", "visit", 0),
    ("bob", "buy", 20),
    ("carl", "visit", 0),
    ("carl", "call", 5),
    ("carl", "buy", 65),
    ("dan", "visit", 0),
    ("dan", "call", 1),
    ("dan", "cancel", 2),
    ("eve", "visit", 0),
    ("eve", "cancel", 3),
)
SHOP_STAGES = StageModel(
    ("discovery", "consideration", "purchase"), {"visit": "discovery", "call": "consideration", "buy": "purchase"}
)
SHOP_DEFINITION = JourneyDefinition(goal=("buy",), stages=SHOP_STAGES, churn=ChurnRule(("cancel",)))

TINY_BPMN = """<?xml version="1.0" encoding="utf-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <bpmn:process id="p">
    <bpmn:startEvent id="s"/>
    <bpmn:task id="t1" name="visit &quot;web&quot;"/>
    <bpmn:exclusiveGateway id="g1"/>
    <bpmn:task id="t2" name="buy"/>
    <bpmn:task id="t3" name="call"/>
    <bpmn:exclusiveGateway id="g2"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="g1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g1" targetRef="t2"/>
    <bpmn:sequenceFlow id="f4" sourceRef="g1" targetRef="t3"/>
    <bpmn:sequenceFlow id="f5" sourceRef="t2" targetRef="g2"/>
    <bpmn:sequenceFlow id="f6" sourceRef="t3" targetRef="g2"/>
    <bpmn:sequenceFlow id="f7" sourceRef="g2" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the demo, imported once for the tests that only read it."""
    home = tmp_path_factory.mktemp("journey-map-home")
    import_demo(Store(Settings(home=home)))
    return home


@pytest.fixture
def store(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("PARCOURS_HOME", str(demo_home))
    return Store(Settings.from_env())


@pytest.fixture
def demo(store: Store) -> Dataset:
    (dataset,) = store.datasets()
    return dataset


def open_journey_map(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(PAGE).run()


def drawings(app: AppTest) -> list[dict]:
    """What the page handed each interactive drawing: its SVG, tooltips and selection."""
    components = app.get("bidi_component")
    return [json.loads(element.proto.json) for element in components if element.proto.component_name.endswith("graph")]


def drawn_svg(app: AppTest) -> str:
    return drawings(app)[0]["svg"]


def library_map(store: Store, dataset: Dataset, filters: Filters = EVERYONE, **coverage: float):
    """The map the page should draw, computed with the library alone (the suggested journey definition)."""
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        model = definition.stages
        churn = churn_points(engine, definition, filters)
        drawn = journey_map(
            engine, filters, stage_of=model.stage_of, stages=model.stages, churn=churn.by_activity, **coverage
        )
    return drawn, churn


# --- pure builders ---


def test_arrivals_count_the_customers_straight_before_a_touchpoint(shop: Engine) -> None:
    table = arrivals_table(journey_map(shop), "buy")
    assert table["Came from"].tolist() == ["visit", "call"]
    assert table["Customers"].tolist() == [2, 1]
    assert table[SHARE_COLUMN].tolist() == [2 / 3, 1 / 3]
    assert table["Median time"].tolist() == ["40min", "1h"]


def test_departures_include_the_journey_end_without_a_time(shop: Engine) -> None:
    table = departures_table(journey_map(shop), "call")
    assert table["Went to"].tolist() == ["buy", "cancel", "visit"]
    assert table["Customers"].tolist() == [1, 1, 1]
    assert departures_table(journey_map(shop), "buy").to_dict("records") == [
        {"Went to": END_LABEL, "Customers": 3, SHARE_COLUMN: 1.0, "Median time": ""}
    ]


def test_arrivals_name_the_journey_start(shop: Engine) -> None:
    table = arrivals_table(journey_map(shop), "visit")
    assert table["Came from"].tolist() == [START_LABEL, "call"]
    assert table["Customers"].tolist() == [5, 1]


def test_activity_facts_say_what_each_number_counts(shop: Engine) -> None:
    assert activity_facts(journey_map(shop, stage_of=SHOP_STAGES.stage_of), "visit") == {
        "Customers (unique journeys)": "5",
        "Share of customers": "100.0%",
        "Events": "6",
        "Stage": "discovery",
        "Median time to reach it": "0s",
    }
    assert activity_facts(journey_map(shop), "cancel")["Stage"] == "none"


def test_churn_facts_give_the_rate_with_its_interval_and_lift(shop: Engine) -> None:
    churn = churn_points(shop, SHOP_DEFINITION)
    # dan churned right after his call; anna and carl called and bought.
    assert churn_facts(churn, "call") == {
        "Churned right after it": "1 / 3",
        "Churn rate": "33.3%",
        "95% interval": "6.1%–79.2%",
        "Lift against its stage": "1.00×",
        "Lift against everyone": "0.83×",  # 1 of 3 against 2 of 5 decided journeys
    }
    # Nobody churned right after buying, the only step of its stage.
    assert churn_facts(churn, "buy")["Lift against its stage"] == "n/a"
    assert churn_facts(churn, "cancel") == {}


def test_the_caption_says_how_much_the_sliders_keep(shop: Engine) -> None:
    drawn = journey_map(shop, activity_coverage=0.5)
    caption = map_caption(drawn, "median")
    assert "each arrow shows the median time between the two steps" in caption
    assert f"Drawn: 2 of 4 touchpoints and {len(drawn.edges)} of {len(drawn.edges)} paths" in caption
    assert f"{drawn.covered_cases} of 5 customers ({drawn.covered_share:.0%})" in caption


def test_an_unknown_metric_is_refused(shop: Engine) -> None:
    with pytest.raises(ValueError, match="metric must be one of"):
        map_caption(journey_map(shop), "customers")


def test_bpmn_becomes_a_diagram_with_gateways_and_escaped_names() -> None:
    dot = bpmn_to_dot(TINY_BPMN)
    assert '"t1" [label="visit \\"web\\""' in dot
    assert dot.count('label="×"') == 2
    assert dot.count(" -> ") == 7
    assert '"g1" -> "t3";' in dot


def test_the_svg_download_draws_every_touchpoint() -> None:
    svg = svg_of(bpmn_to_dot(TINY_BPMN))
    texts = {text.text for text in SafeXml.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {'visit "web"', "buy", "call"} <= texts


def test_model_facts_count_what_the_miner_saw(shop: Engine) -> None:
    facts = model_facts(discover_model(shop))
    assert facts["Customers the miner saw"] == "5 (100%)"
    assert facts["Journey variants mined"] == "5"
    assert facts["Touchpoints in the model"] == "4"


# --- the page ---


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_journey_map()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")
    assert [link.value for link in app.main.get("page_link")] == ["Import a log"]
    assert not drawings(app)


def test_once_drawn_the_map_has_the_browser_load_the_chart_code_of_the_next_pages(demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    components = app.sidebar.get("bidi_component")
    (preload,) = [element for element in components if element.proto.component_name.endswith("preload")]
    assert json.loads(preload.proto.json) == {"chunks": frontend_chunks()}
    assert {chunk.split(".")[0] for chunk in frontend_chunks()} == {"PlotlyChart", "DataFrame"}


def test_nothing_is_opened_up_close_until_asked_so_the_first_view_has_no_table(demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    assert not app.exception
    assert widget(app.selectbox, "Touchpoint or step").value is None
    assert drawings(app)[0]["selected"] is None
    assert not app.dataframe and not app.main.get("text_area")
    assert app.main.caption[-1].value.startswith("Its customers, where they came from")

    widget(app.selectbox, "Touchpoint or step").select("billing_dispute").run()
    assert not app.exception
    assert drawings(app)[0]["selected"] is not None
    assert len(app.dataframe) == 3  # where they came from and went, the customers who did it


def test_the_demo_map_is_the_librarys_with_lanes_and_churn_points(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    assert not app.exception
    expected, _ = library_map(store, demo, path_coverage=DEFAULT_PATH_COVERAGE)
    assert drawn_svg(app) == svg_of(map_to_dot(expected, rankdir="TB"))
    assert 'class="cluster"' in drawn_svg(app)
    assert expected.nodes["churn_point"].any()
    assert drawings(app)[0]["hover"] == map_hover(expected)
    assert app.main.caption[0].value == map_caption(expected, "cases")
    assert {button.label for button in app.get("download_button")} >= {"DOT", "SVG", "PNG", "PDF"}


def test_the_detail_panel_counts_what_the_engine_counts(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    widget(app.selectbox, "Touchpoint or step").select("billing_dispute").run()
    assert not app.exception
    with store.engine(demo.id) as engine:
        activities = engine.activities().set_index("activity")
        dfg = engine.dfg()
    _, churn = library_map(store, demo)
    figures = churn.activities.set_index("activity").loc["billing_dispute"]
    shown = metrics(app)
    assert shown["Customers (unique journeys)"] == f"{activities.loc['billing_dispute', 'cases']:,}"
    assert shown["Events"] == f"{activities.loc['billing_dispute', 'events']:,}"
    assert shown["Churned right after it"] == f"{figures['churned']:,} / {figures['customers']:,}"
    came_from = app.dataframe[0].value
    before = dfg[dfg["target"] == "billing_dispute"].set_index("source")["cases"]
    assert dict(zip(came_from["Came from"], came_from["Customers"], strict=True)) == before.to_dict()


def test_sliders_and_the_performance_toggle_redraw_the_map(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    widget(app.slider, "Touchpoints shown").set_value(50).run()
    widget(app.radio, "Label the paths with").set_value("median").run()
    assert not app.exception
    expected, _ = library_map(store, demo, activity_coverage=0.5, path_coverage=DEFAULT_PATH_COVERAGE)
    assert drawn_svg(app) == svg_of(map_to_dot(expected, metric="median", rankdir="TB"))
    assert expected.hidden_activities
    assert app.main.caption[0].value == map_caption(expected, "median")


def test_the_filters_in_the_link_choose_the_customers_drawn(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id, channels='["store"]')
    assert not app.exception
    store_customers = Filters(channels={"store"})
    expected, _ = library_map(store, demo, store_customers, path_coverage=DEFAULT_PATH_COVERAGE)
    assert expected.cases < demo.n_cases
    assert drawn_svg(app) == svg_of(map_to_dot(expected, rankdir="TB"))


def test_filters_that_keep_nobody_say_what_to_do(demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id, channels='["pigeon"]')
    assert not app.exception
    assert app.info[0].value.startswith("No customer matches: customers who used pigeon.")
    assert not drawings(app)


def test_the_saved_stage_model_draws_the_lanes() -> None:
    # This test writes to its store, so it has a demo of its own.
    store = Store(Settings.from_env())
    demo = import_demo(store)
    with store.engine(demo.id) as engine:
        suggested = suggest_definition(engine)
    saved = suggested.stages.with_overrides({"subscribe": "consideration"})
    save_definition(store, demo.id, JourneyDefinition(suggested.goal, saved, suggested.churn))
    app = open_journey_map(dataset=demo.id)
    widget(app.selectbox, "Touchpoint or step").select("subscribe").run()
    assert not app.exception
    assert metrics(app)["Stage"] == "consideration"


def test_the_process_model_tab_shows_what_the_miner_found(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    app.session_state["view"] = "Process model"
    app.run()
    assert not app.exception
    with store.engine(demo.id) as engine:
        expected = discover_model(engine, noise_threshold=0.2)
    assert metrics(app) == model_facts(expected)
    (diagram,) = drawings(app)
    tasks = {task.get("name") for task in SafeXml.fromstring(to_bpmn_xml(expected)).iter(f"{BPMN}task")}
    assert len(tasks) == 22
    drawn = {text.text for text in SafeXml.fromstring(diagram["svg"]).iter("{http://www.w3.org/2000/svg}text")}
    assert tasks <= drawn
    assert {button.label for button in app.get("download_button")} == {"BPMN", "PNML"}


def test_a_map_of_many_one_step_journeys_is_drawn_left_to_right_as_a_column_that_fits(settings: Settings) -> None:
    # Forty customers each do one touchpoint of their own: top to bottom, forty boxes would stand in one row.
    single_steps = journeys(*((f"customer {n}", f"complaint topic number {n}", 0) for n in range(40)))
    with Engine.from_frame(single_steps, settings) as engine:
        drawn = journey_map(engine, EVERYONE)
    dot, fits = map_layout(map_dot(drawn, "cases"))
    assert "rankdir=LR" in dot
    assert fits


def test_a_map_of_a_few_steps_stays_top_to_bottom_and_fits_the_page(shop: Engine) -> None:
    dot, fits = map_layout(map_dot(journey_map(shop, EVERYONE), "cases"))
    assert "rankdir=TB" in dot
    assert fits


# --- every box and arrow opens its figures and customers ---


def test_every_box_and_arrow_is_named_once_and_found_again(shop: Engine) -> None:
    drawn = journey_map(shop)
    elements = map_elements(drawn)
    assert list(elements)[:4] == ["visit", "buy", "call", "cancel"]  # touchpoints first, most customers first
    assert elements["(journey start) → visit"].startswith("s")
    assert map_element(drawn, elements["visit → buy"]) == (None, ("visit", "buy"))
    assert map_element(drawn, elements["buy → (journey end)"]) == (None, ("buy", None))
    assert map_element(drawn, elements["call"]) == ("call", None)
    assert len(elements) == len(drawn.nodes) + len(drawn.edges)


def test_a_step_named_like_a_touchpoint_stays_apart(settings: Settings) -> None:
    tricky = journeys(("anna", "a → b", 0), ("anna", "a", 1), ("anna", "b", 2))
    with Engine.from_frame(tricky, settings) as engine:
        elements = map_elements(journey_map(engine))
    assert elements["a → b"].startswith("a") and elements["a → b (step)"].startswith("s")


def test_tooltips_and_step_figures_say_what_each_number_counts(shop: Engine) -> None:
    drawn = journey_map(shop, stage_of=SHOP_STAGES.stage_of)
    elements = map_elements(drawn)
    tips = map_hover(drawn)
    assert set(tips) == set(elements.values())
    assert tips[elements["visit"]].split("\n")[:2] == ["visit", "5 customers (100.0%) · 6 events"]
    # visit → buy: bob 20 min, carl's visit at 0 then call, so bob, anna (60 min) and nobody else: see the funnel.
    assert step_facts(drawn, elements["visit → buy"]) == {
        "Customers (unique journeys)": "2",
        "Share of customers": "40.0%",
        "Moves (events)": "2",
        "Median time between": "40min",
        "90th percentile": "56min",
    }
    assert "Median time between" not in step_facts(drawn, elements["(journey start) → visit"])


def test_an_arrow_lists_exactly_its_customers_the_two_step_funnel(store: Store, demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    with store.engine(demo.id) as engine:
        dfg = engine.dfg().set_index(["source", "target"])
        moved = engine.query(
            "SELECT count(DISTINCT case_code) AS cases FROM steps "
            "WHERE activity::VARCHAR = 'compare_offers' AND next_activity::VARCHAR = 'check_coverage'"
        )["cases"].iloc[0]
    widget(app.selectbox, "Touchpoint or step").select("compare_offers → check_coverage").run()
    assert not app.exception
    cases = dfg.loc[("compare_offers", "check_coverage"), "cases"]
    assert cases == moved
    assert metrics(app)["Customers (unique journeys)"] == f"{cases:,}"
    assert any(f"directly to check\\_coverage**: {cases:,} (unique journeys)" in text.value for text in app.markdown)
    assert len(app.dataframe[-1].value) == min(cases, 1000)
    assert [link.label for link in app.main.get("page_link")][-1] == "Open one customer"


def test_a_box_filters_every_page_to_its_customers(demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    widget(app.selectbox, "Touchpoint or step").select("billing_dispute").run()
    widget(app.button, "Filter every page to these customers").click().run()
    assert not app.exception
    assert app.query_params["with_activities"] == '["billing_dispute"]'
    assert any(caption.value.startswith("Filters on every page") for caption in app.main.caption)


def test_an_arrow_filters_every_page_to_the_customers_who_took_it(demo: Dataset) -> None:
    app = open_journey_map(dataset=demo.id)
    widget(app.selectbox, "Touchpoint or step").select("compare_offers → check_coverage").run()
    shown = metrics(app)["Customers (unique journeys)"]
    widget(app.button, "Filter every page to these customers").click().run()
    assert not app.exception
    assert app.query_params["with_steps"] == '[["compare_offers","check_coverage"]]'
    assert metrics(app)["Customers (unique journeys)"] == shown  # the arrow, under the new filter, keeps them all
    drop = [button for button in app.button if button.label.startswith("who took the step compare\\_offers → ")]
    assert len(drop) == 1


def test_a_log_of_many_touchpoints_opens_with_a_map_graphviz_can_draw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BPIC 2011's 624 touchpoints, all drawn at first, stopped the server; at most 80 are drawn until asked."""
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "home"))
    rows = [f"c{c},t{k:03d},2025-01-01T00:{k // 60:02d}:{k % 60:02d}Z" for k in range(120) for c in range(120 - k)]
    source = tmp_path / "many.csv"
    source.write_text("customer,touchpoint,time\n" + "\n".join(rows) + "\n")
    dataset = import_file(source, store=Store(Settings.from_env()))
    app = open_journey_map(dataset=dataset.id)
    assert not app.exception
    shown = widget(app.slider, "Touchpoints shown").value
    assert shown < 100
    boxes = {box for box in re.findall(r'<g id="(a\d+)" class="node"', drawn_svg(app))}
    assert 0 < len(boxes) <= DRAWN_TOUCHPOINTS


def test_a_map_graphviz_cannot_draw_says_what_to_do_instead(demo: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot_module, "_DRAW", "import os; os.abort()")
    dot_module._laid_out.cache_clear()  # nothing drawn before
    app = open_journey_map(dataset=demo.id, touchpoints="95")  # a map no earlier test laid out (nor cached)
    assert not app.exception
    assert any("Graphviz failed to lay this drawing out" in error.value for error in app.error)
    assert not drawings(app)


def _first_look_of(touchpoints: int) -> None:
    """A page drawing the first look of a log of `touchpoints` touchpoints done one after another by one customer."""
    import pandas as pd
    import streamlit as st

    from data import FIRST_LOOK_TOUCHPOINTS, FirstLook
    from ui.journey import show_first_look

    names = [f"step {index}" for index in range(touchpoints)]
    steps = pd.DataFrame({"source": [None, *names], "target": [*names, None], "events": 1, "cases": 1})
    touched = pd.DataFrame({"activity": names, "events": 1, "cases": 1})
    if touchpoints > FIRST_LOOK_TOUCHPOINTS:  # none counted, as the import hands it over
        touched, steps = touched.head(0), steps.head(0)
    show_first_look(st.empty(), FirstLook(touched, steps, cases=1, events=touchpoints, activities=touchpoints))


def test_the_imports_first_look_is_drawn_with_what_it_counts_and_what_comes_after() -> None:
    app = AppTest.from_function(_first_look_of, args=(3,)).run()
    assert not app.exception
    assert app.markdown[0].value.startswith("**A first look at the journey map**")
    texts = {text.text for text in SafeXml.fromstring(drawn_svg(app)).iter("{http://www.w3.org/2000/svg}text")}
    assert {"step 0", "step 1", "step 2"} <= {text.split("\n")[0] for text in texts if text}
    caption = app.caption[0].value
    assert caption.startswith("1 customers (unique journeys), 3 events.")
    assert "Drawn: every touchpoint and 4 of 4 paths" in caption and "once the import ends" in caption


def test_a_first_look_of_more_touchpoints_than_a_map_draws_says_so_instead() -> None:
    app = AppTest.from_function(_first_look_of, args=(FIRST_LOOK_TOUCHPOINTS + 1,)).run()
    assert not app.exception and not drawings(app)
    assert app.caption[0].value.startswith(f"This log has {FIRST_LOOK_TOUCHPOINTS + 1:,} touchpoints")
