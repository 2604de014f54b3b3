"""What a page shows when something fails: every problem of a LogError, never a bug's traceback."""

from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest


def _page_with_a_bug() -> None:
    import ui

    with ui.reported_errors():
        raise RuntimeError("internal detail: /srv/parcours/secret.db")


def _page_with_a_bad_file() -> None:
    import streamlit as st

    import ui
    from data import LogError, Problem

    with ui.reported_errors():
        raise LogError([Problem("Empty case id.", fix="Fill it.", row=3, column="client"), Problem("No rows.")])
    st.write("never shown")


def test_a_bug_is_logged_with_its_traceback_and_shown_without_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="parcours.ui"):
        app = AppTest.from_function(_page_with_a_bug).run()
    assert not app.exception
    (message,) = app.error
    assert message.value.startswith("Something unexpected went wrong on our side (reference ")
    assert "secret" not in message.value
    reference = message.value.split("reference ")[1][:8]
    assert f"(reference {reference})" in caplog.text
    assert "RuntimeError: internal detail" in caplog.text


def test_a_log_error_shows_every_problem_then_stops_the_page() -> None:
    app = AppTest.from_function(_page_with_a_bad_file).run()
    assert not app.exception
    assert [error.value for error in app.error] == ["2 problems: each row below says where one is and how to fix it."]
    assert app.dataframe[0].value["Problem"].tolist() == ["Empty case id.", "No rows."]
    assert not app.markdown
