"""The dashboard listens on loopback only unless the operator decides otherwise, and the README says how to share it."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_server_binds_to_loopback_by_default() -> None:
    assert CONFIG["server"]["address"] == "127.0.0.1"


def test_the_readme_says_so_and_how_to_expose_it_behind_an_authenticating_proxy() -> None:
    sharing = README.split("### Sharing the dashboard", 1)[1].split("\n## ", 1)[0]
    assert "127.0.0.1" in sharing and "reverse proxy" in sharing and "authentication" in sharing


def test_a_traceback_is_never_shown_and_requests_are_checked_for_forgery() -> None:
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["server"]["enableXsrfProtection"] is True


def test_the_menu_lists_home_first_and_every_page_once() -> None:
    from ui.navigation import MENU

    links = [link for section in MENU.values() for link in section]
    assert CONFIG["client"]["showSidebarNavigation"] is False
    assert (links[0].path, links[0].label) == ("app.py", "Home")
    pages = sorted(f"pages/{path.name}" for path in (REPO / "pages").glob("*.py"))
    assert sorted(link.path for link in links[1:]) == pages
    assert len({link.label for link in links}) == len(links)
