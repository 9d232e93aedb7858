"""Open Inference Protocol requests for tests, built by hand from the protocol's text.

Independent of the service's own tensor code: raw little-endian numbers with ``struct``,
``BYTES`` elements each after a 4-byte little-endian length.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

FIELDS = ["CustomerID", "Age", "Gender", "City", "AnnualIncome", "TotalSpent", "MonthlyPurchases",
          "AvgOrderValue", "AppTimeMinutes", "DiscountUsage", "PreferredShoppingTime"]
DATATYPES = {"CustomerID": "BYTES", "Age": "INT64", "Gender": "BYTES", "City": "BYTES",
             "AnnualIncome": "FP64", "TotalSpent": "FP64", "MonthlyPurchases": "INT64",
             "AvgOrderValue": "FP64", "AppTimeMinutes": "FP64", "DiscountUsage": "BYTES",
             "PreferredShoppingTime": "BYTES"}
INFER = "/v2/models/customer-segmentation/infer"


def json_request(customers: Sequence[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The customers as one JSON tensor per field."""
    return {"inputs": [{"name": field, "shape": [len(customers)], "datatype": DATATYPES[field],
                        "data": [customer[field] for customer in customers]} for field in FIELDS],
            **extra}


def _raw(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        encoded = [str(value).encode() for value in values]
        return b"".join(struct.pack("<I", len(item)) + item for item in encoded)
    code = {"INT64": "q", "INT32": "i", "FP64": "d"}[datatype]
    return struct.pack(f"<{len(values)}{code}", *values)


def binary_request(customers: Sequence[dict[str, Any]], binary_outputs: bool = True,
                   **extra: Any) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the customers sent with the binary tensor data extension."""
    blobs = [_raw(DATATYPES[field], [customer[field] for customer in customers]) for field in FIELDS]
    header = {"inputs": [{"name": field, "shape": [len(customers)], "datatype": DATATYPES[field],
                          "parameters": {"binary_data_size": len(blob)}}
                         for field, blob in zip(FIELDS, blobs, strict=True)],
              "parameters": {"binary_data_output": binary_outputs}, **extra}
    head = json.dumps(header).encode()
    return head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head)),
                                    "Content-Type": "application/octet-stream"}


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
