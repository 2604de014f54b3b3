"""Persona runs: a log's personas found in one call (with progress), saved under a name, and found again.

A run is deterministic — the features of the selected customers under a journey definition, then `Personas` with
its k, seed and algorithm — so a saved run is stored as its parameters, its selection (the filter parameters of
`data.params`, and a `persona` condition when it was found among another run's persona), the journey definition
its personas were found with, and their names: never as one label per customer. Saved runs are `Store`
annotations of kind PERSONAS_KIND, so the dashboard and `python -m segmentation personas` list, open and filter by
the same runs. The conversion and churn of a saved run's personas follow the definition in force, like every
other figure; only their membership keeps the definition they were found with.

>>> found = find_personas(engine, definition=definition, progress=print)  # doctest: +SKIP
>>> save_run(store, dataset_id, "Spring 2025", PersonaRun(None, 0, "kmeans", names={0: "App-first"}))  # doctest: +SKIP
>>> persona_members(store, dataset_id, "Spring 2025", 0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from data.params import filters_from_params, is_filter_param
from data.store import Store
from discovery import PERSONA_PARAM, JourneyDefinition, closest_names
from segmentation._features import customer_features
from segmentation._personas import ALGORITHMS, Personas, Progress, _silent
from segmentation._projection import Projection, project_2d

__all__ = [
    "PERSONAS_KIND",
    "PERSONA_PARAM",
    "FoundPersonas",
    "PersonaRun",
    "checked_names",
    "find_personas",
    "persona_from_param",
    "persona_members",
    "persona_options",
    "persona_to_param",
    "run_filters",
    "save_run",
    "saved_run",
    "saved_runs",
]

PERSONAS_KIND = "personas"
# A persona is named by its saved run and label (`persona=<run>:<label>`, the parameter PERSONA_PARAM), not by its
# customers: they are found again from the run, so a link or a saved segment stays short whatever the persona's size.
EVERY_CUSTOMER = Filters()
# How much of a run's progress each step takes: the features, the clustering, the 2-D picture.
_FEATURES_DONE, _CLUSTERED = 0.25, 0.95

Finder = Callable[[Filters, "PersonaRun"], "FoundPersonas"]


@dataclass(frozen=True, eq=False)
class FoundPersonas:
    """The personas of one run: each selected customer's label, the evidence for k, and the 2-D picture.

    `silhouette_by_k` and `stability_by_k`: every k scored (see `Personas`); `projection`: a sample of customers
    placed in 2-D with their persona.
    """

    case_ids: pd.Index
    labels: np.ndarray
    n_clusters: int
    silhouette_by_k: Mapping[int, float]
    stability_by_k: Mapping[int, float]
    projection: Projection

    def members(self, label: int) -> frozenset[str]:
        """Return the customers of persona `label`."""
        # A list first: a set built from an Arrow-backed index element by element takes five times longer.
        return frozenset(self.case_ids[self.labels == label].tolist())

    @property
    def evidence(self) -> pd.DataFrame:
        """k, silhouette, stability and chosen (bool) for every k scored, in order of k."""
        scored = sorted(self.silhouette_by_k)
        return pd.DataFrame(
            {
                "k": scored,
                "silhouette": [self.silhouette_by_k[k] for k in scored],
                "stability": [self.stability_by_k[k] for k in scored],
                "chosen": [k == self.n_clusters for k in scored],
            }
        )


@dataclass(frozen=True)
class PersonaRun:
    """How a run's personas are found and what they are called.

    `k` (None: chosen automatically), `seed`, `algorithm` (one of `ALGORITHMS`); `selection`: the filter parameters
    (`data.params`) and persona condition the run was found on; `names`: label → the persona's name; `definition`:
    the journey definition its personas were found with (None: none, as runs saved before definitions existed).
    """

    k: int | None = None
    seed: int = 0
    algorithm: str = "kmeans"
    selection: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[int, str] = field(default_factory=dict)
    definition: JourneyDefinition | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.k is not None and (isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2):
            problems.append(
                Problem("At least 2 personas are needed.", fix="Give k 2 or more, or none.", value=str(self.k))
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            problems.append(Problem("The seed is a whole number from 0.", value=str(self.seed)))
        if self.algorithm not in ALGORITHMS:
            problems.append(
                Problem("Unknown algorithm.", fix=f"Use one of {', '.join(ALGORITHMS)}.", value=str(self.algorithm))
            )
        if self.algorithm == "hdbscan" and self.k is not None:
            problems.append(Problem("HDBSCAN finds the number of personas itself.", fix="Leave k automatic."))
        if problems:
            raise LogError(problems)
        kept = {str(name): str(value) for name, value in self.selection.items() if _selects_customers(str(name))}
        object.__setattr__(self, "selection", kept)
        object.__setattr__(self, "names", {int(label): str(name) for label, name in self.names.items()})

    def to_payload(self) -> dict:
        """The annotation saving the run: its parameters, selection, definition and names (labels as text)."""
        return {
            "k": self.k,
            "seed": self.seed,
            "algorithm": self.algorithm,
            "names": {str(label): name for label, name in self.names.items()},
            "selection": dict(self.selection),
            "definition": None if self.definition is None else self.definition.to_dict(),
        }

    @classmethod
    def from_payload(cls, payload: Mapping, *, source: str = "") -> PersonaRun:
        """Read a saved run's annotation (a run saved before definitions has none)."""
        definition = payload.get("definition")
        return cls(
            k=payload["k"],
            seed=payload["seed"],
            algorithm=payload["algorithm"],
            selection=payload.get("selection") or {},
            names=payload.get("names") or {},
            definition=None if definition is None else JourneyDefinition.from_dict(definition, source=source),
        )


def find_personas(
    engine: Engine,
    filters: Filters = EVERY_CUSTOMER,
    *,
    definition: JourneyDefinition | None = None,
    k: int | None = None,
    seed: int = 0,
    algorithm: str = "kmeans",
    progress: Progress | None = None,
) -> FoundPersonas:
    """Find the personas of the customers `filters` selects: their features (`customer_features` under
    `definition`), `Personas(k, algorithm, seed)` and a 2-D picture.

    `progress(fraction, message)`, when given, hears how far the work is (0 to 1) after each step, for a progress
    bar. Raises LogError when the selection cannot hold that many personas.
    """
    report = progress or _silent
    report(0.0, "Reading each customer's touchpoints, paths and channels")
    features = customer_features(engine, filters, definition=definition)
    report(_FEATURES_DONE, f"Features of {features.matrix.shape[0]:,} customers ready")

    def clustering(fraction: float, message: str) -> None:
        report(_FEATURES_DONE + (_CLUSTERED - _FEATURES_DONE) * fraction, message)

    model = Personas(k="auto" if k is None else k, algorithm=algorithm, random_state=seed)
    try:
        model.fit(features.matrix, progress=clustering)
    except ValueError as error:
        raise LogError(Problem(str(error), fix="Ask for fewer personas, or widen the filters.")) from None
    projection = project_2d(features, model.labels_, random_state=seed)
    report(1.0, f"{model.n_clusters_} personas among {len(features.case_ids):,} customers")
    return FoundPersonas(
        case_ids=features.case_ids,
        labels=model.labels_,
        n_clusters=model.n_clusters_,
        silhouette_by_k={int(key): float(value) for key, value in model.silhouette_by_k_.items()},
        stability_by_k={int(key): float(value) for key, value in model.stability_by_k_.items()},
        projection=projection,
    )


def save_run(store: Store, dataset_id: str, name: str, run: PersonaRun) -> None:
    """Save `run` as the dataset's persona run `name` (saving a name again replaces it).

    Raises LogError, before anything is saved, for a blank run name, blank or repeated persona names, or a
    selection that cannot be read.
    """
    if not isinstance(run, PersonaRun):
        raise TypeError(f"run must be a PersonaRun, not {type(run).__name__}")
    name = str(name).strip()
    problems = [] if name else [Problem("A saved run needs a name.", fix="Type a name, e.g. Spring 2025 personas.")]
    try:
        checked_names(run.names)
    except LogError as error:
        problems += error.problems
    if problems:
        raise LogError(problems)
    filters_from_params(run.selection)
    if PERSONA_PARAM in run.selection:
        persona_from_param(run.selection[PERSONA_PARAM])
    store.save_annotation(dataset_id, PERSONAS_KIND, name, run.to_payload())


def saved_runs(store: Store, dataset_id: str) -> dict[str, PersonaRun]:
    """Return every saved persona run of the dataset, by name (in name order)."""
    return {
        name: PersonaRun.from_payload(payload, source=f"persona run {name!r}")
        for name, payload in store.annotations(dataset_id, PERSONAS_KIND).items()
    }


def saved_run(store: Store, dataset_id: str, name: str) -> PersonaRun:
    """Return the dataset's saved persona run `name`, or raise LogError with the closest names."""
    payload = store.annotation(dataset_id, PERSONAS_KIND, name)
    if payload is None:
        known = list(store.annotations(dataset_id, PERSONAS_KIND))
        fix = closest_names(name, known) if known else "Find personas and save the run first."
        raise LogError(Problem("This persona run is no longer saved.", fix=fix, value=name))
    return PersonaRun.from_payload(payload, source=f"persona run {name!r}")


def run_filters(
    store: Store, dataset_id: str, selection: Mapping[str, str], *, find: Finder | None = None, _seen: tuple = ()
) -> Filters:
    """Return the Filters a selection names, its persona condition turned into that persona's customers.

    `find(filters, run)` finds a run's personas (the dashboard passes its cached finder; by default they are found
    again from the dataset's engine).
    """
    filters = filters_from_params(selection)
    if PERSONA_PARAM not in selection:
        return filters
    run, label = persona_from_param(selection[PERSONA_PARAM])
    members = persona_members(store, dataset_id, run, label, find=find, _seen=_seen)
    return replace(filters, case_ids=members if filters.case_ids is None else members & filters.case_ids)


def persona_members(
    store: Store, dataset_id: str, run: str, label: int, *, find: Finder | None = None, _seen: tuple = ()
) -> frozenset[str]:
    """Return the customers of persona `label` of the saved run `run`, found again from the run's parameters."""
    if run in _seen:
        raise LogError(
            Problem(
                "These saved persona runs were each found among the other's personas.",
                fix="Clear the Persona filter, then find and save the run again.",
                value=run,
            )
        )
    saved = saved_run(store, dataset_id, run)
    filters = run_filters(store, dataset_id, saved.selection, find=find, _seen=(*_seen, run))
    found = (find or _finder(store, dataset_id))(filters, saved)
    if label not in set(found.labels.tolist()):
        raise LogError(
            Problem(
                f"The run {run!r} has no persona {label}.",
                fix=f"Choose one of its personas 0 to {found.n_clusters - 1}.",
                value=str(label),
            )
        )
    return found.members(label)


def persona_options(runs: Mapping[str, PersonaRun]) -> dict[str, str]:
    """Return `persona` parameter → "Run · Persona name" for every named persona of every saved run."""
    return {
        persona_to_param(name, label): f"{name} · {persona}"
        for name, run in runs.items()
        for label, persona in sorted(run.names.items())
    }


def persona_to_param(run: str, label: int) -> str:
    """Return the `persona` parameter naming persona `label` of the saved run `run`."""
    return f"{run}:{int(label)}"


def persona_from_param(text: str) -> tuple[str, int]:
    """Return (run, label) of a `persona` parameter; the run's name may itself hold colons."""
    run, colon, label = str(text).rpartition(":")
    try:
        number = int(label)
    except ValueError:
        number = None
    if not (colon and run.strip()) or number is None:
        raise LogError(
            Problem(
                "The persona in this link is not a saved run and a persona number, such as Spring:2.",
                fix="Choose the persona again in the sidebar.",
                value=str(text),
            )
        )
    return run, number


def checked_names(names: Mapping[int, str]) -> dict[int, str]:
    """Return the persona names trimmed, or raise LogError naming every blank or repeated one."""
    trimmed = {label: str(name).strip() for label, name in names.items()}
    problems = [
        Problem("A persona needs a name.", fix="Type a name.", value=str(label))
        for label, name in trimmed.items()
        if not name
    ]
    repeated = pd.Series(list(trimmed.values()), dtype=object)
    problems += [
        Problem("Two personas have this name.", fix="Give each persona its own name.", value=name)
        for name in repeated[repeated.duplicated() & repeated.ne("")].unique()
    ]
    if problems:
        raise LogError(problems)
    return trimmed


def _finder(store: Store, dataset_id: str) -> Finder:
    """Find a run's personas on the dataset's engine, without a cache."""

    def find(filters: Filters, run: PersonaRun) -> FoundPersonas:
        with store.engine(dataset_id) as engine:
            return find_personas(
                engine, filters, definition=run.definition, k=run.k, seed=run.seed, algorithm=run.algorithm
            )

    return find


def _selects_customers(name: str) -> bool:
    return is_filter_param(name) or name == PERSONA_PARAM
