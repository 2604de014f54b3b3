"""The README documents every setting and keeps its two set-up commands true."""

from __future__ import annotations

import re
from pathlib import Path

from data.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [variable for variable, _default, _doc in SETTINGS.values() if f"`{variable}`" not in README]
    assert missing == []


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:bash|sh)\n(.*?)\n```", quick_start, flags=re.M | re.S)
    assert len(commands) == 2
    run, test = commands
    assert "streamlit run Home.py" in run
    assert "pytest" in test
    assert test in CI
