"""Shared fixtures: an isolated PARCOURS_HOME per test and the shared datasets folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose home, database and spill folder live in a fresh temporary folder."""
    return Settings(home=tmp_path / "home", duckdb_threads=2, duckdb_memory_limit="2GB")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test read or write the developer's own ~/.parcours."""
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "env-home"))
    monkeypatch.delenv("PARCOURS_DATABASE_URL", raising=False)
