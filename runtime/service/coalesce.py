"""Work that arrives together, done together: one call for everything a loop turn brought."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Coalescer", "TurnBuffer"]

T = TypeVar("T")
Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")


class _Home:
    """The caller's running loop, found without asking asyncio each time.

    On Python 3.11 ``asyncio.get_running_loop()`` is a getpid system call. A thread
    runs one loop at a time, so a running loop last seen in this thread is the
    caller's; asyncio is asked again only when that no longer holds.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = -1

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or self._thread != threading.get_ident() or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()
            self._thread = threading.get_ident()
        return loop


class TurnBuffer(Generic[T]):
    """Items added during one turn of the running event loop, handed to ``flush`` together
    at the start of the next turn, in the order they came.

    Each loop has its own pending items (tests run several loops, one after another).
    """

    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self._home = _Home()
        self._open: tuple[asyncio.AbstractEventLoop, list[T]] | None = None

    def running_loop(self) -> asyncio.AbstractEventLoop:
        """The caller's running loop: the one that hands over what is added now."""
        return self._home.loop()

    def add(self, item: T) -> None:
        """Add ``item``; call from within the running loop."""
        loop = self._home.loop()
        group = self._open
        if group is None or group[0] is not loop:
            group = self._open = (loop, [])
            loop.call_soon(self._hand_over, group)
        group[1].append(item)

    def _hand_over(self, group: tuple[asyncio.AbstractEventLoop, list[T]]) -> None:
        if self._open is group:
            self._open = None
        self._flush(group[1])


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
