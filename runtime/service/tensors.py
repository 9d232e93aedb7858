"""Tensor data in the Open Inference Protocol's two encodings: JSON lists, and the binary
tensor data extension's raw bytes (little-endian numbers; ``BYTES`` elements each after
their length as a 4-byte little-endian unsigned integer).

Every reader raises :class:`TensorError` naming the offending element's index, or what
the data lacks; the caller adds the tensor's name.
"""

from __future__ import annotations

import contextlib
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
        return _texts(raw, count)
    if len(raw) != count * dtype.itemsize:
        raise TensorError(f"{len(raw)} bytes of data, expected {count} x {dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype)


_SEPARATOR = "\0" * 4


def _heads(raw: bytes, count: int) -> np.ndarray | None:
    """Where each of ``count`` BYTES elements' length starts, found without a loop per
    element when every element is 1 to 255 bytes long and free of NUL bytes (the usual
    text); None otherwise, or when ``raw`` is not ``count`` elements.

    Then the only NUL bytes are the three high bytes of each length: their runs mark the
    lengths, and the chain from the first to the end of the data is checked whole.
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    zeros = np.flatnonzero(data == 0)
    if len(zeros) != 3 * count or not count:
        return None
    first = zeros[0::3]
    if not ((zeros[1::3] == first + 1).all() and (zeros[2::3] == first + 2).all()):
        return None
    heads = first - 1  # each length: its low byte, then the three zeros
    ends = heads + 4 + data[heads].astype(np.int64)
    if heads[0] != 0 or ends[-1] != len(raw) or not (heads[1:] == ends[:-1]).all():
        return None
    return heads


def _bounds(raw: bytes, count: int) -> tuple[list[int], list[int]]:
    """Where each element's data starts and ends, element by element: any lengths, any bytes."""
    starts, ends = [], []
    position, unpack = 0, _LENGTH.unpack_from
    try:  # bounds are checked once at the end: a slice past the end comes back short
        for _ in range(count):
            (length,) = unpack(raw, position)
            starts.append(position + 4)
            position += 4 + length
            ends.append(position)
    except struct.error:
        pass
    if position != len(raw) or len(ends) != count:
        raise _refusal(raw, count)
    return starts, ends


def _texts(raw: bytes, count: int) -> list[str]:
    """The elements of a BYTES tensor as text: JSON carries text, so binary data must be
    UTF-8 too."""
    heads = _heads(raw, count)
    if heads is not None:
        # Each length turned into four NULs, which no element holds: one decode and one
        # split give the elements (a NUL is ASCII, so the whole is UTF-8 if each element is).
        data = np.frombuffer(raw, dtype=np.uint8).copy()
        data[heads] = 0
        with contextlib.suppress(UnicodeDecodeError):  # the loop below names the element
            return data.tobytes().decode()[len(_SEPARATOR):].split(_SEPARATOR)
    texts = []
    for index, (start, end) in enumerate(zip(*_bounds(raw, count), strict=True)):
        try:
            texts.append(raw[start:end].decode())
        except UnicodeDecodeError as exc:
            raise TensorError(f"index {index}: not UTF-8 text (byte {exc.start})") from exc
    return texts


def _refusal(raw: bytes, count: int) -> TensorError:
    """The error naming where ``raw`` breaks the BYTES layout (walked element by element)."""
    position, end = 0, len(raw)
    for index in range(count):
        if position + 4 > end:
            return TensorError(f"index {index}: the data ends before the element's length")
        (length,) = _LENGTH.unpack_from(raw, position)
        position += 4 + length
        if position > end:
            return TensorError(f"index {index}: the element's length {length} runs past the data")
    return TensorError(f"{end - position} bytes follow the {count} elements the shape says")


def to_binary_elements(elements: Sequence[bytes]) -> bytes:
    """A BYTES tensor's raw data: each element after its length."""
    return b"".join(_LENGTH.pack(len(element)) + element for element in elements)


def to_binary(values: np.ndarray, datatype: str) -> bytes:
    """A numeric tensor's raw data, little-endian as the extension requires."""
    dtype = DATATYPES[datatype]
    if dtype is None:
        raise TensorError(f"{datatype} has no fixed-size raw form; use to_binary_elements")
    return np.ascontiguousarray(values, dtype=dtype).tobytes()
