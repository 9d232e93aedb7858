"""The bundle format: what loading refuses, and how writing stays atomic.

Every refusal test corrupts a copy of the shipped bundle in tmp_path and checks
the exception class and that the message names the file and the field.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import resource
import shutil
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime.core.bundle import (
    ARRAYS_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    Bundle,
    BundleChecksumError,
    BundleError,
    BundleFormatError,
    BundleMissingError,
    BundleShapeError,
    load_bundle,
    write_bundle,
)
from tests.conftest import DEFAULT_BUNDLE


def edit_manifest(directory: Path, change: Any) -> None:
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def write_arrays(directory: Path, **arrays: np.ndarray) -> None:
    """Replace the arrays file and fix its checksum, so that only its content is wrong."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    data = buffer.getvalue()
    (directory / ARRAYS_FILE).write_bytes(data)
    edit_manifest(directory, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))


def refusal(directory: Path, kind: type[BundleError]) -> str:
    with pytest.raises(kind) as error:
        load_bundle(directory)
    return str(error.value)


def write(directory: Path, bundle: Bundle, **extra: Any) -> Any:
    return write_bundle(directory, bundle.manifest, mean=bundle.mean, scale=bundle.scale,
                        centroids=bundle.centroids, **extra)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# Loading


def test_the_shipped_bundle_loads_and_its_checksum_is_the_arrays_file(shipped: Bundle) -> None:
    manifest = shipped.manifest
    assert manifest.format_version == FORMAT_VERSION
    digest = hashlib.sha256((DEFAULT_BUNDLE / ARRAYS_FILE).read_bytes()).hexdigest()
    assert shipped.checksum == digest
    assert manifest.arrays is not None
    assert manifest.arrays.sha256 == digest
    assert shipped.centroids.shape == (manifest.model.k, shipped.mean.shape[0])
    assert manifest.arrays.shapes == {
        "mean": list(shipped.mean.shape),
        "scale": list(shipped.scale.shape),
        "centroids": list(shipped.centroids.shape),
    }


def test_an_unknown_format_version_is_refused_naming_both_versions(copy: Path) -> None:
    edit_manifest(copy, lambda m: m.update(format_version=FORMAT_VERSION + 1))
    message = refusal(copy, BundleFormatError)
    assert str(copy / MANIFEST_FILE) in message
    assert f"format_version {FORMAT_VERSION + 1} is not supported" in message
    assert f"reads format_version {FORMAT_VERSION}" in message


def test_a_tampered_arrays_file_fails_its_checksum(copy: Path) -> None:
    path = copy / ARRAYS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    message = refusal(copy, BundleChecksumError)
    assert str(path) in message
    assert "arrays.sha256" in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message


def test_a_truncated_arrays_file_is_refused_even_with_a_matching_checksum(copy: Path) -> None:
    path = copy / ARRAYS_FILE
    data = path.read_bytes()[:-200]
    path.write_bytes(data)
    edit_manifest(copy, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))
    message = refusal(copy, BundleMissingError)
    assert str(path) in message
    assert "truncated" in message


@pytest.mark.parametrize("name", [MANIFEST_FILE, ARRAYS_FILE])
def test_a_missing_file_is_refused_naming_it(copy: Path, name: str) -> None:
    (copy / name).unlink()
    message = refusal(copy, BundleMissingError)
    assert str(copy / name) in message
    assert "not found" in message


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path / "absent", BundleMissingError)
    assert str(tmp_path / "absent") in message


def test_an_arrays_path_that_is_a_directory_is_refused(copy: Path) -> None:
    (copy / ARRAYS_FILE).unlink()
    (copy / ARRAYS_FILE).mkdir()
    message = refusal(copy, BundleMissingError)
    assert str(copy / ARRAYS_FILE) in message


def test_arrays_whose_shapes_disagree_with_the_features_are_refused(
    copy: Path, shipped: Bundle
) -> None:
    write_arrays(copy, mean=shipped.mean, scale=shipped.scale, centroids=shipped.centroids[:2])
    message = refusal(copy, BundleShapeError)
    assert str(copy / ARRAYS_FILE) in message
    assert "'centroids' has shape [2, 6], the manifest implies [3, 6]" in message


def test_a_missing_array_is_refused_naming_it(copy: Path, shipped: Bundle) -> None:
    write_arrays(copy, mean=shipped.mean, centroids=shipped.centroids)
    message = refusal(copy, BundleShapeError)
    assert str(copy / ARRAYS_FILE) in message
    assert "holds members 'mean.npy', 'centroids.npy'" in message
    assert "expected exactly centroids.npy, mean.npy, scale.npy" in message


def test_declared_shapes_that_disagree_with_the_file_are_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: m["arrays"]["shapes"].update(centroids=[3, 7]))
    message = refusal(copy, BundleShapeError)
    assert str(copy / MANIFEST_FILE) in message
    assert "arrays.shapes" in message
    assert "[3, 7]" in message


def test_arrays_of_another_type_are_refused(copy: Path, shipped: Bundle) -> None:
    write_arrays(copy, mean=shipped.mean.astype(np.float32), scale=shipped.scale,
                 centroids=shipped.centroids)
    message = refusal(copy, BundleShapeError)
    assert "'mean' is float32, expected float64" in message


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_numbers_are_refused(copy: Path, shipped: Bundle, value: float) -> None:
    centroids = shipped.centroids.copy()
    centroids[1, 2] = value
    write_arrays(copy, mean=shipped.mean, scale=shipped.scale, centroids=centroids)
    message = refusal(copy, BundleShapeError)
    assert str(copy / ARRAYS_FILE) in message
    assert "'centroids' holds non-finite numbers" in message


def test_a_scale_of_zero_is_refused(copy: Path, shipped: Bundle) -> None:
    scale = shipped.scale.copy()
    scale[0] = 0.0
    write_arrays(copy, mean=shipped.mean, scale=scale, centroids=shipped.centroids)
    assert "'scale' must be positive" in refusal(copy, BundleShapeError)


def test_an_object_array_is_refused_without_unpickling(copy: Path, shipped: Bundle) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mean=np.array([object()] * 6, dtype=object), scale=shipped.scale,
             centroids=shipped.centroids)
    data = buffer.getvalue()
    (copy / ARRAYS_FILE).write_bytes(data)
    edit_manifest(copy, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))
    message = refusal(copy, BundleShapeError)
    assert str(copy / ARRAYS_FILE) in message
    assert "'mean' is object, expected float64" in message


def test_invalid_json_is_refused(copy: Path) -> None:
    path = copy / MANIFEST_FILE
    path.write_text(path.read_text()[:-50])
    message = refusal(copy, BundleFormatError)
    assert str(path) in message
    assert "not a valid JSON manifest" in message


def test_an_unknown_field_is_refused_naming_it(copy: Path) -> None:
    edit_manifest(copy, lambda m: m["model"].update(surprise=1))
    message = refusal(copy, BundleFormatError)
    assert str(copy / MANIFEST_FILE) in message
    assert "unknown field `surprise`" in message
    assert "$.model" in message


def test_a_field_of_the_wrong_type_is_refused_naming_it(copy: Path) -> None:
    edit_manifest(copy, lambda m: m["features"][0].update(weight="heavy"))
    message = refusal(copy, BundleFormatError)
    assert "$.features[0].weight" in message


def test_segment_ids_must_cover_the_centroids(copy: Path) -> None:
    edit_manifest(copy, lambda m: m["segments"][2].update(id=5))
    message = refusal(copy, BundleFormatError)
    assert str(copy / MANIFEST_FILE) in message
    assert "segments must have ids 0..2, found [0, 1, 5]" in message


def test_an_alias_must_name_a_category(copy: Path) -> None:
    def alias_to_nowhere(manifest: dict[str, Any]) -> None:
        gender = next(f for f in manifest["features"] if f["field"] == "Gender")
        gender["aliases"]["Female"] = "W"

    edit_manifest(copy, alias_to_nowhere)
    message = refusal(copy, BundleFormatError)
    assert "features[7].aliases['Female'] names 'W'" in message


# Writing


def test_a_written_bundle_loads_back_identical(tmp_path: Path, shipped: Bundle) -> None:
    target = tmp_path / "models" / "2.0.0"
    written = write(target, shipped)
    loaded = load_bundle(target)
    assert loaded.manifest == written == shipped.manifest
    for name in ("mean", "scale", "centroids"):
        assert np.array_equal(getattr(loaded, name), getattr(shipped, name))
    assert (target / ARRAYS_FILE).read_bytes() == (DEFAULT_BUNDLE / ARRAYS_FILE).read_bytes()
    assert target.stat().st_mode & 0o777 == 0o755  # readable by a non-root service
    assert sorted(p.name for p in target.parent.iterdir()) == ["2.0.0"]


def test_extra_files_are_written_beside_the_bundle(tmp_path: Path, shipped: Bundle) -> None:
    write(tmp_path / "b", shipped, extra_files={"report/report.md": b"# hello", "notes.txt": b"x"})
    assert (tmp_path / "b" / "report" / "report.md").read_bytes() == b"# hello"
    assert (tmp_path / "b" / "notes.txt").read_bytes() == b"x"


class Interrupted(OSError):
    """The failure planted in a rename."""


# Limits on a file's size at which the arrays (about 1 KB), the manifest (about 10 KB)
# or the 64 KB report is the first file whose write fails.
FAILING_AT = {"arrays": (0, ARRAYS_FILE), "manifest": (4_000, MANIFEST_FILE),
              "extra file": (32_000, "report/report.md")}
REPORT = {"report/report.md": b"# report" * 8_000}


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with EFBIG, as on a full disk (RLIMIT_FSIZE)."""
    previous = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous)
        signal.signal(signal.SIGXFSZ, handler)


@pytest.mark.parametrize("failing", FAILING_AT)
def test_a_write_interrupted_midway_leaves_no_partial_bundle(
    tmp_path: Path, shipped: Bundle, failing: str
) -> None:
    limit, name = FAILING_AT[failing]
    with pytest.raises(OSError, match=rf"1\.0\.0/{name}: cannot write \(File too large\)"), \
            file_size_limit(limit):
        write(tmp_path / "1.0.0", shipped, extra_files=REPORT)
    assert list(tmp_path.iterdir()) == []  # no bundle, no staging directory


@pytest.mark.parametrize("failing", FAILING_AT)
def test_a_failed_write_leaves_the_existing_bundle_untouched(
    tmp_path: Path, shipped: Bundle, failing: str
) -> None:
    target = Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "1.0.0"))
    before = snapshot(target)
    limit, name = FAILING_AT[failing]
    with pytest.raises(OSError, match=rf"1\.0\.0/{name}: cannot write \(File too large\)"), \
            file_size_limit(limit):
        write(target, shipped, extra_files=REPORT)
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]
    load_bundle(target)


def test_a_bundle_that_fails_verification_is_never_put_in_place(
    tmp_path: Path, shipped: Bundle
) -> None:
    target = Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "1.0.0"))
    before = snapshot(target)
    centroids = shipped.centroids.copy()
    centroids[0, 0] = np.nan
    with pytest.raises(BundleShapeError, match="non-finite"):
        write_bundle(target, shipped.manifest, mean=shipped.mean, scale=shipped.scale,
                     centroids=centroids)
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]


def test_a_failed_swap_puts_the_existing_bundle_back(
    tmp_path: Path, shipped: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "1.0.0"))
    before = snapshot(target)
    real = Path.rename

    def flaky(self: Path, destination: Any) -> Path:
        # The new bundle's rename into place fails; every other rename works.
        if Path(destination) == target and self.parent == target.parent:
            raise Interrupted("rename failed")
        return real(self, destination)

    monkeypatch.setattr(Path, "rename", flaky)
    with pytest.raises(Interrupted):
        write(target, shipped, extra_files={"report/report.md": b"# new report"})
    monkeypatch.undo()
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]


def test_replacing_a_bundle_swaps_it_whole(tmp_path: Path, shipped: Bundle) -> None:
    target = Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "1.0.0"))
    (target / "stale.txt").write_text("from the old bundle")
    write(target, shipped, extra_files={"report/report.md": b"# new"})
    assert not (target / "stale.txt").exists()
    assert (target / "report" / "report.md").read_bytes() == b"# new"
    assert [p.name for p in tmp_path.iterdir()] == ["1.0.0"]


def test_a_directory_that_is_not_a_bundle_is_never_replaced(
    tmp_path: Path, shipped: Bundle
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not a bundle") as error:
        write(tmp_path, shipped)
    assert str(tmp_path) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]


def test_an_empty_directory_may_receive_a_bundle(tmp_path: Path, shipped: Bundle) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty", shipped)
    load_bundle(tmp_path / "empty")


@pytest.mark.parametrize(
    "name", ["{tmp}/escape.txt", "../escape.txt", "report/../../escape.txt", "", ".",
             MANIFEST_FILE, ARRAYS_FILE, "report\\..\\escape.txt"],
)
def test_extra_files_must_stay_inside_the_bundle(
    tmp_path: Path, shipped: Bundle, name: str
) -> None:
    target = tmp_path / "models" / "1.0.0"
    with pytest.raises(ValueError, match="must be a relative path inside the bundle"):
        write(target, shipped, extra_files={name.format(tmp=tmp_path): b"x"})
    assert list(tmp_path.iterdir()) == []


def test_a_member_that_is_not_an_array_is_refused(copy: Path, shipped: Bundle) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mean", b"not an .npy member")
        for name, array in (("scale", shipped.scale), ("centroids", shipped.centroids)):
            member = io.BytesIO()
            np.save(member, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", member.getvalue())
    data = buffer.getvalue()
    (copy / ARRAYS_FILE).write_bytes(data)
    edit_manifest(copy, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))
    message = refusal(copy, BundleShapeError)
    assert str(copy / ARRAYS_FILE) in message
    assert "holds members 'mean', 'scale.npy', 'centroids.npy'" in message


def test_repeated_centroids_are_refused(copy: Path, shipped: Bundle) -> None:
    centroids = shipped.centroids.copy()
    centroids[2] = centroids[0]
    write_arrays(copy, mean=shipped.mean, scale=shipped.scale, centroids=centroids)
    message = refusal(copy, BundleShapeError)
    assert "'centroids' holds the same centroid twice" in message
