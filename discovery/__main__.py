"""Command line for discovery: `python -m discovery summary|map|model LOG`.

LOG is a stored dataset id (see `python -m data list`) or a file, read with the same import path and the
same mapping options as `python -m data import`. A bad log exits with status 2 and says what to fix, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data import Engine, LogError, Settings
from data.cli import mapping_options, open_log
from discovery import (
    ChurnDefinition,
    churn_points,
    discover_model,
    journey_map,
    map_to_dot,
    stage_kpis,
    suggest_stages,
    to_bpmn_xml,
    to_pnml,
)

TOP_VARIANTS = 10


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open_log(args.log, args, Settings.from_env()) as opened:
            return args.run(args, opened.engine)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def summary(engine: Engine) -> dict:
    """Return the log's headline figures, map, variants, stages and churn points as JSON-safe values."""
    totals = engine.summary()
    model = suggest_stages(engine)
    dfg = engine.dfg()
    stages = stage_kpis(engine, model).table
    churn = churn_points(engine, model, ChurnDefinition()).activities
    return {
        "cases": totals.cases,
        "events": totals.events,
        "activities": totals.activities,
        "variants": totals.variants,
        "start_time": None if totals.start_time is None else totals.start_time.isoformat(),
        "end_time": None if totals.end_time is None else totals.end_time.isoformat(),
        "dfg": [
            {
                "source": row.source,
                "target": row.target,
                "count": int(row.events),
                "cases": int(row.cases),
                "median_seconds": float(row.median_seconds),
            }
            for row in dfg.itertuples()
        ],
        "start_activities": _counts(engine.start_activities()),
        "end_activities": _counts(engine.end_activities()),
        "top_variants": [
            {"activities": list(row.activities), "count": int(row.cases)}
            for row in engine.variants(limit=TOP_VARIANTS).itertuples()
        ],
        "stages": [
            {
                "stage": row.stage,
                "customers": int(row.customers),
                "conversion": _number(row.conversion_from_previous),
                "median_seconds_to_reach": _number(row.median_seconds_to_reach),
            }
            for row in stages.itertuples()
        ],
        "churn_points": [
            {
                "activity": row.activity,
                "customers": int(row.customers),
                "churned": int(row.churned),
                "churn_rate": _number(row.churn_rate),
                "lift": _number(row.lift),
            }
            for row in churn.itertuples()
        ],
    }


def _summary(args: argparse.Namespace, engine: Engine) -> int:
    document = summary(engine)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{document['cases']:,} customers, {document['events']:,} events, {document['activities']} activities")
    print(f"{document['variants']:,} variants; the most frequent:")
    for variant in document["top_variants"][:5]:
        print(f"  {variant['count']:>7,}  {' → '.join(variant['activities'])}")
    print("stages:", ", ".join(f"{s['stage']} {s['customers']:,}" for s in document["stages"]))
    return 0


def _map(args: argparse.Namespace, engine: Engine) -> int:
    model = suggest_stages(engine)
    churn = churn_points(engine, model, ChurnDefinition()).by_activity
    result = journey_map(
        engine,
        activity_coverage=args.activity_coverage,
        path_coverage=args.path_coverage,
        stage_of=model.stage_of,
        stages=model.stages,
        churn=churn,
    )
    if args.dot:
        print(map_to_dot(result, metric=args.metric))
    else:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
    return 0


def _model(args: argparse.Namespace, engine: Engine) -> int:
    model = discover_model(engine, algorithm=args.algorithm, noise_threshold=args.noise)
    if args.bpmn:
        args.bpmn.write_text(to_bpmn_xml(model), encoding="utf-8")
    if args.pnml:
        args.pnml.write_text(to_pnml(model), encoding="utf-8")
    if not (args.bpmn or args.pnml):
        print(model.tree if model.tree is not None else to_bpmn_xml(model))
    return 0


def _counts(table) -> dict[str, int]:
    return {row.activity: int(row.cases) for row in table.itertuples()}


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m discovery", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    specs = (
        ("summary", _summary, "headline figures, DFG, variants, stages and churn points"),
        ("map", _map, "the journey map, as JSON or Graphviz DOT"),
        ("model", _model, "a process model (inductive or heuristics miner), exported as BPMN or PNML"),
    )
    for name, run, help_text in specs:
        command = commands.add_parser(name, help=help_text, parents=[mapping_options()])
        command.set_defaults(run=run)
        command.add_argument("log", help="stored dataset id or a log file")
        if name == "summary":
            command.add_argument("--json", action="store_true", help="print the JSON document")
        if name == "map":
            command.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of JSON")
            command.add_argument("--metric", default="cases", choices=("cases", "events", "median", "mean", "p90"))
            command.add_argument("--activity-coverage", type=float, default=1.0, help="share of activities kept")
            command.add_argument("--path-coverage", type=float, default=1.0, help="share of paths kept")
        if name == "model":
            command.add_argument("--algorithm", default="inductive", choices=("inductive", "heuristics"))
            command.add_argument("--noise", type=float, default=0.0, help="inductive miner noise threshold")
            command.add_argument("--bpmn", type=Path, help="write BPMN 2.0 XML here")
            command.add_argument("--pnml", type=Path, help="write the Petri net as PNML here")
    return parser


if __name__ == "__main__":
    sys.exit(main())
