"""Segment ids come from the catalogue, by spending rank: retraining never renumbers customers."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.scoring.export import ExportChunk
from training.catalogue import build_catalogue, rank_by_spending
from training.model import feature_specs, fit


def shuffled(customers: ExportChunk, rng: np.random.Generator) -> ExportChunk:
    order = rng.permutation(len(customers))
    return ExportChunk({n: v[order] for n, v in customers.columns.items()}, customers.lines[order])


def segment_by_customer(customers: ExportChunk, random_state: int) -> dict[str, int]:
    model = fit(customers, feature_specs(customers), random_state=random_state)
    return dict(zip(customers.columns["CustomerID"].tolist(), model.segments.tolist(), strict=True))


def test_every_customer_keeps_its_segment_across_random_states_and_row_orders(
    customers: ExportChunk, rng: np.random.Generator
) -> None:
    reference = segment_by_customer(customers, random_state=42)
    for random_state in (0, 1, 7, 42, 123):
        for order in ("file order", "shuffled"):
            data = shuffled(customers, rng) if order == "shuffled" else customers
            found = segment_by_customer(data, random_state)
            moved = {c: (reference[c], found[c]) for c in reference if found[c] != reference[c]}
            assert moved == {}, f"random_state={random_state}, {order}: moved {moved}"


def test_segment_ids_follow_spending_rank(customers: ExportChunk) -> None:
    model = fit(customers, feature_specs(customers))
    spending = [profile["TotalSpent"] for profile in model.profiles]
    income = [profile["AnnualIncome"] for profile in model.profiles]
    assert spending[0] < spending[2] < spending[1]  # 0 lowest, 1 highest, 2 in between
    assert income[0] < income[2] < income[1]


def test_rank_by_spending_ignores_the_kmeans_label_order() -> None:
    profiles = [{"TotalSpent": 500.0}, {"TotalSpent": 100.0}, {"TotalSpent": 300.0}]
    assert rank_by_spending(profiles).tolist() == [1, 0, 2]
    assert rank_by_spending(profiles[::-1]).tolist() == [2, 0, 1]


@pytest.mark.parametrize("k", [2, 4])
def test_other_k_get_spending_tiers(k: int) -> None:
    profiles = [{"TotalSpent": float(100 * (k - i)), "AnnualIncome": 1.0,
                 "MonthlyPurchases": 1.0, "AppTimeMinutes": 1.0} for i in range(k)]
    ids = rank_by_spending(profiles)
    assert sorted(ids.tolist()) == list(range(k))
    assert ids.tolist() == list(range(k))[::-1]  # the highest spender gets the top tier
    catalogue = build_catalogue([profiles[int(np.flatnonzero(ids == s)[0])] for s in range(k)],
                                [1] * k)
    assert [s.name for s in catalogue] == [f"Spending tier {i + 1} of {k}" for i in range(k)]
