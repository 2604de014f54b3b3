"""The feature builder after its rewrite for speed (issue 19) gives exactly the matrix it gave before.

The blocks rewritten then (channels, numeric and categorical attributes, and the balancing) are kept here as they
were, and put back in place of the new ones to build the previous matrix: names, rows, documentation and the
matrix's three arrays must be the same to the last bit, on the bundled demo and on a shared real log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import segmentation._features as features_module
from data.engine import Engine
from data.filters import Filters
from data.settings import Settings
from data.store import Store
from discovery import suggest_definition
from segmentation import CustomerFeatures, customer_features
from tests.oracle import ORACLES, load_oracle_frame

REAL_LOG = "sepsis/sepsis_csv"  # numeric and text attributes, no channel


def previous_channel_block(selection):
    steps = selection.query("SELECT case_code, channel FROM steps WHERE channel IS NOT NULL")
    channel = steps["channel"].array
    present = np.flatnonzero(np.bincount(channel.codes, minlength=len(channel.categories)))
    order = sorted(present, key=lambda code: channel.categories[code])
    column_of = np.zeros(len(channel.categories), dtype=np.int64)
    column_of[order] = np.arange(len(order))
    rows, cols, events = previous_counted(
        selection.rows(steps["case_code"]), column_of[channel.codes], selection, len(order)
    )
    shares = events.astype(np.float64) / selection.events[rows].astype(np.float64)
    matrix = sp.csr_matrix((np.sqrt(shares), (rows, cols)), shape=(selection.customers, len(order)))
    names = tuple(f"channel:{channel.categories[code]}" for code in order)
    return features_module._Block("channels", "√share", names, matrix)


def previous_counted(rows, codes, selection, kinds):
    if selection.customers * kinds <= features_module._DENSE_COUNT_CELLS:
        counts = np.bincount(rows * kinds + codes, minlength=selection.customers * kinds)
        cells = np.flatnonzero(counts)
        return cells // kinds, cells % kinds, counts[cells]
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, codes)), shape=(selection.customers, kinds))
    return np.repeat(np.arange(selection.customers), np.diff(matrix.indptr)), matrix.indices, matrix.data


def previous_numeric_block(selection, names):
    means = selection.query(
        "SELECT case_code, "
        + ", ".join(
            f"avg({selection.engine.attribute_column(name)}::DECIMAL(38, 10))::DOUBLE AS a{index}"
            for index, name in enumerate(names)
        )
        + " FROM steps GROUP BY case_code"
    )
    values = np.empty((selection.customers, len(names)), order="F")
    values[selection.rows(means["case_code"])] = means.drop(columns="case_code").to_numpy(np.float64, na_value=np.nan)
    columns = tuple(f"attribute:{name}" for name in names)
    standardised = features_module._standardised(values)
    return features_module._Block("numeric attributes", "mean, standardised", columns, sp.csr_matrix(standardised))


def previous_categorical_block(selection, names):
    stored = [selection.engine.attribute_column(name) for name in names]
    listed = selection.query(
        "SELECT "
        + ", ".join(
            f"coalesce(list(DISTINCT {column}::VARCHAR) FILTER ({column} IS NOT NULL), []) AS v{index}"
            for index, column in enumerate(stored)
        )
        + " FROM steps"
    ).iloc[0]
    values = [sorted(listed[f"v{index}"]) for index in range(len(names))]
    ranked = selection.query(
        """
        WITH value_ranks AS (
            SELECT unnest(?::INTEGER[]) AS attribute, unnest(?::VARCHAR[]) AS value, unnest(?::INTEGER[]) AS rank
        )
        SELECT s.case_code"""
        + "".join(f", coalesce(r{index}.rank, 0) AS v{index}" for index in range(len(names)))
        + " FROM steps s"
        + "".join(
            f" LEFT JOIN (SELECT value, rank FROM value_ranks WHERE attribute = {index}) r{index}"
            f" ON s.{column}::VARCHAR = r{index}.value"
            for index, column in enumerate(stored)
        ),
        [
            [index for index, ordered in enumerate(values) for _ in ordered],
            [value for ordered in values for value in ordered],
            [rank for ordered in values for rank in range(1, len(ordered) + 1)],
        ],
    )
    rows = selection.rows(ranked["case_code"])
    columns, modal_rows, modal_columns = [], [], []
    for index, name in enumerate(names):
        kinds = len(values[index])
        customer, rank, events = previous_counted(rows, ranked[f"v{index}"].to_numpy(), selection, kinds + 1)
        valued = rank > 0
        customer, rank, events = customer[valued], rank[valued] - 1, events[valued]
        best = np.zeros(selection.customers, dtype=np.int64)
        np.maximum.at(best, customer, events * kinds + (kinds - 1 - rank))
        with_value = np.flatnonzero(best)
        modal = kinds - 1 - best[with_value] % max(kinds, 1)
        have = np.bincount(modal, minlength=kinds)
        top = np.sort(
            np.lexsort((np.arange(kinds), -have))[: min(features_module.TOP_CATEGORIES, np.count_nonzero(have))]
        )
        column_of = np.full(kinds, -1, dtype=np.int64)
        column_of[top] = np.arange(len(columns), len(columns) + len(top))
        kept = column_of[modal] >= 0
        modal_rows.append(with_value[kept])
        modal_columns.append(column_of[modal[kept]])
        columns += [f"attribute:{name}={values[index][rank]}" for rank in top]
    matrix = sp.csr_matrix(
        (np.ones(sum(map(len, modal_rows))), (np.concatenate(modal_rows), np.concatenate(modal_columns))),
        shape=(selection.customers, len(columns)),
    )
    return features_module._Block("categorical attributes", "most frequent value (0/1)", tuple(columns), matrix)


def previous_balanced(block):
    values = block.values
    customers, width = values.shape
    share = 1.0 / customers
    mean = np.bincount(values.indices, weights=values.data * share, minlength=width)
    mean_square = np.bincount(values.indices, weights=values.data * values.data * share, minlength=width)
    total_variance = float(np.sum(np.maximum(mean_square - mean * mean, 0.0)))
    if total_variance == 0.0:
        return values
    return values * np.sqrt(features_module.BLOCK_WEIGHTS[block.name] / total_variance)


PREVIOUS = {
    "_channel_block": previous_channel_block,
    "_numeric_block": previous_numeric_block,
    "_categorical_block": previous_categorical_block,
    "_balanced": previous_balanced,
}


def both_builders(monkeypatch: pytest.MonkeyPatch, engine: Engine, **arguments) -> tuple[CustomerFeatures, ...]:
    """Return the features the builder gives now, then those it gave before the rewrite."""
    now = customer_features(engine, **arguments)
    with monkeypatch.context() as previous:
        for name, function in PREVIOUS.items():
            previous.setattr(features_module, name, function)
        before = customer_features(engine, **arguments)
    return now, before


def assert_identical(now: CustomerFeatures, before: CustomerFeatures) -> None:
    assert now.names == before.names
    pd.testing.assert_index_equal(now.case_ids, before.case_ids)
    pd.testing.assert_frame_equal(now.documentation, before.documentation)
    assert now.matrix.shape == before.matrix.shape
    for part in ("indptr", "indices", "data"):
        mine, theirs = getattr(now.matrix, part), getattr(before.matrix, part)
        assert mine.dtype == theirs.dtype, part
        assert np.array_equal(mine, theirs), part  # bit for bit: no tolerance


@pytest.fixture(scope="module")
def real_log() -> pd.DataFrame:
    (oracle,) = [oracle for oracle in ORACLES if oracle.name == REAL_LOG]
    return load_oracle_frame(oracle)


@pytest.fixture
def demo(demo_home: Path) -> Iterator[Engine]:
    store = Store(Settings(home=demo_home))
    (dataset,) = store.datasets()
    with store.engine(dataset.id) as engine:
        yield engine


@pytest.mark.parametrize("dense_counts", [True, False], ids=["dense counts", "sparse counts"])
def test_the_demo_gives_the_previous_matrix(demo: Engine, monkeypatch: pytest.MonkeyPatch, dense_counts: bool) -> None:
    if not dense_counts:
        monkeypatch.setattr(features_module, "_DENSE_COUNT_CELLS", 0)
    definition = suggest_definition(demo)
    for arguments in (
        {},
        {"definition": definition, "stages": True, "outcomes": True},
        {"filters": Filters(channels={"store"})},
    ):
        now, before = both_builders(monkeypatch, demo, **arguments)
        assert {"channels", "numeric attributes", "categorical attributes"} <= set(now.blocks), arguments
        assert_identical(now, before)


def test_a_shared_real_log_gives_the_previous_matrix(
    real_log: pd.DataFrame, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Engine.from_frame(real_log, settings) as engine:
        for arguments in ({}, {"filters": Filters(with_activities={"Release A"})}):
            now, before = both_builders(monkeypatch, engine, **arguments)
            assert {"numeric attributes", "categorical attributes"} <= set(now.blocks)
            assert_identical(now, before)
