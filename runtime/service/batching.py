"""Requests that arrive together, predicted together: one model call per model and loop turn."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import numpy as np

from runtime.core.features import Column
from runtime.core.predictor import Predictions
from runtime.service.served import ServedModel

__all__ = ["PredictionBatcher"]

Columns = Mapping[str, Column]


def _customers(columns: Columns) -> int:
    return len(next(iter(columns.values())))


def _joined(parts: list[Columns]) -> Columns:
    if len(parts) == 1:
        return parts[0]
    return {field: np.concatenate([part[field] for part in parts]) for field in parts[0]}


class PredictionBatcher:
    """Predicts the customers of every request submitted in one turn of the event loop in
    one call per model, and hands each request its own rows.

    Under load many requests are ready at once; their NumPy work then costs one call
    instead of one each. Nothing waits for company: a lone request is predicted at the
    loop's next turn. Requests join with columns already read and checked by
    ``Model.read``, so no request can make its group's prediction fail.
    """

    def __init__(self) -> None:
        self._pending: dict[ServedModel, list[tuple[Columns, asyncio.Future[Predictions]]]] = {}

    async def predict(self, served: ServedModel, columns: Columns) -> Predictions:
        """``served``'s predictions for ``columns`` (read by ``served.model.read``)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Predictions] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._run)
        self._pending.setdefault(served, []).append((columns, future))
        return await future

    def _run(self) -> None:
        pending, self._pending = self._pending, {}
        for served, entries in pending.items():
            try:
                predictions = served.model.predict(_joined([columns for columns, _ in entries]))
            except Exception as exc:  # never leave a request waiting for ever
                for _, future in entries:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for columns, future in entries:
                end = start + _customers(columns)
                if not future.done():  # a cancelled request takes no answer
                    future.set_result(predictions.rows(slice(start, end)))
                start = end
