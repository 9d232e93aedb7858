"""Open Inference Protocol (KServe V2) request bodies for customers, built from the protocol's
text alone: one tensor per field, JSON data or the binary tensor data extension (raw
little-endian numbers; ``BYTES`` elements each after a 4-byte little-endian length)."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

__all__ = ["DATATYPES", "FIELDS", "INFER", "binary_request", "json_request"]

FIELDS = ["CustomerID", "Age", "Gender", "City", "AnnualIncome", "TotalSpent", "MonthlyPurchases",
          "AvgOrderValue", "AppTimeMinutes", "DiscountUsage", "PreferredShoppingTime"]
DATATYPES = {"CustomerID": "BYTES", "Age": "INT64", "Gender": "BYTES", "City": "BYTES",
             "AnnualIncome": "FP64", "TotalSpent": "FP64", "MonthlyPurchases": "INT64",
             "AvgOrderValue": "FP64", "AppTimeMinutes": "FP64", "DiscountUsage": "BYTES",
             "PreferredShoppingTime": "BYTES"}
INFER = "/v2/models/customer-segmentation/infer"
_NUMBERS = {"INT64": "q", "FP64": "d"}


def _tensor(field: str, count: int, hints: bool) -> dict[str, Any]:
    """A tensor's header; ``hints`` adds the content types MLServer's pandas codec reads."""
    tensor: dict[str, Any] = {"name": field, "shape": [count], "datatype": DATATYPES[field]}
    if hints and DATATYPES[field] == "BYTES":
        tensor["parameters"] = {"content_type": "str"}
    return tensor


def json_request(customers: Sequence[dict[str, Any]], hints: bool = False,
                 **extra: Any) -> dict[str, Any]:
    """The customers as one JSON tensor per field."""
    inputs = [{**_tensor(field, len(customers), hints), "data": [c[field] for c in customers]}
              for field in FIELDS]
    request: dict[str, Any] = {"inputs": inputs, **extra}
    if hints:
        request["parameters"] = {"content_type": "pd"}
    return request


def _raw(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        encoded = [str(value).encode() for value in values]
        return b"".join(struct.pack("<I", len(item)) + item for item in encoded)
    return struct.pack(f"<{len(values)}{_NUMBERS[datatype]}", *values)


def binary_request(customers: Sequence[dict[str, Any]], binary_outputs: bool = True,
                   **extra: Any) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the customers sent with the binary tensor data extension."""
    blobs = [_raw(DATATYPES[field], [c[field] for c in customers]) for field in FIELDS]
    inputs = [{**_tensor(field, len(customers), False),
               "parameters": {"binary_data_size": len(blob)}}
              for field, blob in zip(FIELDS, blobs, strict=True)]
    header = {"inputs": inputs, "parameters": {"binary_data_output": binary_outputs}, **extra}
    head = json.dumps(header).encode()
    return head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head)),
                                    "Content-Type": "application/octet-stream"}
