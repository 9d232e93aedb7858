"""The feature layout: which features become model columns, in which order, where, and how heavy.

The manifest lists every feature; only those with a positive weight span model
columns, in manifest order, a one-hot feature one column per category. The
encoder, the predictor, the bundle's shape checks, the model's self-check and
training all read this one :class:`FeatureLayout`, built once per bundle when
it loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
import numpy as np

if TYPE_CHECKING:  # runtime.core.bundle holds a layout on every Bundle
    from runtime.core.bundle import FeatureSpec

__all__ = ["FeatureLayout"]


def _frozen(values: Sequence[float] | np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    array: np.ndarray = np.array(values, dtype=dtype)
    array.flags.writeable = False  # shared by every reader of the layout
    return array


def _width(spec: FeatureSpec) -> int:
    return len(spec.categories) if spec.kind == "one-hot" else 1


def _column_names(spec: FeatureSpec) -> list[str]:
    if spec.kind == "one-hot":
        return [f"{spec.field}={category}" for category in spec.categories]
    return [spec.field]


# eq=False: arrays have no single truth value, so layouts compare by identity.
class FeatureLayout(msgspec.Struct, frozen=True, eq=False):
    """The model columns of a list of features, with read-only arrays.

    ``starts``, ``widths`` and ``fields`` hold one entry per weighted feature;
    ``weights`` and ``names`` one per model column (a column's name is its
    field, or ``field=category`` for one-hot columns).
    """

    features: tuple[FeatureSpec, ...]  # every feature, in manifest order
    weighted: tuple[FeatureSpec, ...]  # those that span model columns, in model order
    unweighted: tuple[FeatureSpec, ...]  # validated and monitored, never in a distance
    fields: tuple[str, ...]
    starts: np.ndarray
    widths: np.ndarray
    weights: np.ndarray
    names: tuple[str, ...]
    width: int  # model columns in all

    @classmethod
    def of(cls, features: Sequence[FeatureSpec]) -> FeatureLayout:
        """The layout of ``features``, given in manifest order."""
        weighted = tuple(spec for spec in features if spec.weight > 0)
        widths = [_width(spec) for spec in weighted]
        starts = np.cumsum([0, *widths])
        return cls(
            features=tuple(features),
            weighted=weighted,
            unweighted=tuple(spec for spec in features if spec.weight == 0),
            fields=tuple(spec.field for spec in weighted),
            starts=_frozen(starts[:-1], np.intp),
            widths=_frozen(widths, np.intp),
            weights=_frozen(np.repeat([spec.weight for spec in weighted], widths), np.float64),
            names=tuple(name for spec in weighted for name in _column_names(spec)),
            width=int(starts[-1]),
        )
