"""What the service serves: a model with its answers and drift monitor, swapped as one.

:func:`load_served` is the one way in, at start-up and on reload alike: a bundle
is read and verified, its catalogue override applied, and its own segment
profiles answered through the full answer path before it may serve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from starlette.responses import Response

from runtime.core.bundle import Bundle, FeatureSpec, load_bundle
from runtime.core.catalogue import apply_override, load_override
from runtime.core.customer import EXAMPLE_CUSTOMER, Customer
from runtime.core.drift import DriftMonitor
from runtime.core.features import InvalidValue
from runtime.core.model import BundleCheckError, Model
from runtime.service.answers import Answers
from runtime.service.schemas import BatchPrediction
from runtime.service.settings import Settings

__all__ = ["JSON", "ServedModel", "load_served"]

JSON = "application/json"
# An HTTP field value: visible ASCII, spaces and tabs (RFC 9110, 5.5), nothing that ends a line.
_FIELD_VALUE = re.compile(r"^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$")
_CUSTOMER_INFO = cast(msgspec.inspect.StructType, msgspec.inspect.type_info(Customer))
_INTEGER_FIELDS = frozenset(
    field.name for field in _CUSTOMER_INFO.fields
    if isinstance(getattr(field.type, "type", field.type), msgspec.inspect.IntType)  # under Meta
)


@dataclass(frozen=True, eq=False)
class ServedModel:
    """One bundle's model, answers and drift window: a request uses one of these throughout."""

    model: Model
    answers: Answers
    drift: DriftMonitor

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def bundle(self) -> Bundle:
        return self.model.bundle

    def response(self, body: bytes) -> Response:
        """A prediction's answer, labelled with the model version that made it."""
        return Response(body, media_type=JSON, headers={"X-Model-Version": self.version})


def load_served(settings: Settings) -> ServedModel:
    """Read, verify and prepare the bundle (and catalogue override) that ``settings`` name.

    Raises a ``BundleError`` naming the file and what is wrong.
    """
    bundle = load_bundle(settings.bundle)
    catalogue = bundle.manifest.segments
    if settings.catalogue is not None:
        override = load_override(settings.catalogue)
        catalogue = apply_override(str(settings.catalogue), catalogue, override)
    model = Model(bundle, catalogue)
    model.check()
    manifest = bundle.manifest
    served = ServedModel(model, Answers(model),
                         DriftMonitor(bundle.layout, manifest.drift, settings.drift_window,
                                      min_sample=settings.drift_min_sample))
    _answer_profiles(served)
    return served


def _answer_profiles(served: ServedModel) -> None:
    """Answer each segment's profile customer as a request would be, headers included."""
    bundle = served.bundle
    try:
        customers = msgspec.convert([_profile_customer(bundle, segment.id) for segment in
                                     bundle.manifest.segments], list[Customer])
        ids, columns = served.model.read(customers)
        body = served.answers.encode_batch(ids, served.model.predict(columns), explain=True)
        answered = msgspec.json.decode(body, type=BatchPrediction)
        headers = served.response(body).headers
    except (msgspec.ValidationError, InvalidValue, KeyError, ValueError) as exc:
        raise BundleCheckError(f"{bundle.path}: its segment profiles cannot be answered ({exc})") from exc
    if len(answered.predictions) != len(customers):
        raise BundleCheckError(f"{bundle.path}: {len(customers)} profiles got "
                               f"{len(answered.predictions)} answers")
    for name, value in headers.items():
        if not _FIELD_VALUE.match(value):
            raise BundleCheckError(f"{bundle.path}: the answer's {name} header would be {value!r}, "
                                   "not a valid HTTP header value")


def _profile_customer(bundle: Bundle, segment_id: int) -> dict[str, Any]:
    """A customer made of a segment's profile: its mean numbers and most common categories."""
    segment = next(s for s in bundle.manifest.segments if s.id == segment_id)
    customer: dict[str, Any] = dict(EXAMPLE_CUSTOMER, CustomerID=f"profile-{segment_id}")
    for spec in bundle.manifest.features:
        customer[spec.field] = _profile_value(spec, segment.profile, spec.field in _INTEGER_FIELDS)
    return customer


def _profile_value(spec: FeatureSpec, profile: dict[str, float], integer: bool) -> Any:
    if spec.kind == "numeric":
        value = profile[spec.field]
        return round(value) if integer else value
    shares = [profile[f"{spec.field}={category}"] for category in spec.categories]
    return spec.categories[shares.index(max(shares))]
