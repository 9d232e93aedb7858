"""Request bodies: the seed README's customer, and customers drawn from the shared data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.rawcsv import read_rows
from runtime.core.customer import EXAMPLE_CUSTOMER

__all__ = ["SEED_ANSWER", "SEED_BODY", "draw", "write_body"]

# The seed README's body, with the spelling both services accept ("F") and a known id.
SEED_BODY: dict[str, Any] = {**EXAMPLE_CUSTOMER, "Gender": "F"}
# The contract's example answer: R2's body until our service has answered.
SEED_ANSWER: dict[str, Any] = {
    "cluster": 2,
    "segment_name": "Value-Seeking Regular",
    "segment_description": "Mid-tier customers with moderate income and regular engagement",
    "characteristics": [
        "Mid-range annual income (~$585K)",
        "Moderate total spending (~$260K)",
        "Regular monthly purchases (8.8)",
        "Moderate app engagement (~68 mins)",
    ],
    "recommended_offers": [
        "Seasonal sales and limited-time offers",
        "Bundle deals and combo packages",
        "Referral bonuses for inviting friends",
        "Mid-range product recommendations with best value",
    ],
    "confidence_score": 0.8542,
}
INTEGERS = ("Age", "MonthlyPurchases")
FLOATS = ("AnnualIncome", "TotalSpent", "AvgOrderValue", "AppTimeMinutes")


def draw(data: Path, count: int, rng: np.random.Generator, spread: float = 0.1) -> list[dict[str, Any]]:
    """``count`` customers resampled from the export's complete rows, numbers jittered.

    Categories keep their observed frequencies; each number is scaled by a log-normal
    factor of ``spread``, so the batch covers the data's range without repeating it.
    """
    rows = read_rows(data)
    picks = rng.integers(len(rows), size=count)
    factors = rng.lognormal(0.0, spread, size=(count, len(INTEGERS) + len(FLOATS)))
    customers = []
    for index, (pick, factor) in enumerate(zip(picks, factors, strict=True)):
        row = rows[pick]
        customer: dict[str, Any] = {name: row[name] for name in SEED_BODY}
        customer["CustomerID"] = f"C{index:06d}"
        for name, scale in zip(INTEGERS + FLOATS, factor, strict=True):
            value = float(row[name]) * scale
            customer[name] = max(1, round(value)) if name in INTEGERS else round(value, 2)
        customers.append(customer)
    return customers


def write_body(path: Path, payload: Any) -> Path:
    """``payload`` as compact JSON in ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, separators=(",", ":")))
    return path
