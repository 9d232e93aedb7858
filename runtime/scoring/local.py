"""The local engine: this process reads, scores and hands over the answers batch by batch.

Three stages overlap, each up to two batches ahead of the next: reading and
checking in one thread, scoring in another (Arrow and NumPy let go of the GIL),
and the caller's writing. A CSV spends most of its time reading; a Parquet file
about as long writing its answers as reading and scoring them, so writing gets
a stage of its own. Memory stays flat whatever the file's size, with at most a
few batches in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from runtime.scoring.export import iter_checked
from runtime.scoring.lines import DEFAULT_LINE_LIMIT
from runtime.scoring.model import BulkModel, Scored
from runtime.scoring.reader import BATCH_ROWS

__all__ = ["prefetch", "score_local"]

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced in a thread up to ``depth`` ahead; its errors are raised here."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed over to the consumer, who raises it
            put(exc)

    thread = threading.Thread(target=produce, name="score-prefetch", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()  # the producer gives up at its next hand-over
        thread.join()


def score_local(path: Path, model: BulkModel, explain: bool, *, limit: int = DEFAULT_LINE_LIMIT,
                batch_rows: int = BATCH_ROWS) -> Iterator[Scored]:
    """Each batch's answers in file order, scored in a thread of their own."""
    checked = prefetch(iter_checked(path, limit=limit, batch_rows=batch_rows))
    return prefetch(model.score(batch, explain) for batch in checked)
