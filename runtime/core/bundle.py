"""The model bundle: one directory holding a JSON manifest and an ``.npz`` of arrays.

This module is the single definition of the format. Training writes through
:func:`write_bundle`; the service reads through :func:`load_bundle`. Nothing is
pickled: the manifest is JSON decoded into typed structs, and the arrays are read
as float64 bytes, shape and dtype taken from their ``.npy`` headers, after their
SHA-256 has been checked.

Reads are bounded (:mod:`runtime.core.bundle_files`) and the manifest is checked
against the :class:`~runtime.core.customer.Customer` schema, so a bundle that
loads is one the service can serve. Errors are those of
:mod:`runtime.core.bundle_errors`, every message naming the file and the field.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import msgspec
import numpy as np

from runtime.core.bundle_errors import (
    BundleChecksumError,
    BundleError,
    BundleFormatError,
    BundleMissingError,
    BundleShapeError,
)
from runtime.core.bundle_files import (
    MAX_ARRAYS_BYTES,
    MAX_MANIFEST_BYTES,
    member_path,
    read_arrays,
    read_bounded,
    resolve_directory,
)
from runtime.core.feature_layout import FeatureLayout
from runtime.core.manifest_rules import check_against_customer
from runtime.core.staging import exit_on_sigterm, output_directory, staging_directory, swap_into_place

__all__ = [
    "ARRAYS_FILE",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "SAFE_NAME",
    "Bundle",
    "BundleChecksumError",
    "BundleError",
    "BundleFormatError",
    "BundleMissingError",
    "BundleRef",
    "BundleShapeError",
    "CleaningStep",
    "DriftReference",
    "FeatureSpec",
    "Manifest",
    "Metrics",
    "ModelInfo",
    "Segment",
    "Stability",
    "TrainingInfo",
    "check_replaceable",
    "load_bundle",
    "write_bundle",
]

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.npz"

FeatureKind = Literal["numeric", "ordinal", "binary", "one-hot"]
UnknownRule = Literal["reject", "neutral"]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
# Model names and versions go into file names, log lines and the X-Model-Version header.
# \Z, not $: Python's $ would let a trailing newline through.
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z"
SafeName = Annotated[str, msgspec.Meta(pattern=SAFE_NAME)]


class FeatureSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One input field and how it enters the model.

    ``weight`` multiplies the feature's standardized value; a weight of 0 keeps
    the field validated and monitored but out of the distance computation.
    ``aliases`` map accepted spellings (matched case-insensitively) to a category;
    ``unknown`` says what an unseen category gets: an error, or the training
    mean (a neutral value that moves the customer towards no segment).
    """

    field: NonEmpty
    kind: FeatureKind
    weight: Annotated[float, msgspec.Meta(ge=0)]
    categories: list[str] = []
    aliases: dict[str, str] = {}
    unknown: UnknownRule = "reject"


class ModelInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: SafeName
    version: SafeName
    trained_at: str
    command: str
    k: Annotated[int, msgspec.Meta(ge=2)]
    random_state: int


class CleaningStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    step: str
    rows_in: int
    rows_out: int
    reasons: dict[str, int] = {}


class BundleRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Another bundle, named by its model version and the SHA-256 of its arrays file."""

    name: NonEmpty
    version: NonEmpty
    arrays_sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class TrainingInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    data_file: str
    data_sha256: str
    cleaning: list[CleaningStep]
    library_versions: dict[str, str]
    parent: BundleRef | None = None  # the bundle a warm start began from


class Segment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A catalogue entry; the centroid in row ``id`` of the arrays belongs to it."""

    id: Annotated[int, msgspec.Meta(ge=0)]
    name: NonEmpty
    description: str
    characteristics: list[str]
    offers: list[str]
    size: Annotated[int, msgspec.Meta(ge=0)]
    profile: dict[str, float]


class Stability(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Bootstrap stability: K-Means refitted on resamples of ``sample_size`` training customers.

    ``ari_*`` compare each refit's assignment of those customers with the model's;
    ``jaccard`` holds, per segment id, the mean over resamples of the best-matching
    refit cluster's Jaccard similarity (Hennig 2007). ``refit`` is ``fresh``
    (k-means++ restarts) or ``warm`` (from the centroids the model started from).
    """

    refit: Literal["fresh", "warm"]
    resamples: Annotated[int, msgspec.Meta(ge=1)]
    seed: int
    sample_size: Annotated[int, msgspec.Meta(ge=1)]
    ari_mean: float
    ari_p5: float
    ari_worst: float
    jaccard: list[float]


class Metrics(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    silhouette: float
    inertia: float
    sizes: list[int]
    stability: Stability | None = None  # absent from bundles trained before it was measured


class DriftReference(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A feature's training distribution: bins and the share of customers in each.

    Numeric features have ``edges`` (inner quantile edges, len(shares) - 1 of them);
    categorical ones have one share per category plus a last one for unknowns.
    """

    field: NonEmpty
    edges: list[float]
    shares: list[float]


class ArraysInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    file: NonEmpty
    sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    shapes: dict[str, list[int]]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format_version: int
    model: ModelInfo
    training: TrainingInfo
    features: list[FeatureSpec]
    segments: list[Segment]
    metrics: Metrics
    drift: list[DriftReference]
    arrays: ArraysInfo | None = None  # filled in by write_bundle


class Bundle(msgspec.Struct, frozen=True):
    """A verified bundle: its manifest, its feature layout and its arrays.

    ``mean`` and ``scale`` standardize the model columns that ``layout`` lays
    out; ``centroids`` live in the weighted, standardized space, row ``i``
    belonging to segment ``i``.
    """

    path: str
    manifest: Manifest
    layout: FeatureLayout
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray
    checksum: str


def _expected_shapes(k: int, columns: int) -> dict[str, tuple[int, ...]]:
    return {
        "mean": (columns,),
        "scale": (columns,),
        "centroids": (k, columns),
    }


def _check_arrays(source: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Values the shapes cannot show: finite numbers, positive scales, distinct centroids."""
    for name, found in arrays.items():
        if not np.isfinite(found).all():
            raise BundleShapeError(f"{source}: array {name!r} holds non-finite numbers")
    if (arrays["scale"] <= 0).any():
        raise BundleShapeError(f"{source}: array 'scale' must be positive")
    centroids = arrays["centroids"]
    if len(np.unique(centroids, axis=0)) != len(centroids):
        raise BundleShapeError(f"{source}: array 'centroids' holds the same centroid twice")


def _check_manifest(source: str, manifest: Manifest) -> FeatureLayout:
    """Refuse an inconsistent manifest; return the layout of its features."""
    if manifest.format_version != FORMAT_VERSION:
        raise BundleFormatError(
            f"{source}: format_version {manifest.format_version} is not supported "
            f"(this runtime reads format_version {FORMAT_VERSION})"
        )
    ids = [segment.id for segment in manifest.segments]
    if sorted(ids) != list(range(manifest.model.k)):
        raise BundleFormatError(
            f"{source}: segments must have ids 0..{manifest.model.k - 1}, found {sorted(ids)}"
        )
    for index, spec in enumerate(manifest.features):
        if spec.kind != "numeric" and not spec.categories:
            raise BundleFormatError(f"{source}: features[{index}] ({spec.field}) has no categories")
        if spec.kind == "binary" and len(spec.categories) != 2:
            raise BundleFormatError(
                f"{source}: features[{index}] ({spec.field}) is binary but has "
                f"{len(spec.categories)} categories"
            )
        for alias, target in spec.aliases.items():
            if target not in spec.categories:
                raise BundleFormatError(
                    f"{source}: features[{index}].aliases[{alias!r}] names "
                    f"{target!r}, not one of {spec.categories}"
                )
    layout = FeatureLayout.of(manifest.features)
    if layout.width == 0:
        raise BundleFormatError(f"{source}: no feature has a positive weight")
    check_against_customer(source, manifest)
    return layout


def _decode_manifest(source: str, raw: bytes) -> tuple[Manifest, FeatureLayout]:
    """``raw`` as a manifest, and its feature layout; whatever the bytes are, a
    :class:`BundleFormatError` naming ``source``."""
    try:
        version = msgspec.json.decode(raw, type=dict[str, object]).get("format_version")
        if version != FORMAT_VERSION:
            raise BundleFormatError(
                f"{source}: format_version {version!r} is not supported "
                f"(this runtime reads format_version {FORMAT_VERSION})"
            )
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as exc:
        raise BundleFormatError(f"{source}: invalid manifest: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BundleFormatError(f"{source}: not a valid JSON manifest ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise BundleFormatError(f"{source}: not UTF-8 (byte {exc.start}); not a valid JSON manifest") from exc
    except RecursionError as exc:  # msgspec's answer to nesting about 1,000 deep
        raise BundleFormatError(f"{source}: not a valid JSON manifest (nested too deeply)") from exc
    return manifest, _check_manifest(source, manifest)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_bundle(directory: str | os.PathLike[str]) -> Bundle:
    """Read and verify the bundle in ``directory``.

    The directory is resolved once (it may be a ``current`` symlink that a
    rollout flips) and both files are read from there, within bounds (see
    :mod:`runtime.core.bundle_files`). Raises a :class:`BundleError` subclass
    naming the file and the field when the bundle is of an unknown version,
    truncated, tampered with, inconsistent, or not made of regular files inside it.
    """
    root = resolve_directory(directory)
    manifest_path = member_path(root, MANIFEST_FILE, "manifest")
    manifest, layout = _decode_manifest(str(manifest_path),
                                        read_bounded(manifest_path, MAX_MANIFEST_BYTES, "manifest"))
    if manifest.arrays is None:
        raise BundleFormatError(f"{manifest_path}: the 'arrays' field is missing")
    arrays_path = member_path(root, manifest.arrays.file, "arrays file")
    data = read_bounded(arrays_path, MAX_ARRAYS_BYTES, "arrays file")
    checksum = _sha256(data)
    if checksum != manifest.arrays.sha256:
        raise BundleChecksumError(
            f"{arrays_path}: SHA-256 is {checksum}, the manifest's arrays.sha256 "
            f"is {manifest.arrays.sha256}"
        )
    expected = _expected_shapes(manifest.model.k, layout.width)
    declared = {name: tuple(shape) for name, shape in manifest.arrays.shapes.items()}
    if declared != expected:
        raise BundleShapeError(
            f"{manifest_path}: arrays.shapes is {manifest.arrays.shapes}, the features and k "
            f"imply {({name: list(shape) for name, shape in expected.items()})}"
        )
    arrays = read_arrays(arrays_path, data, expected)
    _check_arrays(str(arrays_path), arrays)
    return Bundle(
        path=str(root),
        manifest=manifest,
        layout=layout,
        mean=arrays["mean"],
        scale=arrays["scale"],
        centroids=arrays["centroids"],
        checksum=checksum,
    )


def _encode_arrays(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    contiguous = {name: np.ascontiguousarray(a, dtype=np.float64) for name, a in arrays.items()}
    np.savez(buffer, allow_pickle=False, **contiguous)
    return buffer.getvalue()


def _write_files(staging: Path, files: Mapping[str, bytes], target: Path) -> None:
    """Write and sync ``files`` (relative name to content) into ``staging``; an error names
    the file as it would have been in ``target`` (a full disk, for one)."""
    for name, content in files.items():
        path = staging / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            raise OSError(
                exc.errno, f"{target / name}: cannot write ({exc.strerror}); no bundle was written"
            ) from exc


def write_bundle(
    directory: str | os.PathLike[str],
    manifest: Manifest,
    *,
    mean: np.ndarray,
    scale: np.ndarray,
    centroids: np.ndarray,
    extra_files: Mapping[str, bytes] | None = None,
) -> Manifest:
    """Write a bundle atomically and return its manifest, checksum filled in.

    A manifest :func:`load_bundle` would refuse (an unsafe model name or
    version, a feature the customer schema lacks) is refused before anything
    is written. The bundle is assembled in a staging folder beside its target
    (see :mod:`runtime.core.staging`), verified by :func:`load_bundle`, then
    renamed into place: an interrupted write, SIGTERM included, leaves no
    partial bundle, and an existing one is replaced only once the new one is
    complete. ``extra_files`` (a report, figures) are written beside it, by
    relative path. A target that exists but is not a bundle is never replaced.
    """
    for name in extra_files or {}:
        _check_extra_name(name)
    target = check_replaceable(directory)
    arrays = {"mean": mean, "scale": scale, "centroids": centroids}
    data = _encode_arrays(arrays)
    manifest = msgspec.structs.replace(
        manifest,
        arrays=ArraysInfo(
            file=ARRAYS_FILE,
            sha256=_sha256(data),
            shapes={name: list(np.shape(a)) for name, a in arrays.items()},
        ),
    )
    encoded = msgspec.json.format(msgspec.json.encode(manifest))
    _decode_manifest(f"{target / MANIFEST_FILE} (not written)", encoded)
    with exit_on_sigterm(f"writing the bundle {target}"):
        staging = staging_directory(target)
        try:
            _write_files(staging, {ARRAYS_FILE: data, MANIFEST_FILE: encoded, **(extra_files or {})},
                         target)
            load_bundle(staging)
            swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return manifest


def check_replaceable(directory: str | os.PathLike[str]) -> Path:
    """Where a bundle for ``directory`` goes (symlinks resolved), or :class:`FileExistsError`.

    A bundle replaces nothing, an empty directory, or another bundle; never
    other files, and never a path that is not a directory (a file, a device,
    a FIFO, a socket), whatever a symlink on the way says.
    """
    target = output_directory(directory)
    replaceable = not target.exists() or (target / MANIFEST_FILE).is_file() or not any(
        target.iterdir()
    )
    if not replaceable:
        raise FileExistsError(
            f"{directory}: exists and is not a bundle (no {MANIFEST_FILE}); not replacing it"
        )
    return target


def _check_extra_name(name: str) -> None:
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or not path.parts
        or ".." in path.parts
        or "\\" in name
        or str(path) in (MANIFEST_FILE, ARRAYS_FILE)
    ):
        raise ValueError(
            f"extra file {name!r}: must be a relative path inside the bundle, "
            f"other than {MANIFEST_FILE} and {ARRAYS_FILE}"
        )
