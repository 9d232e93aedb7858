"""Tensor data in JSON and in the binary extension's raw bytes, read back exactly."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.service.tensors import TensorError, read_binary, read_json, to_binary, to_binary_elements


def raw_text(items: list[str]) -> bytes:
    """BYTES as the protocol lays it out, written here by hand: 4-byte length, then UTF-8."""
    return b"".join(struct.pack("<I", len(item.encode())) + item.encode() for item in items)


# Short ASCII, any text (NUL and non-ASCII included), and elements past 255 bytes.
TEXTS = st.lists(st.text(alphabet="abcXYZ -", min_size=1, max_size=12)
                 | st.text(max_size=12) | st.text(min_size=70, max_size=90).map(lambda t: t * 4),
                 min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(items=TEXTS)
def test_binary_text_reads_back_what_was_written(items: list[str]) -> None:
    assert read_binary("BYTES", raw_text(items), len(items)) == items


@settings(max_examples=100, deadline=None)
@given(items=TEXTS, cut=st.integers(1, 8))
def test_cut_binary_text_is_refused_naming_an_index_or_the_rest(items: list[str], cut: int) -> None:
    raw = raw_text(items)
    with pytest.raises(TensorError, match=r"index \d+|bytes follow"):
        read_binary("BYTES", raw[:-cut] if cut < len(raw) else raw + b"\0" * cut, len(items))


def test_binary_text_with_an_element_too_many_is_refused() -> None:
    with pytest.raises(TensorError, match="4 bytes follow the 2 elements"):
        read_binary("BYTES", raw_text(["a", "b", ""]), 2)


def test_numbers_are_little_endian_both_ways() -> None:
    values = np.array([1, -2, 2**40], dtype=np.int64)
    assert to_binary(values, "INT64") == struct.pack("<3q", 1, -2, 2**40)
    assert read_binary("INT64", struct.pack("<3q", 1, -2, 2**40), 3).tolist() == values.tolist()
    assert read_binary("FP64", struct.pack("<2d", 0.5, 1e12), 2).tolist() == [0.5, 1e12]
    assert read_binary("INT32", struct.pack("<2i", 7, -1), 2).tolist() == [7, -1]


def test_elements_are_written_after_their_length() -> None:
    assert to_binary_elements([b"ab", b""]) == b"\x02\0\0\0ab\0\0\0\0"


def test_json_data_out_of_an_integer_range_names_its_index() -> None:
    with pytest.raises(TensorError, match="index 1"):
        read_json("INT32", b"[1, 3000000000]", 2)
