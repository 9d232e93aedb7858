"""An inference request's input tensors as customer columns, the way ``/predict`` checks them.

One tensor per :class:`Customer` field, named as the field, shape ``[N]`` (or ``[N, 1]``),
its data in JSON or (the binary tensor data extension) after the JSON header.
"""

from __future__ import annotations

import math

import msgspec

from runtime.service.columns import FIELDS, checked
from runtime.service.tensors import TensorError, Values, read_binary, read_json
from runtime.service.v2_schemas import InferRequest, RequestInput

__all__ = ["ACCEPTED", "RequestError", "customer_columns", "decode_request"]

# The datatypes each kind of field accepts; the first is the one the model metadata shows.
# Whole numbers may come as FP64 (some clients have no integer tensors); numbers as integers.
ACCEPTED = {"int": ("INT64", "INT32", "FP64"), "float": ("FP64", "INT64", "INT32"),
            "str": ("BYTES",)}
_KINDS = {rule.name: rule.kind for rule in FIELDS}
_decode = msgspec.json.Decoder(InferRequest).decode


class RequestError(ValueError):
    """A request the protocol refuses, with its HTTP status (400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_request(body: bytes, header_length: str | None) -> tuple[InferRequest, bytes]:
    """The request's JSON header, and the binary data after it (empty without the extension)."""
    binary = b""
    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            length = -1
        if not 0 < length <= len(body):
            raise RequestError(f"Inference-Header-Content-Length {header_length[:20]!r} is not "
                               f"a length within the body of {len(body)} bytes")
        body, binary = body[:length], body[length:]
    try:
        return _decode(body), binary
    except msgspec.DecodeError as exc:
        raise RequestError(f"the inference request is not valid: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise RequestError(f"the inference request is not UTF-8 (byte {exc.start})") from exc


def _count(tensor: RequestInput) -> int:
    shape = tensor.shape
    if not shape or any(size < 0 for size in shape) or math.prod(shape[1:]) != 1:
        raise RequestError(f"input '{tensor.name}': shape {shape}, expected [N] or [N, 1]: "
                           "one value per customer")
    return shape[0]


def _values(tensor: RequestInput, binary: bytes, start: int, count: int) -> tuple[Values, int]:
    """The tensor's values, and where the next tensor's binary data starts."""
    kind = _KINDS[tensor.name]
    if tensor.datatype not in ACCEPTED[kind]:
        raise RequestError(f"input '{tensor.name}': datatype {tensor.datatype}, expected "
                           f"{' or '.join(ACCEPTED[kind])}")
    size = tensor.parameters.get("binary_data_size")
    try:
        if size is None:
            if not len(tensor.data):
                raise RequestError(f"input '{tensor.name}': no data, and no binary_data_size")
            return read_json(tensor.datatype, tensor.data, count), start
        if type(size) is not int or size < 0 or start + size > len(binary):
            raise RequestError(f"input '{tensor.name}': binary_data_size {size!r} runs past the "
                               f"{len(binary)} bytes of binary data")
        return read_binary(tensor.datatype, binary[start:start + size], count), start + size
    except TensorError as exc:
        raise RequestError(f"input '{tensor.name}' {exc}") from exc


def customer_columns(request: InferRequest, binary: bytes, max_batch: int) -> dict[str, Values]:
    """Each customer field's column, checked as ``POST /predict`` checks a customer.

    Raises :class:`RequestError` naming the input (and the index) at fault.
    """
    tensors: dict[str, RequestInput] = {}
    for tensor in request.inputs:
        if tensor.name not in _KINDS:
            raise RequestError(f"input '{tensor.name}' is not a customer field; expected "
                               f"{', '.join(_KINDS)}")
        if tensor.name in tensors:
            raise RequestError(f"input '{tensor.name}' is given twice")
        tensors[tensor.name] = tensor
    missing = [name for name in _KINDS if name not in tensors]
    if missing:
        raise RequestError(f"input '{missing[0]}' is missing; every customer field is an input")
    counts = {_count(tensor) for tensor in request.inputs}
    if len(counts) > 1:
        raise RequestError("inputs of different lengths: "
                           + ", ".join(f"'{t.name}' {t.shape}" for t in request.inputs))
    count = counts.pop()
    if not 1 <= count <= max_batch:
        raise RequestError(f"{count} customers, expected 1 to {max_batch}",
                           413 if count > max_batch else 400)
    columns, position = {}, 0
    for tensor in request.inputs:  # binary data comes in the order of the inputs
        columns[tensor.name], position = _values(tensor, binary, position, count)
    if position != len(binary):
        raise RequestError(f"{len(binary) - position} bytes of binary data belong to no input")
    return checked(columns)
