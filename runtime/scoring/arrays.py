"""NumPy arrays to Arrow and back through their buffers: the public, zero-copy way.

``pyarrow.array`` and ``Array.to_numpy`` look for pandas first, and importing
it costs a scorer a third of a second and tens of MB before the first row. The
conversions scoring needs (numbers, masks, a few strings) go through
``Array.from_buffers`` and ``Array.buffers`` instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_numpy", "from_numpy", "strings"]


def as_numpy(array: pa.Array, kind: pa.DataType, fill: object = 0) -> np.ndarray:
    """``array`` cast to the fixed-width ``kind``, nulls filled, as a NumPy view of its buffer."""
    cast = pc.cast(array, kind)
    if cast.null_count:  # (filling makes a scalar, and that looks for pandas too)
        cast = pc.fill_null(cast, fill)
    if isinstance(cast, pa.ChunkedArray):
        cast = cast.combine_chunks()
    data = np.frombuffer(cast.buffers()[1], dtype=kind.to_pandas_dtype())
    return data[cast.offset:cast.offset + len(cast)]


def from_numpy(values: np.ndarray) -> pa.Array:
    """A one-dimensional NumPy array of numbers or booleans as an Arrow array (no nulls)."""
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    contiguous = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(contiguous.dtype)
    return pa.Array.from_buffers(kind, len(contiguous), [None, pa.py_buffer(contiguous)])


def strings(values: list[str]) -> pa.Array:
    """Python strings as an Arrow string array."""
    encoded = [value.encode() for value in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
