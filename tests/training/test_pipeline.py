"""The training run's product: a self-describing bundle, reproduced bit for bit by its own command."""

from __future__ import annotations

import hashlib
import shlex
from datetime import datetime
from importlib import metadata
from pathlib import Path

import msgspec
import numpy as np
import pytest

from runtime.core.bundle import ARRAYS_FILE, FORMAT_VERSION, Bundle, load_bundle
from runtime.scoring.export import NUMERIC_COLUMNS
from tests.conftest import DEFAULT_BUNDLE
from tests.training.conftest import Retrain
from training.model import DISCOUNT_WEIGHT

# DESIGN.md's figures for the seed's segments on the 86 customers, by segment id.
SEED_PROFILES = {
    0: {"AnnualIncome": 262e3, "TotalSpent": 54e3, "MonthlyPurchases": 2.2, "AppTimeMinutes": 19},
    1: {"AnnualIncome": 1.03e6, "TotalSpent": 663e3, "MonthlyPurchases": 16.1,
        "AppTimeMinutes": 116},
    2: {"AnnualIncome": 585e3, "TotalSpent": 260e3, "MonthlyPurchases": 8.8, "AppTimeMinutes": 68},
}
FEATURES = [
    ("AnnualIncome", "numeric", 1.0), ("TotalSpent", "numeric", 1.0),
    ("MonthlyPurchases", "numeric", 1.0), ("AvgOrderValue", "numeric", 1.0),
    ("AppTimeMinutes", "numeric", 1.0), ("DiscountUsage", "ordinal", DISCOUNT_WEIGHT),
    ("Age", "numeric", 0.0), ("Gender", "binary", 0.0), ("City", "one-hot", 0.0),
    ("PreferredShoppingTime", "binary", 0.0),
]


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)


def test_the_bundle_says_what_it_is_and_when_it_was_made(shipped: Bundle) -> None:
    manifest = shipped.manifest
    assert manifest.format_version == FORMAT_VERSION
    assert (manifest.model.name, manifest.model.version) == ("customer-segmentation", "1.0.0")
    assert (manifest.model.k, manifest.model.random_state) == (3, 42)
    trained_at = datetime.fromisoformat(manifest.model.trained_at)
    assert trained_at.utcoffset() is not None
    assert manifest.model.command == (
        "python -m training --data ../shared/data/CustomerData.csv "
        "--out artifacts/customer-segmentation/1.0.0"
    )


def test_the_bundle_names_its_training_data_by_checksum(
    shipped: Bundle, customer_data: Path
) -> None:
    training = shipped.manifest.training
    assert training.data_file == customer_data.name
    assert training.data_sha256 == hashlib.sha256(customer_data.read_bytes()).hexdigest()


def test_the_bundle_records_each_cleaning_step(shipped: Bundle) -> None:
    steps = [msgspec.structs.asdict(step) for step in shipped.manifest.training.cleaning]
    assert steps == [
        {"step": "drop incomplete rows", "rows_in": 100, "rows_out": 96,
         "reasons": {"missing value": 3, "truncated": 1}},
        {"step": "drop 1.5 x IQR outliers", "rows_in": 96, "rows_out": 86,
         "reasons": {"outlier: AnnualIncome": 8, "outlier: TotalSpent": 2}},
    ]


def test_the_bundle_records_the_library_versions(shipped: Bundle) -> None:
    versions = shipped.manifest.training.library_versions
    assert set(versions) == {"python", "numpy", "scikit-learn", "msgspec", "matplotlib"}
    assert all(versions.values())


def test_the_features_say_how_each_field_enters_the_model(shipped: Bundle) -> None:
    features = shipped.manifest.features
    assert [(f.field, f.kind, f.weight) for f in features] == FEATURES
    by_field = {f.field: f for f in features}
    assert by_field["DiscountUsage"].categories == ["Low", "Medium", "High"]
    assert by_field["Gender"].categories == ["F", "M"]
    assert by_field["Gender"].aliases == {"Female": "F", "Male": "M"}
    assert by_field["Gender"].unknown == "reject"
    assert by_field["City"].categories == sorted(by_field["City"].categories)
    assert len(by_field["City"].categories) == 7
    assert by_field["City"].unknown == "neutral"  # an unseen city pulls towards no segment
    assert by_field["PreferredShoppingTime"].categories == ["Day", "Night"]


def test_the_arrays_match_the_features_and_their_checksum(shipped: Bundle) -> None:
    assert shipped.mean.shape == shipped.scale.shape == (6,)
    assert shipped.centroids.shape == (3, 6)
    assert (shipped.scale > 0).all()
    arrays = shipped.manifest.arrays
    assert arrays is not None
    assert arrays.file == ARRAYS_FILE
    assert arrays.sha256 == hashlib.sha256((DEFAULT_BUNDLE / ARRAYS_FILE).read_bytes()).hexdigest()


def test_the_segments_carry_the_catalogue_and_the_profiles(shipped: Bundle) -> None:
    segments = shipped.manifest.segments
    assert [(s.id, s.name) for s in segments] == [
        (0, "Price-Sensitive Occasional"), (1, "High-Value Loyal"), (2, "Value-Seeking Regular"),
    ]
    assert [s.size for s in segments] == shipped.manifest.metrics.sizes == [18, 15, 53]
    for segment in segments:
        assert segment.description
        assert len(segment.offers) == 4 and all(segment.offers)
        assert len(segment.characteristics) == 4
        assert set(NUMERIC_COLUMNS) <= set(segment.profile)
        for field, seed in SEED_PROFILES[segment.id].items():
            assert segment.profile[field] == pytest.approx(seed, rel=0.05), (segment.id, field)
    assert segments[2].characteristics[0] == "Mid-range annual income (~$586K)"


def test_the_metrics_and_drift_references(shipped: Bundle) -> None:
    manifest = shipped.manifest
    assert manifest.metrics.silhouette >= 0.5
    assert manifest.metrics.inertia > 0
    assert [d.field for d in manifest.drift] == [f.field for f in manifest.features]
    for reference, spec in zip(manifest.drift, manifest.features, strict=True):
        assert sum(reference.shares) == pytest.approx(1.0, abs=1e-5)
        if spec.kind == "numeric":
            assert reference.edges == sorted(reference.edges)
            assert len(reference.shares) == len(reference.edges) + 1 <= 10
        else:
            assert reference.edges == []
            assert len(reference.shares) == len(spec.categories) + 1  # the last for unknowns
            assert reference.shares[-1] == 0.0


def test_the_recorded_command_reproduces_the_bundle_bit_for_bit(
    shipped: Bundle, retrain: Retrain
) -> None:
    again = retrain.bundle
    for name in ("mean", "scale", "centroids"):
        assert np.array_equal(getattr(again, name), getattr(shipped, name)), name
    assert again.checksum == shipped.checksum
    assert (retrain.out / ARRAYS_FILE).read_bytes() == (DEFAULT_BUNDLE / ARRAYS_FILE).read_bytes()
    # Everything but the time and the output path is the same, the stability figure included.
    assert shipped.manifest.metrics.stability is not None
    assert msgspec.structs.replace(
        again.manifest,
        model=msgspec.structs.replace(again.manifest.model,
                                      trained_at=shipped.manifest.model.trained_at,
                                      command=shipped.manifest.model.command),
    ) == shipped.manifest


def test_the_manifest_records_the_exact_command_and_this_run(retrain: Retrain) -> None:
    manifest = retrain.bundle.manifest
    assert manifest.model.command == shlex.join(["python", "-m", "training", *retrain.arguments])
    assert manifest.model.version == retrain.out.name
    versions = manifest.training.library_versions
    for library in ("numpy", "scikit-learn", "msgspec", "matplotlib"):
        assert versions[library] == metadata.version(library)
    assert "bundle written to" in retrain.stderr.splitlines()[-1]
