"""The Open Inference Protocol's (KServe V2) REST bodies, declared once: they decode and encode."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

__all__ = [
    "InferRequest",
    "InferResponse",
    "ModelMetadata",
    "ModelReady",
    "Parameters",
    "RequestInput",
    "RequestOutput",
    "ResponseOutput",
    "ServerLive",
    "ServerMetadata",
    "ServerReady",
    "TensorMetadata",
    "V2Error",
]

# The protocol's parameters: names to strings, numbers or booleans.
Parameters = dict[str, str | int | float | bool]


class TensorMetadata(msgspec.Struct):
    name: str
    datatype: str
    shape: list[int]


class ServerMetadata(msgspec.Struct):
    name: str
    version: str
    extensions: list[str]


class ServerLive(msgspec.Struct):
    live: bool


class ServerReady(msgspec.Struct):
    ready: bool


class ModelMetadata(msgspec.Struct):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ModelReady(msgspec.Struct):
    name: str
    ready: bool


class RequestInput(msgspec.Struct, forbid_unknown_fields=True):
    """One input tensor. ``data`` is decoded later, by the tensor's datatype; with the
    binary extension it is absent (empty) and ``parameters`` holds ``binary_data_size``."""

    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters = msgspec.field(default_factory=dict)
    data: msgspec.Raw = msgspec.Raw()


class RequestOutput(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    parameters: Parameters = msgspec.field(default_factory=dict)


class InferRequest(msgspec.Struct, forbid_unknown_fields=True):
    inputs: list[RequestInput]
    id: str | None = None
    parameters: Parameters = msgspec.field(default_factory=dict)
    outputs: Annotated[
        list[RequestOutput] | None, Meta(description="The outputs wanted; all when absent.")
    ] = None


class ResponseOutput(msgspec.Struct, omit_defaults=True):
    """One output tensor: its values in ``data``, or (binary) their size in ``parameters``."""

    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: list[Any] | None = None


class InferResponse(msgspec.Struct, omit_defaults=True):
    model_name: str
    model_version: str
    outputs: list[ResponseOutput]
    id: str | None = None


class V2Error(msgspec.Struct):
    """The protocol's error body: one sentence naming what was wrong and where."""

    error: Annotated[str, Meta(examples=["input 'Age' index 3: expected a value >= 0, got -1"])]
