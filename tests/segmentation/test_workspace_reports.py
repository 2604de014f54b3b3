"""A workspace's reports: they carry the branding its admins set, the operator's where they set none (in the library
and through the report command, acting as a member), and a saved report's link writes its title and sections."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from data import DEFAULT_WORKSPACE, REPORTS_PAGE, LogError, PermissionDenied, Settings, Store, page_address, save_view
from discovery import Branding, save_branding
from segmentation.__main__ import main as segmentation_main
from tests.data.test_store import event_log

ANA = "ana@example.org"  # admin of both workspaces
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


@pytest.fixture
def ana(monkeypatch: pytest.MonkeyPatch) -> Store:
    """A team install whose operator brands every report "Operator Inc"; ana administers the Default workspace."""
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", ANA)
    monkeypatch.setenv("PARCOURS_REPORT_COMPANY", "Operator Inc")
    return Store(Settings.from_env(), user=ANA)


def test_an_unset_part_is_the_operators_and_a_set_one_the_workspaces(ana: Store) -> None:
    operator = Branding.of_workspace(ana, DEFAULT_WORKSPACE)
    assert operator == Branding.from_settings(ana.settings)
    assert operator.company == "Operator Inc"

    branded = save_branding(ana, DEFAULT_WORKSPACE, primary="#0b6e4f", logo=CLEAN_SVG)
    assert (branded.company, branded.primary, branded.accent) == ("Operator Inc", "#0b6e4f", operator.accent)
    assert branded.logo == "data:image/svg+xml;base64," + base64.b64encode(CLEAN_SVG).decode()
    kept = save_branding(ana, DEFAULT_WORKSPACE, company="Acme", logo=branded.logo)  # the saved logo, kept
    assert (kept.company, kept.primary, kept.logo) == ("Acme", operator.primary, branded.logo)
    assert save_branding(ana, DEFAULT_WORKSPACE) == operator  # nothing set: the operator's again


def test_an_uploaded_logo_is_checked_like_the_settings_logo(ana: Store) -> None:
    for content, says in (
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "could run or fetch"),
        (PNG + b"\x00" * 300_000, "larger than"),
        (b"plain text", "not a PNG"),
    ):
        with pytest.raises(LogError, match=says):
            save_branding(ana, DEFAULT_WORKSPACE, logo=content)
    # A logo put in the database some other way is checked again when a report reads it.
    script = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    ana.set_branding(DEFAULT_WORKSPACE, {"logo": "data:image/svg+xml;base64," + base64.b64encode(script).decode()})
    with pytest.raises(LogError, match="could run or fetch"):
        Branding.of_workspace(ana, DEFAULT_WORKSPACE)


def test_only_an_admin_brands_the_workspace(ana: Store) -> None:
    ana.set_member(DEFAULT_WORKSPACE, "ed@example.org", "editor")
    with pytest.raises(PermissionDenied):
        save_branding(ana.as_user("ed@example.org"), DEFAULT_WORKSPACE, company="Ed's", logo=PNG)
    assert Branding.of_workspace(ana.as_user("ed@example.org"), DEFAULT_WORKSPACE).company == "Operator Inc"


def test_a_report_of_workspace_a_carries_as_branding_and_bs_carries_bs(ana: Store, run_cli, tmp_path: Path) -> None:
    other = ana.create_workspace("B team")
    in_a = ana.import_log(event_log())
    in_b = ana.import_log(event_log(), workspace=other.id)
    save_branding(ana, DEFAULT_WORKSPACE, company="Acme <A>", primary="#112233", accent="#445566")
    save_branding(ana, other.id, company="Bravo B", primary="#778899", accent="#aabbcc", logo=PNG)

    documents = {}
    for dataset in (in_a, in_b):
        out = tmp_path / f"{dataset.id}.html"
        arguments = ["--as", ANA, "report", dataset.id, "--sections", "summary", "--out", str(out)]
        finished = run_cli(segmentation_main, *arguments, home=ana.settings.home)
        assert finished.returncode == 0, finished.stderr
        documents[dataset.workspace_id] = out.read_text(encoding="utf-8")

    a, b = documents[DEFAULT_WORKSPACE], documents[other.id]
    assert '<p class="company">Acme &lt;A&gt;</p>' in a and "Bravo B" not in a
    assert "#112233" in a and "#445566" in a and "#778899" not in a and "data:image/png" not in a
    assert '<p class="company">Bravo B</p>' in b and "Acme" not in b
    assert "#778899" in b and "#aabbcc" in b and "#112233" not in b and "data:image/png;base64," in b


def test_a_saved_reports_link_writes_its_title_and_sections(ana: Store, run_cli, tmp_path: Path) -> None:
    dataset = ana.import_log(event_log())
    query = {"dataset": dataset.id, "report_title": "Churn <review>", "sections": ["Churn points", "Summary"]}
    save_view(ana, dataset.id, "Monthly", REPORTS_PAGE, query)
    link = f"http://localhost:8501/{page_address(REPORTS_PAGE)}?{urlencode(query, doseq=True)}"
    arguments = ["--as", ANA, "report", dataset.id, "--view", link]

    linked = run_cli(segmentation_main, *arguments, "--out", str(tmp_path / "linked.html"), home=ana.settings.home)
    given = run_cli(
        segmentation_main,
        *arguments,
        "--sections",
        "map",
        "--title",
        "Map only",
        "--out",
        str(tmp_path / "given.html"),
        home=ana.settings.home,
    )

    assert linked.returncode == 0 and given.returncode == 0, linked.stderr + given.stderr
    document = (tmp_path / "linked.html").read_text(encoding="utf-8")
    assert "<h1>Churn &lt;review&gt;</h1>" in document
    assert re.findall(r'id="section-(\w+)"', document) == ["summary", "churn"]  # in report order
    document = (tmp_path / "given.html").read_text(encoding="utf-8")  # what the command line says comes first
    assert "<h1>Map only</h1>" in document and re.findall(r'id="section-(\w+)"', document) == ["map"]
