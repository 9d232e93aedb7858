"""The HTTP protocol's transport: a connection's writes of one loop turn leave in one call."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.service.protocol import _GatheringTransport


class _Socket(asyncio.Transport):
    """Records what would reach the socket, one entry per system call."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.calls: list[list[bytes]] = []
        self.closed = self.aborted = False
        self.fail = fail

    def writelines(self, list_of_data: Any) -> None:
        if self.fail:
            raise ConnectionResetError("the peer went away")
        self.calls.append(list(list_of_data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


async def _next_turn() -> None:
    await asyncio.sleep(0)


def test_a_turns_writes_leave_together_in_order() -> None:
    async def scenario() -> tuple[list[list[bytes]], list[list[bytes]]]:
        socket = _Socket()
        transport = _GatheringTransport(socket)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"{}")
        during = list(socket.calls)
        await _next_turn()
        transport.write(b"next")
        await _next_turn()
        return during, socket.calls

    during, after = asyncio.run(scenario())
    assert during == []
    assert after == [[b"HTTP/1.1 200 OK\r\n\r\n", b"{}"], [b"next"]]


def test_closing_sends_what_is_pending_first() -> None:
    async def scenario() -> _Socket:
        socket = _Socket()
        transport = _GatheringTransport(socket)
        transport.write(b"last answer")
        transport.close()
        await _next_turn()
        return socket

    socket = asyncio.run(scenario())
    assert socket.calls == [[b"last answer"]]
    assert socket.closed


def test_abort_and_a_closed_socket_drop_what_is_pending() -> None:
    async def scenario() -> tuple[_Socket, _Socket]:
        aborted, gone = _Socket(), _Socket()
        first, second = _GatheringTransport(aborted), _GatheringTransport(gone)
        first.write(b"a")
        first.abort()
        second.write(b"b")
        gone.closed = True  # the peer left before the turn ended
        await _next_turn()
        return aborted, gone

    aborted, gone = asyncio.run(scenario())
    assert aborted.calls == [] and aborted.aborted
    assert gone.calls == []


def test_a_failing_connection_does_not_hold_back_the_others() -> None:
    async def scenario() -> tuple[_Socket, _Socket]:
        broken, healthy = _Socket(fail=True), _Socket()
        _GatheringTransport(broken).write(b"a")
        _GatheringTransport(healthy).write(b"b")
        await _next_turn()
        return broken, healthy

    broken, healthy = asyncio.run(scenario())
    assert broken.aborted
    assert healthy.calls == [[b"b"]]


def test_pending_bytes_count_in_the_write_buffer() -> None:
    async def scenario() -> int:
        socket = _Socket()
        socket.get_write_buffer_size = lambda: 10  # type: ignore[method-assign]
        transport = _GatheringTransport(socket)
        transport.writelines([b"abc", b"de"])
        size = transport.get_write_buffer_size()
        await _next_turn()
        return size

    assert asyncio.run(scenario()) == 15
