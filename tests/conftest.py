"""Shared fixtures: an isolated PARCOURS_HOME per test and the shared datasets folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from data.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
# What a typed Parquet file's import says it is doing, in order (`data.report_progress`).
PARQUET_IMPORT_PHASES = [
    "Checking every row…",
    "Sorting the events by journey…",
    "Finding each journey's path…",
    "Counting each journey's touchpoints and steps…",
    "Computing the journey map's figures…",
    "Checking the data quality…",
]


@pytest.fixture(scope="session", autouse=True)
def _component_manifests_scanned_once() -> Iterator[None]:
    """Scan the installed packages for Streamlit component manifests once per test process, not per AppTest.

    Each `AppTest` reads the metadata of every installed package for them (0.2 s here, more under load: a sixth of
    the CPU the quick tests took); the packages do not change during a run.
    """
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose home, database and spill folder live in a fresh temporary folder."""
    return Settings(home=tmp_path / "home", duckdb_threads=2, duckdb_memory_limit="2GB")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test read or write the developer's own ~/.parcours."""
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "env-home"))
    monkeypatch.delenv("PARCOURS_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the telecom demo log, imported once for the whole run: tests work on copies of it."""
    from data.importing import import_demo
    from data.store import Store

    home = tmp_path_factory.mktemp("demo") / "home"
    import_demo(Store(Settings(home=home)))
    return home


@pytest.fixture
def demo_copy(demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the demo's home of this test's own, as PARCOURS_HOME: the store and the demo dataset in it."""
    from data.store import Store

    home = tmp_path / "demo-home"
    shutil.copytree(demo_home, home)
    monkeypatch.setenv("PARCOURS_HOME", str(home))
    store = Store(Settings.from_env())
    (dataset,) = store.datasets()
    return store, dataset


@dataclass(frozen=True)
class Finished:
    """What a command printed and returned, named as `subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run a command's `main` in this process, as `python -m` runs it, with PARCOURS_HOME set to `home`.

    One test per command still starts it as a program; the others skip the second of imports a new process pays.
    """

    def run(main: Callable[[Sequence[str]], int], *args: str, home: Path) -> Finished:
        monkeypatch.setenv("PARCOURS_HOME", str(home))
        status = main(list(args))
        out, err = capsys.readouterr()
        return Finished(status, out, err)

    return run
