"""Per-customer features for clustering: a sparse matrix built by GROUP BYs in DuckDB, documented column by column.

Blocks, in column order (a block is left out when its input is missing):

| block | columns | value |
|---|---|---|
| activities | `activity:<name>` | (1 + ln count) × (ln((1 + customers) / (1 + customers with it)) + 1), row length 1 |
| paths | `path:<a> → <b>` | the same over directly-follows pairs (ordered 2-grams) |
| channels | `channel:<name>` | square root of the share of the customer's events on that channel |
| journey size | `journey:log_events`, `journey:log_duration_days` | ln(events), ln(1 + days), standardised |
| stages | `stage:<name>` | 1 when the journey reaches the stage (`stage_of` given) |
| outcome | `outcome:<value>` | 1 for the customer's outcome (`outcomes` given) |
| numeric attributes | `attribute:<name>` | mean over the customer's events, standardised, missing = mean |
| categorical attributes | `attribute:<name>=<value>` | 1 for the customer's most frequent value, top values only |

No block may dominate: each is rescaled so that its total variance over customers (the sum of its column variances)
equals its weight, and so its expected share of the squared distance between two customers is its weight's share.
Behaviour defines a persona, so activities and paths share one unit (they describe the same steps) and channels
have one; what describes rather than defines it (size, stages, outcome, attributes) weighs a half per block, which
also keeps an outcome from splitting personas by the very rate the profiles then compare.

DuckDB returns integer counts (and means from exact decimal sums); the floating-point arithmetic happens afterwards
in NumPy, row sums in column order, so the same log always gives the same matrix to the last bit whatever order
DuckDB's threads return rows in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data.engine import Engine
from data.errors import EmptyLog, LogError, MappingError, Problem
from data.filters import Filters

__all__ = ["BLOCK_WEIGHTS", "CustomerFeatures", "customer_features"]

BLOCK_WEIGHTS = {
    "activities": 0.5,
    "paths": 0.5,
    "channels": 1.0,
    "journey size": 0.5,
    "stages": 0.5,
    "outcome": 0.5,
    "numeric attributes": 0.5,
    "categorical attributes": 0.5,
}
EVERY_CUSTOMER = Filters()
TOP_CATEGORIES = 10
# "auto" leaves out text attributes with more distinct values than this: ids, free text, addresses.
AUTO_MAX_CATEGORIES = 50
PATH_ARROW = " → "
SECONDS_PER_DAY = 86_400.0

_NUMERIC_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
    | {"FLOAT", "DOUBLE", "REAL"}
)
_CATEGORICAL_TYPES = frozenset({"VARCHAR", "BOOLEAN"})
_CUSTOMER_ROWS = """
    customer_rows AS (SELECT case_code, (row_number() OVER (ORDER BY case_code) - 1)::BIGINT AS row FROM journeys)
"""
_HOW = {
    "activities": "(1 + ln count) × (ln((1 + customers) / (1 + customers with it)) + 1), rows scaled to length 1",
    "paths": "the activities' weighting over directly-follows pairs (ordered 2-grams)",
    "channels": "√(events on the channel / all the customer's events)",
    "journey size": "standardised (mean 0, standard deviation 1)",
    "stages": "1 when any activity of the stage is in the journey",
    "outcome": "1 for the customer's outcome",
    "numeric attributes": "mean over the customer's events, standardised; no value counts as the mean",
    "categorical attributes": f"1 for the customer's most frequent value, among the {TOP_CATEGORIES} most common",
}


@dataclass(frozen=True, eq=False)
class CustomerFeatures:
    """A customers × features sparse matrix, its column names, its row case ids and how each column is computed.

    `documentation` has one row per column: name, block, kind, how (and the block's weight).
    """

    matrix: sp.csr_matrix
    names: tuple[str, ...]
    case_ids: pd.Index
    documentation: pd.DataFrame

    @property
    def blocks(self) -> tuple[str, ...]:
        """The blocks present, in column order."""
        return tuple(dict.fromkeys(self.documentation["block"]))

    def block(self, name: str) -> sp.csr_matrix:
        """Return the (scaled) columns of one block."""
        return self.matrix[:, np.flatnonzero(self.documentation["block"].to_numpy() == name)]


@dataclass(frozen=True, eq=False)
class _Block:
    name: str
    kind: str
    columns: tuple[str, ...]
    values: sp.csr_matrix


def customer_features(
    engine: Engine,
    filters: Filters = EVERY_CUSTOMER,
    *,
    stage_of: Mapping[str, str] | None = None,
    outcomes: pd.Series | Mapping[str, str] | None = None,
    attributes: str | Sequence[str] | None = "auto",
) -> CustomerFeatures:
    """Return the features of every customer `filters` selects, one row per customer in case id order.

    `stage_of` maps activities to stages; `outcomes` maps case ids to an outcome ("converted", "churned", …);
    `attributes` is "auto" (every numeric attribute and every text attribute with at most
    `AUTO_MAX_CATEGORIES` values), a list of attribute names, or None.

    >>> features = customer_features(engine, stage_of=demo.stage_of)  # doctest: +SKIP
    >>> features.matrix.shape, features.names[:2]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"customer_features needs an Engine, not {type(engine).__name__}")
    if not isinstance(filters, Filters):
        raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
    stage_table = _checked_stage_of(stage_of)
    outcome_series = _checked_outcomes(outcomes)
    numeric, categorical = _chosen_attributes(engine, attributes)
    journeys = engine.query(
        "SELECT case_id, events, duration_seconds FROM journeys ORDER BY case_code", filters=filters
    )
    if journeys.empty:
        raise EmptyLog(Problem("The filters select no customer.", fix="Widen the filters."))
    return _customer_features(engine, filters, journeys, stage_table, outcome_series, numeric, categorical)


def _customer_features(
    engine: Engine,
    filters: Filters,
    journeys: pd.DataFrame,
    stage_table: pd.DataFrame | None,
    outcomes: pd.Series | None,
    numeric: list[str],
    categorical: list[str],
) -> CustomerFeatures:
    case_ids = pd.Index(journeys["case_id"], name="case_id")
    customers = len(case_ids)
    blocks = [
        _tfidf_block(engine, filters, customers, "activities"),
        _tfidf_block(engine, filters, customers, "paths"),
        _channel_block(engine, filters, customers),
        _size_block(journeys),
    ]
    if stage_table is not None:
        blocks.append(_stage_block(engine, filters, customers, stage_table))
    if outcomes is not None:
        blocks.append(_outcome_block(case_ids, outcomes))
    if numeric:
        blocks.append(_numeric_block(engine, filters, numeric))
    if categorical:
        blocks.append(_categorical_block(engine, filters, categorical))
    blocks = [block for block in blocks if block.columns]
    matrix = sp.hstack([_balanced(block) for block in blocks], format="csr", dtype=np.float64)
    documentation = pd.DataFrame(
        {
            "name": [column for block in blocks for column in block.columns],
            "block": [block.name for block in blocks for _ in block.columns],
            "kind": [block.kind for block in blocks for _ in block.columns],
            "how": [_HOW[block.name] for block in blocks for _ in block.columns],
            "block_weight": [BLOCK_WEIGHTS[block.name] for block in blocks for _ in block.columns],
        }
    )
    return CustomerFeatures(matrix, tuple(documentation["name"]), case_ids, documentation)


# --- validation -----------------------------------------------------------------------------------------------------


def _checked_stage_of(stage_of: Mapping[str, str] | None) -> pd.DataFrame | None:
    """Return activity, stage, stage_index (stages in order of first appearance), or None."""
    if stage_of is None:
        return None
    if not isinstance(stage_of, Mapping):
        raise TypeError(f"stage_of must map activities to stages, not {type(stage_of).__name__}")
    table = pd.DataFrame({"activity": list(map(str, stage_of)), "stage": list(map(str, stage_of.values()))})
    table["stage_index"] = pd.factorize(table["stage"])[0]
    return table


def _checked_outcomes(outcomes: pd.Series | Mapping[str, str] | None) -> pd.Series | None:
    if outcomes is None:
        return None
    if isinstance(outcomes, Mapping):
        outcomes = pd.Series(outcomes, dtype="object")
    if not isinstance(outcomes, pd.Series):
        raise TypeError(f"outcomes must be a Series indexed by case id, not {type(outcomes).__name__}")
    if outcomes.index.has_duplicates:
        repeated = outcomes.index[outcomes.index.duplicated()].unique()
        raise LogError(
            [
                Problem("This customer has two outcomes.", fix="Give one outcome per customer.", value=str(case))
                for case in repeated
            ]
        )
    return outcomes.set_axis(outcomes.index.astype("str")).astype("str").where(outcomes.notna())


def _chosen_attributes(engine: Engine, attributes: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Split the requested attributes into numeric and categorical ones, refusing unknown or unusable names."""
    types = engine.attribute_columns
    if attributes is None:
        return [], []
    if isinstance(attributes, str):
        if attributes != "auto":
            raise ValueError(f"attributes must be 'auto', None or a list of names, not {attributes!r}")
        numeric = [name for name, kind in types.items() if _is_numeric(kind)]
        categorical = [
            name
            for name, kind in types.items()
            if kind in _CATEGORICAL_TYPES
            and len(engine.attribute_values(name, AUTO_MAX_CATEGORIES + 1)) <= AUTO_MAX_CATEGORIES
        ]
        return numeric, categorical
    names = list(dict.fromkeys(map(str, attributes)))
    for name in names:
        engine.attribute_column(name)  # raises MappingError with the closest names
    unusable = [name for name in names if not (_is_numeric(types[name]) or types[name] in _CATEGORICAL_TYPES)]
    if unusable:
        raise MappingError(
            [
                Problem(
                    f"A {types[name]} attribute can be neither averaged nor counted as categories.",
                    fix="Leave it out of the attributes.",
                    column=name,
                )
                for name in unusable
            ]
        )
    return [name for name in names if _is_numeric(types[name])], [n for n in names if types[n] in _CATEGORICAL_TYPES]


def _is_numeric(duckdb_type: str) -> bool:
    return duckdb_type in _NUMERIC_TYPES or duckdb_type.startswith("DECIMAL")


# --- blocks ---------------------------------------------------------------------------------------------------------


def _tfidf_block(engine: Engine, filters: Filters, customers: int, block: str) -> _Block:
    """Sublinear term frequency × smoothed idf, each customer's row scaled to length 1 (as TfidfVectorizer)."""
    if block == "activities":
        table, keys = "journey_activities", ["activity"]
    else:
        table, keys = "journey_pairs", ["source", "target"]
    named = ", ".join(f"{key}::VARCHAR AS {key}" for key in keys)
    listed, as_text = ", ".join(keys), ", ".join(f"{key}::VARCHAR" for key in keys)
    terms = engine.query(
        f"""
        SELECT {named}, count(*) AS customers_with_it FROM {table} GROUP BY ALL ORDER BY ALL
        """,
        filters=filters,
    )
    counts = engine.query(
        f"""
        WITH {_CUSTOMER_ROWS}, terms AS (
            SELECT {listed}, row_number() OVER (ORDER BY {as_text}) - 1 AS col
            FROM (SELECT DISTINCT {listed} FROM {table})
        )
        SELECT r.row, t.col, c.events FROM {table} c JOIN terms t USING ({listed})
        JOIN customer_rows r USING (case_code)
        """,
        filters=filters,
    )
    if block == "activities":
        columns = tuple("activity:" + terms["activity"])
    else:
        columns = tuple("path:" + terms["source"] + PATH_ARROW + terms["target"])
    idf = np.log((1.0 + customers) / (1.0 + terms["customers_with_it"].to_numpy(np.float64))) + 1.0
    cols = counts["col"].to_numpy()
    weight = (1.0 + np.log(counts["events"].to_numpy(np.float64))) * idf[cols]
    matrix = sp.csr_matrix((weight, (counts["row"].to_numpy(), cols)), shape=(customers, len(columns)))
    return _Block(block, "tf-idf", columns, _rows_of_length_one(matrix))


def _rows_of_length_one(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Scale every non-empty row to Euclidean length 1, summing each row's squares in column order.

    Sorting the columns first makes the sums, and so the matrix, independent of the order DuckDB returned rows in.
    """
    matrix.sort_indices()
    squares = np.zeros(matrix.shape[0])
    filled = np.flatnonzero(np.diff(matrix.indptr))
    if filled.size:
        squares[filled] = np.add.reduceat(matrix.data**2, matrix.indptr[filled])
    lengths = np.sqrt(squares)
    matrix.data /= np.repeat(np.where(lengths > 0, lengths, 1.0), np.diff(matrix.indptr))
    return matrix


def _channel_block(engine: Engine, filters: Filters, customers: int) -> _Block:
    counts = engine.query(
        f"""
        WITH {_CUSTOMER_ROWS}, counted AS (
            SELECT case_code, channel, count(*) AS events FROM steps WHERE channel IS NOT NULL GROUP BY ALL
        )
        SELECT r.row, c.channel::VARCHAR AS channel, c.events, j.events AS total
        FROM counted c JOIN customer_rows r USING (case_code) JOIN journeys j USING (case_code)
        """,
        filters=filters,
    )
    cols, channels = pd.factorize(counts["channel"], sort=True)
    # Square roots of shares (the Hellinger embedding) let a minority channel, one chatbot chat in ten steps, count.
    shares = counts["events"].to_numpy(np.float64) / counts["total"].to_numpy(np.float64)
    matrix = sp.csr_matrix((np.sqrt(shares), (counts["row"], cols)), shape=(customers, len(channels)))
    return _Block("channels", "√share", tuple("channel:" + channels), matrix)


def _size_block(journeys: pd.DataFrame) -> _Block:
    sizes = np.column_stack(
        [
            np.log(journeys["events"].to_numpy(np.float64)),
            np.log1p(journeys["duration_seconds"].to_numpy(np.float64) / SECONDS_PER_DAY),
        ]
    )
    return _Block(
        "journey size",
        "log, standardised",
        ("journey:log_events", "journey:log_duration_days"),
        sp.csr_matrix(_standardised(sizes)),
    )


def _stage_block(engine: Engine, filters: Filters, customers: int, stage_table: pd.DataFrame) -> _Block:
    reached = engine.query(
        f"""
        WITH {_CUSTOMER_ROWS}, stage_of AS (
            SELECT unnest(?::VARCHAR[]) AS activity, unnest(?::INTEGER[]) AS stage_index
        )
        SELECT DISTINCT r.row, s.stage_index
        FROM journey_activities a JOIN stage_of s ON a.activity::VARCHAR = s.activity
        JOIN customer_rows r USING (case_code)
        ORDER BY ALL
        """,
        [list(stage_table["activity"]), list(stage_table["stage_index"])],
        filters=filters,
    )
    stages = tuple(stage_table.drop_duplicates("stage_index")["stage"])
    matrix = sp.csr_matrix(
        (np.ones(len(reached)), (reached["row"], reached["stage_index"])), shape=(customers, len(stages))
    )
    return _Block("stages", "reached (0/1)", tuple(f"stage:{stage}" for stage in stages), matrix)


def _outcome_block(case_ids: pd.Index, outcomes: pd.Series) -> _Block:
    return _one_hot("outcome", "outcome:", outcomes.reindex(case_ids).to_numpy(dtype=object))


def _numeric_block(engine: Engine, filters: Filters, names: list[str]) -> _Block:
    # Decimal sums are exact, so that thread scheduling cannot change the last bits of a mean.
    means = engine.query(
        "SELECT "
        + ", ".join(
            f"avg({engine.attribute_column(name)}::DECIMAL(38, 10))::DOUBLE AS a{index}"
            for index, name in enumerate(names)
        )
        + " FROM steps GROUP BY case_code ORDER BY case_code",
        filters=filters,
    ).to_numpy(np.float64, na_value=np.nan)
    columns = tuple(f"attribute:{name}" for name in names)
    return _Block("numeric attributes", "mean, standardised", columns, sp.csr_matrix(_standardised(means)))


def _categorical_block(engine: Engine, filters: Filters, names: list[str]) -> _Block:
    columns: list[str] = []
    parts: list[sp.csr_matrix] = []
    for name in names:
        modal = engine.query(
            f"""
            WITH counted AS (
                SELECT case_code, {engine.attribute_column(name)}::VARCHAR AS value, count(*) AS events
                FROM steps WHERE {engine.attribute_column(name)} IS NOT NULL GROUP BY ALL
            )
            SELECT j.case_code, m.value
            FROM journeys j LEFT JOIN (
                SELECT case_code, value FROM counted
                QUALIFY row_number() OVER (PARTITION BY case_code ORDER BY events DESC, value) = 1
            ) m USING (case_code)
            ORDER BY j.case_code
            """,
            filters=filters,
        )["value"]
        top = modal.value_counts().sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        kept = modal.where(modal.isin(top.index[:TOP_CATEGORIES]))
        block = _one_hot("categorical attributes", f"attribute:{name}=", kept.to_numpy(dtype=object))
        columns += block.columns
        parts.append(block.values)
    return _Block("categorical attributes", "most frequent value (0/1)", tuple(columns), sp.hstack(parts, format="csr"))


def _one_hot(block: str, prefix: str, values: np.ndarray) -> _Block:
    """One column per distinct value (sorted); missing values get no column."""
    codes, uniques = pd.factorize(values, sort=True)
    present = codes >= 0
    matrix = sp.csr_matrix(
        (np.ones(present.sum()), (np.flatnonzero(present), codes[present])), shape=(len(values), len(uniques))
    )
    return _Block(block, "one-hot", tuple(f"{prefix}{value}" for value in uniques), matrix)


def _standardised(values: np.ndarray) -> np.ndarray:
    """Centre and scale each column; missing values become 0 (the mean), constant or empty columns all 0."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    count = np.maximum(present.sum(axis=0), 1)
    mean = filled.sum(axis=0) / count
    spread = np.sqrt((np.where(present, values - mean, 0.0) ** 2).sum(axis=0) / count)
    return np.where(present, (filled - mean) / np.where(spread > 0, spread, 1.0), 0.0)


def _balanced(block: _Block) -> sp.csr_matrix:
    """Rescale a block so that the sum of its column variances over customers equals the block's weight."""
    values = block.values.astype(np.float64)
    mean = np.asarray(values.mean(axis=0)).ravel()
    mean_square = np.asarray(values.multiply(values).mean(axis=0)).ravel()
    total_variance = float(np.sum(np.maximum(mean_square - mean * mean, 0.0)))
    if total_variance == 0.0:
        return values
    return values * np.sqrt(BLOCK_WEIGHTS[block.name] / total_variance)
