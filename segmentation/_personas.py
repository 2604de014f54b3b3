"""Personas: a scikit-learn clustering estimator over customer features, with the number of personas chosen for you.

The pipeline scales each customer's row to length 1 (so that k-means compares mixes, not volumes), reduces it with
TruncatedSVD to a few dense directions (`n_components`, which also takes the noise of rare touchpoints and paths
out of the distances), scales it again and clusters.

With `k="auto"`, each candidate k is scored on the same sample of at most `SELECTION_SAMPLE` customers by two
figures, kept as fitted attributes so that the choice can be shown and checked:

- **stability**: the agreement between `RUNS` clusterings started from different seeds (k-means++ from
  different starts; Ward and HDBSCAN, which have no start, on different subsamples), as the mean adjusted Rand
  index over every pair of runs. A k that the data really holds is found again whatever the seed; a k that cuts a
  group arbitrarily is cut differently each time;
- **silhouette**: how much closer customers are to their own persona than to the next one, for the best of the
  runs (the k-means run with the smallest inertia).

Among the stable k's (stability at least `MIN_STABILITY`, or near the most stable when none is), the smallest k
whose silhouette is within `SILHOUETTE_TOLERANCE` of the best is kept: silhouettes that close are a tie that the
seed decides, so a tie goes to fewer personas, and the number of personas does not change with the seed.

Everything about the sample runs single-threaded: the work is small, and on a shared machine waiting for a second
thread costs more than it brings.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import Normalizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

__all__ = ["ALGORITHMS", "MIN_STABILITY", "SILHOUETTE_TOLERANCE", "Personas", "Progress"]

ALGORITHMS = ("kmeans", "minibatch", "agglomerative", "hdbscan")
# The k's are scored on this many customers; the personas are then found among everyone from the chosen run.
SELECTION_SAMPLE = 2_000
# Clusterings per k whose agreement is its stability (and, for k-means, whose best is kept).
RUNS = 8
# Ward and HDBSCAN runs each see this share of the scored customers.
SUBSAMPLE_SHARE = 0.8
# A k is stable when its runs agree at least this much (mean adjusted Rand index between pairs of runs) …
MIN_STABILITY = 0.6
# … or, when no k is, when it is this close to the most stable one.
STABILITY_TOLERANCE = 0.1
# Silhouettes closer than this are a tie, which goes to fewer personas.
SILHOUETTE_TOLERANCE = 0.01
# HDBSCAN's smallest persona, as a share of the customers it sees.
MIN_PERSONA_SHARE = 0.02
MINIBATCH_SIZE = 4_096
DENSE_VALUES_LIMIT = 50_000_000

Progress = Callable[[float, str], None]


class Personas(ClusterMixin, BaseEstimator):
    """Cluster customers into personas; `k="auto"` picks how many by stability across seeds and silhouette.

    Parameters are stored untouched and checked in `fit`. `algorithm` is "kmeans" (MiniBatchKMeans above
    `minibatch_threshold` customers), "minibatch", "agglomerative" (Ward) or "hdbscan" (finds k itself, leaves
    outliers as -1). `n_components`: the TruncatedSVD directions kept (None: cluster the scaled features as they
    are). `sample_size`: at most this many customers fit the scaling and reduction.

    Fitted attributes: `labels_`, `n_clusters_`, `pipeline_` (its `predict` gives the nearest persona),
    `cluster_centers_` (in the pipeline's space), `silhouette_by_k_` and `stability_by_k_` (every k scored, in
    order), `n_features_in_`.

    >>> model = Personas(k="auto", random_state=0).fit(features.matrix)  # doctest: +SKIP
    >>> model.n_clusters_, model.stability_by_k_  # doctest: +SKIP
    """

    def __init__(
        self,
        k="auto",
        k_range=(2, 8),
        algorithm="kmeans",
        n_components=20,
        sample_size=20_000,
        minibatch_threshold=50_000,
        random_state=0,
    ):
        self.k = k
        self.k_range = k_range
        self.algorithm = algorithm
        self.n_components = n_components
        self.sample_size = sample_size
        self.minibatch_threshold = minibatch_threshold
        self.random_state = random_state

    def fit(self, X, y=None, progress: Progress | None = None):
        """Find the personas of the customers in X (rows: customers, columns: features).

        `progress(fraction, message)`, when given, hears how far the fit is (0 to 1) after each step.
        """
        self._check_params()
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        customers = X.shape[0]
        if customers < 2:
            raise ValueError(f"Personas needs at least 2 samples, got n_samples = {customers}.")
        report = progress or _silent
        random_state = check_random_state(self.random_state)
        sample = _sample(customers, self.sample_size, random_state)
        with threadpool_limits(1):
            transform = self._transform(X.shape[1], random_state).fit(X if sample is None else X[sample])
            points = transform.transform(X)
            scored = _sample(customers, SELECTION_SAMPLE, random_state)
            chosen = _dense_when_small(points if scored is None else points[scored])
            report(0.1, "Customers' features scaled")
            clusterer, chosen_labels = self._choose(chosen, random_state, report)

        if self.algorithm in ("agglomerative", "hdbscan"):
            assign = _NearestPersona().fit(chosen, chosen_labels)
            labels = chosen_labels if scored is None else assign.predict(points)
            if scored is not None:
                labels[scored] = chosen_labels
            centers = assign.cluster_centers_
        elif scored is None:
            assign, labels, centers = clusterer, clusterer.labels_, clusterer.cluster_centers_
        else:
            report(0.9, f"Placing {customers:,} customers among {clusterer.n_clusters} personas")
            # Everyone is clustered from the chosen run's centres, which the sample already found.
            start = clusterer.cluster_centers_
            assign = self._clusterer(len(start), customers, random_state, start=start).fit(points)
            labels, centers = assign.labels_, assign.cluster_centers_
        self.pipeline_ = Pipeline([*transform.steps, ("cluster", assign)])
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.cluster_centers_ = centers
        self.n_clusters_ = len(centers)
        report(1.0, f"{self.n_clusters_} personas found")
        return self

    def predict(self, X):
        """Return the persona (0 … n_clusters_ - 1) nearest to each row of X."""
        check_is_fitted(self, "pipeline_")
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
        return self.pipeline_.predict(X).astype(np.int64)

    def fit_predict(self, X, y=None, progress: Progress | None = None):
        """Fit and return `labels_`."""
        return self.fit(X, progress=progress).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- fitting steps ----------------------------------------------------------------------------------------------

    def _check_params(self) -> None:
        problems = []
        if self.algorithm not in ALGORITHMS:
            problems.append(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {self.algorithm!r}")
        if not (self.k == "auto" or _is_whole(self.k, 2)):
            problems.append(f"k must be 'auto' or a whole number of at least 2, not {self.k!r}")
        if self.algorithm == "hdbscan" and self.k != "auto":
            problems.append("hdbscan finds the number of personas itself: leave k='auto'")
        k_range = self.k_range
        if not (
            isinstance(k_range, tuple | list)
            and len(k_range) == 2
            and all(_is_whole(bound, 2) for bound in k_range)
            and k_range[0] <= k_range[1]
        ):
            problems.append(f"k_range must be (smallest, largest) with 2 <= smallest <= largest, not {k_range!r}")
        if not (self.n_components is None or _is_whole(self.n_components, 1)):
            problems.append(f"n_components must be None or a whole number of at least 1, not {self.n_components!r}")
        for name in ("sample_size", "minibatch_threshold"):
            if not _is_whole(getattr(self, name), 2):
                problems.append(f"{name} must be a whole number of at least 2, not {getattr(self, name)!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def _transform(self, features: int, random_state: np.random.RandomState) -> Pipeline:
        """Rows scaled to length 1, then TruncatedSVD (when it keeps fewer directions than there are features) and
        rows scaled again."""
        seed = random_state.randint(np.iinfo(np.int32).max)
        if self.n_components is None or self.n_components >= features:
            reduce = "passthrough"
        else:
            reduce = make_pipeline(TruncatedSVD(self.n_components, random_state=seed), Normalizer())
        return Pipeline([("scale", Normalizer()), ("reduce", reduce)])

    def _candidates(self, sample_customers: int) -> list[int]:
        if self.algorithm == "hdbscan":
            return [0]
        if self.k != "auto":
            if self.k > sample_customers:
                raise ValueError(
                    f"k={self.k} personas need at least {self.k} samples, got n_samples = {sample_customers}"
                )
            return [self.k]
        smallest, largest = self.k_range
        # A silhouette needs at least one customer more than personas.
        candidates = list(range(smallest, min(largest, sample_customers - 1) + 1))
        if not candidates:
            raise ValueError(f"k='auto' needs at least {smallest + 1} samples, got n_samples = {sample_customers}")
        return candidates

    def _choose(self, points, random_state: np.random.RandomState, report: Progress):
        """Score every candidate k on `points`; return the chosen k's clusterer and labels (see the module doc)."""
        candidates = self._candidates(points.shape[0])
        distances = pairwise_distances(points)
        self.silhouette_by_k_, self.stability_by_k_, found = {}, {}, {}
        for done, k in enumerate(candidates, start=1):
            clusterer, labels, stability = self._runs(k, points, random_state)
            # HDBSCAN is scored under the number of personas it found.
            key = _n_clusters(labels) if self.algorithm == "hdbscan" else k
            found[key] = clusterer, labels
            self.silhouette_by_k_[key] = _silhouette(distances, labels)
            self.stability_by_k_[key] = stability
            report(0.1 + 0.8 * done / len(candidates), f"{key} personas scored")
        return found[self._chosen_k()]

    def _runs(self, k: int, points, random_state: np.random.RandomState):
        """Cluster `points` RUNS times from different seeds; return the run kept, its labels and the runs' agreement.

        k-means runs start from different k-means++ seeds and the one of smallest inertia is kept. Ward and HDBSCAN
        have no seed: each run sees another subsample, and its personas reach the other customers by nearest
        centre; the run kept clusters every point.
        """
        customers = points.shape[0]
        if self.algorithm in ("kmeans", "minibatch"):
            runs = [self._clusterer(k, customers, random_state).fit(points) for _ in range(RUNS)]
            kept = min(runs, key=lambda run: run.inertia_)
            return kept, kept.labels_, _agreement([run.labels_ for run in runs])
        size = max(2, round(SUBSAMPLE_SHARE * customers))
        assigned = []
        for _ in range(RUNS):
            subsample = np.sort(random_state.choice(customers, size, replace=False))
            labels = _cluster(self._clusterer(k, size, random_state), points[subsample])
            assigned.append(_NearestPersona().fit(points[subsample], labels).predict(points))
        clusterer = self._clusterer(k, customers, random_state)
        return clusterer, _cluster(clusterer, points), _agreement(assigned)

    def _clusterer(self, k: int, seen: int, random_state: np.random.RandomState, start: np.ndarray | None = None):
        """A fresh clusterer for k personas over `seen` customers, seeded from the estimator's random state.

        k-means starts from `start` (given centres) or from one k-means++ draw: the runs are the restarts.
        """
        seed = random_state.randint(np.iinfo(np.int32).max)
        init = {"init": "k-means++" if start is None else start, "n_init": 1}
        if self.algorithm == "minibatch" or (self.algorithm == "kmeans" and seen > self.minibatch_threshold):
            return MiniBatchKMeans(k, batch_size=MINIBATCH_SIZE, random_state=seed, **init)
        if self.algorithm == "kmeans":
            return KMeans(k, random_state=seed, **init)
        if self.algorithm == "agglomerative":
            return AgglomerativeClustering(k, linkage="ward")
        return HDBSCAN(min_cluster_size=max(5, round(MIN_PERSONA_SHARE * seen)), copy=True)

    def _chosen_k(self) -> int:
        """Return the smallest stable k whose silhouette ties with the best stable one (see the module doc)."""
        most_stable = max(self.stability_by_k_.values())
        threshold = min(MIN_STABILITY, most_stable - STABILITY_TOLERANCE)
        stable = [k for k, stability in self.stability_by_k_.items() if stability >= threshold]
        silhouettes = {k: np.nan_to_num(self.silhouette_by_k_[k], nan=-1.0) for k in stable}
        best = max(silhouettes.values())
        return min(k for k, silhouette in silhouettes.items() if silhouette >= best - SILHOUETTE_TOLERANCE)


class _NearestPersona(BaseEstimator):
    """Assigns each customer the persona whose centre (mean of its members) is nearest; -1 when there is none.

    Agglomerative and HDBSCAN personas have no `predict`: this is how customers outside their sample get one.
    """

    def fit(self, X, y):
        labels = np.asarray(y)
        kept = labels >= 0
        personas = np.unique(labels[kept])
        members = sp.csr_matrix(
            (np.ones(kept.sum()), (np.searchsorted(personas, labels[kept]), np.flatnonzero(kept))),
            shape=(personas.size, X.shape[0]),
        )
        sizes = np.asarray(members.sum(axis=1))
        self.cluster_centers_ = _dense(members @ X) / np.maximum(sizes, 1)
        self.labels_of_centers_ = personas
        return self

    def predict(self, X):
        if not self.labels_of_centers_.size:
            return np.full(X.shape[0], -1, dtype=np.int64)
        return self.labels_of_centers_[pairwise_distances_argmin(X, self.cluster_centers_)]


def _silent(fraction: float, message: str) -> None:
    """Progress that nobody hears."""


def _sample(customers: int, size: int, random_state: np.random.RandomState) -> np.ndarray | None:
    """Sorted rows of a seeded sample of `size` customers, or None when there are no more than that."""
    return np.sort(random_state.choice(customers, size, replace=False)) if customers > size else None


def _cluster(clusterer, points) -> np.ndarray:
    if isinstance(clusterer, AgglomerativeClustering | HDBSCAN):
        return clusterer.fit_predict(_dense(points))
    return clusterer.fit(points).labels_


def _agreement(labellings: list[np.ndarray]) -> float:
    """Mean adjusted Rand index over every pair of labellings of the same customers."""
    return float(np.mean([_adjusted_rand(first, second) for first, second in combinations(labellings, 2)]))


def _adjusted_rand(first: np.ndarray, second: np.ndarray) -> float:
    """The adjusted Rand index of two labellings (as `sklearn.metrics.adjusted_rand_score`, without its input
    checks, which cost a hundred times the arithmetic over the hundreds of pairs a fit compares)."""
    first = np.unique(first, return_inverse=True)[1]
    second = np.unique(second, return_inverse=True)[1]
    width = int(second.max()) + 1
    table = np.bincount(first * width + second, minlength=(int(first.max()) + 1) * width).astype(np.float64)
    pairs = float(np.sum(table * (table - 1)) / 2)
    rows = _pairs_within(table.reshape(-1, width).sum(axis=1))
    columns = _pairs_within(table.reshape(-1, width).sum(axis=0))
    expected = rows * columns / _pairs_within(np.array([first.size], dtype=np.float64))
    largest = (rows + columns) / 2
    return 1.0 if largest == expected else (pairs - expected) / (largest - expected)


def _pairs_within(sizes: np.ndarray) -> float:
    return float(np.sum(sizes * (sizes - 1)) / 2)


def _n_clusters(labels: np.ndarray) -> int:
    return int(np.unique(labels[labels >= 0]).size)


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the clustered (non-outlier) customers, from their distances; NaN when it is undefined.

    As `sklearn.metrics.silhouette_score` (a customer alone in its persona scores 0), from one product of the
    distances with the personas' memberships, so that the distances are computed once for every k.
    """
    kept = labels >= 0
    personas, members = np.unique(labels[kept], return_inverse=True)
    if not 2 <= personas.size < kept.sum():
        return float("nan")
    distances = distances if kept.all() else distances[np.ix_(kept, kept)]
    membership = np.zeros((members.size, personas.size))
    membership[np.arange(members.size), members] = 1.0
    sizes = membership.sum(axis=0)
    sums = distances @ membership
    rows = np.arange(members.size)
    own_size = sizes[members]
    own = sums[rows, members] / np.maximum(own_size - 1, 1)
    sums[rows, members] = np.inf
    nearest = np.min(sums / sizes, axis=1)
    # Customers on top of each other score 0/0: 0, as in scikit-learn.
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(own_size > 1, (nearest - own) / np.maximum(own, nearest), 0.0)
    return float(np.mean(np.nan_to_num(scores)))


def _dense(points):
    return points.toarray() if sp.issparse(points) else points


def _dense_when_small(points):
    """Dense k-means is many times faster than sparse: densify the customers clustered when they fit in memory."""
    return _dense(points) if np.prod(points.shape) <= DENSE_VALUES_LIMIT else points


def _is_whole(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum
