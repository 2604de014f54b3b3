"""The one-off costs of a first page are paid ahead (issue 16): pm4py imported in the background once per server,
and the chart and table code of Streamlit's frontend named so that a browser can load it before it is needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st

from ui.warmup import frontend_chunks

REPO = Path(__file__).resolve().parents[2]


def test_the_chart_and_table_chunks_of_the_installed_streamlit_are_found() -> None:
    """Their names carry a hash that changes with Streamlit's version: found by their prefix, never written here."""
    table, plotly = frontend_chunks()
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    assert plotly.startswith("PlotlyChart.") and plotly.endswith(".js")
    assert (folder / plotly).stat().st_size > 1_000_000
    assert table.startswith("DataFrame.") and table.endswith(".js")
    assert (folder / table).stat().st_size > 400_000


@pytest.mark.slow  # a fresh interpreter importing pm4py: 7 s
def test_the_server_imports_pm4py_in_a_background_thread_once() -> None:
    script = (
        "import sys\n"
        "from ui import warmup\n"
        "assert 'pm4py' not in sys.modules\n"
        "thread = warmup._server_warm_up()\n"
        "assert warmup._server_warm_up() is thread and thread.daemon\n"
        "thread.join(120)\n"
        "assert 'pm4py' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
