"""The feature layout: computed once per bundle, and the one every reader of model columns follows.

The features come in an order no shipped bundle uses: unweighted fields first and
in between, a weighted one-hot field ahead of the numbers, weights other than 1.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from runtime.core.bundle import Bundle, FeatureSpec, load_bundle, write_bundle
from runtime.core.drift import DriftMonitor
from runtime.core.feature_layout import FeatureLayout
from runtime.core.features import InvalidValue
from runtime.core.model import BundleCheckError, Model
from runtime.core.predictor import Predictor
from tests.conftest import DEFAULT_BUNDLE

UNUSUAL = [
    FeatureSpec("Gender", "binary", 0.0, ["F", "M"], {"Female": "F", "Male": "M"}),
    FeatureSpec("City", "one-hot", 0.5, ["Delhi", "Mumbai", "Pune"], unknown="neutral"),
    FeatureSpec("Age", "numeric", 0.0),
    FeatureSpec("TotalSpent", "numeric", 2.0),
    FeatureSpec("DiscountUsage", "ordinal", 1.0, ["Low", "Medium", "High"]),
    FeatureSpec("PreferredShoppingTime", "binary", 0.25, ["Day", "Night"]),
    FeatureSpec("AnnualIncome", "numeric", 1.0),
]
# One customer per segment, and the raw model columns each must encode as, in model order.
CUSTOMERS = {
    "Gender": ["F", "M", "Female"],
    "City": ["Delhi", "Mumbai", "Pune"],
    "Age": [30, 45, 35],
    "TotalSpent": [50_000.0, 700_000.0, 250_000.0],
    "DiscountUsage": ["Low", "High", "Medium"],
    "PreferredShoppingTime": ["Day", "Night", "Night"],
    "AnnualIncome": [250_000.0, 1_200_000.0, 600_000.0],
}
RAW = np.array([
    [1, 0, 0, 50_000, 0, 0, 250_000],
    [0, 1, 0, 700_000, 2, 1, 1_200_000],
    [0, 0, 1, 250_000, 1, 1, 600_000],
], dtype=np.float64)


def test_the_layout_keeps_manifest_order_and_lays_out_weighted_features_only() -> None:
    layout = FeatureLayout.of(UNUSUAL)
    assert layout.features == tuple(UNUSUAL)
    assert layout.fields == ("City", "TotalSpent", "DiscountUsage", "PreferredShoppingTime",
                             "AnnualIncome")
    assert [spec.field for spec in layout.weighted] == list(layout.fields)
    assert [spec.field for spec in layout.unweighted] == ["Gender", "Age"]
    assert layout.starts.tolist() == [0, 3, 4, 5, 6]
    assert layout.widths.tolist() == [3, 1, 1, 1, 1]
    assert layout.width == 7
    assert layout.weights.tolist() == [0.5, 0.5, 0.5, 2.0, 1.0, 0.25, 1.0]
    assert layout.names == ("City=Delhi", "City=Mumbai", "City=Pune", "TotalSpent",
                            "DiscountUsage", "PreferredShoppingTime", "AnnualIncome")


def test_the_layout_arrays_are_read_only() -> None:
    layout = FeatureLayout.of(UNUSUAL)
    for array in (layout.starts, layout.widths, layout.weights):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 9


def _profile(row: np.ndarray, customer: int) -> dict[str, float]:
    """A segment's profile whose mean customer is ``CUSTOMERS``' row ``customer``."""
    profile = {field: float(CUSTOMERS[field][customer]) for field in ("Age", "TotalSpent", "AnnualIncome")}
    profile["DiscountUsage"] = float(row[4])
    for spec in UNUSUAL:
        for category in spec.categories:
            named = spec.aliases.get(CUSTOMERS[spec.field][customer], CUSTOMERS[spec.field][customer])
            profile[f"{spec.field}={category}"] = float(named == category)
    return profile


def _write_unusual(directory: Path) -> Path:
    """A bundle of the ``UNUSUAL`` features whose segment ``i`` is centred on customer ``i``."""
    shipped = load_bundle(DEFAULT_BUNDLE)
    mean, scale = RAW.mean(axis=0), RAW.std(axis=0)
    weights = np.array([0.5, 0.5, 0.5, 2.0, 1.0, 0.25, 1.0])  # as the first test spells them out
    segments = [msgspec.structs.replace(segment, profile=_profile(RAW[segment.id], segment.id))
                for segment in shipped.manifest.segments]
    manifest = msgspec.structs.replace(shipped.manifest, features=UNUSUAL, drift=[], segments=segments)
    write_bundle(directory, manifest, mean=mean, scale=scale, centroids=(RAW - mean) / scale * weights)
    return directory


@pytest.fixture
def unusual(tmp_path: Path) -> Bundle:
    return load_bundle(_write_unusual(tmp_path / "unusual"))


def test_loading_and_serving_a_bundle_computes_its_layout_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _write_unusual(tmp_path / "unusual")
    built: list[FeatureLayout] = []
    of = FeatureLayout.of

    def counted(features: list[FeatureSpec]) -> FeatureLayout:
        built.append(of(features))
        return built[-1]

    monkeypatch.setattr(FeatureLayout, "of", counted)
    bundle = load_bundle(directory)
    model = Model(bundle)
    model.check()
    monitor = DriftMonitor(bundle.layout, bundle.manifest.drift, window=100)
    predictions = model.predict(CUSTOMERS)
    monitor.observe(CUSTOMERS)
    model.predictor.explain(predictions)
    assert built == [bundle.layout]
    assert model.predictor.layout is bundle.layout
    assert model.predictor.encoder.layout is bundle.layout


def test_the_arrays_have_the_layouts_width(unusual: Bundle) -> None:
    width = unusual.layout.width
    assert unusual.mean.shape == unusual.scale.shape == (width,)
    assert unusual.centroids.shape == (3, width)
    assert unusual.manifest.arrays is not None
    assert unusual.manifest.arrays.shapes["centroids"] == [3, width]


def test_the_encoder_writes_each_feature_at_its_start(unusual: Bundle) -> None:
    encoder = Predictor(unusual).encoder
    assert encoder.width == unusual.layout.width
    assert encoder.fields == (*unusual.layout.fields, "Gender")  # validated, never a column
    np.testing.assert_array_equal(encoder.transform(CUSTOMERS), RAW)
    with pytest.raises(InvalidValue, match="Unknown value 'X'"):  # unweighted, still refused
        encoder.transform({**CUSTOMERS, "Gender": ["F", "X", "M"]})


def test_the_predictor_weights_and_explains_by_the_layout(unusual: Bundle) -> None:
    predictor = Predictor(unusual)
    layout = unusual.layout
    np.testing.assert_array_equal(predictor.multiplier, layout.weights / unusual.scale)
    predictions = predictor.predict(CUSTOMERS)
    assert predictions.segments.tolist() == [0, 1, 2]
    np.testing.assert_allclose(predictions.scaled, unusual.centroids, atol=1e-12)
    # Moved off its centroid, customer 0's contributions add up per feature, columns by the layout.
    moved = predictor.predict_raw(RAW[:1] * 1.5)
    explained = predictor.explain(moved)
    assigned = unusual.centroids[moved.segments[0]]
    other = unusual.centroids[explained.runner_up[0]]
    per_column = (assigned - other) * (2.0 * moved.scaled[0] - assigned - other)
    by_feature = [per_column[start:start + width].sum()
                  for start, width in zip(layout.starts, layout.widths, strict=True)]
    np.testing.assert_allclose(explained.contributions[0], by_feature)


def test_the_profiles_read_the_same_columns(unusual: Bundle) -> None:
    # check() places every segment's profile in model columns: each lands on its own centroid,
    # and only its own.
    Model(unusual).check()
    swapped = [msgspec.structs.replace(segment, profile=_profile(RAW[2 - segment.id], 2 - segment.id))
               for segment in unusual.manifest.segments]
    manifest = msgspec.structs.replace(unusual.manifest, segments=swapped)
    with pytest.raises(BundleCheckError, match="does not match the centroids"):
        Model(msgspec.structs.replace(unusual, manifest=manifest)).check()
