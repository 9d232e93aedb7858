"""The model bundle: one directory holding a JSON manifest and an ``.npz`` of arrays.

This module is the single definition of the format. Training writes through
:func:`write_bundle`; the service reads through :func:`load_bundle`. Nothing is
pickled: the manifest is JSON decoded into typed structs, and the arrays load
with ``allow_pickle=False`` after their SHA-256 has been checked.

Errors form one hierarchy, every message naming the file and the field::

    BundleError
    ├── BundleFormatError      unknown format version, unreadable or invalid manifest
    ├── BundleChecksumError    the arrays file is not the one the manifest describes
    ├── BundleMissingError     a file of the bundle is absent or truncated
    └── BundleShapeError       arrays disagree with the manifest, or hold non-finite numbers
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import msgspec
import numpy as np

__all__ = [
    "ARRAYS_FILE",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
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
    "model_columns",
    "write_bundle",
]

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.npz"

FeatureKind = Literal["numeric", "ordinal", "binary", "one-hot"]
UnknownRule = Literal["reject", "neutral"]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class BundleError(Exception):
    """A bundle cannot be loaded; the message names the file and what is wrong."""


class BundleFormatError(BundleError):
    """Unknown format version, or a manifest that is not valid."""


class BundleChecksumError(BundleError):
    """The arrays file's SHA-256 differs from the manifest's."""


class BundleMissingError(BundleError):
    """A file of the bundle is absent or truncated."""


class BundleShapeError(BundleError):
    """An array's shape disagrees with the manifest, or it holds non-finite numbers."""


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

    @property
    def width(self) -> int:
        """How many model columns the feature spans."""
        return len(self.categories) if self.kind == "one-hot" else 1


class ModelInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: NonEmpty
    version: NonEmpty
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
    """A verified bundle: its manifest and its arrays.

    ``mean`` and ``scale`` standardize the model columns; ``centroids`` live in
    the weighted, standardized space, row ``i`` belonging to segment ``i``.
    """

    path: str
    manifest: Manifest
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray
    checksum: str


def model_columns(features: list[FeatureSpec]) -> int:
    """The number of model columns: features with a weight, one-hot ones spanning several."""
    return sum(spec.width for spec in features if spec.weight > 0)


def _expected_shapes(manifest: Manifest) -> dict[str, tuple[int, ...]]:
    columns = model_columns(manifest.features)
    return {
        "mean": (columns,),
        "scale": (columns,),
        "centroids": (manifest.model.k, columns),
    }


def _check_arrays(source: str, manifest: Manifest, arrays: Mapping[str, np.ndarray]) -> None:
    for name, shape in _expected_shapes(manifest).items():
        if name not in arrays:
            raise BundleShapeError(f"{source}: array {name!r} is missing")
        found = arrays[name]
        if found.shape != shape:
            raise BundleShapeError(
                f"{source}: array {name!r} has shape {list(found.shape)}, "
                f"the manifest implies {list(shape)}"
            )
        if found.dtype != np.float64:
            raise BundleShapeError(f"{source}: array {name!r} is {found.dtype}, expected float64")
        if not np.isfinite(found).all():
            raise BundleShapeError(f"{source}: array {name!r} holds non-finite numbers")
    if (arrays["scale"] <= 0).any():
        raise BundleShapeError(f"{source}: array 'scale' must be positive")
    centroids = arrays["centroids"]
    if len(np.unique(centroids, axis=0)) != len(centroids):
        raise BundleShapeError(f"{source}: array 'centroids' holds the same centroid twice")


def _check_manifest(source: str, manifest: Manifest) -> None:
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
    if model_columns(manifest.features) == 0:
        raise BundleFormatError(f"{source}: no feature has a positive weight")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise BundleMissingError(f"{path}: {what} not found") from exc
    except OSError as exc:
        raise BundleMissingError(f"{path}: cannot read {what} ({exc.strerror})") from exc


def _read_manifest(path: Path) -> Manifest:
    source = str(path)
    raw = _read(path, "manifest")
    try:
        version = msgspec.json.decode(raw, type=dict[str, object]).get("format_version")
    except msgspec.DecodeError as exc:
        raise BundleFormatError(f"{source}: not a valid JSON manifest ({exc})") from exc
    if version != FORMAT_VERSION:
        raise BundleFormatError(
            f"{source}: format_version {version!r} is not supported "
            f"(this runtime reads format_version {FORMAT_VERSION})"
        )
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as exc:
        raise BundleFormatError(f"{source}: invalid manifest: {exc}") from exc
    _check_manifest(source, manifest)
    return manifest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_bundle(directory: str | os.PathLike[str]) -> Bundle:
    """Read and verify the bundle in ``directory``.

    Raises a :class:`BundleError` subclass naming the file and the field when
    the bundle is of an unknown version, truncated, tampered with or inconsistent.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BundleMissingError(f"{root}: bundle directory not found")
    manifest = _read_manifest(root / MANIFEST_FILE)
    if manifest.arrays is None:
        raise BundleFormatError(f"{root / MANIFEST_FILE}: the 'arrays' field is missing")
    arrays_path = root / manifest.arrays.file
    data = _read(arrays_path, "arrays file")
    checksum = _sha256(data)
    if checksum != manifest.arrays.sha256:
        raise BundleChecksumError(
            f"{arrays_path}: SHA-256 is {checksum}, the manifest's arrays.sha256 "
            f"is {manifest.arrays.sha256}"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        for name, value in arrays.items():
            if not isinstance(value, np.ndarray):
                raise BundleShapeError(f"{arrays_path}: member {name!r} is not an array")
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BundleMissingError(f"{arrays_path}: unreadable or truncated ({exc})") from exc
    _check_arrays(str(arrays_path), manifest, arrays)
    declared = {name: tuple(shape) for name, shape in manifest.arrays.shapes.items()}
    found = {name: arrays[name].shape for name in declared if name in arrays}
    if declared != found:
        raise BundleShapeError(
            f"{arrays_path}: arrays.shapes in the manifest is {manifest.arrays.shapes}, "
            f"the file holds {found}"
        )
    return Bundle(
        path=str(root),
        manifest=manifest,
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


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


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

    The bundle is assembled in a temporary sibling directory, verified by
    :func:`load_bundle`, then renamed into place: an interrupted write leaves
    no partial bundle, and an existing one is replaced only once the new one
    is complete. ``extra_files`` (a report, figures) are written beside it,
    by relative path. A target that exists but is not a bundle is never replaced.
    """
    target = Path(directory)
    for name in extra_files or {}:
        _check_extra_name(name)
    check_replaceable(target)
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
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the bundle from a non-root service
    try:
        _write_synced(staging / ARRAYS_FILE, data)
        _write_synced(staging / MANIFEST_FILE, msgspec.json.format(msgspec.json.encode(manifest)))
        for name, content in (extra_files or {}).items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(path, content)
        load_bundle(staging)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def check_replaceable(directory: str | os.PathLike[str]) -> None:
    """Raise :class:`FileExistsError` unless a bundle may be written to ``directory``.

    A bundle replaces nothing, an empty directory, or another bundle; never other files.
    """
    target = Path(directory)
    replaceable = not target.exists() or (target / MANIFEST_FILE).is_file() or (
        target.is_dir() and not any(target.iterdir())
    )
    if not replaceable:
        raise FileExistsError(
            f"{target}: exists and is not a bundle (no {MANIFEST_FILE}); not replacing it"
        )


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


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    parked = retired / target.name
    try:
        target.rename(parked)
        try:
            staging.rename(target)
        except BaseException:
            parked.rename(target)  # the old bundle goes back in place
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            retired.rmdir()  # empty, unless the old bundle could not go back: then it stays
        raise
    shutil.rmtree(retired, ignore_errors=True)
