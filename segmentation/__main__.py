"""Command line for segmentation: `python -m segmentation personas|compare LOG …`.

LOG is a log file (read like `python -m data quality` reads it, with the same mapping options) or the id of a
stored dataset. A segment is `persona:N` (the personas found with the same --k and --seed), `channel=NAME`,
`activity=NAME` (customers who did it) or `COLUMN=VALUE` for an attribute. Bad input exits with status 2 and a
message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd

from data.cli import mapping_options, open_log
from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from data.settings import Settings
from segmentation._compare import SegmentComparison, compare_segments
from segmentation._features import CustomerFeatures, customer_features
from segmentation._personas import Personas
from segmentation._profiles import PersonaProfiles, persona_profiles

SEGMENT_SYNTAX = "persona:N, channel=NAME, activity=NAME or COLUMN=VALUE"
SHOWN_EDGES = 10


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with open_log(args.log, args, Settings.from_env()) as opened:
            return args.run(args, opened.engine)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _personas(args: argparse.Namespace, engine: Engine) -> int:
    features, model = _fit_personas(engine, args)
    profiles = persona_profiles(engine, features.case_ids, model.labels_)
    if args.out:
        pd.DataFrame(
            {
                "case_id": features.case_ids,
                "persona": model.labels_,
                "persona_name": pd.Series(model.labels_).map(profiles.names).to_numpy(),
            }
        ).to_csv(args.out, index=False)
    if args.json:
        summary = {
            "k": model.n_clusters_,
            "silhouette_by_k": _by_k(model.silhouette_by_k_),
            "stability_by_k": _by_k(model.stability_by_k_),
        }
        print(json.dumps({**summary, **profiles.to_dict()}, indent=2, default=str))
    else:
        _print_personas(model, profiles)
    return 0


def _compare(args: argparse.Namespace, engine: Engine) -> int:
    fitted: list[tuple[CustomerFeatures, Personas]] = []

    def personas() -> tuple[CustomerFeatures, Personas]:
        if not fitted:
            fitted.append(_fit_personas(engine, args))
        return fitted[0]

    problems: list[Problem] = []
    a, b = (_segment(text, personas, problems) for text in (args.a, args.b))
    if problems:
        raise LogError(problems)
    comparison = compare_segments(engine, a, b)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, default=str))
    else:
        _print_comparison(comparison)
    return 0


def _fit_personas(engine: Engine, args: argparse.Namespace) -> tuple[CustomerFeatures, Personas]:
    if args.k is not None and args.k < 2:
        raise LogError(Problem("At least 2 personas are needed.", fix="Give --k 2 or more.", value=str(args.k)))
    features = customer_features(engine)
    model = Personas(k="auto" if args.k is None else args.k, random_state=args.seed)
    try:
        return features, model.fit(features.matrix)
    except ValueError as error:
        raise LogError(Problem(str(error), fix="Ask for fewer personas.")) from None


def _segment(text: str, personas, problems: list[Problem]) -> Filters | None:
    """Filters for one SEGMENT argument; a problem is recorded (and None returned) when it cannot be read."""
    name, colon, number = text.partition(":")
    if colon and name.strip() == "persona":
        if not number.strip().isdigit():
            problems.append(Problem("A persona is given by its number.", fix="Write e.g. persona:0.", value=text))
            return None
        features, model = personas()
        persona = int(number)
        if persona >= model.n_clusters_:
            problems.append(
                Problem(
                    f"There are {model.n_clusters_} personas, numbered from 0.",
                    fix=f"Use persona:0 to persona:{model.n_clusters_ - 1}.",
                    value=text,
                )
            )
            return None
        return Filters(case_ids=frozenset(features.case_ids[model.labels_ == persona]))
    column, equals, value = text.partition("=")
    if not equals or not column.strip():
        problems.append(Problem("This is not a segment.", fix=f"Write {SEGMENT_SYNTAX}.", value=text))
        return None
    column, value = column.strip(), value.strip()
    if column == "channel":
        return Filters(channels={value})
    if column == "activity":
        return Filters(with_activities={value})
    return Filters(attributes={column: {value}})


def _print_personas(model: Personas, profiles: PersonaProfiles) -> None:
    print(
        f"{model.n_clusters_} personas (silhouette and stability by k: {_by_k(model.silhouette_by_k_)}, "
        f"{_by_k(model.stability_by_k_)})"
    )
    for persona, row in profiles.table.iterrows():
        print(
            f"{persona:>3}  {row['customers']:>8,} customers ({row['share']:.0%})  {row['name']}"
            f"  [{', '.join(row['dominant_channels'])}]"
        )


def _print_comparison(comparison: SegmentComparison) -> None:
    print(f"A: {comparison.a} ({comparison.customers_a:,})")
    print(f"B: {comparison.b} ({comparison.customers_b:,})")
    columns = ["kpi", "a", "b", "difference", "q_value", "significant"]
    print(comparison.kpis[columns].to_string(index=False))
    print(f"\nmost different map edges (of {len(comparison.edges):,}):")
    edges = comparison.edges.head(SHOWN_EDGES)
    print(edges[["source", "target", "share_a", "share_b", "q_value", "presence", "change"]].to_string(index=False))


def _by_k(scores: dict) -> dict:
    return {int(k): None if np.isnan(value) else round(float(value), 4) for k, value in scores.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m segmentation", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    personas = commands.add_parser(
        "personas", help="find personas and print their profiles", parents=[mapping_options()]
    )
    personas.set_defaults(run=_personas)
    compare = commands.add_parser(
        "compare", help="compare two segments: KPIs, map edges and variants", parents=[mapping_options()]
    )
    compare.set_defaults(run=_compare)
    compare.add_argument("--a", required=True, help=f"first segment: {SEGMENT_SYNTAX}")
    compare.add_argument("--b", required=True, help=f"second segment: {SEGMENT_SYNTAX}")
    personas.add_argument("--out", help="write case_id, persona, persona_name to this CSV file")
    for command in (personas, compare):
        command.add_argument("log", help="a log file, or the id of a stored dataset")
        command.add_argument("--k", type=int, help="number of personas (default: chosen automatically)")
        command.add_argument("--seed", type=int, default=0, help="random seed of the clustering (default 0)")
        command.add_argument("--json", action="store_true", help="print JSON")
    return parser


if __name__ == "__main__":
    sys.exit(main())
