"""The layering of ARCHITECTURE.md §1, checked on the source: imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# package -> packages (first-party or engines) it must never import
FORBIDDEN = {
    "data": {"discovery", "segmentation", "ui", "pages", "streamlit"},
    "discovery": {"segmentation", "ui", "pages", "streamlit"},
    "segmentation": {"ui", "pages", "streamlit"},
    "ui": {"pages", "pm4py", "sklearn", "duckdb", "sqlalchemy"},
    "pages": {"pm4py", "sklearn", "duckdb", "sqlalchemy", "pyspark"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_only(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_app_page_imports_no_engine() -> None:
    assert _imported_roots(REPO / "Home.py") & FORBIDDEN["pages"] == set()
