"""Open Inference Protocol requests and answers for tests, built and read by hand from the
protocol's text, independently of the service's own tensor code."""

from __future__ import annotations

import json
import struct
from typing import Any

from bench.perf.v2_bodies import DATATYPES, FIELDS, INFER, binary_request, json_request

__all__ = ["DATATYPES", "FIELDS", "INFER", "binary_request", "json_request", "read_binary_response"]

def read_binary_response(body: bytes, header_length: int) -> dict[str, list[Any]]:
    """Each output's values from a response with the binary extension."""
    header = json.loads(body[:header_length])
    position, values = header_length, {}
    for output in header["outputs"]:
        if "data" in output:
            values[output["name"]] = output["data"]
            continue
        size = output["parameters"]["binary_data_size"]
        raw = body[position:position + size]
        position += size
        count = output["shape"][0]
        if output["datatype"] == "BYTES":
            items, at = [], 0
            for _ in range(count):
                (length,) = struct.unpack_from("<I", raw, at)
                items.append(raw[at + 4:at + 4 + length].decode())
                at += 4 + length
            values[output["name"]] = items
        else:
            code = {"INT64": "q", "FP64": "d"}[output["datatype"]]
            values[output["name"]] = list(struct.unpack(f"<{count}{code}", raw))
    assert position == len(body), "binary data left over after the outputs"
    return values
