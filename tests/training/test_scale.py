"""The scale benchmark's code, run small: a synthetic export in the delivered format, trained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bench.synthetic import write_synthetic_export
from bench.train_scale import format_report, run
from runtime.scoring.export import read_export
from training.model import feature_specs, fit
from training.pipeline import clean


def test_the_synthetic_export_is_delivered_dirty(
    customer_data: Path, tmp_path: Path, rng: np.random.Generator
) -> None:
    written = write_synthetic_export(customer_data, tmp_path / "export.csv", 3000,
                                     seed=int(rng.integers(2**31)), dirty_every=500)
    raw = written.path.read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"CustomerID,Age,')
    assert all(line.startswith(b'"') and line.endswith(b'"') for line in raw[3:].splitlines())
    export = read_export(written.path)
    assert export.rows_read == 3000
    assert dict(export.rejection_counts()) == dict(written.rejected)
    # Every 500th row but the last carries a defect in turn; the last row is cut short.
    assert dict(written.rejected) == {"missing value": 4, "not a number": 1, "truncated": 1}
    assert len(export) == written.complete == 2994
    # Drawn from the shared customers: the same categories, spending alike.
    source = read_export(customer_data)
    assert set(export.columns["City"].tolist()) <= set(source.columns["City"].tolist())
    ratio = np.median(export.columns["TotalSpent"]) / np.median(source.columns["TotalSpent"])
    assert 0.8 < ratio < 1.25


def test_the_scale_benchmark_trains_and_reports(
    customer_data: Path, tmp_path: Path, rng: np.random.Generator
) -> None:
    result = run(customer_data, 20_000, tmp_path, seed=int(rng.integers(2**31)))
    assert result.returncode == 0, result.phases[-3:]
    assert result.rejections_match
    assert result.manifest is not None
    steps = result.manifest.training.cleaning
    assert steps[0].rows_in == 20_000
    assert sum(result.manifest.metrics.sizes) == steps[-1].rows_out
    assert result.manifest.metrics.silhouette > 0.5
    assert 0 < result.seconds < 60 and 0 < result.peak_bytes < 2e9
    assert result.met
    report = format_report(result)
    assert "| training wall time |" in report and "| peak memory (child RSS) |" in report
    assert "| reading and cleaning the export |" in report
    assert "match the planted rows" in report


def test_a_large_fit_is_the_same_whatever_the_thread_count(
    customer_data: Path, tmp_path: Path, rng: np.random.Generator
) -> None:
    # Beyond 5,000 customers K-Means starts on a sample and refines on all of them; the
    # refinement's sums must not depend on how many threads the machine offers.
    written = write_synthetic_export(customer_data, tmp_path / "export.csv", 30_000,
                                     seed=int(rng.integers(2**31)))
    customers = clean(read_export(written.path))[0]
    fitted = []
    for threads in (1, 2, 4):
        with threadpool_limits(limits=threads):
            fitted.append(fit(customers, feature_specs(customers), random_state=7))
    for other in fitted[1:]:
        assert np.array_equal(other.centroids, fitted[0].centroids)
        assert np.array_equal(other.segments, fitted[0].segments)


@pytest.mark.slow
def test_the_dask_scale_benchmark_trains_and_reports_each_workers_peak(
    customer_data: Path, tmp_path: Path, rng: np.random.Generator
) -> None:
    pytest.importorskip("dask_ml", reason="dask-ml is not installed (requirements-scale.txt)")
    from bench.dask_scale import format_dask, run_dask

    result = run_dask(customer_data, 20_000, tmp_path, seed=int(rng.integers(2**31)),
                      limit_bytes=1 << 30)
    assert result.manifest is not None
    assert result.manifest.training.cleaning[0].rows_out == result.export.complete
    assert len(result.peaks) == 2 and all(peak > 0 for peak in result.peaks.values())
    report = format_dask(result)
    assert "wall time:" in report and report.count("peak RSS of worker") == 2
