"""The sidebar's navigation: "Home" first, then the pages grouped by what a user does there.

Streamlit's own navigation names the entry page after its file ("app") and lists the pages in one flat run, so
`client.showSidebarNavigation` is off and every page draws this menu instead (`dataset_picker` calls it first).
The pages stay in `pages/`, found by Streamlit as before: only their links are drawn here.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from data.views import HOME_PAGE


@dataclass(frozen=True)
class PageLink:
    path: str
    label: str
    icon: str


IMPORT_PAGE = "pages/1_Import_and_quality.py"
DEFINITION_PAGE = "pages/1_Journey_definition.py"
JOURNEY_MAP_PAGE = "pages/2_Journey_map.py"
CUSTOMER_PAGE = "pages/7_Customer_journey.py"
WORKSPACE_PAGE = "pages/11_Workspace.py"

# Section title (None: no title) → its pages, in the order a user meets them.
MENU: dict[str | None, tuple[PageLink, ...]] = {
    None: (PageLink(HOME_PAGE, "Home", ":material/home:"),),
    "Your log": (
        PageLink(IMPORT_PAGE, "Import & data quality", ":material/upload_file:"),
        PageLink(DEFINITION_PAGE, "Journey definition", ":material/flag:"),
    ),
    "Explore": (
        PageLink(JOURNEY_MAP_PAGE, "Journey map", ":material/account_tree:"),
        PageLink("pages/3_Variants_and_paths.py", "Variants & paths", ":material/alt_route:"),
        PageLink("pages/4_Stages_funnel_and_churn.py", "Stages, funnel & churn", ":material/filter_alt:"),
        PageLink(CUSTOMER_PAGE, "Customer journey", ":material/person:"),
    ),
    "Segments": (
        PageLink("pages/5_Personas.py", "Personas", ":material/groups:"),
        PageLink("pages/6_Compare.py", "Compare", ":material/compare_arrows:"),
    ),
    "Improve": (
        PageLink("pages/8_Designed_vs_actual.py", "Designed vs actual", ":material/rule:"),
        PageLink("pages/9_Actions.py", "Actions", ":material/task_alt:"),
    ),
    "Share": (
        PageLink("pages/10_Reports.py", "Reports", ":material/summarize:"),
        PageLink(WORKSPACE_PAGE, "Workspace", ":material/group:"),
    ),
}


def navigation() -> None:
    """Draw the menu in the sidebar: Home, then each section's pages."""
    with st.sidebar:
        for section, links in MENU.items():
            if section is not None:
                st.caption(section)
            for link in links:
                st.page_link(link.path, label=link.label, icon=link.icon)
        st.divider()
