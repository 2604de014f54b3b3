"""The browser benchmark's report and table (nothing timed, no browser started)."""

from __future__ import annotations

from benchmarks import browser


def test_pages_are_held_to_a_second_and_interactions_to_half_a_second() -> None:
    row = browser.report_of(
        55_561,
        {
            "open journey map": [(2.0, 90_000), (0.6, 30_720), (0.8, 20_000)],
            "new session": [(1.5, 0), (1.2, 0), (1.1, 0)],
            "metric": [(0.3, 0), (0.6, 0), (0.7, 0)],
        },
        (1, 2, 3),
    )
    assert row["open journey map"] == {
        "first_s": 2.0,
        "median_s": 0.8,
        "each_s": [2.0, 0.6, 0.8],
        "median_kb": 30.0,
        "target_s": 1.0,
        "met": True,
    }
    assert (row["new session"]["target_s"], row["new session"]["met"]) == (1.0, False)
    assert (row["metric"]["target_s"], row["metric"]["met"]) == (0.5, False)
    assert row["load_average"] == [1, 2, 3]


def test_the_table_binds_the_targets_up_to_a_million_events_and_reports_them_above() -> None:
    report = {
        "1M": browser.report_of(998_756, {"slider paths": [(0.4, 2048)]}, (0, 0, 0)),
        "10M": browser.report_of(10_008_645, {"slider paths": [(0.9, 2048)]}, (0, 0, 0)),
    }
    header, small, large = browser.table_lines(report)
    assert header.split() == ["size", "events", "operation", "first", "s", "median", "s", "KB", "target", "s", "met"]
    assert small.split()[-5:] == ["0.40", "0.40", "2.0", "0.5", "yes"]
    assert large.split()[-5:] == ["0.90", "0.90", "2.0", "0.5", "(no)"]


def test_the_floor_is_an_app_that_draws_only_the_titles_under_the_dashboards_config(tmp_path) -> None:
    folder = browser.empty_app(tmp_path)
    config = (browser.REPO / ".streamlit" / "config.toml").read_text()
    assert (folder / ".streamlit" / "config.toml").read_text() == config
    assert (folder / "app.py").read_text() == "import streamlit as st\n\nst.title('Parcours')\n"
    assert (folder / "pages" / "2_Journey_map.py").read_text().endswith(f"st.title({browser.MAP_TITLE!r})\n")
