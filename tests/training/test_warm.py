"""Warm starts: K-Means from a parent bundle's centroids, carried into the new scaling."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from runtime.core.bundle import Bundle, load_bundle, write_bundle
from tests.conftest import DEFAULT_BUNDLE
from training.__main__ import main
from training.pipeline import train
from training.warm import centroids_in_units, load_parent


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)


def test_a_warm_start_on_the_same_export_keeps_the_model_and_names_its_parent(
    customer_data: Path, shipped: Bundle, tmp_path: Path
) -> None:
    manifest = train(customer_data, tmp_path / "1.1.0", warm_start=DEFAULT_BUNDLE)
    warm = load_bundle(tmp_path / "1.1.0")
    np.testing.assert_allclose(warm.centroids, shipped.centroids, atol=1e-12)
    parent = manifest.training.parent
    assert parent is not None
    assert (parent.name, parent.version, parent.arrays_sha256) == (
        "customer-segmentation", "1.0.0", shipped.checksum)
    assert warm.manifest.training.parent == parent
    assert [s.name for s in warm.manifest.segments] == [s.name for s in shipped.manifest.segments]
    stability = warm.manifest.metrics.stability
    assert stability is not None and stability.refit == "warm"
    page = (tmp_path / "1.1.0" / "report" / "report.md").read_text()
    assert f"Warm-started from customer-segmentation 1.0.0 (arrays `{shipped.checksum}`)" in page


def test_the_parent_centroids_keep_their_original_units_in_a_new_scaling(shipped: Bundle) -> None:
    parent = load_parent(DEFAULT_BUNDLE)
    features = shipped.manifest.features
    # Next month: every mean shifted and every spread doubled.
    mean, scale = shipped.mean * 1.1 + 3.0, shipped.scale * 2.0
    mapped = parent.centroids(features, mean, scale)
    # The five spending fields at weight 1, DiscountUsage at 0.8 (the shipped model's).
    weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.8])
    parent_units = shipped.centroids / weights * shipped.scale + shipped.mean
    np.testing.assert_allclose(mapped / weights * scale + mean, parent_units, rtol=1e-12)
    np.testing.assert_allclose(centroids_in_units(shipped), parent_units, rtol=1e-12)
    # Income in the parent's segment 1, by hand: standardized, back to money, standardized anew.
    income = shipped.centroids[1, 0] * shipped.scale[0] + shipped.mean[0]
    assert mapped[1, 0] == pytest.approx((income - mean[0]) / scale[0])


def test_a_parent_with_another_k_or_other_features_is_refused(shipped: Bundle) -> None:
    parent = load_parent(DEFAULT_BUNDLE)
    features = shipped.manifest.features
    with pytest.raises(ValueError, match=r"the parent has k=3, this run k=4; a new k starts fresh"):
        parent.check(4, features)
    heavier_age = [msgspec.structs.replace(spec, weight=1.0) if spec.field == "Age" else spec
                   for spec in features]
    with pytest.raises(ValueError, match=r"new features start fresh"):
        parent.check(3, heavier_age)
    parent.check(3, features)  # the same model columns: accepted


def test_a_warm_start_with_another_k_ends_in_one_error_line_and_no_bundle(
    customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "2.0.0"
    code = main(["--data", str(customer_data), "--out", str(out), "--k", "4",
                 "--warm-start", str(DEFAULT_BUNDLE)])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert code == 1
    assert len(errors) == 1 and "the parent has k=3, this run k=4" in errors[0], errors
    assert not out.exists()


def test_a_missing_or_broken_parent_ends_in_one_error_line(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    write_bundle(broken, shipped.manifest, mean=shipped.mean, scale=shipped.scale,
                 centroids=shipped.centroids)
    (broken / "arrays.npz").write_bytes(b"not the arrays")
    for parent, fragment in ((tmp_path / "absent", "bundle directory not found"),
                             (broken, "SHA-256 is")):
        code = main(["--data", str(customer_data), "--out", str(tmp_path / "out"),
                     "--warm-start", str(parent)])
        errors = [line for line in capsys.readouterr().err.splitlines()
                  if line.startswith("error: ")]
        assert code == 1
        assert len(errors) == 1 and fragment in errors[0] and str(parent) in errors[0], errors
        assert not (tmp_path / "out").exists()


def test_segment_ids_come_from_the_catalogue_not_from_the_parents_row_order(
    customer_data: Path, shipped: Bundle, tmp_path: Path
) -> None:
    # A parent whose rows hold the high-value centre first and the price-sensitive one second.
    swapped = tmp_path / "swapped"
    write_bundle(swapped, shipped.manifest, mean=shipped.mean, scale=shipped.scale,
                 centroids=shipped.centroids[[1, 0, 2]])
    train(customer_data, tmp_path / "1.1.0", warm_start=swapped)
    warm = load_bundle(tmp_path / "1.1.0")
    np.testing.assert_allclose(warm.centroids, shipped.centroids, atol=1e-12)
    assert [s.size for s in warm.manifest.segments] == [18, 15, 53]


def test_a_warm_start_on_the_dask_engine_is_refused(
    customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data", str(customer_data), "--out", str(tmp_path / "out"), "--engine", "dask",
                 "--warm-start", str(DEFAULT_BUNDLE)])
    assert code == 2
    assert capsys.readouterr().err.strip() == "error: --warm-start needs --engine local"
    assert not (tmp_path / "out").exists()
