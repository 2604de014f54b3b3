"""Customer features on hand-made logs whose values can be worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp

import segmentation._features as features_module
from data.engine import Engine
from data.errors import EmptyLog, MappingError
from data.filters import Filters
from data.settings import Settings
from discovery import AttributeRole, ChurnRule, JourneyDefinition, StageModel, journey_outcomes, stage_kpis
from segmentation import BLOCK_WEIGHTS, customer_features
from tests.data.test_engine import journeys

# anna visits on the web, calls, buys in store; bob visits and buys on the web; carl visits twice, buys in store.
SHOP = journeys(
    ("anna", "visit", 0, "web"),
    ("anna", "call", 10, "phone"),
    ("anna", "buy", 60, "store"),
    ("bob", "visit", 0, "web"),
    ("bob", "buy", 30, "web"),
    ("carl", "visit", 0, "web"),
    ("carl", "visit", 1440, "web"),
    ("carl", "buy", 2880, "store"),
    revenue=[None, None, 30.0, None, 10.0, None, None, 50.0],
    region=["north", "north", "north", "south", "east", None, "west", "west"],
    member_number=[7, 7, 7, 8, 8, 9, 9, 9],
)
# Calling support is the goal here, so that the three customers end differently: anna called (converted); bob's
# last step is two days before the log's end (churned after a day's silence); carl's is the log's last (censored).
# Nobody can reach "consideration", which has no touchpoints.
DEFINITION = JourneyDefinition(
    goal=("call",),
    stages=StageModel(
        ("discovery", "consideration", "purchase", "support"),
        {"visit": "discovery", "buy": "purchase", "call": "support"},
    ),
    churn=ChurnRule(inactivity_days=1),
    attribute_roles={"member_number": AttributeRole("identifier")},
)


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def dense(matrix: sp.spmatrix) -> np.ndarray:
    return np.asarray(matrix.todense())


def assert_scaled_copy(actual: sp.spmatrix, expected: np.ndarray) -> None:
    """The block equals the expected values times one positive factor (the block's balancing scale)."""
    actual = dense(actual)
    factor = np.linalg.norm(actual) / np.linalg.norm(expected)
    assert factor > 0
    np.testing.assert_allclose(actual, factor * expected, rtol=1e-12, atol=1e-12)


def test_rows_are_customers_in_case_id_order_and_every_column_is_documented(shop: Engine) -> None:
    features = customer_features(shop, definition=DEFINITION, stages=True, outcomes=True)
    assert list(features.case_ids) == ["anna", "bob", "carl"]
    assert features.matrix.shape == (3, len(features.names))
    assert list(features.documentation["name"]) == list(features.names)
    assert features.blocks == (
        "activities",
        "paths",
        "channels",
        "journey size",
        "stages",
        "outcome",
        "numeric attributes",
        "categorical attributes",
    )
    assert features.documentation["how"].str.len().gt(10).all()


def test_activity_frequencies_are_sublinear_tf_times_smoothed_idf_with_rows_of_length_one(shop: Engine) -> None:
    features = customer_features(shop, attributes=None)
    names = [name for name in features.names if name.startswith("activity:")]
    assert names == ["activity:buy", "activity:call", "activity:visit"]
    # 3 customers; buy and visit are done by all 3 (idf = ln(4/4) + 1 = 1), call by 1 (idf = ln(4/2) + 1).
    call = math.log(2) + 1
    carl_visit = 1 + math.log(2)  # two visits
    expected = np.array(
        [
            [1, call, 1] / np.sqrt(2 + call**2),
            [1, 0, 1] / np.sqrt(2),
            [1, 0, carl_visit] / np.sqrt(1 + carl_visit**2),
        ]
    )
    assert_scaled_copy(features.block("activities"), expected)


def test_ordered_two_step_paths_get_the_same_weighting(shop: Engine) -> None:
    features = customer_features(shop, attributes=None)
    names = [name for name in features.names if name.startswith("path:")]
    assert names == ["path:call → buy", "path:visit → buy", "path:visit → call", "path:visit → visit"]
    # visit → buy: bob and carl (idf ln(4/3) + 1); the others are done by one customer each (idf ln(2) + 1).
    rare, common = math.log(2) + 1, math.log(4 / 3) + 1
    expected = np.array(
        [
            [rare, 0, rare, 0] / np.sqrt(2 * rare**2),
            [0, 1, 0, 0],
            [0, common, 0, rare] / np.sqrt(common**2 + rare**2),
        ]
    )
    assert_scaled_copy(features.block("paths"), expected)


def test_channel_shares_enter_as_square_roots(shop: Engine) -> None:
    features = customer_features(shop, attributes=None)
    assert [name for name in features.names if name.startswith("channel:")] == [
        "channel:phone",
        "channel:store",
        "channel:web",
    ]
    third = math.sqrt(1 / 3)
    expected = np.array([[third, third, third], [0, 0, 1], [0, third, math.sqrt(2 / 3)]])
    assert_scaled_copy(features.block("channels"), expected)


def test_journey_length_and_duration_are_logged_and_standardised(shop: Engine) -> None:
    size = dense(customer_features(shop, attributes=None).block("journey size"))
    log_events = np.log([3, 2, 3])
    log_days = np.log1p(np.array([60, 30, 2880]) / 1440)
    for column, values in enumerate((log_events, log_days)):
        standardised = (values - values.mean()) / values.std()
        np.testing.assert_allclose(size[:, column] / size[:, column].std(), standardised)


def test_stages_are_got_at_least_this_far_and_the_outcome_follows_the_definition(shop: Engine) -> None:
    features = customer_features(shop, definition=DEFINITION, stages=True, outcomes=True, attributes=None)
    stage_names = [name for name in features.names if name.startswith("stage:")]
    assert stage_names == ["stage:discovery", "stage:consideration", "stage:purchase", "stage:support"]
    # bob and carl got as far as purchase without a support call; the empty stage is reached by nobody.
    reached = np.array([[1, 0, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0]])
    assert_scaled_copy(features.block("stages"), reached)
    assert list(reached.sum(axis=0)) == list(stage_kpis(shop, DEFINITION).table["customers"])
    assert [name for name in features.names if name.startswith("outcome:")] == [
        "outcome:censored",
        "outcome:churned",
        "outcome:converted",
    ]
    assert_scaled_copy(features.block("outcome"), np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]]))
    assert journey_outcomes(shop, DEFINITION).to_dict() == {"anna": "converted", "bob": "churned", "carl": "censored"}


def test_without_asking_neither_stages_nor_outcomes_describe_a_customer(shop: Engine) -> None:
    blocks = customer_features(shop, definition=DEFINITION).blocks
    assert "stages" not in blocks and "outcome" not in blocks


def test_identifiers_never_describe_a_customer(shop: Engine) -> None:
    assert "attribute:member_number" in customer_features(shop).names, "without a definition, a number is a number"
    assert not any("member_number" in name for name in customer_features(shop, definition=DEFINITION).names)
    with pytest.raises(MappingError, match="identifier"):
        customer_features(shop, definition=DEFINITION, attributes=["member_number", "revenue"])


def test_numeric_attributes_are_per_customer_means_and_missing_counts_as_the_mean(settings: Settings) -> None:
    frame = SHOP.assign(revenue=[None, None, 30.0, None, 10.0, None, None, None])
    with Engine.from_frame(frame, settings) as engine:
        numeric = dense(customer_features(engine, attributes=["revenue"]).block("numeric attributes"))
    # anna 30, bob 10, carl none (so the mean, 20): standardised to +1, -1 and 0.
    assert_scaled_copy(sp.csr_matrix(numeric), np.array([[1.0], [-1.0], [0.0]]))


def test_categorical_attributes_one_hot_each_customers_most_frequent_value(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = customer_features(shop, attributes=["region"])
    # anna: north; bob: east and south tie, the smaller wins; carl: west (the missing value does not count).
    assert [name for name in features.names if name.startswith("attribute:")] == [
        "attribute:region=east",
        "attribute:region=north",
        "attribute:region=west",
    ]
    assert_scaled_copy(features.block("categorical attributes"), np.eye(3)[[1, 0, 2]])
    monkeypatch.setattr(features_module, "TOP_CATEGORIES", 2)
    kept = customer_features(shop, attributes=["region"]).names
    assert [name for name in kept if name.startswith("attribute:")] == [
        "attribute:region=east",
        "attribute:region=north",
    ]


def test_auto_attributes_take_numbers_and_text_with_few_values(shop: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"numeric attributes", "categorical attributes"} <= set(customer_features(shop).blocks)
    monkeypatch.setattr(features_module, "AUTO_MAX_CATEGORIES", 3)  # region has 4 values: an id-like column
    assert "categorical attributes" not in customer_features(shop).blocks
    assert "numeric attributes" not in customer_features(shop, attributes=None).blocks


def test_every_block_carries_its_weight_in_total_variance(shop: Engine) -> None:
    features = customer_features(shop, definition=DEFINITION, stages=True, outcomes=True)
    for block in features.blocks:
        values = dense(features.block(block))
        assert values.var(axis=0).sum() == pytest.approx(BLOCK_WEIGHTS[block]), block


def test_filters_select_whole_customers(shop: Engine) -> None:
    features = customer_features(shop, Filters(channels={"store"}), attributes=None)
    assert list(features.case_ids) == ["anna", "carl"]
    assert "activity:buy" in features.names


def test_the_same_log_gives_the_same_matrix_to_the_last_bit(shop: Engine) -> None:
    first, second = (customer_features(shop, definition=DEFINITION, stages=True) for _ in range(2))
    assert first.names == second.names
    assert (first.matrix != second.matrix).nnz == 0


def test_unknown_attributes_are_named_with_the_closest_ones(shop: Engine) -> None:
    with pytest.raises(MappingError) as raised:
        customer_features(shop, attributes=["regoin", "revenue"])
    assert "region" in str(raised.value)


def test_a_selection_without_customers_is_refused(shop: Engine) -> None:
    with pytest.raises(EmptyLog):
        customer_features(shop, Filters(channels={"fax"}))


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"definition": {"goal": "buy"}}, TypeError),
        ({"stages": True}, ValueError),
        ({"outcomes": True}, ValueError),
        ({"attributes": "everything"}, ValueError),
    ],
)
def test_malformed_arguments_are_programming_errors(shop: Engine, arguments: dict, error: type) -> None:
    with pytest.raises(error):
        customer_features(shop, **arguments)


def test_counting_per_customer_in_a_sparse_table_gives_the_same_matrix(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channel, stage and attribute counts switch to a sparse table past a size; the matrix must not change."""
    dense_counts = customer_features(shop, definition=DEFINITION, stages=True)
    monkeypatch.setattr(features_module, "_DENSE_COUNT_CELLS", 0)
    sparse_counts = customer_features(shop, definition=DEFINITION, stages=True)
    assert sparse_counts.names == dense_counts.names
    assert (sparse_counts.matrix != dense_counts.matrix).nnz == 0


def test_only_converted_customers_get_as_far_as_the_goal_stage_in_the_stage_features(settings: Settings) -> None:
    """As on the stage cards: b cancelled a trial and c called support, both post-purchase steps, without ever
    subscribing; they got as far as consideration, not as far as the purchase."""
    log = journeys(
        ("a", "visit", 0), ("a", "trial", 1), ("a", "subscribe", 2), ("a", "support", 3),
        ("b", "visit", 0), ("b", "trial", 1), ("b", "cancel", 2),
        ("c", "visit", 0), ("c", "support", 1),
    )  # fmt: skip
    stages = {"visit": "discovery", "trial": "consideration", "subscribe": "purchase"}
    after = {"support": "post-purchase", "cancel": "post-purchase"}
    definition = JourneyDefinition(goal=("subscribe",), stages=StageModel(stage_of={**stages, **after}))
    with Engine.from_frame(log, settings) as engine:
        features = customer_features(engine, definition=definition, stages=True, attributes=None)
        table = stage_kpis(engine, definition).table
    columns = [features.names.index(f"stage:{stage}") for stage in definition.stages.stages]
    reached = dense(features.matrix[:, columns]) > 0
    assert reached.astype(int).tolist() == [[1, 1, 1, 1, 0], [1, 1, 0, 0, 0], [1, 1, 0, 0, 0]]  # a, b, c
    assert reached.sum(axis=0).tolist() == table["customers"].tolist()
