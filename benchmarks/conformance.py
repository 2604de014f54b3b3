"""Designed vs actual at scale: `discovery.conformance` on the demo generator's logs, pm4py on the raw log beside it.

    python benchmarks/conformance.py                         # 100k, 1M and 10M events
    python benchmarks/conformance.py --sizes 100k --json     # one size, then one JSON object

The logs are `benchmarks/discovery.py`'s (telecom demo, seed 1, Parquet), imported once per size into a store under
`$TMPDIR/parcours-bench/conformance-home-<size>`; the design is the telecom scenario's (`data.demo.designed_journey`).
`conformance` is the whole call (variants, fitness, step checks, unexpected touchpoints, loops, stage times);
`fitness` the pm4py part alone (alignments on the `MAX_ALIGNED` most frequent variants, token replay on the
next `MAX_REPLAYED`, for the whole journeys and for the designed steps alone); `step_checks` the DuckDB part (the
step table); `by_month` the breakdown by month of a result (`conformance_by`, which reuses its fitness). pm4py
gets the raw log as a DataFrame, as its users call it:
`conformance_diagnostics_alignments` up to `--pm4py-align-max` events (it aligns every distinct variant),
`conformance_diagnostics_token_based_replay` up to `--pm4py-replay-max`; larger cells are empty. One process,
times are single runs (the aligning dominates and does not warm up).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dashboard import stored_log
from benchmarks.discovery import DEMO_COLUMNS, parse_size, peak_mb, prepare_log, size_label

DEFAULT_SIZES = "100k,1M,10M"
PM4PY_ALIGN_MAX = 200_000
PM4PY_REPLAY_MAX = 2_000_000


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def measure(events: int, workdir: Path, align_max: int, replay_max: int) -> dict:
    """Conformance of one demo log, with pm4py on the raw log where affordable."""
    import pandas as pd

    from data import Settings, Store
    from data.demo import designed_journey
    from discovery import DesignedJourney, conformance, conformance_by, suggest_definition
    from discovery._conformance import _design_params, _steps, _variant_fitness
    from discovery._designed import designed_net

    log = prepare_log(events, workdir)
    home = workdir / f"conformance-home-{size_label(events)}"
    dataset_id = stored_log(log.demo_parquet, home)
    designed = DesignedJourney.from_dict(designed_journey("telecom"))
    row: dict = {"size": size_label(events)}
    with Store(Settings(home=home)).engine(dataset_id) as engine:
        definition = suggest_definition(engine)
        summary = engine.summary()
        row |= {"events": summary.events, "customers": summary.cases, "variants": summary.variants}
        row["conformance_s"], result = timed(lambda: conformance(engine, definition, designed))
        row["fitness_s"], _ = timed(lambda: _variant_fitness(engine, designed, result.filters, 1_000, 50_000))
        params = _design_params(designed, definition)
        row["step_checks_s"], _ = timed(lambda: _steps(engine, designed, result.filters, params))
        row["by_month_s"], _ = timed(lambda: conformance_by(engine, result, "month"))
        methods = result.variants["method"].value_counts()
        row |= {
            "aligned": int(methods.get("alignments", 0)),
            "replayed": int(methods.get("token replay", 0)),
            "unchecked": int(methods.get("not checked", 0)),
            "follows": result.follows,
            "keeps_to_steps": result.keeps_to_steps,
        }
    row["parcours_peak_mb"] = round(peak_mb())
    net, initial, final = designed_net(designed)
    keys = {"case_id_key": DEMO_COLUMNS["case_id"], "activity_key": DEMO_COLUMNS["activity"]}
    keys["timestamp_key"] = DEMO_COLUMNS["timestamp"]
    row["pm4py_alignments_s"] = row["pm4py_replay_s"] = None
    if events <= replay_max:
        import pm4py

        frame = pd.read_parquet(log.demo_parquet)
        row["pm4py_replay_s"], _ = timed(
            lambda: pm4py.conformance_diagnostics_token_based_replay(frame, net, initial, final, **keys)
        )
        if events <= align_max:
            row["pm4py_alignments_s"], _ = timed(
                lambda: pm4py.conformance_diagnostics_alignments(frame, net, initial, final, **keys)
            )
    return row


COLUMNS = (
    ("size", "size", "{}"),
    ("events", "events", "{:,}"),
    ("variants", "variants", "{:,}"),
    ("aligned", "aligned", "{:,}"),
    ("replayed", "replayed", "{:,}"),
    ("conformance_s", "conformance s", "{:.2f}"),
    ("fitness_s", "fitness s", "{:.2f}"),
    ("step_checks_s", "step checks s", "{:.2f}"),
    ("by_month_s", "by month s", "{:.2f}"),
    ("pm4py_replay_s", "pm4py replay s", "{:.2f}"),
    ("pm4py_alignments_s", "pm4py align s", "{:.2f}"),
    ("parcours_peak_mb", "peak MB", "{:,}"),
)


def table(rows: list[dict]) -> str:
    lines = ["  ".join(f"{label:>14}" for _, label, _ in COLUMNS)]
    for row in rows:
        cells = ["—" if row[key] is None else form.format(row[key]) for key, _, form in COLUMNS]
        lines.append("  ".join(f"{cell:>14}" for cell in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated event counts: 100k, 1M, 10M …")
    parser.add_argument("--pm4py-align-max", type=parse_size, default=PM4PY_ALIGN_MAX)
    parser.add_argument("--pm4py-replay-max", type=parse_size, default=PM4PY_REPLAY_MAX)
    parser.add_argument("--json", action="store_true", help="also print the rows as one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.gettempdir()) / "parcours-bench"
    workdir.mkdir(exist_ok=True)
    limits = (args.pm4py_align_max, args.pm4py_replay_max)
    rows = [measure(parse_size(size), workdir, *limits) for size in args.sizes.split(",")]
    print(table(rows))
    if args.json:
        print(json.dumps({"machine": platform.machine(), "python": platform.python_version(), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
