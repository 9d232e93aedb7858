"""Reading a bundle's files within bounds: regular files inside the bundle, of bounded size.

A bundle directory is a trust boundary: its manifest may name any path, and any
of its files may be a symlink, a FIFO or a device. Nothing is read until the
file is known to be a regular file inside the (once resolved) bundle directory
and within its size limit. Files are opened without blocking, so a FIFO is
refused instead of waited on. An arrays archive is checked from its zip
directory and each member's ``.npy`` header before a byte of array data is read.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np
from numpy.lib import format as npy

from runtime.core.bundle_errors import BundleFormatError, BundleMissingError, BundleShapeError

__all__ = [
    "MAX_ARRAYS_BYTES",
    "MAX_MANIFEST_BYTES",
    "member_path",
    "read_arrays",
    "read_bounded",
    "resolve_directory",
]

# A manifest is a few kilobytes, an arrays file a few kilobytes to a few megabytes.
MAX_MANIFEST_BYTES = 1 << 20
MAX_ARRAYS_BYTES = 16 << 20
_MAX_NPY_HEADER = 4096  # np.save writes 128 bytes for the shapes a bundle holds
_KINDS = {stat.S_IFDIR: "directory", stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
          stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket", stat.S_IFLNK: "symlink"}


def resolve_directory(directory: str | os.PathLike[str]) -> Path:
    """The bundle directory with its symlinks resolved, once: a ``current`` link that a
    rollout flips meanwhile cannot mix two bundles' files."""
    try:
        root = Path(directory).resolve(strict=True)
    except OSError as exc:
        raise BundleMissingError(f"{directory}: bundle directory not found ({exc.strerror})") from exc
    except RuntimeError as exc:  # Python 3.11's answer to a symlink loop
        raise BundleMissingError(f"{directory}: bundle directory not found ({exc})") from exc
    if not root.is_dir():
        raise BundleMissingError(f"{directory}: not a bundle directory")
    return root


def member_path(root: Path, name: str, what: str) -> Path:
    """Where the bundle file ``name`` lives: a relative path resolving inside ``root``."""
    relative = PurePosixPath(name)
    if (relative.is_absolute() or not relative.parts or ".." in relative.parts
            or "\\" in name or "\0" in name):
        raise BundleFormatError(
            f"{root}: {what} {name[:80]!r} must be a relative path inside the bundle, without '..'"
        )
    path = root / relative
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise BundleMissingError(
            f"{path}: {what} resolves to {resolved}, outside the bundle directory {root}"
        )
    return resolved


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The content of ``path`` if it is a regular file of at most ``limit`` bytes.

    The file is opened without following a last symlink and without blocking,
    then judged by ``fstat`` of what was opened: a FIFO, a device, a socket or a
    directory is refused at once, as is a file over the limit.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as exc:
        raise BundleMissingError(f"{path}: {what} not found") from exc
    except OSError as exc:
        raise BundleMissingError(f"{path}: cannot open {what} ({exc.strerror})") from exc
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "special file")
            raise BundleMissingError(f"{path}: {what} is a {kind}, expected a regular file")
    except BaseException:
        os.close(descriptor)
        raise
    with open(descriptor, "rb") as file:
        try:
            data = file.read(limit + 1)  # one more: a file that grew meanwhile is caught too
        except OSError as exc:
            raise BundleMissingError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    if len(data) > limit:
        raise BundleMissingError(f"{path}: {what} is over the limit of {limit} bytes")
    return data


def read_arrays(
    path: Path, data: bytes, shapes: Mapping[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """The float64 arrays of the ``.npz`` ``data``, which must hold exactly ``shapes``.

    The zip directory's names, count and sizes, then each member's header
    (shape, dtype), are checked before its data is read; no more than the
    expected bytes are ever decompressed.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise BundleMissingError(f"{path}: unreadable or truncated ({exc})") from exc
    with archive:
        members = archive.infolist()
        names = [member.filename for member in members]
        expected = sorted(f"{name}.npy" for name in shapes)
        if sorted(names) != expected:
            shown = ", ".join(repr(name[:40]) for name in names[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            raise BundleShapeError(
                f"{path}: holds members {shown}{more}; expected exactly {', '.join(expected)}"
            )
        return {member.filename[:-4]: _read_member(path, archive, member,
                                                   shapes[member.filename[:-4]])
                for member in members}


def _read_member(
    path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, shape: tuple[int, ...]
) -> np.ndarray:
    where = f"{path}: array {member.filename[:-4]!r}"
    size = 8 * math.prod(shape)
    limit = size + _MAX_NPY_HEADER
    if member.file_size > limit or member.compress_size > limit:
        raise BundleShapeError(
            f"{where} takes {member.file_size} bytes ({member.compress_size} compressed), "
            f"the manifest's shape {list(shape)} needs at most {limit}"
        )
    try:
        with archive.open(member) as stream:
            version = npy.read_magic(stream)
            if version == (1, 0):
                found, fortran, dtype = npy.read_array_header_1_0(stream)
            elif version == (2, 0):
                found, fortran, dtype = npy.read_array_header_2_0(stream)
            else:
                raise BundleShapeError(f"{where}: .npy format version {version} is not supported")
            if dtype != np.dtype(np.float64):
                raise BundleShapeError(f"{where} is {dtype}, expected float64")
            if tuple(found) != shape:
                raise BundleShapeError(
                    f"{where} has shape {list(found)}, the manifest implies {list(shape)}"
                )
            raw = stream.read(size + 1)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise BundleMissingError(f"{where}: unreadable or truncated ({exc})") from exc
    if len(raw) != size:
        raise BundleMissingError(f"{where}: holds {len(raw)} bytes of data, expected {size}")
    return np.frombuffer(raw, dtype=np.float64).reshape(shape, order="F" if fortran else "C").copy()
