"""The shared real logs with their reference statistics (`shared/datasets/*/expected/*.json`).

Each oracle pairs one expected JSON with the data file it describes. `load_oracle_frame` turns that
file into a canonical frame through Parcours' own readers, mapping and validation, so the counts
check the whole import path, not just the engine.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data.canonical import to_event_log
from data.readers import read_log
from data.schema import ColumnMapping, RawLog

__all__ = ["DATASETS", "ORACLES", "QUICK_LOG_EVENTS", "SMALL_LOG_EVENTS", "Oracle", "load_oracle_frame"]

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
if not any(DATASETS.glob("*/expected/*.json")):
    # Without them every oracle test would quietly vanish from the run.
    raise RuntimeError(f"The shared real logs are missing: clone Parcours beside shared/ so that {DATASETS} exists.")

SMALL_LOG_EVENTS = 20_000
"""Logs below this size are also checked against pm4py run on the same frame."""
QUICK_LOG_EVENTS = 10_000
"""Logs above this size are read and laid out in the slow run (.ci/run), the smaller ones (twelve, every format)
by the README's test command; sepsis, helpdesk and the others between 10,000 and 20,000 events only repeat what
they check, in the quick run's five minutes."""

LIFECYCLE = "lifecycle:transition"
COMPLETE_ONLY_NOTE = "only lifecycle:transition == complete"


@dataclass(frozen=True)
class Oracle:
    """One expected-statistics file and the log file it was computed from."""

    name: str
    data_file: Path
    expected: dict = field(compare=False, repr=False)

    @property
    def events(self) -> int:
        return self.expected["n_events"]


def _oracle(expected_path: Path) -> Oracle:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    folder = expected_path.parent.parent
    return Oracle(f"{folder.name}/{expected_path.stem}", folder / expected["file"], expected)


# Smallest first: quick failures come early, and the oracles of one file sit close together.
ORACLES: list[Oracle] = sorted(
    (_oracle(path) for path in DATASETS.glob("*/expected/*.json")), key=lambda oracle: (oracle.events, oracle.name)
)


@functools.lru_cache(maxsize=2)
def _raw(path: Path) -> RawLog:
    """Read a shared log once however many oracles describe it (XES parsing dominates the test time)."""
    return read_log(path)


def load_oracle_frame(oracle: Oracle) -> pd.DataFrame:
    """Return the canonical frame of a log, read and validated by Parcours' own import pipeline.

    The mapping is the JSON's `columns_used`, given explicitly as a user would confirm it; `act_lc`
    is the activity + lifecycle classifier (the two columns joined with '-', lifecycle omitted where
    missing), and "complete only" oracles keep lifecycle `complete`. Naive timestamps are read as UTC.
    """
    columns = oracle.expected["columns_used"]
    activity = ("concept:name", LIFECYCLE) if columns["activity"] == "act_lc" else (columns["activity"],)
    mapping = ColumnMapping(case_id=columns["case"], activity=activity, timestamp=columns["timestamp"])
    frame = to_event_log(_raw(oracle.data_file), mapping).frame
    if COMPLETE_ONLY_NOTE in oracle.expected.get("note", ""):
        frame = frame[frame[LIFECYCLE] == "complete"].reset_index(drop=True)
    return frame
