"""A 2-D picture of the customers and their personas: TruncatedSVD of the scaled features, on a sample.

Rows are scaled to length 1 first, as `Personas` scales them before clustering, so that the picture shows the
distances the clustering saw. TruncatedSVD works on the sparse matrix as it is (no centring, no dense copy), and
a seeded sample keeps the scatter readable and light in the browser. The work is small: it runs on one thread, which
on a shared machine is several times faster than waiting for a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import Normalizer
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from segmentation._features import CustomerFeatures

__all__ = ["Projection", "project_2d"]

MAX_POINTS = 5_000


@dataclass(frozen=True, eq=False)
class Projection:
    """Sampled customers placed on the plane of the two strongest directions of their features.

    `points`: case_id, persona, x, y (one row per sampled customer, in case id order). `explained_variance_ratio`:
    the share of the features' variance each axis carries. `customers`: how many customers the sample came from.
    """

    points: pd.DataFrame
    explained_variance_ratio: tuple[float, float]
    customers: int


def project_2d(
    features: CustomerFeatures, labels: Sequence, *, max_points: int = MAX_POINTS, random_state: int = 0
) -> Projection:
    """Return at most `max_points` customers of `features` placed in 2-D, each with its label (persona).

    >>> project_2d(features, model.labels_).points.head()  # doctest: +SKIP
    """
    if not isinstance(features, CustomerFeatures):
        raise TypeError(f"project_2d needs CustomerFeatures, not {type(features).__name__}")
    labels = np.asarray(labels)
    customers = features.matrix.shape[0]
    if labels.shape != (customers,):
        raise ValueError(f"{customers} customers but {labels.size} labels: give one label per customer")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points must be a whole number of at least 1, not {max_points!r}")
    with threadpool_limits(1):
        return _project_2d(features, labels, max_points, check_random_state(random_state))


def _project_2d(
    features: CustomerFeatures, labels: np.ndarray, max_points: int, random_state: np.random.RandomState
) -> Projection:
    customers = features.matrix.shape[0]
    rows = np.arange(customers)
    if customers > max_points:
        rows = np.sort(random_state.choice(customers, max_points, replace=False))
    scaled = Normalizer().fit_transform(features.matrix[rows])
    # TruncatedSVD needs fewer components than features; a log of one feature is drawn on a line.
    components = min(2, scaled.shape[1] - 1)
    if components < 1:
        coordinates, ratio = np.zeros((rows.size, 2)), (0.0, 0.0)
    else:
        svd = TruncatedSVD(components, random_state=random_state.randint(np.iinfo(np.int32).max))
        coordinates = np.zeros((rows.size, 2))
        coordinates[:, :components] = svd.fit_transform(scaled)
        ratio = (*map(float, svd.explained_variance_ratio_), 0.0)[:2]
    points = pd.DataFrame(
        {
            "case_id": features.case_ids[rows],
            "persona": labels[rows],
            "x": coordinates[:, 0],
            "y": coordinates[:, 1],
        }
    )
    return Projection(points=points, explained_variance_ratio=ratio, customers=customers)
