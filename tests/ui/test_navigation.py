"""The sidebar navigation: Streamlit names each entry after its file, so the home page's file is Home.py."""

from __future__ import annotations

from pathlib import Path

from streamlit.source_util import page_icon_and_name

from tests.ui.apptest import APP, open_home


def test_the_first_navigation_entry_reads_home() -> None:
    # The pages/ folder's navigation labels the entry script with this name (underscores read as spaces).
    assert page_icon_and_name(Path(APP)) == ("", "Home")


def test_the_home_page_runs_from_its_renamed_script() -> None:
    app = open_home()
    assert not app.exception
    assert app.title[0].value == "Parcours"
