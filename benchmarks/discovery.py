"""Parcours against pm4py on the demo generator's logs: load, map, variants, stages, churn, miner.

    python benchmarks/discovery.py                       # 100k and 1M events, a table
    python benchmarks/discovery.py --sizes 1M,10M --json  # ends with one JSON object

Each tool runs in its own child process per size, so one's memory never counts against the other,
and `peak_mb` is that process's high-water mark (RSS) after the operation. Times are medians of
`--repeats` warm runs, except `load`, which runs once. `end_to_end` is Parquet → journey map + all
variant counts: for Parcours read + validate + ingest-once layout + map + variants, for pm4py
read_parquet + format_dataframe + discover_dfg (and its performance DFG, as our map carries
times) + get_variants. pm4py has no stage KPIs or churn points: those cells are empty.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EVENTS_PER_CUSTOMER = 10.85  # the telecom demo's mean journey length
OPERATIONS = ("load", "journey_map", "variants", "stage_kpis", "churn_points", "inductive_miner")
SUFFIXES = {"k": 1_000, "M": 1_000_000}


def parse_size(text: str) -> int:
    """Return the number of events in '100k', '1M', '10M' or '250000'."""
    text = text.strip()
    return int(float(text[:-1]) * SUFFIXES[text[-1]]) if text[-1] in SUFFIXES else int(text)


def size_label(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events // 1_000}k"


def prepare_log(events: int, workdir: Path) -> Path:
    """Write (once) a telecom demo log of about `events` events as Parquet with typed UTC timestamps."""
    from data.demo import write_demo

    typed = workdir / f"telecom_{size_label(events)}.parquet"
    if typed.exists():
        return typed
    raw = workdir / f"telecom_{size_label(events)}_raw.parquet"
    write_demo(raw, round(events / EVENTS_PER_CUSTOMER), scenario="telecom", seed=1)
    import duckdb

    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"""COPY (SELECT * REPLACE (timestamp::TIMESTAMPTZ AS timestamp) FROM read_parquet('{raw}'))
                TO '{typed}' (FORMAT parquet, COMPRESSION zstd)"""
        )
    raw.unlink()
    return typed


def timed(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Return the median seconds of `repeats` runs and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_parcours(path: Path, repeats: int) -> dict:
    import discovery
    from data import ColumnMapping, Settings, Store, read_log, to_event_log

    results: dict[str, dict] = {}
    mapping = ColumnMapping(case_id="customer_id", activity="touchpoint", timestamp="timestamp", channel="channel")
    with tempfile.TemporaryDirectory() as home:
        store = Store(Settings(home=Path(home)))

        def load():
            return store.import_log(to_event_log(read_log(path, settings=store.settings), mapping))

        load_seconds, dataset = timed(load, 1)
        results["load"] = {"seconds": load_seconds, "peak_mb": peak_mb()}
        with store.engine(dataset.id) as engine:
            first_map, _ = timed(lambda: discovery.journey_map(engine), 1)
            first_variants, _ = timed(lambda: discovery.variant_table(engine), 1)
            results["end_to_end"] = {"seconds": load_seconds + first_map + first_variants, "peak_mb": peak_mb()}
            model = discovery.suggest_stages(engine)
            definition = discovery.ChurnDefinition()
            operations = {
                "journey_map": lambda: discovery.journey_map(engine),
                "variants": lambda: discovery.variant_table(engine),
                "stage_kpis": lambda: discovery.stage_kpis(engine, model),
                "churn_points": lambda: discovery.churn_points(engine, model, definition),
                "inductive_miner": lambda: discovery.discover_model(engine),
            }
            for name, operation in operations.items():
                seconds, _ = timed(operation, repeats)
                results[name] = {"seconds": seconds, "peak_mb": peak_mb()}
        results["events"] = dataset.n_events
    return results


def run_pm4py(path: Path, repeats: int, miner_max_events: int) -> dict:
    import pandas as pd
    import pm4py

    keys = {"case_id": "customer_id", "activity_key": "touchpoint", "timestamp_key": "timestamp"}

    def load():
        return pm4py.format_dataframe(pd.read_parquet(path), **keys)

    load_seconds, frame = timed(load, 1)
    results = {"load": {"seconds": load_seconds, "peak_mb": peak_mb()}}

    def journey_map():
        return pm4py.discover_dfg(frame), pm4py.discover_performance_dfg(frame)

    first_map, _ = timed(journey_map, 1)
    first_variants, _ = timed(lambda: pm4py.get_variants(frame), 1)
    results["end_to_end"] = {"seconds": load_seconds + first_map + first_variants, "peak_mb": peak_mb()}
    for name, operation in (("journey_map", journey_map), ("variants", lambda: pm4py.get_variants(frame))):
        seconds, _ = timed(operation, repeats)
        results[name] = {"seconds": seconds, "peak_mb": peak_mb()}
    if len(frame) <= miner_max_events:
        seconds, _ = timed(lambda: pm4py.discover_process_tree_inductive(frame), 1)
        results["inductive_miner"] = {"seconds": seconds, "peak_mb": peak_mb()}
    return results


def run_child(tool: str, path: Path, repeats: int, miner_max_events: int) -> dict:
    """Run one tool on one log in a fresh process, so its memory high-water mark is its own."""
    child = subprocess.run(
        [sys.executable, __file__, "--child", tool, str(path), str(repeats), str(miner_max_events)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"{tool} failed on {path.name} (status {child.returncode})")
    return json.loads(child.stdout.strip().splitlines()[-1])


def compare(sizes: list[int], repeats: int, workdir: Path, miner_max_events: int) -> dict:
    report: dict[str, dict] = {}
    for events in sizes:
        path = prepare_log(events, workdir)
        parcours = run_child("parcours", path, repeats, miner_max_events)
        pm4py_results = run_child("pm4py", path, repeats, miner_max_events)
        row = {"events": parcours.pop("events")}
        for operation in (*OPERATIONS, "end_to_end"):
            ours, theirs = parcours.get(operation), pm4py_results.get(operation)
            row[operation] = {
                "parcours_s": round(ours["seconds"], 4) if ours else None,
                "pm4py_s": round(theirs["seconds"], 4) if theirs else None,
                "ratio": round(theirs["seconds"] / ours["seconds"], 1) if ours and theirs else None,
                "peak_mb": round(ours["peak_mb"]) if ours else None,
                "pm4py_peak_mb": round(theirs["peak_mb"]) if theirs else None,
            }
        report[size_label(events)] = row
    return report


def print_table(report: dict) -> None:
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    header = f"{'size':>5} {'events':>11} {'operation':<16} {'Parcours s':>11} {'pm4py s':>9} {'× faster':>9}"
    print(header + f" {'peak MB (P/pm4py)':>18}")
    for label, row in report.items():
        for operation in (*OPERATIONS, "end_to_end"):
            cell = row[operation]
            fmt = lambda value, spec: "—" if value is None else format(value, spec)  # noqa: E731
            print(
                f"{label:>5} {row['events']:>11,} {operation:<16} {fmt(cell['parcours_s'], '.3f'):>11} "
                f"{fmt(cell['pm4py_s'], '.3f'):>9} {fmt(cell['ratio'], '.1f'):>9} "
                f"{fmt(cell['peak_mb'], ',.0f'):>8}/{fmt(cell['pm4py_peak_mb'], ',.0f')}"
            )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        tool, path, repeats, miner_max_events = argv[1], Path(argv[2]), int(argv[3]), int(argv[4])
        results = run_parcours(path, repeats) if tool == "parcours" else run_pm4py(path, repeats, miner_max_events)
        print(json.dumps(results))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M", help="comma-separated event counts, e.g. 100k,1M,10M")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per operation (median)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    parser.add_argument(
        "--pm4py-miner-max-events", type=int, default=2_000_000, help="skip pm4py's raw-log inductive miner above"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(size) for size in args.sizes.split(",")]
    report = compare(sizes, args.repeats, args.workdir, args.pm4py_miner_max_events)
    print_table(report)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
