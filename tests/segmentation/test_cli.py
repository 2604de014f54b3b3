"""`python -m segmentation`: personas and comparisons from a file or a stored dataset, errors without tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import Filters
from data.demo import generate_demo
from data.importing import import_file
from data.settings import Settings
from data.store import Store
from discovery import JourneyDefinition, write_definition
from segmentation import save_segment
from segmentation.__main__ import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "journeys.csv"
    generate_demo(300, scenario="telecom", seed=1).events.to_csv(path, index=False)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_personas_prints_json_profiles_and_writes_each_customers_persona(
    log_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "personas.csv"
    status, printed, _ = run(capsys, "personas", str(log_file), "--k", "3", "--seed", "2", "--out", str(out), "--json")
    assert status == 0
    result = json.loads(printed)
    assert result["k"] == 3
    assert list(result["silhouette_by_k"]) == ["3"]
    assert sum(persona["customers"] for persona in result["personas"]) == 300
    written = pd.read_csv(out)
    assert list(written.columns) == ["case_id", "persona", "persona_name"]
    assert len(written) == 300 and set(written["persona"]) == {0, 1, 2}
    names = {persona["persona"]: persona["name"] for persona in result["personas"]}
    assert (written["persona_name"] == written["persona"].map(names)).all()


@pytest.mark.slow
def test_the_same_seed_gives_the_same_personas(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "personas", str(log_file), "--seed", "4", "--json")[1]
    second = run(capsys, "personas", str(log_file), "--seed", "4", "--json")[1]
    assert first == second


def test_compare_a_persona_with_an_attribute_segment(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = run(
        capsys, "compare", str(log_file), "--a", "persona:0", "--b", "age_band=65+", "--k", "3", "--json"
    )
    assert status == 0
    result = json.loads(printed)
    assert result["b"] == "customers whose age_band is 65+"
    assert result["customers_a"] > 0 and result["customers_b"] > 0
    kpis = {row["kpi"]: row for row in result["kpis"]}
    assert list(kpis) == [
        "customers",
        "conversion rate",
        "churn rate",
        "median journey duration",
        "median journey length",
    ]
    assert kpis["median journey duration"]["effect_measure"] == "Hodges–Lehmann shift (Moses interval)"
    assert [family["table"] for family in result["families"]] == ["kpis", "funnel", "channels", "edges", "variants"]
    assert not any("personas of one run" in caveat for caveat in result["caveats"])


def test_two_personas_are_compared_with_a_caveat(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = run(capsys, "compare", str(log_file), "--a", "persona:0", "--b", "persona:1", "--k", "2")
    assert status == 0
    assert "note: A and B are personas of one run" in printed


def test_compare_channels_and_activities_in_plain_text(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = run(capsys, "compare", str(log_file), "--a", "channel=store", "--b", "activity=use_app")
    assert status == 0
    assert "A: customers who used store" in printed
    assert "B: customers who did use_app" in printed
    assert "each table corrected on its own (Benjamini–Hochberg): headline KPIs 4 tests" in printed
    assert "most different map edges" in printed
    assert re.search(r"conversion rate +\d+\.\d % \([\d,]+ of [\d,]+\)", printed)


def test_compare_follows_a_definition_file(log_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = tmp_path / "definition.json"
    write_definition(JourneyDefinition(), definition)
    status, printed, _ = run(
        capsys, "compare", str(log_file), "--a", "channel=store", "--b", "channel=web", "--definition", str(definition),
        "--json",
    )  # fmt: skip
    assert status == 0
    kpis = {row["kpi"]: row for row in json.loads(printed)["kpis"]}
    assert kpis["conversion rate"]["note"] == "no goal is chosen in the definition"


def test_a_saved_segment_of_a_stored_dataset_is_compared(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(Settings.from_env())
    dataset = import_file(log_file, store=store)
    save_segment(store, dataset.id, "Store customers", {"channels": '["store"]', "dataset": dataset.id})
    status, printed, _ = run(
        capsys, "compare", dataset.id, "--a", "segment:Store customers", "--b", "channel=web", "--json"
    )
    assert status == 0
    result = json.loads(printed)
    assert result["a"] == "customers who used store"
    with store.engine(dataset.id) as engine:
        assert result["customers_a"] == engine.summary(Filters(channels={"store"})).cases
    status, _, error = run(capsys, "compare", dataset.id, "--a", "segment:Stor customers", "--b", "channel=web")
    assert status == 2
    assert "no saved segment" in error and "Store customers" in error


def test_a_stored_dataset_is_found_by_its_id(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = import_file(log_file, store=Store(Settings.from_env()))
    status, printed, _ = run(capsys, "personas", dataset.id, "--k", "2")
    assert status == 0
    assert printed.startswith("2 personas")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["personas", "no-such-log.csv"], "no such file"),
        (["personas", "{log}", "--k", "1"], "At least 2 personas"),
        (["compare", "{log}", "--a", "persona:7", "--b", "persona:x", "--k", "2"], "numbered from 0"),
        (["compare", "{log}", "--a", "nonsense", "--b", "channel=web"], "not a segment"),
        (["compare", "{log}", "--a", "hobby=chess", "--b", "channel=web"], "no such attribute"),
        (["compare", "{log}", "--a", "segment:mine", "--b", "channel=web"], "belong to a stored dataset"),
    ],
)
def test_bad_input_exits_with_2_and_a_message(
    log_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, error = run(capsys, *(argument.format(log=log_file) for argument in argv))
    assert status == 2
    assert message in error
    assert "Traceback" not in error


def test_every_segment_problem_is_reported_at_once(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, error = run(capsys, "compare", str(log_file), "--a", "persona:7", "--b", "persona:x", "--k", "2")
    assert "numbered from 0" in error and "by its number" in error


@pytest.mark.slow
def test_the_module_runs_as_a_program_and_never_shows_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("nothing,to,see\n1,2,3\n", encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "segmentation", "personas", str(broken)], cwd=REPO, capture_output=True, text=True
    )
    assert finished.returncode == 2
    assert finished.stderr.startswith("error: ")
    assert "Traceback" not in finished.stderr


def test_a_file_is_read_with_the_same_mapping_options_as_python_m_data(capsys: pytest.CaptureFixture[str]) -> None:
    export = REPO / "tests" / "data" / "fixtures" / "ecommerce_utc.csv"
    mapping = ["--case", "user_session", "--activity", "event_type", "--timestamp", "event_time"]

    status, printed, error = run(
        capsys,
        "compare",
        str(export),
        *mapping,
        "--a",
        "activity=purchase",
        "--b",
        "activity=remove_from_cart",
        "--json",
    )

    assert status == 0, error
    result = json.loads(printed)
    # Sessions s1, s4 and s6 bought; s3 removed its cart item.
    assert (result["customers_a"], result["customers_b"]) == (3, 1)
    status, _, error = run(capsys, "personas", str(export), *mapping, "--timestamp-format", "%Q")
    assert status == 2
    assert "'%Q' is not a strptime format" in error
