"""The advisory check of .ci/run: its offline OSV server, the audit's verdicts, and the lower bounds it guards."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
AUDIT = REPO / ".ci" / "audit.py"
ADVISORIES = json.loads((REPO / ".ci" / "advisories.json").read_text(encoding="utf-8"))["vulns"]
_spec = importlib.util.spec_from_file_location("parcours_ci_audit", AUDIT)
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def advisory(package: str, introduced: str, fixed: str) -> dict:
    return {
        "id": f"TEST-{package}",
        "summary": "planted by the test",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("version", "affected"), [("0.9", False), ("1.0", True), ("1.4.2", True), ("1.5", False), ("2.0", False)]
)
def test_a_version_is_affected_from_introduced_up_to_but_not_including_fixed(version: str, affected: bool) -> None:
    assert audit.affects(advisory("Some_Package", "1.0", "1.5"), "some-package", Version(version)) is affected


def test_the_closure_holds_the_runtime_requirements_and_what_they_pull_in() -> None:
    closure = audit.installed_closure(REPO / "requirements-dev.txt")

    assert {"streamlit", "starlette", "pillow", "protobuf", "jinja2", "pytest", "pip-audit"} <= closure.keys()


def run_audit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(AUDIT), "--offline", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_an_installed_version_with_an_advisory_fails_the_audit(tmp_path: Path) -> None:
    planted = tmp_path / "advisories.json"
    planted.write_text(json.dumps({"as_of": "test", "vulns": [advisory("jinja2", "0", "999")]}), encoding="utf-8")

    result = run_audit("--advisories", str(planted))

    assert result.returncode != 0
    assert "TEST-jinja2" in result.stdout and "OFFLINE" in result.stdout


def test_the_installed_dependencies_pass_the_committed_advisories() -> None:
    result = run_audit()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stdout + result.stderr


def test_every_advised_package_has_a_lower_bound_past_its_last_fix() -> None:
    bounds = {
        Requirement(line).name.lower(): Requirement(line).specifier
        for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for vuln in ADVISORIES:
        for affected in vuln["affected"]:
            package = affected["package"]["name"]
            newest_fix = max(Version(event["fixed"]) for span in affected["ranges"] for event in span["events"][1:])
            lowest_allowed = min(Version(spec.version) for spec in bounds[package] if spec.operator == ">=")
            assert lowest_allowed >= newest_fix, f"{package}: {vuln['id']} is fixed only in {newest_fix}"
