"""A customer as exported and as the API takes it: the one schema every reader validates against."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = ["EXAMPLE_CUSTOMER", "Customer"]

Money = Annotated[float, Meta(ge=0, le=1e12, description="An amount in rupees, not negative.")]

EXAMPLE_CUSTOMER = {
    "CustomerID": "C001",
    "Age": 28,
    "Gender": "Female",
    "City": "Mumbai",
    "AnnualIncome": 450000.0,
    "TotalSpent": 120000.0,
    "MonthlyPurchases": 6,
    "AvgOrderValue": 2000.0,
    "AppTimeMinutes": 45.0,
    "DiscountUsage": "Medium",
    "PreferredShoppingTime": "Night",
}


class Customer(msgspec.Struct, gc=False):
    """One customer, as exported. ``CustomerID`` is an identifier, never a model input.

    Its fields are strings and numbers, so it can hold no reference cycle: untracked by
    the garbage collector, a batch of them costs no collection passes.
    """

    CustomerID: Annotated[str, Meta(min_length=1, max_length=64, description="Any identifier.")]
    Age: Annotated[int, Meta(ge=0, le=120, description="Whole years, 0 to 120.")]
    Gender: Annotated[
        str, Meta(min_length=1, max_length=16, description="F or M (also Female, Male); any case.")
    ]
    City: Annotated[str, Meta(min_length=1, max_length=64, description="Any city.")]
    AnnualIncome: Money
    TotalSpent: Money
    MonthlyPurchases: Annotated[int, Meta(ge=0, le=100_000, description="Purchases per month.")]
    AvgOrderValue: Money
    AppTimeMinutes: Annotated[
        float, Meta(ge=0, le=44_640, description="Minutes in the app per month.")
    ]
    DiscountUsage: Annotated[
        str, Meta(min_length=1, max_length=16, description="Low, Medium or High; any case.")
    ]
    PreferredShoppingTime: Annotated[
        str, Meta(min_length=1, max_length=16, description="Day or Night; any case.")
    ]
