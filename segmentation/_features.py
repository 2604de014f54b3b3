"""Per-customer features for clustering: a sparse matrix built by GROUP BYs in DuckDB, documented column by column.

Blocks, in column order (a block is left out when its input is missing):

| block | columns | value |
|---|---|---|
| activities | `activity:<name>` | (1 + ln count) × (ln((1 + customers) / (1 + customers with it)) + 1), row length 1 |
| paths | `path:<a> → <b>` | the same over directly-follows pairs (ordered 2-grams) |
| channels | `channel:<name>` | square root of the share of the customer's events on that channel |
| journey size | `journey:log_events`, `journey:log_duration_days` | ln(events), ln(1 + days), standardised |
| stages | `stage:<name>` | 1 when the journey got at least this far (`stages=True`) |
| outcome | `outcome:<value>` | 1 for the journey's outcome under the definition (`outcomes=True`) |
| numeric attributes | `attribute:<name>` | mean over the customer's events, standardised, missing = mean |
| categorical attributes | `attribute:<name>=<value>` | 1 for the customer's most frequent value, top values only |

The stages and the outcome follow the journey definition through the library's own relations
(`discovery._relations`): a journey got at least as far as a stage when it did a step of that stage or of a later
one, and its outcome is one of `discovery.OUTCOMES`. Both are left out unless asked for: how far a journey got and
how it ended are what personas are then compared on, and clustering on them splits converters from the others (on
the demos, two personas instead of the five planted). The definition's attribute roles say how an attribute enters:
amounts, scores and plain numbers as numbers, categories as their values, identifiers and dates never (a customer
number describes no one); without a definition, numeric columns are numbers and text columns categories.

No block may dominate: each is rescaled so that its total variance over customers (the sum of its column variances)
equals its weight, and so its expected share of the squared distance between two customers is its weight's share.
Behaviour defines a persona, so activities and paths share one unit (they describe the same steps) and channels
have one; what describes rather than defines it (size, stages, outcome, attributes) weighs a half per block, which
also keeps an outcome from splitting personas by the very rate the profiles then compare.

DuckDB returns integer counts (and means from exact decimal sums); the floating-point arithmetic happens afterwards
in NumPy, row sums in column order, so the same log always gives the same matrix to the last bit whatever order
DuckDB's threads return rows in. Rows are found from case codes through one lookup array and activities and channels
arrive as their ENUM codes, so no query joins journeys to number them or turns a step's activity into text; what
DuckDB would group by millions of (customer, value) pairs, the channels of every step, NumPy counts in one pass over
one column of cell numbers that DuckDB computes as it reads the steps. The blocks are built two at a time, so that
NumPy's work on one overlaps DuckDB's query for another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data.engine import Engine
from data.errors import EmptyLog, MappingError, Problem
from data.filters import Filters
from discovery import JourneyDefinition, furthest_stage_sql, goal_stage_index, journey_outcomes, stage_relation

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
# Roles whose values are numbers to average, and roles that never describe a customer.
NUMERIC_ROLES = ("amount", "score", "number")
_NEVER_FEATURES = ("identifier", "date")
_NO_DEFINITION = JourneyDefinition()
_BLOCKS_AT_ONCE = 2
# Counting (customer, value) pairs in a dense table is fastest; past this many cells a sparse sum bounds memory.
_DENSE_COUNT_CELLS = 1 << 25
_HOW = {
    "activities": "(1 + ln count) × (ln((1 + customers) / (1 + customers with it)) + 1), rows scaled to length 1",
    "paths": "the activities' weighting over directly-follows pairs (ordered 2-grams)",
    "channels": "√(events on the channel / all the customer's events)",
    "journey size": "standardised (mean 0, standard deviation 1)",
    "stages": "1 when the journey got at least this far: it did a step of this stage or of a later one",
    "outcome": "1 for the journey's outcome under the journey definition",
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


@dataclass(frozen=True, eq=False)
class _Selection:
    """The selected customers: the engine and filters to query them, and the matrix row of each case code.

    `row_of_code` is None when every customer is selected: case codes count 0, 1, … and so are the rows.
    """

    engine: Engine
    filters: Filters
    row_of_code: np.ndarray | None
    events: np.ndarray
    last_code: int

    @property
    def customers(self) -> int:
        return len(self.events)

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        return self.engine.query(sql, params, filters=self.filters)

    def rows(self, case_codes: pd.Series | np.ndarray) -> np.ndarray:
        codes = np.asarray(case_codes)
        return codes if self.row_of_code is None else self.row_of_code[codes]

    def cells(self, kinds: int) -> int:
        """The number of (case code, value) cells when a value has `kinds` codes."""
        return (self.last_code + 1) * kinds

    def cell(self, code_sql: str, kinds: int) -> str:
        """SQL numbering a step's (case code, value) cell, `code_sql` the value's code below `kinds`.

        DuckDB computes it as it reads the steps, so NumPy counts cells from one column without arithmetic of its own
        over every step; in 32 bits when they fit, half the bytes to hand over.
        """
        kind = "INTEGER" if self.cells(kinds) <= np.iinfo(np.int32).max else "BIGINT"
        return f"(case_code::{kind} * {kinds} + {code_sql})"


def customer_features(
    engine: Engine,
    filters: Filters = EVERY_CUSTOMER,
    *,
    definition: JourneyDefinition | None = None,
    stages: bool = False,
    outcomes: bool = False,
    attributes: str | Sequence[str] | None = "auto",
) -> CustomerFeatures:
    """Return the features of every customer `filters` selects, one row per customer in case id order.

    `definition`: the journey definition, whose attribute roles say which attributes may describe a customer
    (identifiers and dates never); `stages=True` adds how far each journey got through its stages, `outcomes=True`
    each journey's outcome under it. `attributes` is "auto" (every numeric attribute and every text attribute with
    at most `AUTO_MAX_CATEGORIES` values that its role lets in), a list of attribute names, or None.

    >>> features = customer_features(engine, definition=definition)  # doctest: +SKIP
    >>> features.matrix.shape, features.names[:2]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"customer_features needs an Engine, not {type(engine).__name__}")
    if not isinstance(filters, Filters):
        raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
    if definition is not None and not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    if (stages or outcomes) and definition is None:
        raise ValueError("stages and outcomes need the journey definition that says what they are")
    numeric, categorical = _chosen_attributes(engine, attributes, definition or _NO_DEFINITION)
    journeys = engine.query(
        "SELECT case_code, case_id, events, duration_seconds FROM journeys ORDER BY case_code", filters=filters
    )
    if journeys.empty:
        raise EmptyLog(Problem("The filters select no customer.", fix="Widen the filters."))
    blocks = {"stages": stages, "outcome": outcomes}
    return _customer_features(engine, filters, journeys, definition, blocks, numeric, categorical)


def _customer_features(
    engine: Engine,
    filters: Filters,
    journeys: pd.DataFrame,
    definition: JourneyDefinition | None,
    asked: dict[str, bool],
    numeric: list[str],
    categorical: list[str],
) -> CustomerFeatures:
    case_ids = pd.Index(journeys["case_id"], name="case_id")
    case_codes = journeys["case_code"].to_numpy()
    row_of_code = None
    if case_codes[-1] + 1 > len(case_codes):
        row_of_code = np.full(case_codes[-1] + 1, -1, dtype=np.int64)
        row_of_code[case_codes] = np.arange(len(case_codes))
    selection = _Selection(engine, filters, row_of_code, journeys["events"].to_numpy(), int(case_codes[-1]))
    activities = _activity_names(engine)
    builders: list[Callable[[], _Block]] = [
        lambda: _activity_block(selection, activities),
        lambda: _path_block(selection, activities),
        lambda: _channel_block(selection),
        lambda: _size_block(journeys),
    ]
    if asked["stages"]:
        builders.append(lambda: _stage_block(selection, definition))
    if asked["outcome"]:
        builders.append(lambda: _outcome_block(case_ids, journey_outcomes(engine, definition, filters)))
    if numeric:
        builders.append(lambda: _numeric_block(selection, numeric))
    if categorical:
        builders.append(lambda: _categorical_block(selection, categorical))
    # Two blocks at a time, the attributes' (the longest queries) first: DuckDB releases the GIL, so one block's NumPy
    # work runs while another's query does. Each block is built and balanced alone; they are stacked in column order.
    with ThreadPoolExecutor(max_workers=_BLOCKS_AT_ONCE) as pool:
        started = [pool.submit(_balanced_block, build) for build in reversed(builders)]
        blocks = [block for block in (future.result() for future in reversed(started)) if block.columns]
    matrix = sp.hstack([block.values for block in blocks], format="csr", dtype=np.float64)
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


def _chosen_attributes(
    engine: Engine, attributes: str | Sequence[str] | None, definition: JourneyDefinition
) -> tuple[list[str], list[str]]:
    """Split the requested attributes into numeric and categorical ones, refusing unknown or unusable names."""
    types = engine.attribute_columns
    if attributes is None:
        return [], []
    roles = {name: definition.role_of(name, kind).role for name, kind in types.items()}
    if isinstance(attributes, str):
        if attributes != "auto":
            raise ValueError(f"attributes must be 'auto', None or a list of names, not {attributes!r}")
        numeric = [name for name, kind in types.items() if _is_numeric(kind) and roles[name] in NUMERIC_ROLES]
        texts = [name for name, kind in types.items() if kind in _CATEGORICAL_TYPES and roles[name] == "category"]
        if not texts:
            return numeric, []
        # One scan of the whole log (filters aside, as the filter widgets list values) counts every text's values.
        distinct = engine.query(
            "SELECT "
            + ", ".join(f"count(DISTINCT {engine.attribute_column(name)}) AS d{i}" for i, name in enumerate(texts))
            + " FROM steps"
        ).iloc[0]
        return numeric, [name for name, values in zip(texts, distinct, strict=True) if values <= AUTO_MAX_CATEGORIES]
    names = list(dict.fromkeys(map(str, attributes)))
    for name in names:
        engine.attribute_column(name)  # raises MappingError with the closest names
    problems = [
        Problem(
            f"An attribute whose role is {roles[name]} describes no customer.",
            fix="Leave it out of the attributes, or give it another role in the journey definition.",
            column=name,
        )
        for name in names
        if roles[name] in _NEVER_FEATURES
    ]
    problems += [
        Problem(
            f"A {types[name]} attribute can be neither averaged nor counted as categories.",
            fix="Leave it out of the attributes.",
            column=name,
        )
        for name in names
        if roles[name] not in _NEVER_FEATURES and not (_is_numeric(types[name]) or types[name] in _CATEGORICAL_TYPES)
    ]
    if problems:
        raise MappingError(problems)
    numeric = [name for name in names if _is_numeric(types[name]) and roles[name] in NUMERIC_ROLES]
    return numeric, [name for name in names if name not in numeric]


def _is_numeric(duckdb_type: str) -> bool:
    return duckdb_type in _NUMERIC_TYPES or duckdb_type.startswith("DECIMAL")


# --- blocks ---------------------------------------------------------------------------------------------------------


def _activity_block(selection: _Selection, names: list[str]) -> _Block:
    visits = selection.query("SELECT case_code, enum_code(activity) AS term, events FROM journey_activities")
    return _tfidf_block("activities", "activity:", selection, visits, lambda codes: [(names[code],) for code in codes])


def _path_block(selection: _Selection, names: list[str]) -> _Block:
    width = len(names)
    kind = "INTEGER" if width * width <= np.iinfo(np.int32).max else "BIGINT"
    pairs = selection.query(
        f"SELECT case_code, enum_code(source)::{kind} * {width} + enum_code(target) AS term, events FROM journey_pairs"
    )
    return _tfidf_block(
        "paths",
        "path:",
        selection,
        pairs,
        lambda codes: [(names[code // width], names[code % width]) for code in codes],
    )


def _activity_names(engine: Engine) -> list[str]:
    """Every activity's name, by its code: visits and pairs arrive as codes, named only for the columns (asked once
    for both blocks)."""
    return engine.query("SELECT activity::VARCHAR AS name FROM all_activities ORDER BY activity")["name"].tolist()


def _tfidf_block(
    block: str,
    prefix: str,
    selection: _Selection,
    counts: pd.DataFrame,
    names_of: Callable[[np.ndarray], list[tuple[str, ...]]],
) -> _Block:
    """Sublinear term frequency × smoothed idf, each customer's row scaled to length 1 (as TfidfVectorizer).

    `counts` has a journey's events per term and the term's code (`term`, numbered by DuckDB); columns are the terms
    present, ordered by their names (`names_of` the codes), as DuckDB would order the text.
    """
    terms = counts["term"].to_numpy()
    customers_with_it = np.bincount(terms)
    present = np.flatnonzero(customers_with_it)
    names = names_of(present)
    order = sorted(range(len(present)), key=names.__getitem__)
    column_of = np.zeros(len(customers_with_it), dtype=np.int64)
    column_of[present[order]] = np.arange(len(order))
    columns = tuple(prefix + PATH_ARROW.join(names[index]) for index in order)
    idf = np.log((1.0 + selection.customers) / (1.0 + customers_with_it[present[order]].astype(np.float64))) + 1.0
    cols = column_of[terms]
    weight = (1.0 + np.log(counts["events"].to_numpy(np.float64))) * idf[cols]
    matrix = sp.csr_matrix(
        (weight, (selection.rows(counts["case_code"]), cols)), shape=(selection.customers, len(columns))
    )
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


def _channel_block(selection: _Selection) -> _Block:
    names = selection.query("SELECT enum_range(channel)::VARCHAR[] AS names FROM steps LIMIT 1")["names"].iloc[0]
    kinds = len(names)
    cells, events = _counted(
        selection.query(
            f"SELECT {selection.cell('enum_code(channel)', kinds)} AS cell FROM steps WHERE channel IS NOT NULL"
        )["cell"].to_numpy(),
        selection.cells(kinds),
    )
    case_codes, codes = np.divmod(cells, kinds)
    present = np.flatnonzero(np.bincount(codes, minlength=kinds))
    order = sorted(present, key=lambda code: names[code])
    column_of = np.zeros(kinds, dtype=np.int64)
    column_of[order] = np.arange(len(order))
    rows = selection.rows(case_codes)
    # Square roots of shares (the Hellinger embedding) let a minority channel, one chatbot chat in ten steps, count.
    shares = events.astype(np.float64) / selection.events[rows].astype(np.float64)
    matrix = sp.csr_matrix((np.sqrt(shares), (rows, column_of[codes])), shape=(selection.customers, len(order)))
    return _Block("channels", "√share", tuple(f"channel:{names[code]}" for code in order), matrix)


def _counted(cells: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return every cell present in `cells` (numbers below `size`), in increasing order, and how often it is."""
    if size <= _DENSE_COUNT_CELLS:
        counts = np.bincount(cells, minlength=size)
        present = np.flatnonzero(counts)
        return present, counts[present]
    return np.unique(cells, return_counts=True)


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


def _stage_block(selection: _Selection, definition: JourneyDefinition) -> _Block:
    """1 for each stage the journey got at least as far as: its furthest stage or an earlier one with touchpoints."""
    model = definition.stages
    stage_of = dict(model.stage_of)
    marks, params = stage_relation(selection.engine, model.stages, stage_of, definition.goal)
    goal_stage = goal_stage_index(model.stages, stage_of, definition.goal)
    furthest = selection.query(f"WITH {marks} {furthest_stage_sql(goal_stage)}", params)
    reached = np.full(selection.customers, -1, dtype=np.int64)
    reached[selection.rows(furthest["case_code"])] = furthest["furthest"].to_numpy(np.int64)
    # A stage without touchpoints is reached by nobody, whatever came after it.
    staged = np.array([bool(model.activities_in(stage)) for stage in model.stages])
    values = (reached[:, None] >= np.arange(len(model.stages))[None, :]) & staged[None, :]
    columns = tuple(f"stage:{stage}" for stage in model.stages)
    return _Block("stages", "got at least this far (0/1)", columns, sp.csr_matrix(values, dtype=np.float64))


def _outcome_block(case_ids: pd.Index, outcomes: pd.Series) -> _Block:
    return _one_hot("outcome", "outcome:", outcomes.reindex(case_ids).to_numpy(dtype=object))


def _numeric_block(selection: _Selection, names: list[str]) -> _Block:
    # Decimal sums are exact, so that thread scheduling cannot change the last bits of a mean. Only steps carrying a
    # value are grouped (a mean ignores the others); a customer without any keeps no value, as the mean of nothing.
    stored = [selection.engine.attribute_column(name) for name in names]
    means = selection.query(
        "SELECT case_code, "
        + ", ".join(f"avg({column}::DECIMAL(38, 10))::DOUBLE AS a{index}" for index, column in enumerate(stored))
        + " FROM steps WHERE "
        + " OR ".join(f"{column} IS NOT NULL" for column in stored)
        + " GROUP BY case_code"
    )
    # Column-major, as pandas hands a frame over: NumPy's column sums then add in the same (pairwise) order.
    values = np.full((selection.customers, len(names)), np.nan, order="F")
    values[selection.rows(means["case_code"])] = means.drop(columns="case_code").to_numpy(np.float64, na_value=np.nan)
    columns = tuple(f"attribute:{name}" for name in names)
    return _Block("numeric attributes", "mean, standardised", columns, sp.csr_matrix(_standardised(values)))


def _categorical_block(selection: _Selection, names: list[str]) -> _Block:
    """One-hot the customer's most frequent value (ties to the smallest) among the attribute's top values."""
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
    # Each step's (customer, value) cell arrives numbered by the value's rank among the attribute's values (from 1, 0
    # for none), its position in the list of those few values: NumPy then counts cells, where DuckDB would hash
    # millions of (customer, value) pairs in a GROUP BY (and a join on the values costs twice the list's look-up).
    ranked = selection.query(
        "SELECT "
        + ", ".join(
            selection.cell(f"coalesce(list_position(?::VARCHAR[], {column}::VARCHAR), 0)", len(ordered) + 1)
            + f" AS v{index}"
            for index, (column, ordered) in enumerate(zip(stored, values, strict=True))
        )
        + " FROM steps",
        values,
    )
    columns: list[str] = []
    modal_rows: list[np.ndarray] = []
    modal_columns: list[np.ndarray] = []
    for index, name in enumerate(names):
        kinds = len(values[index])
        cells, events = _counted(ranked[f"v{index}"].to_numpy(), selection.cells(kinds + 1))
        case_codes, rank = np.divmod(cells, kinds + 1)
        customer = selection.rows(case_codes)
        valued = rank > 0
        customer, rank, events = customer[valued], rank[valued] - 1, events[valued]
        # The most events, then the smallest value, wins: as one integer key, one unordered pass finds every maximum.
        best = np.zeros(selection.customers, dtype=np.int64)
        np.maximum.at(best, customer, events * kinds + (kinds - 1 - rank))
        with_value = np.flatnonzero(best)
        modal = kinds - 1 - best[with_value] % max(kinds, 1)
        # The values most customers have (ties to the smallest) get a column each, in value order.
        have = np.bincount(modal, minlength=kinds)
        top = np.sort(np.lexsort((np.arange(kinds), -have))[: min(TOP_CATEGORIES, np.count_nonzero(have))])
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
    return _Block("categorical attributes", "most frequent value (0/1)", tuple(columns), matrix)


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


def _balanced_block(build: Callable[[], _Block]) -> _Block:
    """Build a block and balance it (in a worker thread)."""
    block = build()
    return replace(block, values=_balanced(block))


def _balanced(block: _Block) -> sp.csr_matrix:
    """Rescale a block so that the sum of its column variances over customers equals the block's weight.

    The column sums read the data array alone, adding each column's values in row order as scipy's `mean` does,
    so the scale is the same to the last bit without the copies a sparse product makes; the block's own values are
    scaled in place, as nothing else holds them, rather than copied (a full copy of the matrix at 10M events).
    """
    values = block.values
    customers, width = values.shape
    share = 1.0 / customers
    mean = np.bincount(values.indices, weights=values.data * share, minlength=width)
    mean_square = np.bincount(values.indices, weights=values.data * values.data * share, minlength=width)
    total_variance = float(np.sum(np.maximum(mean_square - mean * mean, 0.0)))
    if total_variance > 0.0:
        values.data *= np.sqrt(BLOCK_WEIGHTS[block.name] / total_variance)
    return values
