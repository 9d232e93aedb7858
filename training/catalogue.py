"""The segment catalogue: stable ids and personas, matched to clusters by spending rank.

K-Means numbers its clusters arbitrarily, so a cluster's id and name come from
its rank by mean total spending, never from its label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from runtime.core.bundle import Segment

__all__ = ["Persona", "build_catalogue", "rank_by_spending"]

RANK_FIELD = "TotalSpent"


@dataclass(frozen=True)
class Persona:
    id: int
    name: str
    description: str
    level: str  # "low", "mid" or "high": picks the words of the characteristics
    offers: tuple[str, ...]


# The contract's numbering for three segments, listed from lowest to highest spending.
PERSONAS_BY_RANK = (
    Persona(
        0,
        "Price-Sensitive Occasional",
        "Budget-conscious customers with lower income who shop occasionally",
        "low",
        (
            "Discount coupons and flash sales",
            "Free shipping on orders above a low threshold",
            "Budget-friendly product bundles",
            "Cashback on the next purchase",
        ),
    ),
    Persona(
        2,
        "Value-Seeking Regular",
        "Mid-tier customers with moderate income and regular engagement",
        "mid",
        (
            "Seasonal sales and limited-time offers",
            "Bundle deals and combo packages",
            "Referral bonuses for inviting friends",
            "Mid-range product recommendations with best value",
        ),
    ),
    Persona(
        1,
        "High-Value Loyal",
        "Premium customers with high income, frequent purchases and strong loyalty",
        "high",
        (
            "Exclusive VIP membership with premium perks",
            "Early access to new collections",
            "Personal shopping assistant service",
            "Premium loyalty rewards with double points",
        ),
    ),
)

_WORDS = {
    "low": ("Lower annual income", "Low total spending", "Occasional monthly purchases",
            "Low app engagement"),
    "mid": ("Mid-range annual income", "Moderate total spending", "Regular monthly purchases",
            "Moderate app engagement"),
    "high": ("High annual income", "High total spending", "Frequent monthly purchases",
             "High app engagement"),
}


def _money(value: float) -> str:
    if value >= 1e6:
        return f"~${value / 1e6:.2f}M"
    return f"~${value / 1e3:.0f}K"


def characteristics(level: str, profile: Mapping[str, float]) -> list[str]:
    """The persona's lines, with figures measured on the training data."""
    income, spending, purchases, engagement = _WORDS[level]
    return [
        f"{income} ({_money(profile['AnnualIncome'])})",
        f"{spending} ({_money(profile['TotalSpent'])})",
        f"{purchases} ({profile['MonthlyPurchases']:.1f})",
        f"{engagement} (~{profile['AppTimeMinutes']:.0f} mins)",
    ]


def _personas(k: int) -> list[Persona]:
    if k == len(PERSONAS_BY_RANK):
        return list(PERSONAS_BY_RANK)
    levels = ["low"] + ["mid"] * (k - 2) + ["high"]
    return [
        Persona(rank, f"Spending tier {rank + 1} of {k}",
                f"Customers ranked {rank + 1} of {k} by total spending", levels[rank], ())
        for rank in range(k)
    ]


def rank_by_spending(profiles: list[dict[str, float]]) -> np.ndarray:
    """Segment id for each cluster label, from the clusters' spending rank."""
    order = np.argsort([profile[RANK_FIELD] for profile in profiles], kind="stable")
    personas = _personas(len(profiles))
    ids = np.empty(len(profiles), dtype=np.intp)
    for rank, label in enumerate(order):
        ids[label] = personas[rank].id
    return ids


def build_catalogue(profiles: list[dict[str, float]], sizes: list[int]) -> list[Segment]:
    """Catalogue entries in segment-id order; ``profiles`` and ``sizes`` are indexed by id."""
    by_id = {persona.id: persona for persona in _personas(len(profiles))}
    return [
        Segment(
            id=segment,
            name=by_id[segment].name,
            description=by_id[segment].description,
            characteristics=characteristics(by_id[segment].level, profiles[segment]),
            offers=list(by_id[segment].offers),
            size=sizes[segment],
            profile={name: round(value, 4) for name, value in profiles[segment].items()},
        )
        for segment in range(len(profiles))
    ]
