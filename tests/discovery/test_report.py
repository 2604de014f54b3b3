"""The branded report on a hand-made log: each section's figures are the library's, nothing is fetched or run,
every label is escaped, the same inputs give the same bytes; the view, the logo and the colours are checked."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import discovery._dot as dot_module
from data.engine import Engine
from data.errors import LogError
from data.exports import ExportStamp
from data.filters import Filters
from data.settings import Settings
from discovery import (
    DISCOVERY_SECTIONS,
    DRAWN_TOUCHPOINTS,
    MAX_LOGO_BYTES,
    Branding,
    ChurnRule,
    JourneyDefinition,
    PdfUnavailable,
    ReportInputs,
    ReportView,
    StageModel,
    churn_points,
    funnel,
    inline_svg,
    journey_map,
    log_report_inputs,
    logo_data_uri,
    map_layout,
    map_to_dot,
    render_dot,
    render_report,
    report_pdf,
    simplified_map,
    stage_kpis,
)
from tests.discovery import journeys

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
# ann buys; ben leaves after his cart; cal leaves after a visit; dot is still open; eve's touchpoint is hostile.
SHOP = journeys(
    ("ann", "visit", 0, "web"),
    ("ann", "cart", 10, "web"),
    ("ann", "buy", 20, "store"),
    ("ben", "visit", 0, "web"),
    ("ben", "cart", 30, "web"),
    ("ben", "quit", 60, "phone"),
    ("cal", "visit", 0, "store"),
    ("cal", "quit", 90, "phone"),
    ("dot", "visit", 0, "web"),
    ("eve", "visit", 0, "web"),
    ("eve", HOSTILE, 5, "web"),
    ("eve", "quit", 15, "phone"),
)
DEFINITION = JourneyDefinition(
    goal=("buy",),
    stages=StageModel(
        stages=("discovery", "consideration", "purchase"),
        stage_of={"visit": "discovery", "cart": "consideration", HOSTILE: "consideration", "buy": "purchase"},
    ),
    churn=ChurnRule(touchpoints=("quit",)),
)
STAMP = ExportStamp("shop.csv", None, None, "all customers")
EVERYTHING = ReportView()
KPI = re.compile(r'<div class="kpi"><span>(.*?)</span><strong>(.*?)</strong></div>')
ROW = re.compile(r"<tr>(.*?)</tr>")
CELL = re.compile(r"<td[^>]*>(.*?)</td>")
BAR_VALUE = re.compile(r'<span class="bar-value">(.*?)</span>')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def inputs_of(engine: Engine, view: ReportView = EVERYTHING) -> ReportInputs:
    return ReportInputs(engine, DEFINITION, STAMP, view=view)


def section(document: str, key: str) -> str:
    return document.split(f'<section id="section-{key}">', 1)[1].split("</section>", 1)[0]


def rows(fragment: str) -> list[list[str]]:
    return [CELL.findall(row) for row in ROW.findall(fragment) if "<td" in row]


def test_summary_states_the_library_counts_of_unique_customers(shop: Engine) -> None:
    document = render_report(inputs_of(shop), [DISCOVERY_SECTIONS["summary"]])
    assert dict(KPI.findall(section(document, "summary"))) == {
        "Customers (unique journeys)": "5",
        "Events": "12",
        "Touchpoints": "5",
        "Journey variants": "5",
        "Converted": "20.0%",  # ann, of 5
        "Churned (of decided journeys)": "75.0%",  # ben, cal, eve of the 4 decided (dot is open)
        "Still open (censored)": "1",
    }


def test_without_a_goal_the_summary_gives_neither_rate(shop: Engine) -> None:
    no_goal = ReportInputs(shop, replace(DEFINITION, goal=()), STAMP, view=EVERYTHING)
    tiles = dict(KPI.findall(section(render_report(no_goal, [DISCOVERY_SECTIONS["summary"]]), "summary")))
    assert (tiles["Converted"], tiles["Churned (of decided journeys)"]) == ("no goal", "no goal")


def test_without_a_goal_the_churn_section_lists_no_churn_point(shop: Engine) -> None:
    no_goal = ReportInputs(shop, replace(DEFINITION, goal=()), STAMP, view=EVERYTHING)
    body = section(render_report(no_goal, [DISCOVERY_SECTIONS["churn"]]), "churn")
    assert "No goal is chosen, so no touchpoint is a churn point" in body
    assert not rows(body)


def test_stage_section_shows_the_stage_kpis_and_the_stage_funnel(shop: Engine) -> None:
    body = section(render_report(inputs_of(shop), [DISCOVERY_SECTIONS["stages"]]), "stages")
    kpis = stage_kpis(shop, DEFINITION).table
    assert [(cells[0], cells[1], cells[2]) for cells in rows(body)] == [
        (row.stage, f"{row.customers:,}", f"{row.did_stage:,}") for row in kpis.itertuples()
    ]
    assert [cells[1] for cells in rows(body)] == ["5", "3", "1"]  # got at least this far
    steps = funnel(shop, DEFINITION.stages.stages, by="stage", model=DEFINITION.stages).table
    assert [value.split(" · ")[0] for value in BAR_VALUE.findall(body)] == [f"{n:,}" for n in steps["customers"]]


def test_churn_section_lists_the_library_churn_points_in_order(shop: Engine) -> None:
    body = section(render_report(inputs_of(shop), [DISCOVERY_SECTIONS["churn"]]), "churn")
    points = churn_points(shop, DEFINITION).activities
    listed = rows(body)
    assert [cells[0] for cells in listed] == [_escaped(name) for name in points["activity"].head(10)]
    assert [(cells[2], cells[3]) for cells in listed] == [
        (f"{row.customers:,}", f"{row.churned:,}") for row in points.head(10).itertuples()
    ]


def test_map_section_is_the_svg_the_journey_map_page_draws_for_the_view(shop: Engine) -> None:
    view = ReportView(metric="median", touchpoints=80, paths=50)
    body = section(render_report(inputs_of(shop, view), [DISCOVERY_SECTIONS["map"]]), "map")
    churn = churn_points(shop, DEFINITION).by_activity
    model = DEFINITION.stages
    full = journey_map(shop, stage_of=model.stage_of, stages=model.stages, churn=churn)
    drawn = simplified_map(shop, full, activity_coverage=0.8, path_coverage=0.5)
    dot, _ = map_layout(map_to_dot(drawn, metric="median", rankdir="TB"))
    assert inline_svg(render_dot(dot)) in body
    assert "touchpoints shown 80%; paths shown 50%" in body


def test_the_map_of_a_log_of_many_touchpoints_draws_at_most_those_the_page_opens_with(settings: Settings) -> None:
    many = journeys(*((f"c{c}", f"t{k:03d}", k) for k in range(120) for c in range(120 - k)))
    with Engine.from_frame(many, settings) as engine:
        inputs = ReportInputs(engine, JourneyDefinition(), STAMP, view=ReportView())
        body = section(render_report(inputs, [DISCOVERY_SECTIONS["map"]]), "map")
    # 100 % asked for, but touchpoint k done by 120 - k customers: the first 80 cover 6,440 of 7,260 (88.7 %), so
    # 90 % needs an 81st box and 85 % 74 of them.
    assert "touchpoints shown 85%" in body
    assert 0 < len(re.findall(r'class="node"', body)) - 2 <= DRAWN_TOUCHPOINTS  # start and end aside


def test_a_map_graphviz_cannot_draw_says_what_to_do_and_the_report_goes_on(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dot_module, "_DRAW", "import os; os.abort()")
    dot_module._laid_out.cache_clear()  # nothing drawn before
    document = render_report(inputs_of(shop), [DISCOVERY_SECTIONS["map"], DISCOVERY_SECTIONS["stages"]])
    assert "Graphviz failed to lay this drawing out" in section(document, "map")
    assert rows(section(document, "stages"))


def test_every_section_states_its_log_definition_filters_and_dates(shop: Engine) -> None:
    view = ReportView(selection={"channels": '["web"]'})
    inputs = log_report_inputs(shop, view, DEFINITION, definition_source="the file shop.json", log_name="shop.csv")
    document = render_report(inputs, list(DISCOVERY_SECTIONS.values()))
    provenance = (
        "Log: shop.csv · Journey definition: the file shop.json · Filters: "
        f"{Filters(channels={'web'}).describe()} · Events from 2025-01-06 to 2025-01-06"
    )
    for key in DISCOVERY_SECTIONS:
        assert f'<p class="provenance">{_escaped(provenance)}</p>' in section(document, key)


def test_report_fetches_nothing_and_runs_nothing(shop: Engine) -> None:
    branding = Branding("Acme", "data:image/png;base64," + base64.b64encode(PNG).decode(), "#112233", "#445566")
    document = render_report(inputs_of(shop), list(DISCOVERY_SECTIONS.values()), branding)
    assert "<script" not in document.lower()
    assert "http://" not in document and "https://" not in document
    assert re.findall(r'(?:src|href)="(?!#|data:image/png;base64,)', document) == []
    assert "url(" not in document and "@import" not in document
    assert "default-src 'none'" in document  # and a browser refuses whatever else might slip in


def test_user_text_is_escaped_everywhere(shop: Engine) -> None:
    branding = Branding(company='<b onclick="x()">Acme</b>')
    document = render_report(inputs_of(shop), list(DISCOVERY_SECTIONS.values()), branding, title="<i>Q1</i>")
    assert HOSTILE not in document and "<img" not in document and "<b onclick" not in document
    assert _escaped(HOSTILE) in section(document, "churn")
    assert "&lt;b onclick=&quot;x()&quot;&gt;Acme&lt;/b&gt;" in document
    assert "&lt;i&gt;Q1&lt;/i&gt;" in document


def test_a_link_to_the_network_in_a_label_stays_text(settings: Settings) -> None:
    frame = journeys(("a", "https://evil.example/x.png", 0), ("a", "buy", 5))
    with Engine.from_frame(frame, settings) as engine:
        inputs = ReportInputs(engine, JourneyDefinition(goal=("buy",)), STAMP)
        document = render_report(inputs, list(DISCOVERY_SECTIONS.values()))
    assert "https://evil.example/x.png" in document
    assert re.findall(r'(?:src|href)="(?!#)', document) == []


def test_the_same_inputs_give_the_same_bytes(shop: Engine) -> None:
    one = ReportView(selection={"channels": '["web"]', "min_events": "2"})
    other = ReportView(selection={"min_events": "2", "channels": '["web"]'})
    sections = list(DISCOVERY_SECTIONS.values())
    assert render_report(inputs_of(shop, one), sections) == render_report(inputs_of(shop, other), sections)
    assert "Generated" not in render_report(inputs_of(shop), sections)
    assert "Generated 2026-12-01" in render_report(inputs_of(shop), sections, generated_at="2026-12-01")


def test_sections_come_in_the_order_given_and_one_is_needed(shop: Engine) -> None:
    document = render_report(inputs_of(shop), [DISCOVERY_SECTIONS["churn"], DISCOVERY_SECTIONS["summary"]])
    assert document.index('id="section-churn"') < document.index('id="section-summary"')
    with pytest.raises(LogError, match="at least one section"):
        render_report(inputs_of(shop), [])


def test_view_reads_a_copied_dashboard_link() -> None:
    view = ReportView.from_query(
        "http://localhost:8501/Journey_map?metric=90th+percentile&touchpoints=70&paths=40&channels=%5B%22web%22%5D"
        "&view=Journey+map&persona=Spring%3A1&a_segment=Web&b_segment=Store&dataset=abc"
    )
    assert view == ReportView("p90", 70, 40, {"channels": '["web"]', "persona": "Spring:1"}, ("Web", "Store"))
    assert ReportView.from_query("") == ReportView()
    assert ReportView.from_query("?paths=100") == ReportView(paths=100)
    assert ReportView.from_query("run=Spring+2025").persona_run == "Spring 2025"
    assert ReportView.from_query("metric=median") == ReportView.from_query("metric=Median%20time")


@pytest.mark.parametrize(
    "query", ["metric=speed", "touchpoints=lots", "paths=0", "touchpoints=101"], ids=["metric", "text", "0", "101"]
)
def test_view_refuses_what_the_map_page_cannot_show(query: str) -> None:
    with pytest.raises(LogError):
        ReportView.from_query(query)


def test_a_persona_view_needs_the_segmentation_layer(shop: Engine) -> None:
    with pytest.raises(LogError, match="python -m segmentation report"):
        log_report_inputs(shop, ReportView(selection={"persona": "Spring:0"}), DEFINITION)


def test_logo_is_inlined_as_a_data_uri(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "logo.svg").write_bytes(CLEAN_SVG)
    assert logo_data_uri(tmp_path / "logo.png") == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert logo_data_uri(tmp_path / "logo.svg").startswith("data:image/svg+xml;base64,")


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        b'<image x:href="https://evil.example/a.png"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>rect { fill: url(https://evil.example/a) }</style></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject></svg>',
        b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        b"<html><body>not an image</body></html>",
        b"plain text",
    ],
    ids=["script", "onload", "external-href", "css-url", "foreign-object", "entity", "html", "text"],
)
def test_a_logo_that_could_run_or_fetch_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "logo.svg").write_bytes(content)
    with pytest.raises(LogError):
        logo_data_uri(tmp_path / "logo.svg")


def test_a_logo_too_large_or_missing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(PNG + b"\x00" * MAX_LOGO_BYTES)
    with pytest.raises(LogError, match="larger than"):
        logo_data_uri(tmp_path / "big.png")
    with pytest.raises(LogError, match="cannot be read"):
        logo_data_uri(tmp_path / "none.png")


def test_branding_comes_from_settings(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    settings = Settings.from_env(
        {
            "PARCOURS_HOME": str(tmp_path),
            "PARCOURS_REPORT_COMPANY": "Acme",
            "PARCOURS_REPORT_LOGO": str(tmp_path / "logo.png"),
            "PARCOURS_REPORT_PRIMARY_COLOR": "#AABBCC",
        }
    )
    branding = Branding.from_settings(settings)
    assert (branding.company, branding.primary, branding.accent) == ("Acme", "#AABBCC", "#e07a1f")
    assert branding.logo.startswith("data:image/png;base64,")


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#12345g", "#123456;}body{x:y"])
def test_a_colour_that_is_not_hex_is_refused(tmp_path: Path, colour: str) -> None:
    with pytest.raises(LogError, match="PARCOURS_REPORT_ACCENT_COLOR"):
        Settings.from_env({"PARCOURS_HOME": str(tmp_path), "PARCOURS_REPORT_ACCENT_COLOR": colour})


def test_without_chromium_the_pdf_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(PdfUnavailable, match="Install Chromium"):
        report_pdf("<!DOCTYPE html><p>report</p>")


def test_view_round_trips_through_its_dict() -> None:
    view = ReportView("events", 90, 30, {"channels": '["web"]'}, ("A", "B"), "Spring")
    assert replace(view) == view
    assert view.to_dict() == {
        "metric": "events",
        "touchpoints": 90,
        "paths": 30,
        "selection": {"channels": '["web"]'},
        "segments": ["A", "B"],
        "persona_run": "Spring",
    }


def _escaped(text: str) -> str:
    return html.escape(text, quote=True)
