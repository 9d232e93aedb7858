"""Training lays out features as the runtime does: a model fitted on features in an unusual
order, written as a bundle, is read back column for column."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from runtime.core.bundle import load_bundle, write_bundle
from runtime.core.model import Model
from runtime.core.predictor import Predictor
from runtime.scoring.export import ExportChunk
from tests.conftest import DEFAULT_BUNDLE
from training.catalogue import build_catalogue
from training.model import drift_reference, feature_specs, fit
from training.warm import load_parent

# The training features reordered and reweighted: unweighted ones first and in between,
# the one-hot City weighted ahead of the numbers.
UNUSUAL = [("Gender", 0.0), ("City", 0.5), ("Age", 0.0), ("TotalSpent", 2.0),
           ("DiscountUsage", 1.0), ("PreferredShoppingTime", 0.25), ("AnnualIncome", 1.0)]


def test_a_bundle_trained_on_an_unusual_layout_reads_back_column_for_column(
    customers: ExportChunk, tmp_path: Path
) -> None:
    specs = {spec.field: spec for spec in feature_specs(customers)}
    features = [msgspec.structs.replace(specs[field], weight=weight) for field, weight in UNUSUAL]
    fitted = fit(customers, features)
    assert fitted.layout.fields == ("City", "TotalSpent", "DiscountUsage", "PreferredShoppingTime",
                                    "AnnualIncome")
    assert fitted.mean.shape == (fitted.layout.width,) == (len(specs["City"].categories) + 4,)
    manifest = msgspec.structs.replace(
        load_bundle(DEFAULT_BUNDLE).manifest, features=features,
        segments=build_catalogue(fitted.profiles, fitted.sizes),
        drift=drift_reference(customers, features))
    directory = tmp_path / "unusual"
    write_bundle(directory, manifest, mean=fitted.mean, scale=fitted.scale, centroids=fitted.centroids)
    bundle = load_bundle(directory)
    assert bundle.layout.names == fitted.layout.names
    np.testing.assert_array_equal(bundle.layout.weights, fitted.layout.weights)
    # The runtime places the training customers where training did, in the same segments...
    predictions = Predictor(bundle).predict(customers.columns)
    np.testing.assert_allclose(predictions.scaled, fitted.space(customers), atol=1e-9)
    assert np.array_equal(predictions.segments, fitted.segments)
    # ...reads the profiles training measured as the same columns...
    Model(bundle).check()
    # ...and a warm start carries the centroids back into the space they came from.
    np.testing.assert_allclose(
        load_parent(directory).centroids(features, fitted.mean, fitted.scale), fitted.centroids,
        atol=1e-9)
