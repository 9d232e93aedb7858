"""The local engine: this process reads, scores and hands over the answers chunk by chunk.

Reading and scoring (mostly NumPy, which lets go of the GIL) run in a thread
one chunk ahead of the caller, who formats and writes (mostly Python): on two
cores the two halves overlap. Memory stays flat whatever the file's size, with
at most a few chunks in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from runtime.scoring.model import BulkModel, Scored
from runtime.scoring.reader import ExportReader

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


def score_local(path: Path, model: BulkModel, chunk_rows: int, explain: bool
                ) -> Iterator[tuple[Scored, int]]:
    """Each chunk's answers in file order, with how many bytes of the file have been read."""
    reader = ExportReader(path, chunk_rows)
    for chunk, position in prefetch((chunk, reader.position) for chunk in reader.blocks()):
        yield model.score(chunk, explain), position
