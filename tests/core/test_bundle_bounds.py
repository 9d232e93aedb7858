"""Bundles read within bounds: each test builds a hostile bundle and checks the one-line refusal.

The arrays file or manifest is made an absolute path, a ``../`` path, a symlink
out of the bundle, a FIFO, a device, an oversized file or a zip bomb; the loader
must refuse each without reading it, and without blocking.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from runtime.core.bundle import (
    ARRAYS_FILE,
    MANIFEST_FILE,
    Bundle,
    BundleError,
    BundleFormatError,
    BundleMissingError,
    BundleShapeError,
    load_bundle,
)
from runtime.core.bundle_files import MAX_MANIFEST_BYTES
from tests.core.test_bundle import edit_manifest, refusal

# Generous: a refusal takes milliseconds; only a loader that blocks for ever reaches it.
PROMPTLY = 30.0



def point_arrays_at(bundle: Path, name: str) -> None:
    edit_manifest(bundle, lambda m: m["arrays"].update(file=name))


def refused_promptly(bundle: Path) -> BundleError:
    """The loader's refusal, from a thread that must finish: a blocked read fails the test."""
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_bundle(bundle)
        except BaseException as exc:  # handed to the test below
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(PROMPTLY)
    assert not worker.is_alive(), "load_bundle blocked"
    assert len(outcome) == 1 and isinstance(outcome[0], BundleError), outcome
    return outcome[0]


def replace_with(path: Path, make: Callable[[Path], None]) -> None:
    path.unlink()
    make(path)


def make_device(path: Path) -> None:
    """A character device like /dev/zero, made inside the bundle (root only)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("making a device file needs root")


# Paths the manifest names


def test_an_absolute_arrays_path_is_refused(copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.npz"
    shutil.copy(copy / ARRAYS_FILE, outside)
    point_arrays_at(copy, str(outside))
    message = refusal(copy, BundleFormatError)
    assert str(outside) in message
    assert "must be a relative path inside the bundle" in message


def test_a_dot_dot_arrays_path_is_refused(copy: Path, tmp_path: Path) -> None:
    shutil.copy(copy / ARRAYS_FILE, tmp_path / "elsewhere.npz")
    point_arrays_at(copy, "../elsewhere.npz")
    assert "'../elsewhere.npz' must be a relative path" in refusal(copy, BundleFormatError)


def test_a_symlink_out_of_the_bundle_is_refused(copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.npz"
    shutil.copy(copy / ARRAYS_FILE, outside)
    replace_with(copy / ARRAYS_FILE, lambda path: path.symlink_to(outside))
    message = refusal(copy, BundleMissingError)
    assert f"resolves to {outside}, outside the bundle directory" in message


def test_a_symlink_to_dev_zero_is_refused(copy: Path) -> None:
    replace_with(copy / ARRAYS_FILE, lambda path: path.symlink_to("/dev/zero"))
    assert "resolves to /dev/zero, outside the bundle directory" in str(refused_promptly(copy))


def test_a_symlink_inside_the_bundle_is_followed(copy: Path) -> None:
    (copy / ARRAYS_FILE).rename(copy / "real.npz")
    (copy / ARRAYS_FILE).symlink_to("real.npz")
    assert load_bundle(copy).checksum == hashlib.sha256((copy / "real.npz").read_bytes()).hexdigest()


# Files that are not regular files


def test_a_fifo_arrays_file_is_refused_without_blocking(copy: Path) -> None:
    replace_with(copy / ARRAYS_FILE, os.mkfifo)
    message = str(refused_promptly(copy))
    assert str(copy / ARRAYS_FILE) in message
    assert "is a FIFO, expected a regular file" in message


def test_a_fifo_manifest_is_refused_without_blocking(copy: Path) -> None:
    replace_with(copy / MANIFEST_FILE, os.mkfifo)
    assert "manifest is a FIFO" in str(refused_promptly(copy))


def test_a_device_arrays_file_is_refused(copy: Path) -> None:
    replace_with(copy / ARRAYS_FILE, make_device)
    assert "arrays file is a character device" in str(refused_promptly(copy))


def test_a_bundle_directory_symlink_is_resolved_once(copy: Path, tmp_path: Path) -> None:
    current = tmp_path / "current"
    current.symlink_to(copy)
    assert load_bundle(current).path == str(copy)


# Sizes


def test_an_oversized_manifest_is_refused_before_decoding(copy: Path) -> None:
    path = copy / MANIFEST_FILE
    path.write_bytes(path.read_bytes() + b" " * MAX_MANIFEST_BYTES)
    message = refusal(copy, BundleMissingError)
    assert f"{path}: manifest is over the limit of {MAX_MANIFEST_BYTES} bytes" in message


def write_archive(bundle: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> None:
    """An arrays file of these members, its checksum fixed so only its content is wrong."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    data = buffer.getvalue()
    (bundle / ARRAYS_FILE).write_bytes(data)
    edit_manifest(bundle, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()



def members(bundle: Bundle) -> dict[str, bytes]:
    return {f"{name}.npy": npy(getattr(bundle, name)) for name in ("mean", "scale", "centroids")}


def test_an_extra_member_is_refused_before_it_is_decompressed(copy: Path, shipped: Bundle) -> None:
    bomb = {**members(shipped), "padding.npy": bytes(64 << 20)}  # 64 MB of zeros, ~64 KB deflated
    write_archive(copy, bomb, zipfile.ZIP_DEFLATED)
    message = refusal(copy, BundleShapeError)
    assert "'padding.npy'" in message
    assert "expected exactly centroids.npy, mean.npy, scale.npy" in message


def test_a_member_larger_than_its_shape_is_refused_from_the_zip_directory(
    copy: Path, shipped: Bundle
) -> None:
    bomb = {**members(shipped), "centroids.npy": npy(shipped.centroids) + bytes(64 << 20)}
    write_archive(copy, bomb, zipfile.ZIP_DEFLATED)
    message = refusal(copy, BundleShapeError)
    assert "array 'centroids' takes" in message
    assert "needs at most" in message


def test_a_header_whose_shape_disagrees_is_refused_before_the_data(
    copy: Path, shipped: Bundle
) -> None:
    huge = npy(np.zeros((3, 6)))[:128].replace(b"(3, 6)", b"(9, 9)")  # header only, no data
    write_archive(copy, {**members(shipped), "centroids.npy": huge})
    assert "'centroids' has shape [9, 9], the manifest implies [3, 6]" in refusal(copy, BundleShapeError)


def test_a_member_shorter_than_its_header_says_is_refused(copy: Path, shipped: Bundle) -> None:
    write_archive(copy, {**members(shipped), "centroids.npy": npy(shipped.centroids)[:-8]})
    assert "'centroids': holds 136 bytes of data, expected 144" in refusal(copy, BundleMissingError)
