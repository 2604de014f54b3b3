"""Benchmark: customer features and personas for 10k, 100k and 1M demo customers (time, peak memory, chosen k).

    python benchmarks/personas.py                      # 10k, 100k and 1M telecom customers
    python benchmarks/personas.py --customers 10000    # one size

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
from segmentation import Personas, customer_features, persona_profiles  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
COLUMNS = (
    "customers",
    "events",
    "features",
    "prepare_s",
    "features_s",
    "personas_s",
    "total_s",
    "profiles_s",
    "k",
    "peak_mb",
)


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
        started = time.perf_counter()
        features = customer_features(engine)
        featured = time.perf_counter()
        model = Personas(random_state=0).fit(features.matrix)
        clustered = time.perf_counter()
        persona_profiles(engine, features.case_ids, model.labels_)
        profiled = time.perf_counter()
        summary = engine.summary()
    return {
        "customers": summary.cases,
        "events": summary.events,
        "features": features.matrix.shape[1],
        "features_s": featured - started,
        "personas_s": clustered - featured,
        "total_s": clustered - started,
        "profiles_s": profiled - clustered,
        "k": model.n_clusters_,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    sys.exit(main())
