"""The benchmarks' helpers: sizes, tools, the report and its table, the logs it writes; the filtered calls run on the
demo (no timing asserted)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
# Loaded from its path under its own name: `benchmarks/discovery.py` would otherwise shadow the discovery package.
_spec = importlib.util.spec_from_file_location("discovery_benchmark", REPO / "benchmarks" / "discovery.py")
bench = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)  # for its dataclass
_spec.loader.exec_module(bench)

FIRST_VERSION_KEYS = {"parcours_s", "pm4py_s", "ratio", "peak_mb", "pm4py_peak_mb"}


def measured(seconds: float, peak_mb: float = 500.4) -> dict:
    return {"seconds": seconds, "peak_mb": peak_mb}


@pytest.fixture
def results() -> dict:
    """What three children could report: Spark only builds the layout, pm4py has no layout and no stages."""
    return {
        "parcours": {
            "load": measured(2.0),
            "layout_build": measured(0.5, 700.6),
            "journey_map": measured(0.5, 700.6) | {"cpu_seconds": 0.61234},
            "stage_kpis": measured(0.25),
            "end_to_end": measured(3.0),
        },
        "spark": {"session_start": measured(20.0), "layout_build": measured(2.0, 1500.0)},
        "pm4py": {"load": measured(1.0), "journey_map": measured(5.0, 900.0), "end_to_end": measured(6.0)},
    }


@pytest.mark.parametrize(
    ("text", "events"), [("100k", 100_000), ("1M", 1_000_000), ("10M", 10_000_000), (" 2.5M ", 2_500_000), ("250", 250)]
)
def test_sizes_are_read_with_k_and_m_suffixes(text: str, events: int) -> None:
    assert bench.parse_size(text) == events


@pytest.mark.parametrize("label", ["20k", "100k", "1M", "10M"])
def test_size_labels_name_files_as_they_were_asked_for(label: str) -> None:
    assert bench.size_label(bench.parse_size(label)) == label


def test_tools_come_back_in_table_order() -> None:
    assert bench.parse_tools("pm4py, parcours") == ("parcours", "pm4py")


@pytest.mark.parametrize("text", ["parcours,polars", ",", ""])
def test_unknown_or_missing_tools_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bench.parse_tools(text)


def test_operations_come_back_in_table_order_and_unknown_ones_are_refused() -> None:
    assert bench.parse_operations("persona_features, journey_map") == ("journey_map", "persona_features")
    with pytest.raises(argparse.ArgumentTypeError):
        bench.parse_operations("persona_features,personas")


def test_a_report_of_chosen_operations_has_only_their_rows(results: dict) -> None:
    row = bench.report_row(1_000, results, ("journey_map",))
    assert set(row) == {"events", "journey_map"}
    assert [line.split()[2] for line in bench.table_lines({"1k": row})[1:]] == ["journey_map"]


def test_without_the_import_timed_parcours_reads_the_store_the_dashboard_benchmark_keeps(tmp_path: Path) -> None:
    log = bench.BenchmarkLog(tmp_path / "telecom_10M_546448c.parquet", tmp_path / "telecom_10M_546448c_events.parquet")
    assert bench.dashboard_home(log) == tmp_path / "dashboard-home-10M"


def test_ratios_are_the_other_tools_seconds_over_parcours(results: dict) -> None:
    row = bench.report_row(1_000, results)
    built, mapped = row["layout_build"], row["journey_map"]
    assert (built["parcours_s"], built["spark_s"], built["spark_ratio"]) == (0.5, 2.0, 4.0)
    assert (built["peak_mb"], built["spark_peak_mb"]) == (701, 1500)
    assert (mapped["parcours_s"], mapped["pm4py_s"], mapped["ratio"], mapped["pm4py_peak_mb"]) == (0.5, 5.0, 10.0, 900)


def test_warm_operations_carry_their_cpu_seconds(results: dict) -> None:
    row = bench.report_row(1_000, results)
    assert (row["journey_map"]["parcours_cpu_s"], row["journey_map"]["pm4py_cpu_s"]) == (0.6123, None)
    assert row["load"]["parcours_cpu_s"] is None


def test_operations_a_tool_lacks_have_empty_cells_and_no_ratio(results: dict) -> None:
    row = bench.report_row(1_000, results)
    stages = row["stage_kpis"]
    assert (stages["parcours_s"], stages["spark_s"], stages["ratio"]) == (0.25, None, None)
    assert (row["session_start"]["spark_s"], row["session_start"]["spark_ratio"]) == (20.0, None)


def test_a_tool_left_out_of_the_run_leaves_every_cell_empty(results: dict) -> None:
    row = bench.report_row(1_000, {"parcours": results["parcours"]})
    assert {row[operation]["spark_s"] for operation in bench.OPERATIONS} == {None}
    assert {row[operation]["ratio"] for operation in bench.OPERATIONS} == {None}


def test_every_size_keeps_the_first_versions_keys_for_old_readers(results: dict) -> None:
    row = bench.report_row(1_000, results)
    assert row["events"] == 1_000
    assert all(set(row[operation]) >= FIRST_VERSION_KEYS for operation in bench.OPERATIONS)


def test_table_dashes_empty_cells_and_drops_operations_nobody_measured(results: dict) -> None:
    lines = bench.table_lines({"1k": bench.report_row(1_000, {"parcours": results["parcours"]})})
    operations = [line.split()[2] for line in lines[1:]]
    assert operations == ["load", "layout_build", "journey_map", "stage_kpis", "end_to_end"]
    assert lines[2].split()[3:] == ["0.500", "—", "—", "—", "—", "701/—/—"]


def test_table_says_spark_builds_the_layout_only(results: dict) -> None:
    lines = bench.table_lines({"1k": bench.report_row(1_000, results)})
    assert lines[1].split()[2:] == ["session_start", "—", "20.000", "—", "—", "—", "—/500/—"]
    assert "Spark builds the layout only" in lines[-1]


def test_funnel_takes_the_first_variant_with_three_distinct_activities() -> None:
    variants = SimpleNamespace(frame=pd.DataFrame({"activities": [["ad"], ["a", "b", "a", "c", "d"], ["x", "y", "z"]]}))
    assert bench.funnel_steps(variants) == ["a", "b", "c"]


def test_canonical_copy_renames_the_demo_columns_and_numbers_rows_in_file_order(tmp_path: Path) -> None:
    log = bench.prepare_log(2_000, tmp_path)
    with duckdb.connect() as connection:
        columns = connection.read_parquet(str(log.events_parquet)).columns
        events, same_rows = connection.execute(
            """SELECT count(*), bool_and(e.source_row = d.file_row_number AND e.case_id = d.customer_id
                                        AND e.activity = d.touchpoint AND e.timestamp = d.timestamp)
               FROM read_parquet(?) e POSITIONAL JOIN read_parquet(?, file_row_number = true) d""",
            [str(log.events_parquet), str(log.demo_parquet)],
        ).fetchone()
    assert columns[:5] == ["case_id", "activity", "timestamp", "channel", "source_row"]
    assert "customer_id" not in columns
    assert events > 1_000
    assert same_rows


def test_a_log_has_about_the_events_asked_for(tmp_path: Path) -> None:
    log = bench.prepare_log(20_000, tmp_path)
    with duckdb.connect() as connection:
        (events,) = connection.execute("SELECT count(*) FROM read_parquet(?)", [str(log.demo_parquet)]).fetchone()
    assert 18_000 <= events <= 22_000


@pytest.mark.slow  # runs the benchmark end to end
def test_the_filtered_calls_benchmark_times_every_page_call_for_each_channel(tmp_path: Path) -> None:
    from data import Settings, Store, import_demo

    home = tmp_path / "home"
    import_demo(Store(Settings(home=home)))
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "filtered.py"), "--channels", "web,store"],
        env={**os.environ, "PARCOURS_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    timed = [line.split(":")[0] for line in run.stdout.splitlines() if line.startswith(("web:", "store:"))]
    assert timed == ["web"] * 5 + ["store"] * 5
    assert "suggested definition" in run.stdout


@pytest.mark.slow  # runs the benchmark end to end
def test_the_upload_benchmark_times_both_ways_of_the_import_page_in_processes_of_their_own(tmp_path: Path) -> None:
    def report(*options: str) -> dict:
        command = [sys.executable, str(REPO / "benchmarks" / "upload.py"), "--events", "2k", "--workdir", str(tmp_path)]
        environment = {**os.environ, "PARCOURS_WHOLE_UPLOAD_ROWS": "500"}  # the CSV's 2,000 rows are a large file
        run = subprocess.run(
            [*command, *options, "--json"], capture_output=True, text=True, check=True, env=environment
        )
        return json.loads(run.stdout.strip().splitlines()[-1])

    whole = ["stage", "read", "detect", "check", "store", "map", "first_map", "server_peak_mb"]
    sample = ["stage", "read", "detect", "first_look", "check and store", "map", "first_map", "server_peak_mb"]
    for steps in (report(), report("--format", "csv")):
        assert (list(steps["whole"]), list(steps["sample"])) == (whole, sample)


@pytest.mark.slow  # runs the benchmark end to end
def test_the_session_opens_each_page_under_each_filter_as_the_dashboard_computes_it(demo_copy, monkeypatch) -> None:
    import discovery
    from benchmarks import session

    store, dataset = demo_copy
    computed: list[str] = []
    for name in ("journey_map", "variant_table", "stage_kpis", "funnel", "channel_switches", "where_they_went"):
        monkeypatch.setattr(discovery, name, _counted(getattr(discovery, name), name, computed))
    with store.engine(dataset.id) as engine:
        # The demo's suggested stages are those pm4py's stage funnel counts, or the session refuses to run.
        session.parcours_session(engine, discovery.suggest_definition(engine))
    filters = len(session.SESSION_FILTERS)
    # The Stages page computes its open tab only, the stage KPIs: its funnel and channels wait for their tabs.
    assert sorted(set(computed)) == ["journey_map", "stage_kpis", "variant_table"]
    assert [computed.count(name) for name in ("journey_map", "variant_table", "stage_kpis")] == [filters] * 3


def _counted(function, name: str, computed: list[str]):
    def counted(*args, **options):
        computed.append(name)
        return function(*args, **options)

    return counted


def test_a_benchmark_child_reads_its_own_memory_not_its_parents(tmp_path: Path) -> None:
    # Linux keeps ru_maxrss across the exec that starts a child: each tool's peak would be at least its parent's.
    held = bytearray(300 * 1024 * 1024)
    held[::4096] = b"\x01" * len(held[::4096])  # written, so resident
    script = "import sys; sys.path.insert(0, sys.argv[1]); from benchmarks.discovery import peak_mb; print(peak_mb())"
    run = subprocess.run([sys.executable, "-c", script, str(REPO)], capture_output=True, text=True, check=True)
    assert float(run.stdout.split()[-1]) < 250
    del held
