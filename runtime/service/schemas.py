"""The API's answer bodies, declared once: they encode answers and describe them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = [
    "API_VERSION",
    "BatchPrediction",
    "ErrorBody",
    "Explanation",
    "Health",
    "Prediction",
    "SegmentCatalogue",
    "SegmentDistance",
    "SegmentInfo",
    "ServiceInfo",
]

# The API's version, as the replaced service's clients read it from ``GET /``.
API_VERSION = "1.0.0"


class SegmentDistance(msgspec.Struct):
    id: int
    name: str
    distance: Annotated[float, Meta(description="Euclidean, in the model's scaled space.")]


class Explanation(msgspec.Struct):
    """Why this segment: distances to every segment and each feature's part in the margin."""

    distances: list[SegmentDistance]
    runner_up: Annotated[int, Meta(description="The next nearest segment's id.")]
    runner_up_name: str
    margin: Annotated[float, Meta(description="Distance to the runner-up minus to the assigned.")]
    squared_distance_gap: Annotated[
        float, Meta(description="Squared distance to the runner-up minus to the assigned.")
    ]
    contributions: Annotated[
        dict[str, float],
        Meta(description="Each feature's term of squared_distance_gap; they sum to it."),
    ]


class Prediction(msgspec.Struct, omit_defaults=True, gc=False):
    """A customer's segment, the segment's persona and offers, and how clearly it belongs.

    Untracked by the garbage collector (``gc=False``): it holds strings, numbers and
    lists of strings, so it can be part of no reference cycle, and a batch of 10,000
    answers then sets off no collection.
    """

    cluster: int
    segment_name: str
    segment_description: str
    characteristics: list[str]
    recommended_offers: list[str]
    confidence_score: Annotated[
        float, Meta(description="1 - d_assigned / d_farthest in scaled space, 4 places.")
    ]
    CustomerID: str
    model_version: str
    explanation: Annotated[
        Explanation | None, Meta(description="Present when asked with explain=true.")
    ] = None


class BatchPrediction(msgspec.Struct, gc=False):
    model_version: str
    predictions: list[Prediction]


class SegmentInfo(msgspec.Struct):
    id: int
    name: str
    description: str
    characteristics: list[str]
    offers: list[str]
    size: Annotated[int, Meta(description="Training customers in the segment.")]


class SegmentCatalogue(msgspec.Struct):
    """The catalogue in the replaced service's shape: segments keyed by their id, as text."""

    total_clusters: int
    segments: Annotated[
        dict[str, SegmentInfo], Meta(description="Each segment under its id (a JSON key: text).")
    ]
    model_version: str


class Health(msgspec.Struct):
    """The replaced service's keys (``status``, ``models_loaded``) and this service's."""

    status: str
    models_loaded: bool
    model_loaded: bool
    model_version: str | None = None


class ServiceInfo(msgspec.Struct):
    """The replaced service's keys (``message``, ``version``, ``endpoints``), then the model's."""

    message: str
    version: Annotated[str, Meta(description="The API's version, as the replaced service had it.")]
    endpoints: Annotated[dict[str, str], Meta(description="Each endpoint and what it does.")]
    service: str
    model_name: str
    model_version: str
    trained_at: str
    format_version: int
    segments: int
    features: list[str]
    docs: str = "/docs"


class ErrorBody(msgspec.Struct):
    """Every error: a stable code, a sentence saying what was wrong, and where."""

    error: Annotated[str, Meta(examples=["invalid_value"])]
    message: Annotated[str, Meta(examples=["Expected `int`, got `str` - at `$.Age`"])]
    field: Annotated[
        str | None, Meta(description="JSON path of the offending value", examples=["$.Age"])
    ] = None
