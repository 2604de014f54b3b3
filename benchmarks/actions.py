"""Benchmark: the measured effect of an improvement action (`discovery.action_effect`) on a demo log of ~1M events.

    python benchmarks/actions.py                       # 55,000 telecom customers, about 1M events
    python benchmarks/actions.py --customers 550000    # about 10M events

The log is written and laid out once by the personas benchmark's `_prepare` (into --workdir, reused by later runs).
Each KPI is then measured on its own action, go-live 2025-06-01, 90 days either side, under the log's suggested
journey definition: churn right after a churn point (shares, no control group), conversion of a stage's customers
(shares with a difference in differences), time to a stage (medians with bootstrap intervals) and the NPS score
(means). Times are medians of --repeats warm runs; `peak_mb` is the process's RSS high-water mark at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from data.engine import Engine  # noqa: E402
from discovery import Action, ActionTarget, action_effect, suggest_definition  # noqa: E402

# The personas benchmark writes and lays the demo logs out; loaded from its path, as benchmarks/ is no package.
_spec = importlib.util.spec_from_file_location("personas_benchmark", REPO / "benchmarks" / "personas.py")
_personas_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_personas_benchmark)

GO_LIVE = dt.date(2025, 6, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=55_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-personas-benchmark")
    args = parser.parse_args()
    layout, prepare_s = _personas_benchmark._prepare(args.workdir, "telecom", args.customers)
    with Engine(layout) as engine:
        definition = suggest_definition(engine)
        stages = definition.stages.stages
        actions = {
            "churn point": Action("a", ActionTarget("churn point", "billing_dispute"), "churn", go_live=GO_LIVE),
            "conversion, DiD": Action("b", ActionTarget("stage", stages[1]), "conversion", go_live=GO_LIVE),
            "time to stage": Action("c", ActionTarget("stage", stages[1]), "time to stage", stages[-1], GO_LIVE),
            "NPS": Action("d", ActionTarget("touchpoint", "billing_question"), "score", "nps", GO_LIVE),
        }
        events = engine.summary().events
        print(f"{args.customers:,} customers, {events:,} events (prepare {prepare_s:.1f} s)")
        print("kpi              | median_s | measured customers")
        for name, action in actions.items():
            seconds = []
            for _ in range(args.repeats + 1):  # the first run warms the engine's caches and is not counted
                started = time.perf_counter()
                effect = action_effect(engine, definition, action)
                seconds.append(time.perf_counter() - started)
            measured = int(effect.groups["customers"].sum())
            print(f"{name:<16} | {statistics.median(seconds[1:]):8.3f} | {measured:,}", flush=True)
    print(f"peak_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
