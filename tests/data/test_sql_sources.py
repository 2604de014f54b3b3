"""SQL sources: tables and single SELECTs of operator-configured databases, read-only, bounded in time and size."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from data.errors import EmptyLog, LimitExceeded, LogError, SourceNotConfigured, UnsafeInput
from data.settings import Settings
from data.sql_sources import read_sql

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("PARCOURS_TEST_DATABASE_URL", "")
IN_CI = bool(os.environ.get("CI"))
ENDLESS_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, 'visit' AS action FROM n"
# Counting an endless recursion never yields a row: only a time limit stops it.
ENDLESS_WORK = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"


HOSTILE_TABLE = 'weird "name"; --'
HOSTILE_TABLE_QUOTED = '"weird ""name""; --"'


@pytest.fixture
def crm(tmp_path) -> Settings:
    """Settings with one SQL source, 'crm': a SQLite file with three touchpoints."""
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE touchpoints (customer TEXT, action TEXT, happened_at TEXT)")
        connection.executemany(
            "INSERT INTO touchpoints VALUES (?, ?, ?)",
            [("NA", "visit", "2024-01-01 10:00"), ("NA", "buy", "2024-01-01 10:05"), ("c2", "call", "2024-01-02")],
        )
        connection.execute(f'CREATE TABLE {HOSTILE_TABLE_QUOTED} (customer TEXT, " spaced " TEXT)')
        connection.execute(f"INSERT INTO {HOSTILE_TABLE_QUOTED} VALUES ('c1', 'x')")
    return Settings(home=tmp_path / "home", sql_sources={"crm": f"sqlite:///{path}"})


def row_count(settings: Settings) -> int:
    path = Path(settings.sql_sources["crm"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM touchpoints").fetchone()[0]


def test_sql_table_is_read(crm):
    raw = read_sql("crm", table="touchpoints", settings=crm)

    assert raw.frame["customer"].tolist() == ["NA", "NA", "c2"]
    assert (raw.format, raw.name) == ("sql", "crm: touchpoints")


def test_sql_table_name_is_quoted_not_interpolated(crm):
    frame = read_sql("crm", table=HOSTILE_TABLE, settings=crm).frame

    assert list(frame.columns) == ["customer", "spaced"]
    assert frame.attrs["column_renames"][0].value == " spaced "


def test_sql_query_is_read(crm):
    query = "SELECT customer, action FROM touchpoints WHERE action != ':not_a_parameter' ORDER BY happened_at;"

    frame = read_sql("crm", query=query, settings=crm).frame

    assert frame["action"].tolist() == ["visit", "buy", "call"]


def test_unknown_sql_source_lists_the_configured_ones(crm):
    with pytest.raises(SourceNotConfigured, match="configured sources: 'crm'"):
        read_sql("sqlite:///etc/passwd", table="touchpoints", settings=crm)


def test_unknown_sql_table_lists_the_available_ones(crm):
    with pytest.raises(SourceNotConfigured, match="available: 'touchpoints'"):
        read_sql("crm", table="touchpoint", settings=crm)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM touchpoints",
        "SELECT 1; DELETE FROM touchpoints",
        "-- harmless\nDROP TABLE touchpoints",
        "PRAGMA writable_schema = 1",
        "ATTACH DATABASE 'attached.db' AS other",
        "SELECT 1 /* x */ ; DROP TABLE touchpoints",
        "SELECT 1\n;\nDELETE FROM touchpoints",
    ],
)
def test_sql_query_must_be_a_single_select(crm, query, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafeInput, match="Only one SELECT"):
        read_sql("crm", query=query, settings=crm)

    assert row_count(crm) == 3
    assert not (tmp_path / "attached.db").exists()


def test_sqlite_extensions_cannot_be_loaded(crm, tmp_path):
    with pytest.raises(LogError, match="not authorized"):
        read_sql("crm", query=f"SELECT load_extension('{tmp_path / 'evil.so'}')", settings=crm)


def test_a_view_running_past_the_timeout_is_interrupted(crm):
    path = crm.sql_sources["crm"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE VIEW endless AS {ENDLESS_WORK}")

    with pytest.raises(LimitExceeded, match="ran longer than the 1 s"):
        read_sql("crm", table="endless", settings=bounded(crm, sql_timeout_seconds=1))


def test_failing_sql_query_is_a_log_error(crm):
    with pytest.raises(LogError, match="no such column"):
        read_sql("crm", query="SELECT missing FROM touchpoints", settings=crm)


def test_sql_result_over_max_events_is_refused(crm):
    limited = Settings(home=crm.home, sql_sources=crm.sql_sources, max_events=2)

    with pytest.raises(LimitExceeded):
        read_sql("crm", table="touchpoints", settings=limited)


def test_empty_sql_result_is_an_empty_log(crm):
    with pytest.raises(EmptyLog):
        read_sql("crm", query="SELECT * FROM touchpoints WHERE 0", settings=crm)


def test_sql_hash_follows_the_content(crm):
    before = read_sql("crm", table="touchpoints", settings=crm).sha256
    again = read_sql("crm", table="touchpoints", settings=crm).sha256
    path = Path(crm.sql_sources["crm"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE touchpoints SET action = 'browse' WHERE action = 'visit'")

    after = read_sql("crm", table="touchpoints", settings=crm).sha256

    assert before == again != after


def test_sql_values_pandas_cannot_hash_still_get_a_hash(crm):
    raw = read_sql("crm", query="SELECT customer, x'00ff' AS payload FROM touchpoints", settings=crm)

    assert raw.frame["payload"].tolist() == [b"\x00\xff"] * 3
    assert len(raw.sha256) == 64


# --- bounds and read-only, SQLite -----------------------------------------------------------------------------


def bounded(settings: Settings, **limits) -> Settings:
    return dataclasses.replace(settings, **limits)


def test_sqlite_sources_are_read_with_query_only_on(crm):
    frame = read_sql("crm", query="SELECT query_only FROM pragma_query_only", settings=crm).frame

    assert frame["query_only"].tolist() == [1]


def test_a_value_larger_than_the_result_limit_is_refused_before_sqlite_builds_it(crm):
    with pytest.raises(LimitExceeded, match="PARCOURS_MAX_SQL_RESULT_MB"):
        read_sql("crm", query="SELECT randomblob(2000000) AS payload", settings=bounded(crm, max_sql_result_mb=1))


def test_endless_rows_are_refused_once_their_memory_passes_the_limit(crm):
    with pytest.raises(LimitExceeded, match="more than the 1 MB"):
        read_sql("crm", query=ENDLESS_ROWS, settings=bounded(crm, max_sql_result_mb=1))


def test_endless_rows_are_refused_once_they_pass_the_event_limit(crm):
    with pytest.raises(LimitExceeded, match="more than 25,000 events"):
        read_sql("crm", query=ENDLESS_ROWS, settings=bounded(crm, max_events=25_000))


def test_a_sqlite_query_running_past_the_timeout_is_interrupted(crm):
    with pytest.raises(LimitExceeded, match="ran longer than the 1 s"):
        read_sql("crm", query=ENDLESS_WORK, settings=bounded(crm, sql_timeout_seconds=1))


def test_a_result_within_the_bounds_is_read_whole_across_batches(crm):
    query = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) SELECT i FROM n"

    frame = read_sql("crm", query=query, settings=crm).frame

    assert frame["i"].tolist() == list(range(1, 25_001))


BOUNDED_READ = """
import resource, sys
from data.errors import LimitExceeded
from data.settings import Settings
from data.sql_sources import read_sql

settings = Settings(home=sys.argv[1], sql_sources={"crm": "sqlite:///" + sys.argv[2]})
read_sql("crm", query="SELECT 1 AS warm_up", settings=settings)
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_sql("crm", query=sys.argv[3], settings=settings)
except LimitExceeded:
    pass
print(baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
HUNDRED_MB_ROWS = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) SELECT zeroblob(100000000) FROM n"
)


@pytest.mark.parametrize(
    ("query", "growth_mb"),
    [
        # The battery's `SELECT randomblob(1000000000)` grew to 12 GB: refused before SQLite allocates it.
        ("SELECT randomblob(1000000000) AS payload", 100),
        # 30 rows of 100 MB, read 10,000 rows at a time, held 3 GB before the 512 MB limit was checked.
        (HUNDRED_MB_ROWS, 1024),
        # A value built by the query reached +2.3 GB before the cell check: past the longest row, SQLite's printf
        # gives NULL instead.
        pytest.param("SELECT printf('%.*c', 400000000, 'x') AS note", 1024, marks=pytest.mark.slow),
    ],
    ids=["gigabyte-value", "rows-of-100mb", "built-value-of-400mb"],
)
def test_large_values_with_the_default_limits_stay_within_the_result_limit(
    query: str, growth_mb: int, tmp_path: Path
) -> None:
    database = tmp_path / "crm.db"
    sqlite3.connect(database).close()
    child = subprocess.run(
        [sys.executable, "-c", BOUNDED_READ, str(tmp_path / "home"), str(database), query],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    baseline_kb, peak_kb = map(int, child.stdout.split())

    assert peak_kb - baseline_kb < growth_mb * 1024  # ru_maxrss is in KB on Linux


# --- PostgreSQL -----------------------------------------------------------------------------------------------


@pytest.fixture
def postgres_crm(tmp_path: Path) -> Iterator[tuple[Settings, sa.Engine]]:
    """Settings with one SQL source, 'crm': a fresh schema of the test server with a table and a sequence."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI must run the PostgreSQL tests, but PARCOURS_TEST_DATABASE_URL is not set.")
        pytest.skip("PARCOURS_TEST_DATABASE_URL is not set (no PostgreSQL server to use)")
    server = sa.make_url(POSTGRES_URL)
    schema = f"parcours_sql_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        connection.exec_driver_sql(f"CREATE TABLE {schema}.touchpoints (customer TEXT, action TEXT)")
        connection.exec_driver_sql(f"INSERT INTO {schema}.touchpoints VALUES ('c1', 'visit'), ('c1', 'buy')")
        connection.exec_driver_sql(f"CREATE SEQUENCE {schema}.ticket")
    options = " ".join(filter(None, [server.query.get("options", ""), f"-csearch_path={schema}"]))
    url = server.update_query_dict({"options": options}).render_as_string(hide_password=False)
    try:
        yield Settings(home=tmp_path / "home", sql_sources={"crm": url}), admin
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.mark.postgres
def test_postgres_reads_in_a_read_only_transaction_with_a_statement_timeout(postgres_crm):
    settings, _admin = postgres_crm
    query = "SELECT current_setting('transaction_read_only') AS read_only, current_setting('statement_timeout') AS t"

    frame = read_sql("crm", query=query, settings=bounded(settings, sql_timeout_seconds=7)).frame

    assert frame.to_dict("records") == [{"read_only": "on", "t": "7s"}]


@pytest.mark.postgres
def test_postgres_nextval_is_refused_and_the_sequence_stays_where_it_was(postgres_crm):
    settings, admin = postgres_crm

    with pytest.raises(UnsafeInput, match="tries to change"):
        read_sql("crm", query="SELECT nextval('ticket') AS n", settings=settings)

    with admin.connect() as connection:
        schema = sa.make_url(settings.sql_sources["crm"]).query["options"].split("search_path=")[1]
        assert connection.exec_driver_sql(f"SELECT is_called FROM {schema}.ticket").scalar() is False


@pytest.mark.postgres
def test_postgres_data_modifying_cte_is_refused_and_changes_nothing(postgres_crm):
    settings, _admin = postgres_crm

    query = "WITH gone AS (DELETE FROM touchpoints RETURNING *) SELECT 1 FROM gone"

    # The streaming cursor refuses it before the read-only transaction has to.
    with pytest.raises(LogError, match="data-modifying"):
        read_sql("crm", query=query, settings=settings)

    assert len(read_sql("crm", table="touchpoints", settings=settings).frame) == 2


@pytest.mark.postgres
def test_postgres_pg_sleep_is_stopped_by_the_statement_timeout(postgres_crm):
    settings, _admin = postgres_crm

    with pytest.raises(LimitExceeded, match="ran longer than the 1 s"):
        read_sql("crm", query="SELECT pg_sleep(20) AS slept", settings=bounded(settings, sql_timeout_seconds=1))


@pytest.mark.postgres
def test_postgres_endless_rows_are_streamed_and_refused_at_the_size_limit(postgres_crm):
    settings, _admin = postgres_crm
    with pytest.raises(LimitExceeded, match="more than the 1 MB"):
        read_sql("crm", query=ENDLESS_ROWS, settings=bounded(settings, max_sql_result_mb=1))


def test_a_value_longer_than_a_row_may_take_is_stopped_by_sqlite(crm):
    settings = bounded(crm, max_columns=10, max_field_bytes=1000)

    with pytest.raises(LimitExceeded, match="longer than the 10,000 bytes a row may take here"):
        read_sql("crm", query="SELECT zeroblob(20000) AS payload", settings=settings)


def test_a_value_longer_than_a_cell_may_hold_is_refused(crm):
    """`printf('%.*c', 400000000, 'x')` passed as one 400 MB row within the result limit."""
    with pytest.raises(LimitExceeded, match="longer than the 1,000 bytes a cell may hold"):
        read_sql("crm", query="SELECT printf('%.*c', 5000, 'x') AS note", settings=bounded(crm, max_field_bytes=1000))
