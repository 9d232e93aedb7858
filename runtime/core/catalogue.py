"""Catalogue overrides: new segment names, descriptions and offers without retraining.

Marketing changes offers more often than the model changes. An override file
replaces those texts for the segments it names; the model arrays, sizes,
profiles and characteristics stay the bundle's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import msgspec

from runtime.core.bundle import BundleFormatError, Segment
from runtime.core.bundle_files import MAX_MANIFEST_BYTES, read_bounded

__all__ = ["CatalogueOverride", "SegmentOverride", "apply_override", "load_override"]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SegmentOverride(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=0)]
    name: Text
    description: Text
    offers: Annotated[list[Text], msgspec.Meta(min_length=1, max_length=20)]


class CatalogueOverride(msgspec.Struct, forbid_unknown_fields=True):
    """The override file's schema: ``{"segments": [{"id", "name", "description", "offers"}]}``."""

    segments: Annotated[list[SegmentOverride], msgspec.Meta(min_length=1)]


def load_override(path: str | os.PathLike[str]) -> CatalogueOverride:
    """Read and validate an override file; errors name the file and the field.

    The file is read within the manifest's bounds (a regular file of at most
    ``MAX_MANIFEST_BYTES``), and whatever it holds gives one :class:`BundleError`. Its
    schema is typed throughout, so nesting is refused at the first level it does not fit.
    """
    source = Path(path)
    # resolved first: a mounted ConfigMap's files are symlinks into a hidden folder
    raw = read_bounded(source.resolve(), MAX_MANIFEST_BYTES, "catalogue override")
    try:
        return msgspec.json.decode(raw, type=CatalogueOverride)
    except msgspec.DecodeError as exc:
        raise BundleFormatError(f"{source}: invalid catalogue override: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise BundleFormatError(
            f"{source}: invalid catalogue override: not UTF-8 (byte {exc.start})"
        ) from exc


def apply_override(
    source: str, catalogue: list[Segment], override: CatalogueOverride
) -> list[Segment]:
    """The catalogue with the override's texts; unknown or repeated ids are refused."""
    by_id = {segment.id: segment for segment in catalogue}
    seen: set[int] = set()
    replaced = dict(by_id)
    for index, entry in enumerate(override.segments):
        if entry.id not in by_id:
            raise BundleFormatError(
                f"{source}: segments[{index}].id {entry.id} is not a segment of the model "
                f"(ids {sorted(by_id)})"
            )
        if entry.id in seen:
            raise BundleFormatError(f"{source}: segments[{index}].id {entry.id} is repeated")
        seen.add(entry.id)
        replaced[entry.id] = msgspec.structs.replace(
            by_id[entry.id], name=entry.name, description=entry.description,
            offers=list(entry.offers),
        )
    return [replaced[segment.id] for segment in catalogue]
