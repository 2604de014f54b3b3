"""Command line for segmentation: `python -m segmentation personas|compare LOG …`.

LOG is a log file (read like `python -m data quality` reads it) or the id of a stored dataset. A segment is
`persona:N` (the personas found with the same --k and --seed), `segment:NAME` (a segment saved on the Compare
page of a stored dataset), `channel=NAME`, `activity=NAME` (customers who did it) or `COLUMN=VALUE` for an
attribute. `compare` judges conversion, churn and stages by the journey definition in force: `--definition FILE`
when given, else the stored dataset's saved one, else the one suggested from the log. Bad input exits with
status 2 and a message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import DatasetNotFound, LogError, Problem
from data.filters import Filters
from data.importing import load_log
from data.settings import Settings
from data.store import Store
from discovery import JourneyDefinition, definition_of, read_definition, suggest_definition
from segmentation._compare import SegmentComparison, compare_segments, percent_text, readable_kpis
from segmentation._features import CustomerFeatures, customer_features
from segmentation._personas import Personas
from segmentation._profiles import PersonaProfiles, persona_profiles
from segmentation._segments import saved_segment

SEGMENT_SYNTAX = "persona:N, segment:NAME, channel=NAME, activity=NAME or COLUMN=VALUE"
SHOWN_EDGES = 10


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        with _open_engine(args.log, settings) as engine:
            return args.run(args, engine)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _open_engine(log: str, settings: Settings) -> Engine:
    """A file is loaded into an in-memory engine; anything else is looked up as a stored dataset id."""
    if Path(log).is_file():
        return Engine.from_frame(load_log(log, settings=settings).frame, settings)
    try:
        return Store(settings).engine(log)
    except DatasetNotFound:
        raise DatasetNotFound(
            Problem(
                "There is no such file, nor a stored dataset with this id.",
                fix="Give a log file, or a dataset id from `python -m data list`.",
                value=log,
            )
        ) from None


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

    dataset_id = None if Path(args.log).is_file() else args.log
    problems: list[Problem] = []
    a, b = (_segment(text, personas, dataset_id, problems) for text in (args.a, args.b))
    if problems:
        raise LogError(problems)
    both_personas = all(_is_persona(text) for text in (args.a, args.b))
    comparison = compare_segments(
        engine, a, b, definition=_definition(args, engine, dataset_id), defined_by_behaviour=both_personas
    )
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, default=str))
    else:
        _print_comparison(comparison)
    return 0


def _definition(args: argparse.Namespace, engine: Engine, dataset_id: str | None) -> JourneyDefinition:
    """The journey definition in force: the --definition file, else the dataset's saved one, else a suggestion."""
    if args.definition is not None:
        return read_definition(args.definition)
    if dataset_id is not None:
        return definition_of(Store(Settings.from_env()), dataset_id, engine)[0]
    return suggest_definition(engine)


def _fit_personas(engine: Engine, args: argparse.Namespace) -> tuple[CustomerFeatures, Personas]:
    if args.k is not None and args.k < 2:
        raise LogError(Problem("At least 2 personas are needed.", fix="Give --k 2 or more.", value=str(args.k)))
    features = customer_features(engine)
    model = Personas(k="auto" if args.k is None else args.k, random_state=args.seed)
    try:
        return features, model.fit(features.matrix)
    except ValueError as error:
        raise LogError(Problem(str(error), fix="Ask for fewer personas.")) from None


def _is_persona(text: str) -> bool:
    return text.partition(":")[0].strip() == "persona"


def _segment(text: str, personas, dataset_id: str | None, problems: list[Problem]) -> Filters | None:
    """Filters for one SEGMENT argument; a problem is recorded (and None returned) when it cannot be read."""
    name, colon, number = text.partition(":")
    if colon and name.strip() == "segment":
        return _saved(number.strip(), dataset_id, problems)
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


def _saved(name: str, dataset_id: str | None, problems: list[Problem]) -> Filters | None:
    """The filters of a segment saved for the stored dataset; a problem when there is none or it cannot be read."""
    if dataset_id is None:
        problems.append(
            Problem("Saved segments belong to a stored dataset.", fix="Give the dataset's id instead of a file.")
        )
        return None
    try:
        return saved_segment(Store(Settings.from_env()), dataset_id, name).filters()
    except LogError as error:
        problems.extend(error.problems)
        return None


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
    print(comparison.rules)
    for caveat in comparison.caveats:
        print(f"note: {caveat}")
    columns = ["KPI", "A", "B", "Effect (A − B)", "95 % interval", "Test", "q-value", "Significant"]
    print(readable_kpis(comparison)[columns].to_string(index=False))
    families = comparison.families
    print(
        "\neach table corrected on its own (Benjamini–Hochberg): "
        + ", ".join(f"{row.family} {row.tests:,} tests" for row in families.itertuples())
    )
    print(f"\nmost different map edges (of {len(comparison.edges):,}):")
    edges = comparison.edges.head(SHOWN_EDGES)
    shown = edges[["source", "target", "q_value", "presence", "change"]].assign(
        share_a=edges["share_a"].map(percent_text), share_b=edges["share_b"].map(percent_text)
    )
    print(shown[["source", "target", "share_a", "share_b", "q_value", "presence", "change"]].to_string(index=False))


def _by_k(scores: dict) -> dict:
    return {int(k): None if np.isnan(value) else round(float(value), 4) for k, value in scores.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m segmentation", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    personas = commands.add_parser("personas", help="find personas and print their profiles")
    personas.set_defaults(run=_personas)
    compare = commands.add_parser("compare", help="compare two segments: KPIs, stages, channels, map edges, variants")
    compare.set_defaults(run=_compare)
    compare.add_argument("--a", required=True, help=f"first segment: {SEGMENT_SYNTAX}")
    compare.add_argument("--b", required=True, help=f"second segment: {SEGMENT_SYNTAX}")
    compare.add_argument(
        "--definition", type=Path, help="journey definition file (JSON) to use instead of the saved or suggested one"
    )
    personas.add_argument("--out", help="write case_id, persona, persona_name to this CSV file")
    for command in (personas, compare):
        command.add_argument("log", help="a log file, or the id of a stored dataset")
        command.add_argument("--k", type=int, help="number of personas (default: chosen automatically)")
        command.add_argument("--seed", type=int, default=0, help="random seed of the clustering (default 0)")
        command.add_argument("--json", action="store_true", help="print JSON")
    return parser


if __name__ == "__main__":
    sys.exit(main())
