"""Personas: a scikit-learn clustering estimator over customer features, with the number of personas chosen for you.

The pipeline scales each customer's row to length 1 (so that k-means compares mixes, not volumes, and the input
stays sparse), optionally reduces it with TruncatedSVD, and clusters. With `k="auto"` each candidate k is scored on
a sample of at most `sample_size` customers by its silhouette and its bootstrap stability (the adjusted Rand index
between the personas of two fits on bootstrap resamples); the most stable k's compete on silhouette, and a tie
within sampling noise goes to the larger k, since a persona too many is merged by eye more easily than one missed.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import Normalizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ALGORITHMS", "Personas"]

ALGORITHMS = ("kmeans", "minibatch", "agglomerative", "hdbscan")
# Ward linkage and HDBSCAN need memory quadratic in the customers they see: they see at most this many.
QUADRATIC_SAMPLE_LIMIT = 10_000
SILHOUETTE_SAMPLE = 3_000
STABILITY_RESAMPLES = 3
# Stability is measured on this many of the sampled customers.
STABILITY_SAMPLE = 2_000
# A k whose stability falls short of the best by more than this is not considered.
STABILITY_TOLERANCE = 0.1
# Silhouettes closer than this (on SILHOUETTE_SAMPLE customers) are a tie, settled towards more personas.
SILHOUETTE_TOLERANCE = 0.01
# HDBSCAN's smallest persona, as a share of the customers it sees.
MIN_PERSONA_SHARE = 0.02
N_INIT = 3
MINIBATCH_SIZE = 4_096
DENSE_VALUES_LIMIT = 50_000_000


class Personas(ClusterMixin, BaseEstimator):
    """Cluster customers into personas; `k="auto"` picks how many by silhouette and bootstrap stability.

    Parameters are stored untouched and checked in `fit`. `algorithm` is "kmeans" (MiniBatchKMeans above
    `minibatch_threshold` customers), "minibatch", "agglomerative" (Ward) or "hdbscan" (finds k itself, leaves
    outliers as -1). The last two cluster a sample and give every other customer its nearest persona's label.

    Fitted attributes: `labels_`, `n_clusters_`, `pipeline_` (its `predict` gives the nearest persona),
    `cluster_centers_` (in the pipeline's space), `silhouette_by_k_` and `stability_by_k_` (the k's scored),
    `n_features_in_`.

    >>> model = Personas(k="auto", random_state=0).fit(features.matrix)  # doctest: +SKIP
    >>> model.n_clusters_, model.silhouette_by_k_  # doctest: +SKIP
    """

    def __init__(
        self,
        k="auto",
        k_range=(2, 8),
        algorithm="kmeans",
        n_components=None,
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

    def fit(self, X, y=None):
        """Find the personas of the customers in X (rows: customers, columns: features)."""
        self._check_params()
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        customers = X.shape[0]
        if customers < 2:
            raise ValueError(f"Personas needs at least 2 samples, got n_samples = {customers}.")
        if self.n_components is not None and self.n_components > X.shape[1]:
            raise ValueError(f"n_components={self.n_components} cannot exceed n_features = {X.shape[1]}.")
        random_state = check_random_state(self.random_state)
        limit = (
            self.sample_size
            if self.algorithm in ("kmeans", "minibatch")
            else min(self.sample_size, QUADRATIC_SAMPLE_LIMIT)
        )
        sample = np.sort(random_state.choice(customers, limit, replace=False)) if customers > limit else None
        transform = self._transform(random_state).fit(X if sample is None else X[sample])
        points = transform.transform(X)
        sampled = _dense_when_small(points if sample is None else points[sample])

        seen = sampled.shape[0]
        self.silhouette_by_k_, self.stability_by_k_, fitted = {}, {}, {}
        for k in self._candidates(seen):
            clusterer = self._clusterer(k, seen, random_state)
            labels = _cluster(clusterer, sampled)
            # HDBSCAN is scored under the number of personas it found.
            key = _n_clusters(labels) if self.algorithm == "hdbscan" else k
            fitted[key] = clusterer, labels
            self.silhouette_by_k_[key] = _silhouette(sampled, labels, random_state)
            self.stability_by_k_[key] = self._stability(k, sampled, random_state)
        clusterer, sample_labels = fitted[self._chosen_k()]

        if self.algorithm in ("agglomerative", "hdbscan"):
            assign = _NearestPersona().fit(sampled, sample_labels)
            if sample is None:
                labels = sample_labels
            else:
                labels = assign.predict(points)
                labels[sample] = sample_labels
            centers = assign.cluster_centers_
        else:
            if sample is not None:
                # Everyone is clustered from the sample's centres, which the sample already found.
                start = clusterer.cluster_centers_
                clusterer = self._clusterer(len(start), customers, random_state, start=start).fit(points)
            assign = clusterer
            labels, centers = clusterer.labels_, clusterer.cluster_centers_
        self.pipeline_ = Pipeline([*transform.steps, ("cluster", assign)])
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.cluster_centers_ = centers
        self.n_clusters_ = len(centers)
        return self

    def predict(self, X):
        """Return the persona (0 … n_clusters_ - 1) nearest to each row of X."""
        check_is_fitted(self, "pipeline_")
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
        return self.pipeline_.predict(X).astype(np.int64)

    def fit_predict(self, X, y=None):
        """Fit and return `labels_`."""
        return self.fit(X).labels_

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

    def _transform(self, random_state: np.random.RandomState) -> Pipeline:
        """Rows scaled to length 1, then (optionally) TruncatedSVD and rows scaled again."""
        if self.n_components is None:
            reduce = "passthrough"
        else:
            svd = TruncatedSVD(self.n_components, random_state=random_state.randint(np.iinfo(np.int32).max))
            reduce = make_pipeline(svd, Normalizer())
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

    def _clusterer(self, k: int, seen: int, random_state: np.random.RandomState, start: np.ndarray | None = None):
        """A fresh clusterer for k personas over `seen` customers, seeded from the estimator's random state.

        k-means starts from `start` (given centres) or keeps the best of N_INIT k-means++ runs.
        """
        seed = random_state.randint(np.iinfo(np.int32).max)
        init = {"init": "k-means++", "n_init": N_INIT} if start is None else {"init": start, "n_init": 1}
        if self.algorithm == "minibatch" or (self.algorithm == "kmeans" and seen > self.minibatch_threshold):
            return MiniBatchKMeans(k, batch_size=MINIBATCH_SIZE, random_state=seed, **init)
        if self.algorithm == "kmeans":
            return KMeans(k, random_state=seed, **init)
        if self.algorithm == "agglomerative":
            return AgglomerativeClustering(k, linkage="ward")
        return HDBSCAN(min_cluster_size=max(5, round(MIN_PERSONA_SHARE * seen)), copy=True)

    def _stability(self, k: int, points, random_state: np.random.RandomState) -> float:
        """Mean adjusted Rand index between the nearest personas of fits on two bootstrap resamples."""
        if points.shape[0] > STABILITY_SAMPLE:
            points = points[np.sort(random_state.choice(points.shape[0], STABILITY_SAMPLE, replace=False))]
        agreements = []
        for _ in range(STABILITY_RESAMPLES):
            assigned = []
            for _ in range(2):
                resample = random_state.randint(points.shape[0], size=points.shape[0])
                clusterer = self._clusterer(k, points.shape[0], random_state)
                labels = _cluster(clusterer, points[resample])
                assigned.append(_NearestPersona().fit(points[resample], labels).predict(points))
            agreements.append(adjusted_rand_score(*assigned))
        return float(np.mean(agreements))

    def _chosen_k(self) -> int:
        """Return the k to keep: the largest of the stable k's whose silhouette ties with the best.

        Stable: within STABILITY_TOLERANCE of the most stable k; a tie: within SILHOUETTE_TOLERANCE.
        """
        most_stable = max(self.stability_by_k_.values())
        stable = [k for k, stability in self.stability_by_k_.items() if stability >= most_stable - STABILITY_TOLERANCE]
        silhouettes = {k: np.nan_to_num(self.silhouette_by_k_[k], nan=-1.0) for k in stable}
        best = max(silhouettes.values())
        return max(k for k, silhouette in silhouettes.items() if silhouette >= best - SILHOUETTE_TOLERANCE)


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


def _cluster(clusterer, points) -> np.ndarray:
    if isinstance(clusterer, AgglomerativeClustering | HDBSCAN):
        return clusterer.fit_predict(_dense(points))
    return clusterer.fit(points).labels_


def _n_clusters(labels: np.ndarray) -> int:
    return int(np.unique(labels[labels >= 0]).size)


def _silhouette(points, labels: np.ndarray, random_state: np.random.RandomState) -> float:
    """Silhouette of the clustered (non-outlier) customers, on a sample; NaN when it is undefined."""
    kept = labels >= 0
    found = _n_clusters(labels)
    if found < 2 or found >= kept.sum():
        return float("nan")
    return float(
        silhouette_score(
            points[kept], labels[kept], sample_size=min(SILHOUETTE_SAMPLE, int(kept.sum())), random_state=random_state
        )
    )


def _dense(points):
    return points.toarray() if sp.issparse(points) else points


def _dense_when_small(points):
    """Dense k-means is many times faster than sparse: densify the customers clustered when they fit in memory."""
    return _dense(points) if np.prod(points.shape) <= DENSE_VALUES_LIMIT else points


def _is_whole(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum
