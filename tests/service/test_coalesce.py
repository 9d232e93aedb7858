"""Work that arrives in one loop turn is done in one call, and each submitter gets its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from runtime.service.app import _SHARED_UP_TO, create_app
from runtime.service.coalesce import Coalescer, TurnBuffer
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, SAMPLES


def _recording_run(calls: list[tuple[str, list[int]]]) -> Any:
    def run(key: str, items: list[int]) -> list[str]:
        calls.append((key, items))
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {items}")
        return [f"{key}{item}" for item in items]
    return run


def test_one_turns_submissions_run_once_per_key_in_order() -> None:
    calls: list[tuple[str, list[int]]] = []
    coalescer = Coalescer(_recording_run(calls))

    async def main() -> list[str]:
        return await asyncio.gather(*(coalescer.submit("ab"[i % 2], i) for i in range(6)))

    assert asyncio.run(main()) == ["a0", "b1", "a2", "b3", "a4", "b5"]
    assert calls == [("a", [0, 2, 4]), ("b", [1, 3, 5])]


def test_a_failing_item_fails_alone_and_the_others_are_answered() -> None:
    calls: list[tuple[str, list[int]]] = []
    coalescer = Coalescer(_recording_run(calls))

    async def main() -> list[object]:
        return await asyncio.gather(*(coalescer.submit("k", i) for i in (1, -2, 3)),
                                    return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert (first, third) == ("k1", "k3")
    assert isinstance(second, ValueError) and str(second) == "negative item in [-2]"
    assert calls == [("k", [1, -2, 3]), ("k", [1]), ("k", [-2]), ("k", [3])]


def test_a_cancelled_submission_leaves_the_rest_of_its_group_answered() -> None:
    coalescer = Coalescer(_recording_run([]))

    async def main() -> list[object]:
        tasks = [asyncio.ensure_future(coalescer.submit("k", i)) for i in range(3)]
        await asyncio.sleep(0)  # every task has submitted; the group runs on the next turn
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert (first, third) == ("k0", "k2")
    assert isinstance(second, asyncio.CancelledError)


def test_later_turns_and_other_loops_form_groups_of_their_own() -> None:
    calls: list[tuple[str, list[int]]] = []
    coalescer = Coalescer(_recording_run(calls))

    async def one_then_another() -> list[str]:
        return [await coalescer.submit("k", 1), await coalescer.submit("k", 2)]

    assert asyncio.run(one_then_another()) == ["k1", "k2"]
    assert asyncio.run(one_then_another()) == ["k1", "k2"]  # a second event loop
    assert calls == [("k", [1]), ("k", [2])] * 2


def test_turn_buffer_hands_over_each_turns_items_in_order() -> None:
    flushed: list[list[str]] = []
    buffer: TurnBuffer[str] = TurnBuffer(flushed.append)

    async def main() -> None:
        for item in "abc":
            buffer.add(item)
        await asyncio.sleep(0)
        buffer.add("d")
        await asyncio.sleep(0)

    asyncio.run(main())
    assert flushed == [["a", "b", "c"], ["d"]]


def test_turn_buffer_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        TurnBuffer(print).add("no loop")


def _customers() -> list[dict[str, Any]]:
    """Sixteen customers of every segment, the sixth with a refused value."""
    samples = list(SAMPLES.values())
    customers = []
    for index in range(16):
        customer, _ = samples[index % len(samples)]
        customers.append({**customer, "CustomerID": f"C{index:03d}",
                          "AnnualIncome": customer["AnnualIncome"] + 1_000 * index})
    customers[5]["DiscountUsage"] = "Sometimes"  # the one bad request of the group
    return customers


def test_a_run_that_answers_the_wrong_count_fails_its_submitters_instead_of_hanging() -> None:
    coalescer: Coalescer[str, int, int] = Coalescer(lambda key, items: [1])

    async def main() -> list[object]:
        return await asyncio.wait_for(
            asyncio.gather(*(coalescer.submit("k", i) for i in range(3)), return_exceptions=True), 5)

    first, second, third = asyncio.run(main())
    assert (first, second, third) == (1, 1, 1)  # alone, each gets the one result


def test_a_run_that_answers_nothing_fails_each_submitter() -> None:
    coalescer: Coalescer[str, int, int] = Coalescer(lambda key, items: [])

    async def main() -> list[object]:
        return await asyncio.wait_for(
            asyncio.gather(*(coalescer.submit("k", i) for i in range(2)), return_exceptions=True), 5)

    assert all(isinstance(outcome, RuntimeError) and "0 results for 1 items" in str(outcome)
               for outcome in asyncio.run(main()))


def _together_then_alone(
    requests: list[tuple[str, Any]],
) -> tuple[list[httpx.Response], list[httpx.Response], dict[str, float], list[int]]:
    """``requests`` (path, body) sent all at once, then one at a time: both rounds' answers,
    the metrics after both, and the customers in each call to the model's predict."""
    app = create_app(Settings(bundle=DEFAULT_BUNDLE))
    rows_per_call: list[int] = []

    async def main() -> tuple[list[httpx.Response], list[httpx.Response], bytes]:
        async with app.router.lifespan_context(app):
            model = app.state.model
            predict = model.model.predict

            def counted(columns: Any) -> Any:
                rows_per_call.append(len(columns["Age"]))
                return predict(columns)

            model.model.predict = counted
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                together = await asyncio.gather(*(client.post(url, json=body) for url, body in requests))
                alone = [await client.post(url, json=body) for url, body in requests]
                metrics = (await client.get("/metrics")).content
        return list(together), alone, metrics

    together, alone, metrics = asyncio.run(main())
    totals: dict[str, float] = {}
    for line in metrics.decode().splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split()[0]
            totals[name] = totals.get(name, 0.0) + float(line.split()[-1])
    return together, alone, totals, rows_per_call


def test_concurrent_requests_are_predicted_together_and_answered_as_if_alone() -> None:
    # Half of them ask for explanations: a group holds requests of one kind only.
    requests = [("/predict?explain=true" if i % 2 else "/predict", c) for i, c in enumerate(_customers())]
    together, alone, metrics, rows_per_call = _together_then_alone(requests)
    assert [r.status_code for r in together] == [422 if i == 5 else 200 for i in range(16)]
    assert [(r.status_code, r.content) for r in together] == [(r.status_code, r.content) for r in alone]
    assert together[5].json()["field"] == "$.DiscountUsage"
    assert {r.json()["cluster"] for r in alone if r.status_code == 200} == {0, 1, 2}
    assert ["explanation" in r.json() for r in alone if r.status_code == 200] == [
        i % 2 == 1 for i in range(16) if i != 5]
    assert max(rows_per_call) > 1  # some requests shared a call
    # Each good customer predicted once per round; the refused one fails before predicting,
    # and the others of its group are retried alone.
    assert sum(rows_per_call) == 30
    assert rows_per_call.count(1) >= 7 + 15
    assert metrics["segmentation_predictions_total"] == 30  # nothing counted for a failed group
    assert metrics.get("segmentation_batch_size_count", 0) == 0


def test_concurrent_batches_are_predicted_together_and_answered_as_if_alone() -> None:
    customers = _customers()
    # Batches of 1, 2, 3, 5 and 5 customers; the third holds the refused one, at its index 2.
    bounds = [(0, 1), (1, 3), (3, 6), (6, 11), (11, 16)]
    explained = {1, 4}
    requests = [("/predict/batch?explain=true" if i in explained else "/predict/batch",
                 customers[start:end]) for i, (start, end) in enumerate(bounds)]
    together, alone, metrics, rows_per_call = _together_then_alone(requests)
    assert [r.status_code for r in together] == [200, 200, 422, 200, 200]
    assert [(r.status_code, r.content) for r in together] == [(r.status_code, r.content) for r in alone]
    assert together[2].json()["field"] == "$[2].DiscountUsage"
    ids = [[p["CustomerID"] for p in r.json()["predictions"]] for r in alone if r.status_code == 200]
    assert ids == [[c["CustomerID"] for c in customers[start:end]]
                   for i, (start, end) in enumerate(bounds) if i != 2]
    assert 2 + 5 in rows_per_call  # the two explained batches shared one call
    assert sum(rows_per_call) == 2 * 13
    assert metrics["segmentation_predictions_total"] == 2 * 13
    assert metrics["segmentation_batch_size_count"] == 2 * 4  # one size per answered batch
    assert metrics["segmentation_batch_size_sum"] == 2 * 13


def test_batches_over_the_sharing_limit_are_predicted_alone() -> None:
    valid = [customer for index, customer in enumerate(_customers()) if index != 5]
    large = [{**valid[i % len(valid)], "CustomerID": f"L{i}"} for i in range(_SHARED_UP_TO + 1)]
    small = valid[:2]
    requests = [("/predict/batch", large), ("/predict/batch", large), ("/predict/batch", small),
                ("/predict/batch", small)]
    together, alone, _, rows_per_call = _together_then_alone(requests)
    assert [r.content for r in together] == [r.content for r in alone]
    assert sorted(rows_per_call) == sorted([len(large)] * 4 + [4, 2, 2])
