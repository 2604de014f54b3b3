"""Open Parcours' pages as Streamlit runs them, and read what they show."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "Home.py")
IMPORT_PAGE = "pages/1_Import_and_quality.py"
# The first run stores the demo log: generous for a loaded CI machine, not a timing assertion.
TIMEOUT_SECONDS = 120


def open_home(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.run()


def open_page(page: str, **query_params: str) -> AppTest:
    """Open one page of the app (e.g. "pages/1_Journey_definition.py") with these query parameters."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(page).run()


def open_import_page(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    return app.switch_page(IMPORT_PAGE).run()


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    return app.file_uploader[0].set_value((name, content, "application/octet-stream")).run()


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def widget(widgets, label: str):
    """Return the one widget of `widgets` (app.button, app.selectbox …) with this label."""
    (found,) = [widget for widget in widgets if widget.label == label]
    return found


def errors(app: AppTest) -> list[str]:
    return [error.value for error in app.error]
