"""Benchmark: finding personas for 10k, 100k and 1M demo customers (time by step, peak memory, chosen k).

    python benchmarks/personas.py                      # 10k, 100k and 1M telecom customers
    python benchmarks/personas.py --customers 10000    # one size

`find_s` is what the dashboard's progress bar covers, `segmentation.find_personas`: the customers' features
(`features_s`), choosing k and clustering (`personas_s`) and the 2-D picture; `profiles_s` is `persona_profiles`
under the log's suggested journey definition (suggested before the clock starts, as the dashboard reads the saved
one). The targets (issue 14): `find_s` at most 3 s for 10k customers and 30 s for 1M on 2 cores.

Each log is written once by `data.demo.write_demo` (Parquet) into --workdir and laid out by the data layer's
`build_layout`; the raw export is mapped to canonical columns by DuckDB, because reading 18 million events through
pandas (`load_log`) is the import's cost, not the one measured here. Each size is then measured in a fresh process
that opens the stored layout, so its peak memory (ru_maxrss) covers the engine, the features, the personas and the
profiles only.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from data.demo import write_demo  # noqa: E402
from data.engine import Engine, build_layout  # noqa: E402
from data.settings import Settings  # noqa: E402
from discovery import suggest_definition  # noqa: E402
from segmentation import find_personas, persona_profiles  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
COLUMNS = (
    "customers",
    "events",
    "prepare_s",
    "features_s",
    "personas_s",
    "find_s",
    "profiles_s",
    "k",
    "peak_mb",
)
# The progress messages that close the features and the clustering.
_FEATURES_READY, _PERSONAS_FOUND = "ready", "found"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--scenario", default="telecom")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-personas-benchmark")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure)))
        return 0
    print(" | ".join(COLUMNS))
    for customers in args.customers:
        layout, prepare_s = _prepare(args.workdir, args.scenario, customers)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(layout)], capture_output=True, text=True, check=True
        )
        row = {**json.loads(child.stdout), "prepare_s": prepare_s}
        print(" | ".join(_shown(row[column]) for column in COLUMNS), flush=True)
    return 0


def _prepare(workdir: Path, scenario: str, customers: int) -> tuple[Path, float]:
    """Write the demo log and its layout once; return the layout and the seconds it took (0 when reused)."""
    layout = workdir / f"{scenario}-{customers}.duckdb"
    if layout.exists():
        return layout, 0.0
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    raw, canonical = workdir / f"{scenario}-{customers}.raw.parquet", workdir / f"{scenario}-{customers}.parquet"
    write_demo(raw, customers, scenario=scenario, seed=0)
    with duckdb.connect() as connection:
        connection.execute(
            f"""
            COPY (
                SELECT customer_id AS case_id, touchpoint AS activity, "timestamp"::TIMESTAMPTZ AS "timestamp", channel,
                       row_number() OVER () - 1 AS source_row, * EXCLUDE (customer_id, touchpoint, "timestamp", channel)
                FROM read_parquet('{raw}')
            ) TO '{canonical}' (FORMAT parquet)
            """
        )
    build_layout(canonical, layout, Settings.from_env())
    raw.unlink()
    canonical.unlink()
    return layout, time.perf_counter() - started


def _measure(layout: Path) -> dict:
    with Engine(layout) as engine:
        definition = suggest_definition(engine)
        marks: dict[str, float] = {}

        def progress(fraction: float, message: str) -> None:
            for mark in (_FEATURES_READY, _PERSONAS_FOUND):
                if message.endswith(mark):
                    marks[mark] = time.perf_counter()

        started = time.perf_counter()
        found = find_personas(engine, definition=definition, progress=progress)
        finished = time.perf_counter()
        persona_profiles(engine, found.case_ids, found.labels, definition=definition)
        profiled = time.perf_counter()
        summary = engine.summary()
    return {
        "customers": summary.cases,
        "events": summary.events,
        "features_s": marks[_FEATURES_READY] - started,
        "personas_s": marks[_PERSONAS_FOUND] - marks[_FEATURES_READY],
        "find_s": finished - started,
        "profiles_s": profiled - finished,
        "k": found.n_clusters,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    sys.exit(main())
