"""``python -m training compare``: movement, centroid shift, verdict and the files the rollout reads."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import numpy as np
import pytest

from runtime.core.bundle import Bundle, load_bundle, write_bundle
from runtime.core.migration import MIGRATION_FILE, MigrationError, read_migration
from tests.conftest import DEFAULT_BUNDLE
from tests.training.test_report import png_size
from training.__main__ import main
from training.compare_command import FAILED

OUTPUTS = ("migration.md", "migration.png", MIGRATION_FILE)


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)


def candidate(shipped: Bundle, directory: Path, centroids: np.ndarray,
              stability_recorded: bool = True) -> Path:
    """A copy of the shipped bundle with other centroids, as a retrain would write it (or, with
    ``stability_recorded=False``, as one from before the stability figure)."""
    metrics = shipped.manifest.metrics
    manifest = msgspec.structs.replace(
        shipped.manifest, model=msgspec.structs.replace(shipped.manifest.model, version="1.1.0"),
        metrics=metrics if stability_recorded else msgspec.structs.replace(metrics, stability=None))
    write_bundle(directory, manifest, mean=shipped.mean, scale=shipped.scale, centroids=centroids)
    return directory


def compare(*arguments: object) -> int:
    return main(["compare", *(str(argument) for argument in arguments)])


def test_the_same_model_moves_nobody_and_passes(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids)
    assert compare(DEFAULT_BUNDLE, new, "--data", customer_data) == 0
    assert capsys.readouterr().out.startswith(
        "passed: 0 of 96 customers (0.00%) change segment from 1.0.0 to 1.1.0, limit 5.00% "
        "(on CustomerData.csv); report in ")
    verdict = read_migration(new, load_bundle(new).checksum)
    assert (verdict.passed, verdict.moved, verdict.customers, verdict.limit) == (True, 0, 96, 0.05)
    assert verdict.movement == [[18, 0, 0], [0, 25, 0], [0, 0, 53]]
    assert (verdict.old.version, verdict.old.arrays_sha256) == ("1.0.0", shipped.checksum)
    assert verdict.new.version == "1.1.0"
    assert verdict.export_file == "CustomerData.csv"
    assert verdict.export_sha256 == shipped.manifest.training.data_sha256  # the same file
    assert not (DEFAULT_BUNDLE / MIGRATION_FILE).exists()  # written beside the new bundle only


def test_swapped_segments_move_past_the_limit_and_fail_with_their_matrix(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids[[1, 0, 2]])
    assert compare(DEFAULT_BUNDLE, new, "--data", customer_data, "--max-moved", "0.4") == FAILED
    assert capsys.readouterr().out.startswith("FAILED: 43 of 96 customers (44.79%)")
    verdict = read_migration(new)
    assert (verdict.passed, verdict.moved, verdict.limit) == (False, 43, 0.4)
    assert verdict.movement == [[0, 18, 0], [25, 0, 0], [0, 0, 53]]
    page = (new / "migration.md").read_text()
    assert "**Verdict: FAILED.** 43 of 96 customers (44.79%) change segment" in page
    assert "| 0 Price-Sensitive Occasional | 0 | 18 | 0 |" in page
    width, height = png_size((new / "migration.png").read_bytes())
    assert width > 800 and height > 300
    # A looser limit passes the same comparison, and the files are replaced.
    assert compare(DEFAULT_BUNDLE, new, "--data", customer_data, "--max-moved", "0.5") == 0
    assert read_migration(new).passed


def test_the_centroid_shift_is_reported_in_original_units(
    customer_data: Path, shipped: Bundle, tmp_path: Path
) -> None:
    # The regulars' centre 50,000 higher in annual income: weighted, standardized units.
    centroids = shipped.centroids.copy()
    centroids[2, 0] += 50_000 / shipped.scale[0]
    new = candidate(shipped, tmp_path / "1.1.0", centroids, stability_recorded=False)
    compare(DEFAULT_BUNDLE, new, "--data", customer_data, "--max-moved", "1")
    page = (new / "migration.md").read_text()
    assert "| 2 Value-Seeking Regular | +50,000.00 | +0.00 | +0.00 | +0.00 | +0.00 | +0.00 |" in page
    assert "| 0 Price-Sensitive Occasional | +0.00 | +0.00 |" in page
    assert "| bootstrap ARI at training: mean / 5th percentile / worst | 0.819 / 0.394 / 0.290 " \
        "(100 fresh refits on 86) | not recorded |" in page
    on_export = re.search(r"^\| bootstrap ARI on this export: mean / 5th percentile / worst \| "
                          r"([\d.]+) / [\d.]+ / [\d.]+ \(100 warm refits on 86\) \|", page, re.M)
    assert on_export is not None, page
    assert 0.5 < float(on_export.group(1)) <= 1


def test_a_missing_bundle_ends_in_one_error_line_and_writes_nothing(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids)
    assert compare(tmp_path / "absent", new, "--data", customer_data) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "absent: bundle directory not found" in errors[0], errors
    assert not any((new / name).exists() for name in OUTPUTS)


def test_a_customer_the_bundles_refuse_ends_in_one_error_line_naming_its_line(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids)
    lines = customer_data.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace(",M,", ",Robot,", 1)  # C002, on line 3
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines) + "\n")
    assert compare(DEFAULT_BUNDLE, new, "--data", export) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, errors
    assert f"{export}: line 3 (C002): Gender" in errors[0] and "Robot" in errors[0], errors
    assert not any((new / name).exists() for name in OUTPUTS)


def test_comparing_a_bundle_with_itself_is_refused_and_writes_nothing(
    customer_data: Path, shipped: Bundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids)
    assert compare(new, tmp_path / "." / "1.1.0", "--data", customer_data) == 2
    assert "OLD and NEW are the same bundle" in capsys.readouterr().err
    assert not any((new / name).exists() for name in OUTPUTS)


@pytest.mark.parametrize("limit", ["-0.1", "1.5", "lots"])
def test_a_limit_outside_zero_to_one_is_refused(
    limit: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        compare(DEFAULT_BUNDLE, DEFAULT_BUNDLE, "--data", tmp_path / "x.csv", "--max-moved", limit)
    assert exit_.value.code == 2
    assert "expected a share between 0 and 1" in capsys.readouterr().err


def test_a_verdict_that_is_absent_invalid_or_about_other_arrays_is_refused(
    customer_data: Path, shipped: Bundle, tmp_path: Path
) -> None:
    new = candidate(shipped, tmp_path / "1.1.0", shipped.centroids)
    with pytest.raises(MigrationError, match="no migration verdict"):
        read_migration(new)
    compare(DEFAULT_BUNDLE, new, "--data", customer_data)
    with pytest.raises(MigrationError, match=f"the bundle holds {'0' * 64}"):
        read_migration(new, "0" * 64)
    (new / MIGRATION_FILE).write_text('{"old": {}}')
    with pytest.raises(MigrationError, match=r"invalid migration verdict: .*\$\.old"):
        read_migration(new)
