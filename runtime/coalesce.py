"""Work that arrives together, done together: one call for everything a loop turn brought."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Coalescer", "TurnBuffer"]

T = TypeVar("T")
Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Group(Generic[T]):
    loop: asyncio.AbstractEventLoop
    thread: int
    items: list[T]


class TurnBuffer(Generic[T]):
    """Items added during one turn of the running event loop, handed to ``flush`` together
    at the start of the next turn, in the order they came.

    Each loop has its own pending items (tests run several loops, one after another).
    """

    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self._open: _Group[T] | None = None
        self._home: tuple[asyncio.AbstractEventLoop, int] | None = None  # of the last group

    def running_loop(self) -> asyncio.AbstractEventLoop:
        """The caller's running loop: the one that hands over what is added now."""
        return self._current().loop

    def add(self, item: T) -> None:
        """Add ``item``; call from within the running loop."""
        self._current().items.append(item)

    def _current(self) -> _Group[T]:
        group = self._open
        if group is not None and self._callers(group.loop, group.thread):
            return group
        home = self._home
        loop = home[0] if home is not None and self._callers(*home) else asyncio.get_running_loop()
        group = self._open = _Group(loop, threading.get_ident(), [])
        loop.call_soon(self._hand_over, group)
        return group

    @staticmethod
    def _callers(loop: asyncio.AbstractEventLoop, thread: int) -> bool:
        """Whether ``loop`` is the caller's: a thread runs one loop at a time, so a running
        loop of this thread is. (Asking asyncio costs a getpid system call on Python 3.11.)"""
        return thread == threading.get_ident() and loop.is_running()

    def _hand_over(self, group: _Group[T]) -> None:
        if self._open is group:
            self._open = None
        self._home = (group.loop, group.thread)
        self._flush(group.items)


class Coalescer(Generic[Key, Item, Result]):
    """Runs ``run(key, items)`` once for all the items of one key submitted in one loop turn.

    Under load, many requests are ready at once; their NumPy work, drift counting
    and metrics then cost one call instead of one each. Nothing waits for company:
    a group is what was submitted before the loop's next turn, so a lone request
    goes straight through. ``run`` returns one result per item, in order. When it
    raises for a group, each item runs alone, so a bad request gets its own error
    and the others their answers.
    """

    def __init__(self, run: Callable[[Key, list[Item]], list[Result]]) -> None:
        self._run = run
        self._submitted: TurnBuffer[tuple[Key, Item, asyncio.Future[Result]]] = TurnBuffer(self._flush)

    async def submit(self, key: Key, item: Item) -> Result:
        future: asyncio.Future[Result] = self._submitted.running_loop().create_future()
        self._submitted.add((key, item, future))
        return await future

    def _flush(self, submitted: list[tuple[Key, Item, asyncio.Future[Result]]]) -> None:
        by_key: dict[Key, list[tuple[Item, asyncio.Future[Result]]]] = {}
        for key, item, future in submitted:
            by_key.setdefault(key, []).append((item, future))
        for key, entries in by_key.items():
            self._settle(key, entries)

    def _settle(self, key: Key, entries: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = self._run(key, [item for item, _ in entries])
            if len(results) != len(entries):  # never leave a submitter waiting for ever
                raise RuntimeError(f"{len(results)} results for {len(entries)} items")
        except Exception as exc:
            if len(entries) > 1:
                for entry in entries:
                    self._settle(key, [entry])
            elif not entries[0][1].done():
                entries[0][1].set_exception(exc)
            return
        for (_, future), result in zip(entries, results, strict=True):
            if not future.done():  # a cancelled request takes no answer
                future.set_result(result)
