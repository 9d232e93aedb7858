"""Requests that arrive together, predicted together: one read and one model call per model
and loop turn."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import accumulate, chain

from runtime.core.customer import Customer
from runtime.core.predictor import Predictions
from runtime.service.served import ServedModel

__all__ = ["PredictionBatcher"]

Answer = tuple[Sequence[str], Predictions]


class PredictionBatcher:
    """Reads, predicts and counts in the drift window, in one call per model, the customers of
    every request submitted in one turn of the event loop, and hands each request its own rows.

    Under load many requests are ready at once; their NumPy work then costs one call
    instead of one each. Nothing waits for company: a lone request is predicted at the
    loop's next turn. Requests join already validated (``Model.validate``), so no request
    can make its group fail.
    """

    def __init__(self) -> None:
        self._pending: dict[ServedModel, list[tuple[Sequence[Customer], asyncio.Future[Answer]]]] = {}

    async def predict(self, served: ServedModel, customers: Sequence[Customer]) -> Answer:
        """The ids of ``customers`` (validated by ``served.model.validate``) and their predictions."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._run)
        self._pending.setdefault(served, []).append((customers, future))
        return await future

    def _run(self) -> None:
        pending, self._pending = self._pending, {}
        for served, entries in pending.items():
            try:
                ids, columns = served.model.read(list(chain.from_iterable(c for c, _ in entries)))
                predictions = served.model.predict(columns)
                served.drift.observe(columns)
            except Exception as exc:  # never leave a request waiting for ever
                for _, future in entries:
                    if not future.done():
                        future.set_exception(exc)
                continue
            ends = accumulate(len(customers) for customers, _ in entries)
            start = 0
            for (_, future), end in zip(entries, ends, strict=True):
                if not future.done():  # a cancelled request takes no answer
                    future.set_result((ids[start:end], predictions.rows(slice(start, end))))
                start = end
