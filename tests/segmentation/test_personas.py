"""The Personas estimator: scikit-learn's own checks, choosing k, large populations, and the planted demo personas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import estimator_checks_generator

from data.demo import generate_demo
from data.engine import Engine
from data.importing import DEMO_SAMPLES, load_log
from segmentation import Personas, customer_features, persona_profiles

# Every check passes, none is expected to fail. check_array_api_input is left out: Personas takes NumPy and SciPy
# sparse input only, and scikit-learn would skip it anyway unless SCIPY_ARRAY_API=1. A short k_range or a fixed k
# keeps the checks quick; the other parameters are the defaults.
CHECKED = [
    Personas(k_range=(2, 4)),
    Personas(algorithm="minibatch", k=3),
    Personas(algorithm="agglomerative", k=3),
    Personas(algorithm="hdbscan"),
]


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__


@pytest.mark.parametrize(
    ("estimator", "check"),
    [
        pytest.param(estimator, check, id=f"{estimator}-{_check_name(check)}")
        for instance in CHECKED
        for estimator, check in estimator_checks_generator(instance)
        if _check_name(check) != "check_array_api_input"
    ],
)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


def blobs(samples: int = 300, centers: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Well separated groups, away from the origin so that scaling rows to length 1 keeps them apart."""
    return make_blobs(samples, n_features=8, centers=centers, center_box=(5, 40), cluster_std=1.0, random_state=4)


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "agglomerative"])
def test_auto_k_finds_the_number_of_well_separated_groups(algorithm: str) -> None:
    points, truth = blobs(centers=4)
    model = Personas(algorithm=algorithm).fit(points)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(truth, model.labels_) == 1.0
    assert set(model.silhouette_by_k_) == set(model.stability_by_k_) == set(range(2, 9))
    assert model.stability_by_k_[4] > 0.95


def test_hdbscan_finds_the_groups_itself_and_leaves_outliers_out() -> None:
    points, truth = blobs(centers=3)
    far_away = np.full((1, 8), -500.0)
    model = Personas(algorithm="hdbscan").fit(np.vstack([points, far_away]))
    assert model.n_clusters_ == 3
    assert list(model.silhouette_by_k_) == [3]
    assert adjusted_rand_score(truth, model.labels_[:-1]) == 1.0
    assert model.labels_[-1] == -1
    assert model.predict(far_away)[0] in range(3), "predict gives the nearest persona, also to an outlier"


def test_a_given_k_is_used_and_still_scored() -> None:
    points, _truth = blobs(centers=3)
    model = Personas(k=5).fit(points)
    assert model.n_clusters_ == 5
    assert list(model.silhouette_by_k_) == list(model.stability_by_k_) == [5]


def test_large_populations_are_chosen_on_a_sample_and_clustered_in_mini_batches() -> None:
    points, truth = blobs(samples=3000, centers=3)
    model = Personas(k_range=(2, 4), sample_size=400, minibatch_threshold=1000).fit(sp.csr_matrix(points))
    assert model.n_clusters_ == 3
    assert isinstance(model.pipeline_[-1], MiniBatchKMeans)
    assert model.labels_.shape == (3000,)
    assert adjusted_rand_score(truth, model.labels_) == 1.0
    np.testing.assert_array_equal(model.predict(points), model.labels_)


def test_a_sampled_agglomerative_fit_gives_everyone_the_nearest_persona() -> None:
    points, truth = blobs(samples=1000, centers=3)
    model = Personas(algorithm="agglomerative", k=3, sample_size=200).fit(points)
    assert adjusted_rand_score(truth, model.labels_) == 1.0


def test_truncated_svd_reduces_the_features_before_clustering() -> None:
    points, truth = make_blobs(300, n_features=20, centers=3, center_box=(5, 40), cluster_std=1.0, random_state=1)
    model = Personas(n_components=5).fit(points)
    assert model.cluster_centers_.shape == (3, 5)
    assert adjusted_rand_score(truth, model.labels_) == 1.0


def test_the_same_seed_gives_the_same_personas() -> None:
    points, _truth = blobs(samples=500, centers=5)
    first, second = (Personas(random_state=3).fit(points) for _ in range(2))
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.silhouette_by_k_ == second.silhouette_by_k_
    assert first.stability_by_k_ == second.stability_by_k_


def test_parameters_are_stored_untouched_and_every_bad_one_is_reported_at_fit() -> None:
    model = Personas(k=1, k_range=(5, 2), algorithm="dbscan", n_components=0, sample_size=1)
    assert model.get_params()["k_range"] == (5, 2)
    with pytest.raises(ValueError) as raised:
        model.fit(np.ones((10, 2)))
    for name in ("algorithm", "k must", "k_range", "n_components", "sample_size"):
        assert name in str(raised.value)


def test_hdbscan_refuses_a_given_k() -> None:
    with pytest.raises(ValueError, match="hdbscan"):
        Personas(algorithm="hdbscan", k=3).fit(blobs()[0])


def test_more_personas_than_customers_is_refused() -> None:
    with pytest.raises(ValueError, match="n_samples"):
        Personas(k=5).fit(np.arange(8.0).reshape(4, 2) + 1)


@pytest.fixture(scope="module", params=["telecom", "shop"])
def demo_personas(request: pytest.FixtureRequest) -> tuple[pd.Series, np.ndarray, dict]:
    """A shipped sample clustered with every default: each customer's planted persona, its label, the names."""
    log = load_log(DEMO_SAMPLES[request.param])
    planted = generate_demo(3000, scenario=request.param, seed=7).personas
    with Engine.from_frame(log.frame) as engine:
        features = customer_features(engine)
        labels = Personas().fit(features.matrix).labels_
        names = persona_profiles(engine, features.case_ids, labels).names
    return planted.reindex(features.case_ids), labels, names


def test_the_planted_demo_personas_are_recovered_from_every_customer(demo_personas: tuple) -> None:
    planted, labels, _names = demo_personas
    assert len(planted) == 3000 and planted.notna().all()
    assert len(np.unique(labels)) == planted.nunique() == 5
    assert adjusted_rand_score(planted, labels) >= 0.8


# The planted shop personas and the channel or touchpoint that defines each.
SHOP_DEFINING = {
    "app regulars": ("app",),
    "click-and-collect shoppers": ("click and collect", "pickup", "check store stock"),
    "store-first shoppers": ("store-first", "buy in store", "visit store"),
    "support-dependent returners": ("chatbot", "call-center", "support", "return"),
    "bargain hunters": ("social", "ad click", "promo code", "cart reminder"),
}


@pytest.mark.parametrize("demo_personas", ["shop"], indirect=True)
def test_generated_names_of_the_shop_personas_mention_their_defining_channel_or_touchpoint(
    demo_personas: tuple,
) -> None:
    planted, labels, names = demo_personas
    # Each planted persona is named after the discovered persona most of its customers fall in.
    named = pd.Series(labels).map(names).groupby(planted.to_numpy()).agg(lambda column: column.mode()[0])
    assert named.is_unique
    for persona, words in SHOP_DEFINING.items():
        assert any(word in named[persona].lower() for word in words), (persona, named[persona])
