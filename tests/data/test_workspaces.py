"""Workspaces and roles, checked in the Store: what each role may do, what a non-member sees, what is recorded."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from data import DatasetNotFound, LogError, PermissionDenied, Settings, Store, save_view, saved_views
from data.workspaces import DEFAULT_WORKSPACE, mentioned_users
from tests.data.test_store import event_log


@pytest.fixture
def team(settings: Settings) -> Settings:
    """A team install: ana administers the Default workspace; everyone else has the role an admin gives."""
    return dataclasses.replace(settings, auth="oidc", admins=("ana@example.org",))


@pytest.fixture
def ana(team: Settings) -> Store:
    return Store(team, user="ana@example.org")


def test_the_local_user_is_admin_of_everything_and_meets_no_workspace(settings: Settings) -> None:
    store = Store(settings)
    dataset = store.import_log(event_log())
    assert [(workspace.id, workspace.role) for workspace in store.workspaces()] == [(DEFAULT_WORKSPACE, "admin")]
    assert dataset.workspace_id == DEFAULT_WORKSPACE
    store.rename(dataset.id, "renamed")
    store.delete(dataset.id)
    assert [change.action for change in store.history()] == ["delete", "rename", "import"]


def test_a_viewer_reads_comments_and_saves_views_but_cannot_change_what_the_team_decided(ana: Store) -> None:
    dataset = ana.import_log(event_log())
    ana.set_member(DEFAULT_WORKSPACE, "bob@example.org", "viewer")
    bob = ana.as_user("bob@example.org")

    assert [listed.id for listed in bob.datasets()] == [dataset.id]
    refused = [
        lambda: bob.import_log(event_log(source_sha256="cd" * 32)),
        lambda: bob.rename(dataset.id, "mine now"),
        lambda: bob.delete(dataset.id),
        lambda: bob.save_annotation(dataset.id, "personas", "run", {"k": 2}),
        lambda: bob.save_document(dataset.id, "action", "a1", {"title": "x"}),
        lambda: bob.save_definition(dataset.id, {"goal": ["buy"]}),
        lambda: bob.set_member(DEFAULT_WORKSPACE, "bob@example.org", "admin"),
        lambda: bob.create_workspace("Bob's"),
    ]
    for attempt in refused:
        with pytest.raises(PermissionDenied) as raised:
            attempt()
        assert "bob@example.org is a viewer" in raised.value.problems[0].message
    assert ana.dataset(dataset.id).name == dataset.name  # nothing changed
    assert ana.definition(dataset.id) is None and ana.members(DEFAULT_WORKSPACE)[0].role == "viewer"

    save_view(bob, dataset.id, "my view", "app.py", {})
    comment = bob.add_comment(dataset.id, "touchpoint", "visit", "Why so many visits? @ana@example.org")
    assert [view.owner for view in saved_views(ana)] == ["bob@example.org"]
    assert ana.mentions() == [comment] and bob.mentions() == []


def test_an_editor_edits_but_only_an_admin_deletes(ana: Store) -> None:
    dataset = ana.import_log(event_log())
    ana.set_member(DEFAULT_WORKSPACE, "carl@example.org", "editor")
    carl = ana.as_user("carl@example.org")

    assert carl.rename(dataset.id, "Shop 2025").name == "Shop 2025"
    assert carl.save_definition(dataset.id, {"goal": ["buy"]}) == 1
    with pytest.raises(PermissionDenied):
        carl.delete(dataset.id)
    ana.delete(dataset.id)
    assert ana.datasets() == []


def test_another_workspaces_log_cannot_be_opened_by_id_nor_guessed(ana: Store) -> None:
    shared = ana.import_log(event_log())
    private = ana.create_workspace("Board")
    board_log = ana.import_log(event_log(), workspace=private.id)
    ana.set_member(DEFAULT_WORKSPACE, "bob@example.org", "editor")
    bob = ana.as_user("bob@example.org")

    assert board_log.id != shared.id  # the same file in another workspace is another dataset
    assert [listed.id for listed in bob.datasets()] == [shared.id]
    assert [workspace.name for workspace in bob.workspaces()] == ["Default"]
    ana.save_definition(board_log.id, {"goal": ["buy"]})
    ana.save_annotation(board_log.id, "personas", "board", {"k": 3})
    for attempt in (bob.dataset, bob.engine, bob.load_events, lambda id_: bob.comments(id_)):
        with pytest.raises(DatasetNotFound) as raised:
            attempt(board_log.id)
        assert board_log.id not in str(raised.value.problems[0].fix)
    # What was saved about it reads as nothing, as if the log had gone.
    assert (bob.definition(board_log.id), bob.definition_version(board_log.id)) == (None, None)
    assert bob.document_history(board_log.id, "journey_definition", "") == []
    assert bob.documents(board_log.id, "journey_definition") == {} == bob.annotations(board_log.id, "personas")
    assert bob.annotation(board_log.id, "personas", "board") is None
    assert ana.annotation(board_log.id, "personas", "board") == {"k": 3} and ana.definition_version(board_log.id) == 1
    with pytest.raises(PermissionDenied):
        bob.import_log(event_log(), workspace=private.id)
    stranger = ana.as_user("eve@example.org")
    assert stranger.datasets() == [] and stranger.workspaces() == [] and stranger.history() == []


def test_the_history_says_who_changed_what_and_an_earlier_definition_comes_back(ana: Store) -> None:
    dataset = ana.import_log(event_log())
    ana.set_member(DEFAULT_WORKSPACE, "carl@example.org", "editor")
    carl = ana.as_user("carl@example.org")
    ana.save_definition(dataset.id, {"goal": ["buy"]})
    carl.save_definition(dataset.id, {"goal": ["visit"]})

    assert carl.restore_document(dataset.id, "journey_definition", "", 1) == 3
    assert ana.definition(dataset.id).payload == {"goal": ["buy"]}
    changes = ana.history(dataset.id)
    assert [(change.user_id, change.action, change.target) for change in changes] == [
        ("carl@example.org", "save journey definition", "version 3"),
        ("carl@example.org", "save journey definition", "version 2"),
        ("ana@example.org", "save journey definition", "version 1"),
        ("ana@example.org", "import", "log"),
    ]
    assert (changes[0].before, changes[0].after) == ({"goal": ["visit"]}, {"goal": ["buy"]})
    with pytest.raises(LogError):
        carl.restore_document(dataset.id, "journey_definition", "", 9)


def test_comments_are_listed_by_figure_and_refused_when_empty_or_huge(ana: Store) -> None:
    dataset = ana.import_log(event_log())
    first = ana.add_comment(dataset.id, "touchpoint", "visit", "Too many visits")
    ana.add_comment(dataset.id, "step", '["visit","buy"]', "Good step")
    assert ana.comments(dataset.id, "touchpoint", "visit") == [first]
    assert [comment.text for comment in ana.comments(dataset.id)] == ["Too many visits", "Good step"]
    for text in ("", "   ", "x" * 5001):
        with pytest.raises(LogError):
            ana.add_comment(dataset.id, "touchpoint", "visit", text)


def test_mentions_are_read_from_the_text() -> None:
    assert mentioned_users("cc @ana@example.org and @bob, then @ana@example.org.") == ("ana@example.org", "bob")
    assert mentioned_users("mail me: joe@example.org") == ()


def test_settings_refuse_an_unknown_sign_in_mode(settings: Settings) -> None:
    with pytest.raises(LogError):
        dataclasses.replace(settings, auth="ldap")


def test_only_an_admin_sets_the_branding_and_the_history_records_it(ana: Store) -> None:
    ana.set_member(DEFAULT_WORKSPACE, "ed@example.org", "editor")
    ana.set_member(DEFAULT_WORKSPACE, "vi@example.org", "viewer")
    logo = "data:image/png;base64," + "A" * 4096
    for user in ("ed@example.org", "vi@example.org", "stranger@example.org"):
        with pytest.raises(PermissionDenied, match="can set the branding"):
            ana.as_user(user).set_branding(DEFAULT_WORKSPACE, {"company": "Evil Corp"})
    assert ana.branding(DEFAULT_WORKSPACE) == {}

    ana.set_branding(DEFAULT_WORKSPACE, {"company": " Acme ", "primary": "#0b6e4f", "accent": None, "logo": logo})
    assert ana.as_user("vi@example.org").branding(DEFAULT_WORKSPACE) == {
        "company": "Acme",
        "primary": "#0b6e4f",
        "logo": logo,
    }
    with pytest.raises(PermissionDenied):
        ana.as_user("stranger@example.org").branding(DEFAULT_WORKSPACE)
    ana.set_branding(DEFAULT_WORKSPACE, {"company": "Acme"})
    latest, first = [change for change in ana.history() if change.action == "branding"]
    assert (first.user_id, first.before, first.after["logo"]) == ("ana@example.org", None, "an image of 3 KB")
    assert (latest.before["company"], latest.after) == ("Acme", {"company": "Acme"})


@pytest.mark.parametrize(
    ("branding", "says"),
    [
        ({"primary": "red"}, "hex colour"),
        ({"accent": "#12345"}, "hex colour"),
        ({"logo": "https://evil.example/logo.png"}, "data: URI"),
        ({"logo": "data:image/png;base64," + "A" * 400_000}, "data: URI"),
        ({"company": "a\u202eb"}, "control"),
        ({"font": "Comic Sans"}, "at most these parts"),
        ({"company": 3}, "is text"),
    ],
)
def test_a_branding_that_cannot_dress_a_report_is_refused(ana: Store, branding: dict, says: str) -> None:
    with pytest.raises(LogError, match=says):
        ana.set_branding(DEFAULT_WORKSPACE, branding)


def test_a_database_of_the_previous_version_gains_an_unset_branding_and_keeps_its_workspaces(ana: Store) -> None:
    from alembic import command
    from alembic.config import Config

    from data.store import MIGRATIONS_DIR

    other = ana.create_workspace("B team")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(ana.settings.database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert "branding_json" not in [column["name"] for column in sa.inspect(engine).get_columns("workspaces")]
    engine.dispose()

    migrated = Store(ana.settings, user=ana.user)
    assert other in migrated.workspaces()
    assert migrated.branding(other.id) == {}
