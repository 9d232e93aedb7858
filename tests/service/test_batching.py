"""Request batching: requests of one loop turn share one model call, a bad one cannot
spoil its group, and every request is answered as if it came alone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest

from runtime.core.predictor import Predictions
from runtime.service.app import create_app
from runtime.service.batching import PredictionBatcher
from runtime.service.predict import LARGE_BODY
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, SAMPLES


class _Model:
    """Stands in for a model: reads customers (ages), predicts each age as its segment, and
    counts the calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[int] = []
        self.fail = fail

    def read(self, ages: list[int]) -> tuple[list[str], dict[str, np.ndarray]]:
        return [f"C{age}" for age in ages], {"Age": np.array(ages, dtype=np.float64)}

    def predict(self, columns: dict[str, np.ndarray]) -> Predictions:
        self.calls.append(len(columns["Age"]))
        if self.fail:
            raise RuntimeError("broken model")
        ages = np.asarray(columns["Age"])
        return Predictions(ages.astype(np.intp), ages / 100, ages[:, None], None)  # type: ignore[arg-type]


class _Drift:
    def __init__(self) -> None:
        self.observed: list[int] = []

    def observe(self, columns: dict[str, np.ndarray]) -> None:
        self.observed.append(len(columns["Age"]))


class _Served:
    def __init__(self, model: _Model) -> None:
        self.model = model
        self.drift = _Drift()


def _columns(*ages: int) -> list[int]:
    return list(ages)


def test_one_turns_requests_share_one_call_per_model_and_get_their_own_rows() -> None:
    first, second = _Served(_Model()), _Served(_Model())
    batcher = PredictionBatcher()

    async def main() -> list[Any]:
        return await asyncio.gather(
            batcher.predict(first, _columns(1, 2)),  # type: ignore[arg-type]
            batcher.predict(second, _columns(3)),  # type: ignore[arg-type]
            batcher.predict(first, _columns(4, 5, 6)),  # type: ignore[arg-type]
        )

    answers = asyncio.run(main())
    assert [list(ids) for ids, _ in answers] == [["C1", "C2"], ["C3"], ["C4", "C5", "C6"]]
    assert [p.segments.tolist() for _, p in answers] == [[1, 2], [3], [4, 5, 6]]
    assert first.model.calls == [5] and second.model.calls == [1]
    assert first.drift.observed == [5] and second.drift.observed == [1]  # counted once a group


def test_later_turns_form_groups_of_their_own() -> None:
    served = _Served(_Model())
    batcher = PredictionBatcher()

    async def main() -> None:
        await batcher.predict(served, _columns(1))  # type: ignore[arg-type]
        await asyncio.gather(*(batcher.predict(served, _columns(i)) for i in range(3)))  # type: ignore[arg-type]

    asyncio.run(main())
    assert served.model.calls == [1, 3]


def test_a_model_that_fails_fails_its_groups_requests_instead_of_leaving_them_waiting() -> None:
    served = _Served(_Model(fail=True))
    batcher = PredictionBatcher()

    async def main() -> list[Any]:
        return await asyncio.wait_for(asyncio.gather(
            *(batcher.predict(served, _columns(i)) for i in range(3)),  # type: ignore[arg-type]
            return_exceptions=True), 5)

    assert [str(outcome) for outcome in asyncio.run(main())] == ["broken model"] * 3


def test_a_cancelled_request_leaves_the_rest_of_its_group_answered() -> None:
    served = _Served(_Model())
    batcher = PredictionBatcher()

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(batcher.predict(served, _columns(i))) for i in range(3)]  # type: ignore[arg-type]
        await asyncio.sleep(0)  # every request has joined the group
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, cancelled, last = asyncio.run(main())
    assert isinstance(cancelled, asyncio.CancelledError)
    assert first[1].segments.tolist() == [0] and last[1].segments.tolist() == [2]


def _customers(count: int) -> list[dict[str, Any]]:
    samples = [sample for sample, _ in SAMPLES.values()]
    return [{**samples[i % len(samples)], "CustomerID": f"C{i}"} for i in range(count)]


def _together_then_alone(requests: list[tuple[str, Any]]) -> tuple[list[httpx.Response],
                                                                      list[httpx.Response], list[int]]:
    """``requests`` (path, body) sent all at once, then one at a time: both rounds' answers
    and the customers in each call to the model's predict."""
    app = create_app(Settings(bundle=DEFAULT_BUNDLE, max_concurrency=len(requests)))
    rows_per_call: list[int] = []

    async def main() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with app.router.lifespan_context(app):
            model = app.state.served.model
            predict = model.predict

            def counted(columns: Any) -> Any:
                rows_per_call.append(len(columns["Age"]))
                return predict(columns)

            model.predict = counted
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                together = await asyncio.gather(*(client.post(url, json=body) for url, body in requests))
                alone = [await client.post(url, json=body) for url, body in requests]
        return list(together), alone

    together, alone = asyncio.run(main())
    return together, alone, rows_per_call


def test_one_bad_request_among_99_good_ones_costs_no_extra_model_call() -> None:
    customers = _customers(100)
    customers[37]["DiscountUsage"] = "Sometimes"
    requests = [("/predict?explain=true" if i % 2 else "/predict", c) for i, c in enumerate(customers)]
    together, alone, rows_per_call = _together_then_alone(requests)
    assert [r.status_code for r in together] == [422 if i == 37 else 200 for i in range(100)]
    assert together[37].json()["field"] == "$.DiscountUsage"
    assert [(r.status_code, r.content) for r in together] == [(r.status_code, r.content) for r in alone]
    assert rows_per_call[0] == 99  # the 99 good ones in one call, the bad one never predicted
    assert rows_per_call[1:] == [1] * 99  # then each alone
    assert ["explanation" in r.json() for r in alone if r.status_code == 200] == [
        i % 2 == 1 for i in range(100) if i != 37]


def test_concurrent_batches_share_a_call_and_a_bad_batch_is_refused_alone() -> None:
    customers = _customers(16)
    customers[5]["DiscountUsage"] = "Sometimes"
    bounds = [(0, 1), (1, 3), (3, 6), (6, 11), (11, 16)]  # the third batch holds index 5 at 2
    requests = [("/predict/batch", customers[start:end]) for start, end in bounds]
    together, alone, rows_per_call = _together_then_alone(requests)
    assert [r.status_code for r in together] == [200, 200, 422, 200, 200]
    assert together[2].json()["field"] == "$[2].DiscountUsage"
    assert [(r.status_code, r.content) for r in together] == [(r.status_code, r.content) for r in alone]
    assert rows_per_call == [13, 1, 2, 5, 5]


@pytest.mark.parametrize("size", [LARGE_BODY // 100])  # some 2.5 times the size
def test_large_bodies_are_predicted_alone(size: int) -> None:
    large = _customers(size)
    requests = [("/predict/batch", large), ("/predict/batch", large), ("/predict/batch", large[:2])]
    together, alone, rows_per_call = _together_then_alone(requests)
    assert [r.content for r in together] == [r.content for r in alone]
    assert sorted(rows_per_call) == sorted([size] * 4 + [2, 2])
