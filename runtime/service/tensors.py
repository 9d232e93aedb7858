"""Tensor data in the Open Inference Protocol's two encodings: JSON lists, and the binary
tensor data extension's raw bytes (little-endian numbers; ``BYTES`` elements each after
their length as a 4-byte little-endian unsigned integer).

Every reader raises :class:`TensorError` naming the offending element's index, or what
the data lacks; the caller adds the tensor's name.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import Meta

__all__ = ["DATATYPES", "TensorError", "Values", "read_binary", "read_json", "to_binary",
           "to_binary_elements"]

# A tensor's values: a NumPy array for numbers, text for BYTES.
Values = np.ndarray | list[str]

# The datatypes read here, with their little-endian NumPy types (BYTES has none).
DATATYPES: dict[str, np.dtype | None] = {
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP64": np.dtype("<f8"),
    "BYTES": None,
}
_Int32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
_Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
_JSON_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "INT32": msgspec.json.Decoder(list[_Int32]),
    "INT64": msgspec.json.Decoder(list[_Int64]),
    "FP64": msgspec.json.Decoder(list[float]),
    "BYTES": msgspec.json.Decoder(list[str]),
}
_AT_INDEX = re.compile(r"^(?P<reason>.*?) - at `\$\[(?P<index>\d+)\]`$", re.DOTALL)
_LENGTH = struct.Struct("<I")


class TensorError(ValueError):
    """Tensor data that cannot be read as its datatype and shape say."""


def read_json(datatype: str, data: msgspec.Raw | bytes, count: int) -> Values:
    """The ``count`` values of a tensor's JSON ``data``, a flat list of ``datatype``'s values."""
    try:
        values = _JSON_DECODERS[datatype].decode(data)
    except msgspec.ValidationError as exc:
        match = _AT_INDEX.match(str(exc))
        raise TensorError(f"index {match['index']}: {match['reason']}" if match else str(exc)
                          ) from exc
    except msgspec.DecodeError as exc:
        raise TensorError(f"data is not JSON: {exc}") from exc
    if len(values) != count:
        raise TensorError(f"data holds {len(values)} values, the shape says {count}")
    dtype = DATATYPES[datatype]
    return values if dtype is None else np.array(values, dtype=dtype)


def read_binary(datatype: str, raw: bytes, count: int) -> Values:
    """The ``count`` values of a tensor sent as raw bytes (the binary extension)."""
    dtype = DATATYPES[datatype]
    if dtype is None:
        return _decoded(_elements(raw, count))
    if len(raw) != count * dtype.itemsize:
        raise TensorError(f"{len(raw)} bytes of data, expected {count} x {dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype)


def _elements(raw: bytes, count: int) -> list[bytes]:
    """The elements of a BYTES tensor, each after its 4-byte length."""
    elements: list[bytes] = []
    append, unpack = elements.append, _LENGTH.unpack_from
    position = 0
    try:  # bounds are checked once at the end: a slice past the end comes back short
        for _ in range(count):
            (length,) = unpack(raw, position)
            position += 4 + length
            append(raw[position - length:position])
    except struct.error:
        pass
    if position != len(raw) or len(elements) != count:
        _refuse_elements(raw, count)
    return elements


def _refuse_elements(raw: bytes, count: int) -> None:
    """Raise :class:`TensorError` naming where ``raw`` breaks the BYTES layout."""
    position, end = 0, len(raw)
    for index in range(count):
        if position + 4 > end:
            raise TensorError(f"index {index}: the data ends before the element's length")
        (length,) = _LENGTH.unpack_from(raw, position)
        position += 4 + length
        if position > end:
            raise TensorError(f"index {index}: the element's length {length} runs past the data")
    raise TensorError(f"{end - position} bytes follow the {count} elements the shape says")


def _decoded(elements: list[bytes]) -> list[str]:
    """The elements as text: JSON carries text, so the binary extension must carry UTF-8 too."""
    # Categorical fields repeat a few values: each distinct one is decoded once.
    try:
        distinct = {element: element.decode() for element in set(elements)}
    except UnicodeDecodeError:
        for index, element in enumerate(elements):
            try:
                element.decode()
            except UnicodeDecodeError as exc:
                raise TensorError(f"index {index}: not UTF-8 text (byte {exc.start})") from exc
        raise
    return list(map(distinct.__getitem__, elements))


def to_binary_elements(elements: Sequence[bytes]) -> bytes:
    """A BYTES tensor's raw data: each element after its length."""
    return b"".join(_LENGTH.pack(len(element)) + element for element in elements)


def to_binary(values: np.ndarray, datatype: str) -> bytes:
    """A numeric tensor's raw data, little-endian as the extension requires."""
    dtype = DATATYPES[datatype]
    if dtype is None:
        raise TensorError(f"{datatype} has no fixed-size raw form; use to_binary_elements")
    return np.ascontiguousarray(values, dtype=dtype).tobytes()
