"""The HTTP protocol: uvicorn's httptools protocol, one system call per answer.

uvicorn writes an answer's status line and headers, then its body, each straight
to the socket: two system calls per answer, a large share of what a small answer
costs. Here a connection's writes are gathered until the end of the loop turn and
leave together, in order. Closing a connection sends what is pending first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from runtime.service.coalesce import TurnBuffer

__all__ = ["HttpProtocol"]


class _GatheringTransport(asyncio.Transport):
    """A transport whose writes of one loop turn go to ``transport`` in one call."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._pending: list[bytes | bytearray | memoryview] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            _TO_SEND.add(self)
        self._pending.append(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def send_pending(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.writelines(pending)

    def close(self) -> None:
        self.send_pending()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


def _send(transports: list[_GatheringTransport]) -> None:
    for transport in transports:
        try:
            transport.send_pending()
        except Exception:  # a broken connection must not keep the others' answers back
            transport.abort()


_TO_SEND: TurnBuffer[_GatheringTransport] = TurnBuffer(_send)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`_GatheringTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_GatheringTransport(transport))
