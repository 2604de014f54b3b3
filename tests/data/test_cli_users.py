"""The three command lines act as a named user (`--as`, else PARCOURS_USER), with that user's role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from data import DEFAULT_WORKSPACE, Settings, Store
from data.__main__ import main as data_main
from discovery import DesignedJourney, DesignedStage, DesignedTouchpoint, designed_of, save_designed
from discovery.__main__ import main as discovery_main
from segmentation.__main__ import main as segmentation_main

# Six customers: two ways through, enough for two personas.
JOURNEYS_CSV = "client;étape;horodatage;canal\n" + "".join(
    f"c{n};visite;0{n}/04/2025 10:00;web\nc{n};{'achat' if n % 2 else 'départ'};1{n}/04/2025 11:30;store\n"
    for n in range(1, 7)
)

ANA = "ana@example.org"
BOB = "bob@example.org"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A team's home where ana administers the Default workspace."""
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", ANA)
    monkeypatch.delenv("PARCOURS_USER", raising=False)
    return tmp_path / "team-home"


@pytest.fixture
def stored(team: Path, tmp_path: Path, run_cli) -> str:
    """A log ana imported through the command line; bob is a viewer of its workspace."""
    csv = tmp_path / "journeys.csv"
    csv.write_text(JOURNEYS_CSV, encoding="utf-8")
    finished = run_cli(data_main, "--as", ANA, "import", str(csv), "--json", home=team)
    assert finished.returncode == 0, finished.stderr
    settings = dataclasses.replace(Settings.from_env(), auth="oidc", admins=(ANA,))
    Store(settings, user=ANA).set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    return Store(settings, user=ANA).datasets()[0].id


def test_a_user_who_is_no_member_may_not_import(team: Path, tmp_path: Path, run_cli) -> None:
    csv = tmp_path / "journeys.csv"
    csv.write_text(JOURNEYS_CSV, encoding="utf-8")
    finished = run_cli(data_main, "--as", BOB, "import", str(csv), home=team)
    assert finished.returncode == 2
    assert "Only an editor of this workspace can import a log; bob@example.org is not a member." in finished.stderr


def test_a_viewer_lists_but_may_not_rename_or_delete(stored: str, team: Path, run_cli) -> None:
    assert stored in run_cli(data_main, "--as", BOB, "list", home=team).stdout
    renamed = run_cli(data_main, "--as", BOB, "rename", stored, "mine now", home=team)
    assert renamed.returncode == 2 and "Only an editor" in renamed.stderr
    deleted = run_cli(data_main, "--as", BOB, "delete", stored, "--yes", home=team)
    assert deleted.returncode == 2 and "Only an admin" in deleted.stderr
    assert run_cli(data_main, "--as", ANA, "delete", stored, "--yes", home=team).returncode == 0


def test_parcours_user_names_the_user_when_as_is_not_given(
    stored: str, team: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_USER", "carol@example.org")
    assert stored not in run_cli(data_main, "list", home=team).stdout  # carol is no member
    monkeypatch.setenv("PARCOURS_USER", BOB)
    assert stored in run_cli(data_main, "list", home=team).stdout


def test_a_viewer_may_not_save_a_definition_nor_personas(stored: str, team: Path, run_cli) -> None:
    definition = run_cli(discovery_main, "--as", BOB, "definition", stored, "--save", home=team)
    assert definition.returncode == 2 and "Only an editor" in definition.stderr
    assert run_cli(discovery_main, "--as", ANA, "definition", stored, "--save", home=team).returncode == 0

    personas = run_cli(segmentation_main, "--as", BOB, "personas", stored, "--k", "2", "--save", "x", home=team)
    assert personas.returncode == 2 and "Only an editor" in personas.stderr


def test_a_viewer_lists_the_designs_versions_but_only_an_editor_restores_one(stored: str, team: Path, run_cli) -> None:
    ana = Store(dataclasses.replace(Settings.from_env(), auth="oidc", admins=(ANA,)), user=ANA)
    first = DesignedJourney((DesignedStage("visit", (DesignedTouchpoint("visite"),)),), name="Visits")
    save_designed(ana, stored, first)
    save_designed(ana, stored, dataclasses.replace(first, name="Visits, renamed"))

    listed = run_cli(discovery_main, "--as", BOB, "designed", stored, home=team)
    assert listed.returncode == 0, listed.stderr
    assert "renamed “Visits” → “Visits, renamed”" in listed.stdout and "first version" in listed.stdout
    refused = run_cli(discovery_main, "--as", BOB, "designed", stored, "--restore", "1", home=team)
    assert refused.returncode == 2 and "Only an editor" in refused.stderr

    restored = run_cli(discovery_main, "--as", ANA, "designed", stored, "--restore", "1", "--json", home=team)
    assert restored.returncode == 0 and "version 1 is back in force as version 3" in restored.stderr
    assert [one["version"] for one in json.loads(restored.stdout)] == [3, 2, 1]
    assert designed_of(ana, stored)[0] == first
