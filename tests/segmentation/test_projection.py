"""The 2-D projection of personas: a seeded sample that keeps each customer's persona."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from segmentation import CustomerFeatures, project_2d


def test_the_projection_samples_at_most_the_points_asked_and_keeps_each_customers_label() -> None:
    customers = 300
    matrix = sp.csr_matrix(np.eye(3)[np.arange(customers) % 3] + 0.1)
    features = CustomerFeatures(
        matrix, ("a", "b", "c"), pd.Index([f"c{row:03d}" for row in range(customers)]), pd.DataFrame()
    )
    labels = np.arange(customers) % 3
    projection = project_2d(features, labels, max_points=100)
    assert len(projection.points) == 100 and projection.customers == customers
    rows = features.case_ids.get_indexer(projection.points["case_id"])
    assert (projection.points["persona"].to_numpy() == labels[rows]).all()
