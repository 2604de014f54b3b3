"""Parcours on DuckDB, its layout built by Spark local, and pm4py on the demo generator's logs, side by side.

    python benchmarks/discovery.py                                   # 100k, 1M and 10M events, all three tools
    python benchmarks/discovery.py --sizes 1M --tools parcours,pm4py  # one size, two tools
    python benchmarks/discovery.py --sizes 1M,10M --json             # … then with one JSON object
    python benchmarks/discovery.py --sizes 10M --tools parcours --operations persona_features  # one operation

Each tool runs in its own child process per size, so one's memory never counts against another's, and
`peak_mb` is that process's high-water mark (RSS) after the operation, Spark's JVM included. Times are
medians of `--repeats` warm runs, except `session_start`, `load` and `layout_build`, which run once; the warm
operations also give the process's CPU seconds per run (`parcours_cpu_s`, … in the JSON). `load` is Parquet →
validated canonical log + quality report + DuckDB layout, the stored form, for Parcours (`import_file`, as a
user imports), read_parquet + format_dataframe for pm4py. `layout_build` is the canonical events Parquet file →
the layout file the dashboard opens, every table and stat included: `build_layout` for Parcours,
`build_layout_with_spark` for Spark (Spark's Parquet tables copied into DuckDB; its session start apart), which
is all Spark does: the pages run on DuckDB over that layout. `end_to_end` is Parquet → journey map + all variant
counts: load + the first map + the first variants. pm4py's map is discover_dfg +
discover_performance_dfg (our map carries times); the filtered map keeps the journeys
with a web event in March 2025 (pm4py: those with a web event whose span meets March). `variants` is every
variant with its activity list; `top_variants` the 25 the Variants page shows first, with every customer's share.
`variants_page` is what the Variants page asks for: those 25 with each one's conversion and churn under the
suggested journey definition. Stage KPIs, churn points, the funnel, top variants and persona features are Parcours's
alone, the inductive miner Parcours's and pm4py's: the other cells are empty.
`first_map` is Parquet → the first journey map drawn: for Parcours, the import as the Import page runs it (in a child,
the fork server already up as in a running dashboard) until it hands over its first look once the events are sorted,
drawn as the page draws it (paths of 80 % of the moves, laid out by Graphviz as SVG); `first_map_import` is that
import's whole time, the first look included; `first_full_map` is the import then what the Journey map page computes
when first opened on the log (the suggested journey definition its lanes and churn points need, then its map's DOT).
For pm4py, `first_map` is load + DFG + performance DFG. `session` is an exploration session (`benchmarks/session.py`):
the import and the suggested definition, then the Journey map, the Variants page and the Stages page under ten
filters, each new to the engine; pm4py does the same pages with its own filters in one process from the same Parquet,
given the stages by hand. `--operations` measures only those named; when none of them times the import (`load`, the
three `first_*`, `end_to_end`, `session`), Parcours reads the log from the store `benchmarks/dashboard.py` keeps under
the work folder (`dashboard-home-<size>`, imported on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.session import (  # noqa: E402
    TOP_VARIANTS,
    draw_first_look,
    first_map_page,
    parcours_session,
    pm4py_session,
)

if TYPE_CHECKING:
    from data import Filters
    from discovery import VariantTable

EVENTS_PER_CUSTOMER = 18.3  # the telecom demo's mean journey length, checked by the tests
TOOLS = ("parcours", "spark", "pm4py")
TOOL_LABELS = {"parcours": "Parcours", "spark": "Spark", "pm4py": "pm4py"}
LIBRARIES = {"parcours": "duckdb", "spark": "pyspark", "pm4py": "pm4py"}
OPERATIONS = (
    "session_start",
    "load",
    "layout_build",
    "journey_map",
    "filtered_map",
    "variants",
    "top_variants",
    "variants_page",
    "stage_kpis",
    "churn_points",
    "funnel",
    "persona_features",
    "inductive_miner",
    "end_to_end",
    "first_map",
    "first_map_import",
    "first_full_map",
    "session",
)
# JSON keys per tool; Parcours' and pm4py's are those of the first version, which readers already use.
SECONDS_KEYS = {"parcours": "parcours_s", "spark": "spark_s", "pm4py": "pm4py_s"}
RATIO_KEYS = {"spark": "spark_ratio", "pm4py": "ratio"}
PEAK_KEYS = {"parcours": "peak_mb", "spark": "spark_peak_mb", "pm4py": "pm4py_peak_mb"}
CPU_KEYS = {"parcours": "parcours_cpu_s", "spark": "spark_cpu_s", "pm4py": "pm4py_cpu_s"}
# The operations whose time includes the import's: without any of them, Parcours reuses a stored import.
IMPORTED = frozenset({"load", "first_map", "first_map_import", "first_full_map", "end_to_end", "session"})
SUFFIXES = {"k": 1_000, "M": 1_000_000}
# Each canonical column and the demo's name for it, for the three tools.
DEMO_COLUMNS = {"case_id": "customer_id", "activity": "touchpoint", "timestamp": "timestamp", "channel": "channel"}
FILTERED_CHANNEL = "web"
FILTERED_WINDOW = ("2025-03-01", "2025-04-01")  # [start, end) in UTC: a month of the demo's year
FUNNEL_STEPS = 3


@dataclass(frozen=True)
class BenchmarkLog:
    """One demo log twice: as the demo writes it (typed UTC timestamps) and as canonical events, to build layouts."""

    demo_parquet: Path
    events_parquet: Path


def parse_size(text: str) -> int:
    """Return the number of events in '100k', '1M', '10M' or '250000'."""
    text = text.strip()
    return int(float(text[:-1]) * SUFFIXES[text[-1]]) if text[-1] in SUFFIXES else int(text)


def size_label(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events // 1_000}k"


def parse_tools(text: str) -> tuple[str, ...]:
    """Return the tools named in 'parcours,spark,pm4py' in table order; argparse reports unknown names."""
    named = {name.strip() for name in text.split(",") if name.strip()}
    if not named or named - set(TOOLS):
        raise argparse.ArgumentTypeError(f"tools are a comma-separated choice of {', '.join(TOOLS)}, not {text!r}")
    return tuple(tool for tool in TOOLS if tool in named)


def parse_operations(text: str) -> tuple[str, ...]:
    """Return the operations named in 'journey_map,persona_features' in table order; argparse reports unknown ones."""
    named = {name.strip() for name in text.split(",") if name.strip()}
    if not named or named - set(OPERATIONS):
        raise argparse.ArgumentTypeError(f"operations are a comma-separated choice of {', '.join(OPERATIONS)}")
    return tuple(operation for operation in OPERATIONS if operation in named)


def prepare_log(events: int, workdir: Path) -> BenchmarkLog:
    """Write (once) a telecom demo log of about `events` events, and its canonical copy, as Parquet."""
    import duckdb

    from data.demo import write_demo

    customers = round(events / EVENTS_PER_CUSTOMER)
    # Named by customers too: a log cached from another journey length is not mistaken for this size.
    name = f"telecom_{size_label(events)}_{customers}c"
    log = BenchmarkLog(workdir / f"{name}.parquet", workdir / f"{name}_events.parquet")
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        if not log.demo_parquet.exists():
            untyped = workdir / f"{name}_raw.parquet"
            write_demo(untyped, customers, scenario="telecom", seed=1)
            typed = connection.read_parquet(str(untyped)).select("* REPLACE (timestamp::TIMESTAMPTZ AS timestamp)")
            _write_once(typed, log.demo_parquet)
            untyped.unlink()
        if not log.events_parquet.exists():
            renamed = ", ".join(f"{source} AS {canonical}" for canonical, source in DEMO_COLUMNS.items())
            attributes = f"* EXCLUDE ({', '.join(DEMO_COLUMNS.values())}, file_row_number)"
            canonical = connection.read_parquet(str(log.demo_parquet), file_row_number=True).select(
                f"{renamed}, file_row_number AS source_row, {attributes}"
            )
            _write_once(canonical, log.events_parquet)
    return log


def _write_once(relation, path: Path) -> None:
    """Write a DuckDB relation as Parquet under a temporary name first, so a stopped run leaves no half file."""
    partial = path.with_name(f".{path.name}.part")
    relation.write_parquet(str(partial), compression="zstd")
    partial.replace(path)


def timed(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Return the median seconds of `repeats` runs and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def peak_mb() -> float:
    """Return the RSS high-water mark of this process and its live descendants (Spark's JVM), in MB."""
    kilobytes = _high_water_kb(os.getpid())
    pending = [os.getpid()]
    while pending:
        children = _children(pending.pop())
        kilobytes += sum(_high_water_kb(child) for child in children)
        pending += children
    return kilobytes / 1024


def _children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process has ended, or this system has no /proc
        return []
    return [int(child) for task in tasks for child in _proc_text(task / "children").split()]


def own_peak_mb() -> float:
    """Return this process's RSS high-water mark in MB, its children apart.

    Read from /proc, not `ru_maxrss`: Linux keeps that across the exec that started this process, so a child of a
    parent holding 800 MB would read at least 800 MB.
    """
    return _high_water_kb(os.getpid()) / 1024


def _high_water_kb(pid: int) -> int:
    lines = _proc_text(Path(f"/proc/{pid}/status")).splitlines()
    return next((int(line.split()[1]) for line in lines if line.startswith("VmHWM:")), 0)


def _proc_text(path: Path) -> str:
    """Return a /proc file's text, or nothing when its process or thread ended since it was listed."""
    try:
        return path.read_text()
    except OSError:
        return ""


def observation(seconds: float) -> dict:
    """Return the seconds an operation took with the memory high-water mark it has left."""
    return {"seconds": seconds, "peak_mb": peak_mb()}


def end_to_end(load_seconds: float, journey_map: Callable[[], object], variants: Callable[[], object]) -> dict:
    """Return load + the first (cold) map + the first variants, the wait before a dashboard's first page."""
    map_seconds, _ = timed(journey_map, 1)
    variants_seconds, _ = timed(variants, 1)
    return observation(load_seconds + map_seconds + variants_seconds)


def warm_medians(operations: Mapping[str, Callable[[], object]], repeats: int) -> dict:
    """Return each operation's median seconds, and its mean CPU seconds per run (every thread of the process).

    CPU seconds hardly move with the machine's load, where seconds on a shared machine do.
    """
    results = {}
    for name, operation in operations.items():
        started = time.process_time()
        seconds, _ = timed(operation, repeats)
        results[name] = observation(seconds) | {"cpu_seconds": (time.process_time() - started) / repeats}
    return results


def filtered_journeys() -> Filters:
    """Return the Filters of the filtered map: journeys with a web event and an event in the chosen month."""
    import pandas as pd

    from data import Filters

    start, end = (pd.Timestamp(day, tz="UTC") for day in FILTERED_WINDOW)
    return Filters(channels={FILTERED_CHANNEL}, start=start, end=end)


def funnel_steps(variants: VariantTable) -> list[str]:
    """Return the first three distinct activities of the most frequent variant that has three.

    The most frequent demo journey is a lone ad click, so the first variant alone cannot make a 3-step funnel.
    """
    distinct = variants.frame["activities"].map(lambda activities: list(dict.fromkeys(activities))[:FUNNEL_STEPS])
    return distinct[distinct.map(len) == FUNNEL_STEPS].iloc[0]


def run_parcours(log: BenchmarkLog, repeats: int, operations: tuple[str, ...] = OPERATIONS) -> dict:
    import discovery
    import segmentation
    from data import ColumnMapping, Settings, Store, build_layout, import_file

    chosen = set(operations)
    mapping = ColumnMapping(**DEMO_COLUMNS)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        results = {}
        if "layout_build" in chosen:
            layout_seconds, _ = timed(
                lambda: build_layout(log.events_parquet, Path(home) / "journeys.layout", settings), 1
            )
            results["layout_build"] = observation(layout_seconds)
        if chosen & IMPORTED:
            store = Store(settings)
            load_seconds, dataset = timed(lambda: import_file(log.demo_parquet, store=store, mapping=mapping), 1)
            results["load"] = observation(load_seconds)
            dataset_id = dataset.id
        else:
            from benchmarks.dashboard import stored_log

            stored = dashboard_home(log)
            store, dataset_id = Store(Settings(home=stored)), stored_log(log.demo_parquet, stored)
        if chosen & {"first_map", "first_map_import"}:
            drawn_seconds, import_seconds = first_look_import(log.demo_parquet, Path(home) / "first-look")
            results["first_map"] = observation(drawn_seconds)
            results["first_map_import"] = observation(import_seconds)
        if "first_full_map" in chosen:
            with store.engine(dataset_id) as engine:
                map_seconds, _ = timed(lambda: first_map_page(engine), 1)
                results["first_full_map"] = observation(load_seconds + map_seconds)
        if "end_to_end" in chosen:
            with store.engine(dataset_id) as engine:
                results["end_to_end"] = end_to_end(
                    load_seconds, lambda: discovery.journey_map(engine), lambda: discovery.variant_table(engine)
                )
        if "session" in chosen:
            with store.engine(dataset_id) as engine:  # every filter of the session new to the engine
                session_seconds, _ = timed(lambda: parcours_session(engine, discovery.suggest_definition(engine)), 1)
                results["session"] = observation(load_seconds + session_seconds)
        with store.engine(dataset_id) as engine:
            filters = filtered_journeys()
            defined = chosen & {"variants_page", "stage_kpis", "churn_points"}
            definition = discovery.suggest_definition(engine) if defined else None
            steps = funnel_steps(discovery.variant_table(engine, limit=1_000)) if "funnel" in chosen else []
            warm = {
                "journey_map": lambda: discovery.journey_map(engine),
                "filtered_map": lambda: discovery.journey_map(engine, filters),
                "variants": lambda: discovery.variant_table(engine),
                "top_variants": lambda: discovery.variant_table(engine, limit=TOP_VARIANTS),
                "variants_page": lambda: discovery.variant_table(engine, limit=TOP_VARIANTS, definition=definition),
                "stage_kpis": lambda: discovery.stage_kpis(engine, definition),
                "churn_points": lambda: discovery.churn_points(engine, definition),
                "funnel": lambda: discovery.funnel(engine, steps),
                "persona_features": lambda: segmentation.customer_features(engine),
                "inductive_miner": lambda: discovery.discover_model(engine),
            }
            results |= warm_medians({name: run for name, run in warm.items() if name in chosen}, repeats)
    return results


def first_look_import(demo_parquet: Path, home: Path) -> tuple[float, float]:
    """Import the log as the Import page does and draw its first look as the page does (`ui.journey.show_first_look`);
    return the seconds until the first look is drawn and until the import ends."""
    from data import ColumnMapping, Settings, import_file_isolated, run_isolated

    settings = Settings(home=home)
    run_isolated(int, step="importing", file=None, settings=settings)  # the fork server up, as in a running dashboard
    drawn_after: list[float] = []

    def draw(look) -> None:
        draw_first_look(look)
        drawn_after.append(time.perf_counter() - started)

    started = time.perf_counter()
    mapping = ColumnMapping(**DEMO_COLUMNS)
    import_file_isolated(demo_parquet, settings=settings, mapping=mapping, on_first_look=draw)
    return drawn_after[0], time.perf_counter() - started


def dashboard_home(log: BenchmarkLog) -> Path:
    """Return the store `benchmarks/dashboard.py --pages-events <size>` imports this log into, beside the log."""
    size = log.demo_parquet.stem.split("_")[1]  # telecom_<size>_<customers>c, as `prepare_log` names it
    return log.demo_parquet.parent / f"dashboard-home-{size}"


def run_spark(events_parquet: Path) -> dict:
    from data import Settings
    from data.spark import build_layout_with_spark, spark_session

    settings = Settings.from_env()
    start_seconds, spark = timed(lambda: spark_session(settings), 1)
    results = {"session_start": observation(start_seconds)}
    with tempfile.TemporaryDirectory() as folder:
        layout = Path(folder) / "journeys.layout"
        build_seconds, _ = timed(lambda: build_layout_with_spark(events_parquet, layout, settings), 1)
    results["layout_build"] = observation(build_seconds)
    spark.stop()
    return results


def run_pm4py(demo_parquet: Path, repeats: int, miner_max_events: int) -> dict:
    import pandas as pd
    import pm4py

    keys = {"case_id": DEMO_COLUMNS["case_id"], "activity_key": DEMO_COLUMNS["activity"]}
    keys["timestamp_key"] = DEMO_COLUMNS["timestamp"]
    load_seconds, frame = timed(lambda: pm4py.format_dataframe(pd.read_parquet(demo_parquet), **keys), 1)
    start, end = (pd.Timestamp(day, tz="UTC") for day in FILTERED_WINDOW)

    def journey_map(log: pd.DataFrame) -> tuple:
        return pm4py.discover_dfg(log), pm4py.discover_performance_dfg(log)

    def filtered_map() -> tuple:
        # pm4py keeps a journey whose span meets the window, ours one with an event inside it: the closest filter.
        on_channel = pm4py.filter_event_attribute_values(
            frame, DEMO_COLUMNS["channel"], [FILTERED_CHANNEL], level="case"
        )
        return journey_map(pm4py.filter_time_range(on_channel, start, end, mode="traces_intersecting"))

    first_map_seconds, _ = timed(lambda: journey_map(frame), 1)
    results = {
        "load": observation(load_seconds),
        "first_map": observation(load_seconds + first_map_seconds),
        "end_to_end": end_to_end(load_seconds, lambda: journey_map(frame), lambda: pm4py.get_variants(frame)),
    }
    session_seconds, _ = timed(lambda: pm4py_session(frame, DEMO_COLUMNS), 1)
    results["session"] = observation(load_seconds + session_seconds)
    operations = {
        "journey_map": lambda: journey_map(frame),
        "filtered_map": filtered_map,
        "variants": lambda: pm4py.get_variants(frame),
    }
    results |= warm_medians(operations, repeats)
    if len(frame) <= miner_max_events:
        results |= warm_medians({"inductive_miner": lambda: pm4py.discover_process_tree_inductive(frame)}, 1)
    return results


def run_tool(tool: str, log: BenchmarkLog, repeats: int, miner_max_events: int, operations: tuple[str, ...]) -> dict:
    """Run one tool's operations; Spark and pm4py run all of theirs, only the table keeps those chosen."""
    if tool == "spark":
        return run_spark(log.events_parquet)
    if tool == "pm4py":
        return run_pm4py(log.demo_parquet, repeats, miner_max_events)
    return run_parcours(log, repeats, operations)


def run_child(tool: str, log: BenchmarkLog, repeats: int, miner_max_events: int, operations: tuple[str, ...]) -> dict:
    """Run one tool on one log in a fresh process, so its memory high-water mark is its own."""
    arguments = (*astuple(log), repeats, miner_max_events, ",".join(operations))
    child = subprocess.run(
        [sys.executable, __file__, "--child", tool, *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr)  # Spark's and pm4py's chatter is shown only when it explains a failure
        raise SystemExit(f"{tool} failed on {log.demo_parquet.name} (status {child.returncode})")
    return json.loads(child.stdout.strip().splitlines()[-1])


def report_row(
    events: int, results: Mapping[str, Mapping[str, dict]], operations: tuple[str, ...] = OPERATIONS
) -> dict:
    """Return one size's row: per operation each tool's seconds, peak MB and CPU seconds (warm operations), and the
    others' ratio to Parcours.

    `results` maps a tool to what its child measured; a tool that did not run, or an operation it lacks, gives None.
    """
    row: dict = {"events": events}
    for operation in operations:
        seconds = {tool: results.get(tool, {}).get(operation, {}).get("seconds") for tool in TOOLS}
        peaks = {tool: results.get(tool, {}).get(operation, {}).get("peak_mb") for tool in TOOLS}
        cpu = {tool: results.get(tool, {}).get(operation, {}).get("cpu_seconds") for tool in TOOLS}
        ours = seconds["parcours"]
        row[operation] = {
            **{SECONDS_KEYS[tool]: None if seconds[tool] is None else round(seconds[tool], 4) for tool in TOOLS},
            **{
                RATIO_KEYS[tool]: None if ours is None or seconds[tool] is None else round(seconds[tool] / ours, 1)
                for tool in RATIO_KEYS
            },
            **{PEAK_KEYS[tool]: None if peaks[tool] is None else round(peaks[tool]) for tool in TOOLS},
            **{CPU_KEYS[tool]: None if cpu[tool] is None else round(cpu[tool], 4) for tool in TOOLS},
        }
    return row


def compare(
    sizes: list[int],
    tools: tuple[str, ...],
    repeats: int,
    workdir: Path,
    miner_max_events: int,
    operations: tuple[str, ...] = OPERATIONS,
) -> dict:
    import pyarrow.parquet as pq

    report: dict[str, dict] = {}
    for events in sizes:
        log = prepare_log(events, workdir)
        results = {tool: run_child(tool, log, repeats, miner_max_events, operations) for tool in tools}
        report[size_label(events)] = report_row(pq.read_metadata(log.demo_parquet).num_rows, results, operations)
    return report


def machine_line(tools: tuple[str, ...]) -> str:
    """Describe the machine, the measured libraries and how busy the machine was before the run."""
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    libraries = [f"{LIBRARIES[tool]} {_installed_version(LIBRARIES[tool])}" for tool in tools]
    load = "/".join(f"{average:.1f}" for average in os.getloadavg())
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GB, "
        f"Python {platform.python_version()}, {', '.join(libraries)}, load average {load} before the run"
    )


def _installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def table_lines(report: Mapping[str, dict]) -> list[str]:
    """Return the report as a table: one line per size and operation that some tool measured."""
    labels = [TOOL_LABELS[tool] for tool in TOOLS]
    header = [f"{label} s" for label in labels] + ["pm4py/P", "Spark/P"]
    lines = [_table_line("size", "events", "operation", header, "peak MB " + "/".join(labels))]
    for size, row in report.items():
        for operation in (operation for operation in OPERATIONS if operation in row):
            cell = row[operation]
            if all(cell[SECONDS_KEYS[tool]] is None for tool in TOOLS):
                continue
            seconds = [_shown(cell[SECONDS_KEYS[tool]], ".3f") for tool in TOOLS]
            ratios = [_shown(cell[RATIO_KEYS[tool]], ".1f") for tool in ("pm4py", "spark")]
            peaks = "/".join(_shown(cell[PEAK_KEYS[tool]], ",.0f") for tool in TOOLS)
            lines.append(_table_line(size, f"{row['events']:,}", operation, seconds + ratios, peaks))
    if any(row.get("session_start", {}).get("spark_s") is not None for row in report.values()):
        lines.append("Spark builds the layout only (session start apart): the views run on DuckDB over it.")
    return lines


def _table_line(size: str, events: str, operation: str, cells: list[str], peaks: str) -> str:
    return f"{size:>5} {events:>11} {operation:<17}" + "".join(f"{cell:>11}" for cell in cells) + f"  {peaks}"


def _shown(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        tool, log = argv[1], BenchmarkLog(Path(argv[2]), Path(argv[3]))
        operations = tuple(argv[6].split(","))
        print(json.dumps(run_tool(tool, log, int(argv[4]), int(argv[5]), operations)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,10M", help="comma-separated event counts, e.g. 100k,1M,10M")
    parser.add_argument("--tools", type=parse_tools, default=TOOLS, help="comma-separated, e.g. parcours,pm4py")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per operation (median)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    parser.add_argument(
        "--pm4py-miner-max-events", type=int, default=2_000_000, help="skip pm4py's raw-log inductive miner above"
    )
    parser.add_argument(
        "--operations", type=parse_operations, default=OPERATIONS, help="comma-separated, e.g. persona_features"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    machine = machine_line(args.tools)
    sizes = [parse_size(size) for size in args.sizes.split(",")]
    report = compare(sizes, args.tools, args.repeats, args.workdir, args.pm4py_miner_max_events, args.operations)
    print(machine)
    print("\n".join(table_lines(report)))
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
