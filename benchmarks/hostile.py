"""Peak memory and time of each bomb and oversized input of the hostile corpus, read as the CLI reads them.

    python benchmarks/hostile.py [--json] [NAME ...]

Each input (written by tests/hostile/generate.py into $TMPDIR/parcours-hostile/) goes through
`load_log` in a child process under the default limits, exactly as `python -m data quality` runs it
(`data.isolation.measure_isolated`). Printed per input: the typed error it ended with, the wall-clock
seconds from starting the child to its answer, the child's resident memory when the step began and at its
peak, and the growth between the two; and the resident memory of this (the server's) process before and
after, which must not grow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data import Settings, load_log, measure_isolated
from tests.hostile import generate

FOLDER = Path(tempfile.gettempdir()) / "parcours-hostile"


def measure(path: Path, settings: Settings) -> dict:
    """Return what reading and checking one file ended with and cost."""
    before_mb = _resident_mb()
    call = partial(load_log, path, settings=settings)
    run = measure_isolated(call, step="checking", file=path.name, settings=settings)
    return {
        "input": path.name,
        "size_mb": round(path.stat().st_size / 2**20, 1),
        "outcome": type(run.error).__name__ if run.error else f"{len(run.value.frame):,} events",
        "seconds": round(run.seconds, 2),
        "child_start_mb": round(run.start_mb),
        "child_peak_mb": round(run.peak_mb),
        "growth_mb": round(run.peak_mb - run.start_mb),
        "server_growth_mb": round(_resident_mb() - before_mb),
    }


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="inputs to measure (default: all generated ones)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = args.names or list(generate.GENERATED)
    missing = [name for name in names if not (FOLDER / name).exists()]
    generate.write(FOLDER, missing)
    with tempfile.TemporaryDirectory() as home:
        os.environ["PARCOURS_HOME"] = home
        settings = Settings.from_env()
        rows = [measure(FOLDER / name, settings) for name in names]
    print(f"{'input':<26} {'MB':>6}  {'outcome':<20} {'s':>6} {'child MB start/peak':>20} {'growth':>7} {'server':>7}")
    for row in rows:
        print(
            f"{row['input']:<26} {row['size_mb']:>6}  {row['outcome']:<20} {row['seconds']:>6} "
            f"{row['child_start_mb']:>9}/{row['child_peak_mb']:<10} {row['growth_mb']:>7} {row['server_growth_mb']:>7}"
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
