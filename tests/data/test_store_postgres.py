"""The store on PostgreSQL: the SQLite tests of round trip, idempotency, rename and delete, run again.

The `settings` fixture is overridden so that those tests, imported from test_store, talk to a fresh
schema of the test server (through the connection's search_path), dropped afterwards. The session time
zone is set far from UTC so that any timestamp stored without its zone would show.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from data.settings import Settings
from data.store import MIGRATIONS_DIR, Store
from tests.data import test_store as sqlite_tests
from tests.data import test_workspaces as workspace_tests
from tests.data.test_workspaces import ana, team  # noqa: F401  (the fixtures of the workspace tests)

DATABASE_URL = os.environ.get("PARCOURS_TEST_DATABASE_URL", "")
IN_CI = bool(os.environ.get("CI"))

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DATABASE_URL and not IN_CI, reason="PARCOURS_TEST_DATABASE_URL is not set (no PostgreSQL server to use)"
    ),
]


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    """Settings whose metadata database is a fresh schema of the test server, dropped after the test."""
    if not DATABASE_URL:
        pytest.fail("CI must run the PostgreSQL store tests, but PARCOURS_TEST_DATABASE_URL is not set.")
    server = sa.make_url(DATABASE_URL)
    schema = f"parcours_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server)
    quoted = admin.dialect.identifier_preparer.quote(schema)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {quoted}")
    options = " ".join(filter(None, [server.query.get("options", ""), f"-csearch_path={schema} -ctimezone=Asia/Tokyo"]))
    url = server.update_query_dict({"options": options}).render_as_string(hide_password=False)
    try:
        yield dataclasses.replace(settings, database_url=url)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {quoted} CASCADE")
        admin.dispose()


test_round_trip = sqlite_tests.test_imported_log_is_listed_with_its_counts_and_loads_back_exactly
test_metadata_round_trip = sqlite_tests.test_metadata_comes_back_as_it_was_given
test_any_frame_round_trips = sqlite_tests.test_any_canonical_frame_stored_then_loaded_is_identical
test_reimport_is_idempotent = sqlite_tests.test_reimporting_the_same_log_returns_the_stored_dataset_and_touches_nothing
test_content_names_the_dataset = sqlite_tests.test_a_log_without_source_hash_is_named_by_its_content
test_newest_first = sqlite_tests.test_datasets_are_listed_newest_first
test_rename = sqlite_tests.test_rename_changes_only_the_display_name
test_delete = sqlite_tests.test_delete_forgets_the_dataset_and_removes_its_folder
test_reimport_after_delete = sqlite_tests.test_a_deleted_dataset_can_be_imported_again
test_unknown_id = sqlite_tests.test_unknown_id_is_reported_with_the_ids_that_exist
test_annotations = sqlite_tests.test_an_annotation_is_saved_replaced_listed_and_forgotten
test_annotations_go_with_their_dataset = sqlite_tests.test_annotations_go_with_their_dataset
test_definition_versions = sqlite_tests.test_journey_definitions_are_saved_in_versions_even_by_writers_at_once
test_documents_table = sqlite_tests.test_the_migrated_documents_table_matches_the_one_the_store_writes
test_documents = sqlite_tests.test_documents_are_versioned_by_kind_and_key_and_listed_newest_first
test_last_opened = sqlite_tests.test_opening_is_written_down_at_most_once_a_minute_and_never_backwards
test_migration_0004 = sqlite_tests.test_a_database_of_the_previous_version_gains_last_opened_and_keeps_its_datasets
test_migration_0005 = sqlite_tests.test_a_database_of_the_previous_version_keeps_its_journey_definitions_as_documents
test_viewer = workspace_tests.test_a_viewer_reads_comments_and_saves_views_but_cannot_change_what_the_team_decided
test_isolation = workspace_tests.test_another_workspaces_log_cannot_be_opened_by_id_nor_guessed
test_history = workspace_tests.test_the_history_says_who_changed_what_and_an_earlier_definition_comes_back


def test_the_session_really_runs_far_from_utc(settings: Settings) -> None:
    with sa.create_engine(settings.database_url).connect() as connection:
        assert connection.exec_driver_sql("SHOW timezone").scalar() == "Asia/Tokyo"


def test_stores_opening_a_new_schema_at_once_migrate_it_once(settings: Settings) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        opened = list(pool.map(lambda _: Store(settings).datasets(), range(4)))

    assert opened == [[]] * 4
    with sa.create_engine(settings.database_url).connect() as connection:
        migrated = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert migrated == [ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()]


def test_a_plain_postgresql_url_uses_psycopg_3(settings: Settings) -> None:
    plain = sa.make_url(settings.database_url).set(drivername="postgresql")
    store = Store(dataclasses.replace(settings, database_url=plain.render_as_string(hide_password=False)))

    assert store.import_log(sqlite_tests.event_log()).n_events == 5
