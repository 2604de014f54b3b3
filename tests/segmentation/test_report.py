"""The report's personas and comparison sections on a small stored telecom log, the view's persona condition, and
`python -m segmentation report` / `python -m discovery report` run as a user would (same bytes twice; a PDF)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest

from data import LogError, Settings, Store
from data.demo import generate_demo
from data.importing import import_file
from discovery import ChurnRule, ReportView, definition_of, render_report, save_definition
from discovery.__main__ import main as discovery_main
from segmentation import (
    REPORT_SECTIONS,
    PersonaRun,
    compare_segments,
    find_personas,
    persona_members,
    persona_profiles,
    readable_kpis,
    run_filters,
    save_run,
    save_segment,
    stored_report_inputs,
)
from segmentation.__main__ import main as segmentation_main
from tests.conftest import REPO

BROWSER = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
WEB, STORE = {"channels": '["web"]'}, {"channels": '["store"]'}
ROW = re.compile(r"<tr>(.*?)</tr>")
CELL = re.compile(r"<td[^>]*>(.*?)</td>")


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 telecom customers, written once for the module."""
    path = tmp_path_factory.mktemp("logs") / "journeys.csv"
    generate_demo(400, scenario="telecom", seed=5).events.to_csv(path, index=False)
    return path


@pytest.fixture
def stored(log_file: Path) -> tuple[Store, str]:
    """A stored log with a saved persona run ("Spring", k = 3, one persona named with markup) and two segments."""
    store = Store(Settings.from_env())
    dataset_id = import_file(log_file, store=store).id
    save_run(store, dataset_id, "Spring", PersonaRun(3, 0, "kmeans", names={0: "App <first>", 1: "Store", 2: "Web"}))
    save_segment(store, dataset_id, "Web", WEB)
    save_segment(store, dataset_id, "Store", STORE)
    return store, dataset_id


def section_rows(document: str, key: str) -> list[list[str]]:
    body = document.split(f'<section id="section-{key}">', 1)[1].split("</section>", 1)[0]
    return [[html.unescape(cell) for cell in CELL.findall(row)] for row in ROW.findall(body) if "<td" in row]


def test_personas_section_shows_the_saved_run_as_the_personas_page_does(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView(persona_run="Spring"))
        document = render_report(inputs, [REPORT_SECTIONS["personas"]])
        definition, _ = definition_of(store, dataset_id, engine)
        found = find_personas(engine, definition=definition, k=3, seed=0)
        expected = persona_profiles(engine, found.case_ids, found.labels, definition=definition).table
    listed = section_rows(document, "personas")
    assert [cells[0] for cells in listed] == ["App <first>", "Store", "Web"]
    assert [cells[1] for cells in listed] == [f"{n:,}" for n in expected["customers"]]
    assert sum(int(cells[1].replace(",", "")) for cells in listed) == 400  # every customer, once
    assert "App &lt;first&gt;" in document


@pytest.mark.parametrize(
    ("change", "conversion", "churn"),
    [
        ({"goal": ()}, "no goal", "no goal"),  # every decided journey would be a churn: 100 %
        # nobody is silent that long: the personas that mostly did not convert are mostly still open
        ({"churn": ChurnRule(inactivity_days=100_000)}, None, "not yet known"),
    ],
)
def test_a_rate_the_personas_cannot_give_says_why(stored: tuple[Store, str], change, conversion, churn) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        definition, _ = definition_of(store, dataset_id, engine)
        save_definition(store, dataset_id, replace(definition, **change))
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView(persona_run="Spring"))
        document = render_report(inputs, [REPORT_SECTIONS["personas"]])
    listed = section_rows(document, "personas")
    assert churn in {cells[4] for cells in listed}
    assert conversion is None or {(cells[3], cells[4]) for cells in listed} == {(conversion, churn)}


def test_comparison_section_shows_the_compare_pages_kpis(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView.from_query("a_segment=Web&b_segment=Store"))
        document = render_report(inputs, [REPORT_SECTIONS["comparison"]])
        definition, _ = definition_of(store, dataset_id, engine)
        expected = readable_kpis(
            compare_segments(
                engine,
                run_filters(store, dataset_id, WEB),
                run_filters(store, dataset_id, STORE),
                definition=definition,
            )
        )
    listed = section_rows(document, "comparison")
    assert [cells[:3] for cells in listed[: len(expected)]] == expected[["KPI", "A", "B"]].astype(str).values.tolist()


def test_a_stage_without_touchpoints_says_so_in_the_comparisons_funnel(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        definition, _ = definition_of(store, dataset_id, engine)
        emptied = dict.fromkeys(definition.stages.activities_in("consideration"))
        save_definition(store, dataset_id, replace(definition, stages=definition.stages.with_overrides(emptied)))
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView.from_query("a_segment=Web&b_segment=Store"))
        document = render_report(inputs, [REPORT_SECTIONS["comparison"]])
    funnel = {cells[0]: cells[1:] for cells in section_rows(document, "comparison") if len(cells) == 4}
    assert funnel["consideration (no touchpoint in this stage)"][2] == "not tested"
    assert "not tested" not in funnel["purchase"][2]


def test_a_view_with_a_persona_keeps_that_personas_customers(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView.from_query("persona=Spring%3A1"))
        members = persona_members(store, dataset_id, "Spring", 1)
        assert inputs.summary.cases == len(members)
    assert inputs.stamp.filters.endswith("(persona Spring · Store)")
    assert inputs.definition_source == "suggested from the log"


def test_personas_and_comparison_say_what_they_need(stored: tuple[Store, str]) -> None:
    store, dataset_id = stored
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, ReportView())
        with pytest.raises(LogError, match="Spring"):  # the saved runs to choose from
            render_report(inputs, [REPORT_SECTIONS["personas"]])
        with pytest.raises(LogError, match="two saved segments"):
            render_report(inputs, [REPORT_SECTIONS["comparison"]])
        with pytest.raises(LogError, match="no saved segment"):
            render_report(replace(inputs, view=ReportView(segments=("Web", "Nope"))), [REPORT_SECTIONS["comparison"]])


def test_cli_writes_the_same_bytes_twice(run_cli, stored: tuple[Store, str], tmp_path: Path) -> None:
    _store, dataset_id = stored
    home = Settings.from_env().home
    arguments = [
        "report",
        dataset_id,
        "--view",
        "http://localhost:8501/Journey_map?metric=median&paths=60&channels=%5B%22web%22%2C%22store%22%5D",
        "--sections",
        *REPORT_SECTIONS,
        "--personas",
        "Spring",
        "--compare",
        "Web",
        "Store",
    ]
    first = run_cli(segmentation_main, *arguments, "--out", str(tmp_path / "one.html"), home=home)
    second = run_cli(segmentation_main, *arguments, "--out", str(tmp_path / "two.html"), home=home)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()
    document = (tmp_path / "one.html").read_text(encoding="utf-8")
    assert [key for key in REPORT_SECTIONS if f'id="section-{key}"' in document] == list(REPORT_SECTIONS)
    assert "Paths labelled with median time; touchpoints shown 100%; paths shown 60%." in document


def test_discovery_cli_reports_a_log_file(run_cli, log_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    finished = run_cli(discovery_main, "report", str(log_file), "--out", str(out), home=tmp_path)
    assert finished.returncode == 0, finished.stderr
    document = out.read_text(encoding="utf-8")
    assert "Log: journeys.csv · Journey definition: suggested from the log · Filters: all customers" in document
    assert [key for key in REPORT_SECTIONS if f'id="section-{key}"' in document] == [
        "summary",
        "map",
        "stages",
        "churn",
        "designed",
        "actions",
    ]
    assert "A designed journey belongs to a stored log" in document and "Actions belong to a stored log" in document


def test_discovery_cli_refuses_a_persona_section_and_a_persona_view(run_cli, log_file: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run_cli(discovery_main, "report", str(log_file), "--sections", "personas", "--out", "x.html", home=tmp_path)
    finished = run_cli(
        discovery_main, "report", str(log_file), "--view", "persona=Spring:0", "--out", "x.html", home=tmp_path
    )
    assert finished.returncode == 2 and "python -m segmentation report" in finished.stderr


@BROWSER
@pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium")
def test_cli_prints_a_pdf(log_file: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    finished = subprocess.run(
        [sys.executable, "-m", "discovery", "report", str(log_file), "--out", "r.html", "--pdf", "r.pdf"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PARCOURS_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
