"""What a manifest must say for its bundle to serve, beyond the types its schema checks.

Every feature reads a :class:`~runtime.core.customer.Customer` field other than
the identifier, once, with a kind that fits the field's type (numbers are
``numeric``; text is ``ordinal``, ``binary`` or ``one-hot``). Every drift
reference names a feature and has one share per bin of that feature. A manifest
that breaks one of these would load, then fail every request.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from msgspec import inspect

from runtime.core.bundle_errors import BundleFormatError
from runtime.core.customer import Customer

if TYPE_CHECKING:  # the bundle module imports this one
    from runtime.core.bundle import DriftReference, FeatureSpec, Manifest

__all__ = ["CUSTOMER_FIELD_TYPES", "check_against_customer"]

_IDENTIFIER = "CustomerID"


def _field_types() -> dict[str, str]:
    """Each model-input field of :class:`Customer` and whether it holds a number or text."""
    types: dict[str, str] = {}
    for field in cast(inspect.StructType, inspect.type_info(Customer)).fields:
        kind = field.type.type if isinstance(field.type, inspect.Metadata) else field.type
        if field.name != _IDENTIFIER:
            types[field.name] = "text" if isinstance(kind, inspect.StrType) else "number"
    return types


CUSTOMER_FIELD_TYPES = _field_types()


def check_against_customer(source: str, manifest: Manifest) -> None:
    """Raise :class:`BundleFormatError` naming the field unless the features and drift
    references fit the :class:`Customer` schema (see the module's docstring)."""
    seen: set[str] = set()
    for index, spec in enumerate(manifest.features):
        _check_feature(f"{source}: features[{index}]", spec)
        if spec.field in seen:
            raise BundleFormatError(f"{source}: features[{index}] repeats the field {spec.field!r}")
        seen.add(spec.field)
    by_field = {spec.field: spec for spec in manifest.features}
    referenced: set[str] = set()
    for index, reference in enumerate(manifest.drift):
        where = f"{source}: drift[{index}] ({reference.field[:40]})"
        if reference.field not in by_field:
            raise BundleFormatError(f"{where}: field is not one of the features")
        if reference.field in referenced:
            raise BundleFormatError(f"{where}: field has a reference already")
        referenced.add(reference.field)
        _check_reference(where, by_field[reference.field], reference)


def _check_feature(where: str, spec: FeatureSpec) -> None:
    field_type = CUSTOMER_FIELD_TYPES.get(spec.field)
    if field_type is None:
        raise BundleFormatError(
            f"{where}.field is {spec.field[:40]!r}, expected one of {', '.join(CUSTOMER_FIELD_TYPES)}"
        )
    if (spec.kind == "numeric") != (field_type == "number"):
        expected = "numeric" if field_type == "number" else "ordinal, binary or one-hot"
        raise BundleFormatError(
            f"{where}.kind is {spec.kind!r}, but {spec.field} holds {field_type}s: expected {expected}"
        )


def _check_reference(where: str, spec: FeatureSpec, reference: DriftReference) -> None:
    if spec.kind == "numeric":
        bins, expected = len(reference.edges) + 1, "len(edges) + 1"
        if reference.edges != sorted(reference.edges) or not all(map(math.isfinite, reference.edges)):
            raise BundleFormatError(f"{where}: edges must be finite and in ascending order")
    else:
        bins, expected = len(spec.categories) + 1, "one per category and one for unknown values"
        if reference.edges:
            raise BundleFormatError(f"{where}: a {spec.kind} feature has no edges")
    if len(reference.shares) != bins:
        raise BundleFormatError(
            f"{where}: has {len(reference.shares)} shares, expected {bins} ({expected})"
        )
    if not all(math.isfinite(share) and share >= 0 for share in reference.shares):
        raise BundleFormatError(f"{where}: shares must be finite and not negative")
