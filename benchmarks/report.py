"""Benchmark: writing the branded report of a stored log, by section, at 100k, 1M and 10M events.

    python benchmarks/report.py                      # 100k, 1M and 10M events
    python benchmarks/report.py --sizes 1M --pdf     # one size, with the PDF printed by Chromium

Logs are the telecom demo generator's (seed 1), the ones `benchmarks/discovery.py` writes, imported once by
`import_file` into a home of this benchmark's own under --workdir, with a saved persona run (k = 4, so that the
time is the clustering's, not the choice of k's) and two saved segments (web, store) for the comparison.
Each size is measured in a fresh process: `inputs` is `stored_report_inputs` (the engine opened, the definition
in force read), then each section is drawn once on inputs of its own (so none profits from another's cached
churn points), then `report` is `render_report` with every section on fresh inputs, as the CLI writes it; `pdf`
prints that document with headless Chromium. `html_kb` is the report's size.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dashboard import stored_log
from benchmarks.discovery import parse_size, prepare_log

SIZES = "100k,1M,10M"
PERSONAS_K = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=SIZES, help="comma-separated log sizes in events (e.g. 100k,1M)")
    parser.add_argument("--pdf", action="store_true", help="also print each report to PDF")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    parser.add_argument("--measure", nargs=2, metavar=("HOME", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1], args.pdf)))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        home = args.workdir / f"report-home-{size}"
        started = time.perf_counter()
        dataset_id = stored_log(prepare_log(parse_size(size), args.workdir).demo_parquet, home)
        _save_choices(home, dataset_id)
        prepared = time.perf_counter() - started
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(home), dataset_id, *(["--pdf"] if args.pdf else [])],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(child.stdout)
        times = "  ".join(f"{name} {seconds:6.2f}" for name, seconds in row["seconds"].items())
        print(
            f"{size:>4} {row['events']:>11,} events {row['customers']:>8,} customers  prepare {prepared:6.1f} s  "
            f"{times}  html_kb {row['html_kb']:,.0f}  peak_mb {row['peak_mb']:,.0f}",
            flush=True,
        )
    return 0


def measure(home: Path, dataset_id: str, pdf: bool) -> dict:
    """Time the report's inputs, each section and the whole report (and its PDF) on the stored log."""
    from data import Settings, Store
    from discovery import ReportView, render_report, report_pdf
    from segmentation import REPORT_SECTIONS, stored_report_inputs

    store = Store(Settings(home=home))
    view = ReportView(segments=("web", "store"), persona_run="bench")
    seconds: dict[str, float] = {}
    with store.engine(dataset_id) as engine:
        started = time.perf_counter()
        stored_report_inputs(store, dataset_id, engine, view).summary  # noqa: B018 (the engine's first query)
        seconds["inputs"] = time.perf_counter() - started
        for key, section in REPORT_SECTIONS.items():
            inputs = stored_report_inputs(store, dataset_id, engine, view)
            started = time.perf_counter()
            section.render(inputs)
            seconds[key] = time.perf_counter() - started
        started = time.perf_counter()
        inputs = stored_report_inputs(store, dataset_id, engine, view)
        document = render_report(inputs, list(REPORT_SECTIONS.values()))
        seconds["report"] = time.perf_counter() - started
        summary = inputs.summary
    if pdf:
        started = time.perf_counter()
        report_pdf(document)
        seconds["pdf"] = time.perf_counter() - started
    return {
        "events": summary.events,
        "customers": summary.cases,
        "seconds": seconds,
        "html_kb": len(document.encode("utf-8")) / 1024,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _save_choices(home: Path, dataset_id: str) -> None:
    """Save the persona run and the two segments the report reads (once: saving again adds nothing)."""
    from data import Settings, Store
    from segmentation import PersonaRun, save_run, save_segment, saved_runs, saved_segments

    store = Store(Settings(home=home))
    if "bench" not in saved_runs(store, dataset_id):
        save_run(store, dataset_id, "bench", PersonaRun(PERSONAS_K, 0, "kmeans"))
    if not saved_segments(store, dataset_id):
        save_segment(store, dataset_id, "web", {"channels": '["web"]'})
        save_segment(store, dataset_id, "store", {"channels": '["store"]'})


if __name__ == "__main__":
    raise SystemExit(main())
