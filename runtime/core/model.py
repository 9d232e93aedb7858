"""A model ready to serve: a verified bundle, its catalogue, its encoder and its predictor.

Serving, bulk scoring and the bundle's own self-check all read customers and
predict through here, so every reader takes the same values and answers alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter

import numpy as np

from runtime.core.bundle import Bundle, BundleError, Segment
from runtime.core.customer import Customer
from runtime.core.features import Column, normalize
from runtime.core.predictor import Predictions, Predictor

__all__ = ["BundleCheckError", "Model"]

_CUSTOMER_ID = attrgetter("CustomerID")


class BundleCheckError(BundleError):
    """The bundle loads but its catalogue and centroids disagree."""


class Model:
    """Customers in, segments out, for one bundle and catalogue."""

    def __init__(self, bundle: Bundle, catalogue: Sequence[Segment] | None = None) -> None:
        self.bundle = bundle
        self.predictor = Predictor(bundle)
        self.version = bundle.manifest.model.version
        self.catalogue = list(catalogue or bundle.manifest.segments)
        features = bundle.manifest.features
        self._fields = list(dict.fromkeys([*self.predictor.encoder.fields,
                                           *(spec.field for spec in features)]))
        numeric = {spec.field for spec in features if spec.kind == "numeric"}
        self._readers = [(field, field in numeric, attrgetter(field)) for field in self._fields]
        self._categorical = [field for field in self._fields if field not in numeric]

    def read(self, customers: Sequence[Customer]) -> tuple[Sequence[str], dict[str, Column]]:
        """The customers' ids, and each model field's values in customer order: what
        prediction and drift read.

        Numeric fields come as float arrays and categorical ones as codes, converted
        once for both readers. Raises ``InvalidValue`` naming the index and field.
        """
        # Field by field, straight from the structs: a row tuple per customer would only
        # feed the garbage collector, which then walks them all (a third of the time).
        columns: dict[str, Column] = {}
        for field, numeric, value_of in self._readers:
            values = map(value_of, customers)
            columns[field] = (np.fromiter(values, dtype=np.float64, count=len(customers))
                              if numeric else list(values))
        return list(map(_CUSTOMER_ID, customers)), self.predictor.encoder.coded(columns)

    def validate(self, customers: Sequence[Customer]) -> None:
        """Raise ``InvalidValue`` (naming the index and field) for the first customer that
        :meth:`read` would refuse, reading nothing: cheap for a request or two."""
        encoder = self.predictor.encoder
        encoder.check({field: [getattr(customer, field) for customer in customers]
                       for field in self._categorical})

    def predict(self, columns: Mapping[str, Column]) -> Predictions:
        """Predict from columns; raises ``InvalidValue`` naming the index and field."""
        return self.predictor.predict(columns)

    def check(self) -> None:
        """Raise :class:`BundleCheckError` unless the model answers its own catalogue.

        Every category and alias encodes as the category it names (two spellings
        that normalize alike would not), and each segment's profile predicts as
        that segment.
        """
        self._check_categories()
        path = self.bundle.path
        try:
            profiles = _profile_columns(self.bundle)
        except KeyError as exc:
            raise BundleCheckError(f"{path}: a segment profile lacks {exc}") from exc
        found = self.predictor.predict_raw(profiles).segments.tolist()
        expected = [segment.id for segment in self.bundle.manifest.segments]
        if found != expected:
            raise BundleCheckError(
                f"{path}: segment profiles {expected} predict as {found}: "
                "the catalogue does not match the centroids"
            )

    def _check_categories(self) -> None:
        encoder = self.predictor.encoder
        for index, spec in enumerate(self.bundle.manifest.features):
            if spec.kind == "numeric":
                continue
            # as written, and as a client may write them (other case, blanks)
            named = [*spec.categories, *spec.aliases]
            spellings = [*named, *map(normalize, named)]
            expected = [*range(len(spec.categories)),
                        *(spec.categories.index(target) for target in spec.aliases.values())] * 2
            found = encoder.codes(spec, spellings).tolist()
            if found != expected:
                wrong = next(spelling for spelling, code, want
                             in zip(spellings, found, expected, strict=True) if code != want)
                raise BundleCheckError(
                    f"{self.bundle.path}: features[{index}] ({spec.field}): {wrong!r} does not "
                    "encode as the category it names (categories or aliases that differ only "
                    "in case or blanks)"
                )


def _profile_columns(bundle: Bundle) -> np.ndarray:
    """Each segment's profile as raw model columns: the segment's mean customer."""
    rows = []
    for segment in bundle.manifest.segments:
        row: list[float] = []
        for spec in bundle.layout.weighted:
            if spec.kind in ("numeric", "ordinal"):
                row.append(segment.profile[spec.field])
            elif spec.kind == "binary":
                row.append(segment.profile[f"{spec.field}={spec.categories[1]}"])
            else:
                row.extend(segment.profile[f"{spec.field}={c}"] for c in spec.categories)
        rows.append(row)
    return np.array(rows, dtype=np.float64)
