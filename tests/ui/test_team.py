"""The dashboard for a team, as Streamlit runs it: sign-in, roles, workspaces, comments, history and members.

The signed-in user is set by replacing `ui.auth.signed_in_user` (the browser tests sign in through a real OIDC
provider); everything else is the pages and the library as they run.
"""

from __future__ import annotations

import dataclasses
import re
import types

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

import ui.auth
import ui.views
from data import DEFAULT_WORKSPACE, PermissionDenied, Settings, Store, save_view, saved_views
from discovery import (
    DesignedJourney,
    DesignedStage,
    DesignedTouchpoint,
    designed_of,
    restore_designed,
    save_definition,
    save_designed,
    suggest_definition,
)
from tests.conftest import REPO
from tests.data.test_store import event_log
from tests.ui.apptest import open_home, open_import_page, open_page, upload, widget
from tests.ui.test_import_page import JOURNEYS, TYPED, parquet_bytes
from ui.auth import NotTrusted, header_user
from ui.markup import plain
from ui.navigation import MENU
from ui.workspace import comment_target

ANA = "ana@example.org"  # admin of the Default workspace (PARCOURS_ADMINS)
BOB = "bob@example.org"  # viewer of the Default workspace
DEFINITION_PAGE = "pages/1_Journey_definition.py"
WORKSPACE_PAGE = "pages/11_Workspace.py"
MAP_PAGE = "pages/2_Journey_map.py"
DESIGNED_PAGE = "pages/8_Designed_vs_actual.py"
# A design of the small log of tests.data.test_store: a visit to the website, then leaving.
DESIGN = DesignedJourney(
    (
        DesignedStage("explore", (DesignedTouchpoint("visit_website"),)),
        DesignedStage("leave", (DesignedTouchpoint("Résiliation"),), target_days=30),
    ),
    name="Shop",
)


@pytest.fixture
def team(demo_copy, monkeypatch: pytest.MonkeyPatch):
    """The demo log in a team install: ana administers the Default workspace, bob views it."""
    local, dataset = demo_copy
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", ANA)
    ana = Store(dataclasses.replace(local.settings, auth="oidc", admins=(ANA,)), user=ANA)
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    return ana, dataset


@pytest.fixture
def small_team(monkeypatch: pytest.MonkeyPatch):
    """A small log in a team install (checked against a design in a second, where the demo takes half a minute), with
    two saved designs: ana's, then one whose last stage has no target."""
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", ANA)
    ana = Store(Settings.from_env(), user=ANA)
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    dataset = ana.import_log(event_log())
    save_designed(ana, dataset.id, DESIGN)
    save_designed(
        ana, dataset.id, DesignedJourney((DESIGN.stages[0], DesignedStage("leave", DESIGN.stages[1].touchpoints)))
    )
    return ana, dataset


def save_two_definitions(store: Store, dataset_id: str) -> None:
    """Save the suggested definition as version 1, then one without a goal as version 2."""
    with store.engine(dataset_id) as engine:
        first = suggest_definition(engine)
    save_definition(store, dataset_id, first)
    save_definition(store, dataset_id, dataclasses.replace(first, goal=()))


def sign_in(monkeypatch: pytest.MonkeyPatch, user: str | None) -> None:
    monkeypatch.setattr(ui.auth, "signed_in_user", lambda settings: user)


def texts(app: AppTest) -> str:
    return "\n".join(element.value for element in [*app.markdown, *app.caption, *app.info, *app.warning])


def test_without_a_signed_in_user_a_team_page_offers_only_to_sign_in(team) -> None:
    app = open_home()
    assert not app.exception
    assert [button.label for button in app.button] == ["Sign in"]
    assert not app.metric and not app.selectbox


def test_the_local_default_needs_no_sign_in(demo_copy) -> None:
    app = open_home()
    assert not app.exception
    assert "Sign in" not in [button.label for button in app.button]
    assert app.metric


def test_a_signed_in_user_is_named_in_the_sidebar_with_sign_out(team, monkeypatch) -> None:
    sign_in(monkeypatch, BOB)
    app = open_home()
    assert not app.exception
    assert any("Signed in as bob" in caption.value for caption in app.sidebar.caption)
    assert "Sign out" in [button.label for button in app.sidebar.button]


def test_a_viewer_is_not_offered_import_rename_delete_or_save(team, monkeypatch) -> None:
    sign_in(monkeypatch, BOB)
    imports = open_import_page()
    assert not imports.exception and not imports.file_uploader
    assert "Only an editor of this workspace can import logs; you are a viewer." in texts(imports)

    home = open_home()
    labels = [button.label for button in home.button]
    assert "Rename" not in labels and "Delete…" not in labels
    assert "Only an admin of this workspace can delete a log; you are a viewer." in texts(home)

    definition = open_page(DEFINITION_PAGE)
    assert not definition.exception
    assert not [button for button in definition.button if button.label.startswith("Save as version")]


def test_an_editor_is_offered_import_and_rename_but_not_delete(team, monkeypatch) -> None:
    ana, _ = team
    ana.set_member(DEFAULT_WORKSPACE, BOB, "editor")
    sign_in(monkeypatch, BOB)
    assert open_import_page().file_uploader
    labels = [button.label for button in open_home().button]
    assert "Rename" in labels and "Delete…" not in labels


def test_a_link_to_another_workspaces_log_shows_the_users_own(team, monkeypatch) -> None:
    ana, demo = team
    other = ana.create_workspace("Retail")
    theirs = ana.import_log(event_log(), name="retail journeys", workspace=other.id)
    ana.set_member(other.id, "carol@example.org", "viewer")
    sign_in(monkeypatch, "carol@example.org")

    app = open_home(dataset=demo.id)

    assert not app.exception
    assert app.query_params["dataset"] == theirs.id
    assert "not in your workspaces" in app.warning[0].value
    assert demo.name not in texts(app)
    assert [option for option in app.sidebar.selectbox[0].options] == ["retail journeys"]


def test_a_user_of_two_workspaces_picks_one_and_sees_its_logs_only(team, monkeypatch) -> None:
    ana, demo = team
    other = ana.create_workspace("Retail")
    ana.import_log(event_log(), name="retail journeys", workspace=other.id)
    sign_in(monkeypatch, ANA)

    app = open_home(dataset=demo.id)
    picker = widget(app.sidebar.selectbox, "Workspace")
    assert picker.value == DEFAULT_WORKSPACE
    app = picker.set_value(other.id).run()

    assert not app.exception
    assert widget(app.sidebar.selectbox, "Log").options == ["retail journeys"]
    assert app.session_state["parcours-workspace"] == other.id  # where the import page stores a log


def test_a_comment_on_a_saved_view_is_shown_with_its_author_and_mentions_are_listed(team, monkeypatch) -> None:
    ana, demo = team
    save_view(ana, demo.id, "Churners", "app.py", {"dataset": demo.id})
    sign_in(monkeypatch, BOB)
    app = open_home()
    app.text_area[0].input("Look at the churners, @ana@example.org")
    app = widget(app.button, "Post the comment").click().run()

    assert not app.exception
    (comment,) = ana.comments(demo.id, "view", "Churners")
    assert (comment.author, comment.text) == (BOB, "Look at the churners, @ana@example.org")
    assert "bob" in texts(app) and "Look at the churners" in texts(app)

    sign_in(monkeypatch, ANA)
    home = open_home()
    assert {"Mentions of you", "Recent comments on this log"} <= {header.value for header in home.subheader}
    assert texts(home).count("Look at the churners") == 3  # in the view's panel, the mentions and the recent ones


def test_a_member_saving_a_view_under_a_teammates_name_is_told_whose_it_is(team, monkeypatch) -> None:
    ana, demo = team
    save_view(ana, demo.id, "Churners", "app.py", {"dataset": demo.id})
    monkeypatch.setattr(ui.views, "current_page", lambda: MENU["Explore"][0])  # AppTest has no address bar
    sign_in(monkeypatch, BOB)

    app = open_home()
    app.sidebar.text_input(key="view-name").input("Churners").run()
    app = app.sidebar.button(key="view-save").click().run()

    assert not app.exception
    assert "belongs to ana@example.org" in " ".join(error.value for error in app.error)
    assert any("Pick another name for your view." in frame.value.to_string() for frame in app.sidebar.dataframe)
    assert [view.owner for view in saved_views(ana)] == [ANA]
    # Ana's view is not offered to Bob for deletion; his own is.
    app.sidebar.text_input(key="view-name").input("Bob's churners").run()
    app = app.sidebar.button(key="view-save").click().run()
    (offered,) = app.selectbox(key="view-pick").options
    assert offered.startswith("Bob's churners — ")
    app = widget(app.button, "Delete this view").click().run()
    assert [view.name for view in saved_views(ana)] == ["Churners"]


def test_an_earlier_definition_is_restored_from_the_history(team, monkeypatch) -> None:
    ana, demo = team
    save_two_definitions(ana, demo.id)
    sign_in(monkeypatch, ANA)

    app = open_page(DEFINITION_PAGE)
    widget(app.selectbox, "Earlier version").set_value(1)
    app = widget(app.button, "Restore this version").click().run()

    assert not app.exception
    assert ana.definition_version(demo.id) == 3
    assert ana.definition(demo.id).payload == ana.definition(demo.id, 1).payload
    assert "save journey definition: version 3" in [row for row in app.dataframe[-1].value["What"]]


def test_a_viewer_cannot_restore_and_the_library_refuses_too(team, monkeypatch) -> None:
    ana, demo = team
    save_two_definitions(ana, demo.id)
    sign_in(monkeypatch, BOB)

    app = open_page(DEFINITION_PAGE)

    assert "Restore this version" not in [button.label for button in app.button]
    with pytest.raises(PermissionDenied):
        ana.as_user(BOB).restore_document(demo.id, "journey_definition", "", 1)


def test_the_designs_history_says_what_changed_and_an_earlier_design_is_restored(small_team, monkeypatch) -> None:
    ana, dataset = small_team
    sign_in(monkeypatch, ANA)

    app = open_page(DESIGNED_PAGE)
    assert not app.exception
    (history,) = [frame.value for frame in app.dataframe if "What changed" in frame.value.columns]
    assert list(history["What changed"]) == [
        "renamed “Shop” → “Designed journey”; stage leave: target 30 days → none",
        "first version",
    ]
    assert list(history["By"]) == [ANA, ANA]
    widget(app.selectbox, "Earlier version").set_value(1)
    app = widget(app.button, "Restore this version").click().run()

    assert not app.exception
    assert designed_of(ana, dataset.id)[0] == DESIGN and designed_of(ana, dataset.id)[1].version == 3
    assert widget(app.text_input, "Name of the design").value == "Shop"  # the editor shows the restored design


def test_a_viewer_comments_on_a_designed_step_but_cannot_save_or_restore(small_team, monkeypatch) -> None:
    ana, dataset = small_team
    sign_in(monkeypatch, BOB)

    app = open_page(DESIGNED_PAGE)
    assert not app.exception
    labels = [button.label for button in app.button]
    assert "Save as a new version" not in labels and "Restore this version" not in labels
    assert "Only an editor of this workspace can save a designed journey; you are a viewer." in texts(app)
    with pytest.raises(PermissionDenied):
        restore_designed(ana.as_user(BOB), dataset.id, 1)

    widget(app.selectbox, "Comment on").set_value("Résiliation").run()
    widget(app.text_area, "Your comment").input("Why do they leave so soon? @ana@example.org")
    app = widget(app.button, "Post the comment").click().run()
    assert not app.exception
    (comment,) = ana.comments(dataset.id)
    assert (comment.target_kind, comment.target_key, comment.author) == ("designed_step", "Résiliation", BOB)
    assert plain("Why do they leave so soon?") in texts(app)

    widget(app.selectbox, "Comment on").set_value("The designed journey as a whole").run()
    widget(app.text_area, "Your comment").input("Good design")
    widget(app.button, "Post the comment").click().run()
    assert [(c.target_kind, c.target_key) for c in ana.comments(dataset.id)][1] == ("designed_journey", "")


def test_an_admin_adds_changes_and_removes_a_member(team, monkeypatch) -> None:
    ana, _ = team
    sign_in(monkeypatch, ANA)
    app = open_page(WORKSPACE_PAGE)
    assert not app.exception
    widget(app.text_input, "User (as they sign in: e-mail, else id)").input("dan@example.org")
    widget(app.selectbox, "Role").set_value("editor")
    app = widget(app.button, "Add or change").click().run()
    assert ("dan@example.org", "editor") in [(m.user_id, m.role) for m in ana.members(DEFAULT_WORKSPACE)]

    widget(app.selectbox, "Member").set_value("dan@example.org")
    app = widget(app.button, "Remove").click().run()
    assert not app.exception
    assert "dan@example.org" not in [m.user_id for m in ana.members(DEFAULT_WORKSPACE)]

    widget(app.text_input, "Name of the new workspace").input("Retail")
    app = widget(app.button, "Create the workspace").click().run()
    assert "Retail" in [workspace.name for workspace in ana.workspaces()]


def test_a_viewer_sees_the_members_but_cannot_manage_them(team, monkeypatch) -> None:
    sign_in(monkeypatch, BOB)
    app = open_page(WORKSPACE_PAGE)
    assert not app.exception
    assert BOB in list(app.dataframe[0].value["Member"])
    assert not [button for button in app.button if button.label in ("Add or change", "Remove")]
    assert "Only an admin of this workspace can manage the members; you are a viewer." in texts(app)


def test_a_user_of_no_workspace_is_told_to_ask_an_admin(team, monkeypatch) -> None:
    sign_in(monkeypatch, "eve@example.org")
    app = open_home()
    assert not app.exception and not app.metric
    assert "not a member of any workspace" in app.info[0].value


# --- the trusted header ---


def test_the_header_is_believed_from_an_allowed_proxy_only() -> None:
    settings = Settings(auth="header", trusted_proxies=("127.0.0.1", "10.0.0.5"))
    headers = {"X-Forwarded-Email": "ana@example.org"}
    assert header_user(settings, headers, None) == "ana@example.org"  # loopback
    assert header_user(settings, headers, "10.0.0.5") == "ana@example.org"
    with pytest.raises(NotTrusted, match=re.escape("10.0.0.6 is not one")):
        header_user(settings, headers, "10.0.0.6")
    with pytest.raises(NotTrusted, match="no X-Forwarded-Email header"):
        header_user(settings, {}, None)


@pytest.mark.parametrize(("address", "signed_in"), [("10.0.0.6", False), ("10.0.0.5", True)])
def test_a_page_believes_the_header_only_from_a_proxys_address(
    team, monkeypatch, address: str, signed_in: bool
) -> None:
    monkeypatch.setenv("PARCOURS_AUTH", "header")
    monkeypatch.setenv("PARCOURS_TRUSTED_PROXIES", "10.0.0.5")
    # The request as Streamlit describes it to the page (AppTest has no request of its own).
    request = types.SimpleNamespace(headers={"X-Forwarded-Email": ANA}, ip_address=address, url=None)
    monkeypatch.setattr(streamlit, "context", request)
    app = open_home()

    assert not app.exception
    if signed_in:
        assert app.metric and any(f"Signed in as {plain(ANA)}" in caption.value for caption in app.sidebar.caption)
    else:
        assert plain("10.0.0.6 is not one (PARCOURS_TRUSTED_PROXIES)") in app.error[0].value
        assert not app.metric and not app.sidebar.selectbox


# --- comments on the map, role-aware forms on other pages ---


def test_a_comment_on_the_maps_opened_box_is_filed_under_its_touchpoint(demo_copy) -> None:
    store, demo = demo_copy
    app = open_page(MAP_PAGE, dataset=demo.id)
    widget(app.selectbox, "Touchpoint or step").select("billing_dispute").run()
    widget(app.text_area, "Your comment").input("Why so many disputes in March?")
    app = widget(app.button, "Post the comment").click().run()

    assert not app.exception
    (comment,) = store.comments(demo.id)
    assert (comment.target_kind, comment.target_key, comment.author) == ("touchpoint", "billing_dispute", "local")
    assert plain("Why so many disputes in March?") in texts(app)


def test_an_arrow_is_commented_on_as_its_step() -> None:
    assert comment_target("billing_dispute", None) == ("touchpoint", "billing_dispute")
    assert comment_target(None, ("receive_bill", None)) == ("step", '["receive_bill", null]')


@pytest.mark.parametrize(
    ("page", "refusal"),
    [
        ("pages/9_Actions.py", "can create or edit actions"),
        ("pages/6_Compare.py", "can save segments"),
    ],
)
def test_a_viewer_is_not_offered_the_save_forms_of_other_pages(team, monkeypatch, page: str, refusal: str) -> None:
    sign_in(monkeypatch, BOB)
    app = open_page(page)
    assert not app.exception
    assert f"Only an editor of this workspace {refusal}; you are a viewer." in texts(app)
    assert not [button for button in app.button if button.label.startswith("Save")]


def test_every_page_takes_its_log_from_the_picker_before_reading_it() -> None:
    """`st.cache_data` serves every user of the server: a log's id reaches a cached reader only once the picker has
    checked it against the user's workspaces."""
    pages = sorted((REPO / "pages").glob("*.py"))
    assert pages
    for page in [REPO / "app.py", *pages]:
        text = page.read_text(encoding="utf-8")
        picked = text.index("ui.dataset_picker()")
        first_use = text.find("dataset.id")
        assert first_use == -1 or first_use > picked, page.name


def test_an_import_goes_to_the_workspace_picked_in_the_sidebar(team, monkeypatch) -> None:
    ana, _ = team
    other = ana.create_workspace("Retail")
    sign_in(monkeypatch, ANA)
    app = open_import_page()
    app = widget(app.sidebar.selectbox, "Workspace").set_value(other.id).run()
    app = upload(app, "journeys.csv", JOURNEYS)
    widget(app.text_input, "Name").input("Retail week").run()
    widget(app.button, "Save to the store").click().run()

    assert not app.exception
    (stored,) = [dataset for dataset in ana.datasets() if dataset.name == "Retail week"]
    assert stored.workspace_id == other.id


# --- staged uploads and the same file in two workspaces ---


@pytest.fixture
def retail(team):
    """A second workspace, administered by ana, where carol (of no other workspace) is an editor."""
    ana, _ = team
    workspace = ana.create_workspace("Retail")
    ana.set_member(workspace.id, "carol@example.org", "editor")
    return workspace


def test_an_upload_cannot_be_reached_by_its_hash_from_another_users_session(team, retail, monkeypatch) -> None:
    sign_in(monkeypatch, ANA)
    anas = upload(open_import_page(), "journeys.csv", JOURNEYS)
    assert "Columns" in [header.value for header in anas.subheader]

    sign_in(monkeypatch, "carol@example.org")
    carols = open_import_page(upload=anas.query_params["upload"])

    assert not carols.exception
    assert "no longer kept on the server" in carols.info[0].value
    assert "Columns" not in [header.value for header in carols.subheader]
    assert "journeys.csv" not in texts(carols)
    assert "upload" not in carols.query_params


@pytest.mark.parametrize(
    ("name", "content", "save"),
    [
        ("journeys.csv", JOURNEYS, "Save to the store"),
        # stored by DuckDB in a child process, as the signed-in user in the chosen workspace
        ("journeys.parquet", parquet_bytes(TYPED), "Check every row and save to the store"),
    ],
    ids=["csv", "typed-parquet"],
)
def test_the_same_file_imported_into_two_workspaces_is_two_logs_each_in_its_own(
    team, retail, monkeypatch, name: str, content: bytes, save: str
) -> None:
    ana, demo = team
    sign_in(monkeypatch, ANA)
    app = upload(open_import_page(), name, content)
    widget(app.text_input, "Name").input("Week").run()
    app = widget(app.button, save).click().run()
    app = widget(app.sidebar.selectbox, "Workspace").set_value(retail.id).run()
    app = widget(app.button, save).click().run()

    assert not app.exception
    weeks = {dataset.workspace_id: dataset.id for dataset in ana.datasets() if dataset.name == "Week"}
    assert weeks.keys() == {DEFAULT_WORKSPACE, retail.id} and len(set(weeks.values())) == 2
    assert {dataset.id for dataset in ana.as_user(BOB).datasets()} == {demo.id, weeks[DEFAULT_WORKSPACE]}
    assert {dataset.id for dataset in ana.as_user("carol@example.org").datasets()} == {weeks[retail.id]}
