"""A bound on a request's header section: past ``max_bytes`` it is refused (431) and closed.

httptools (llhttp) sets no limit on the header section, and uvicorn 0.54 offers
one only for h11 (``h11_max_incomplete_event_size``). httptools also joins the
pieces of a header value by concatenation as they arrive, so one 150 MB value
costs the event loop about a minute of copying, during which every other client
(liveness probes included) waits. Here the bytes that reach the parser while a
header section is still incomplete are counted, and once they pass the limit
the request is answered 431 in the API's error shape and the connection closed;
what the client sends after that is never parsed. The limit holds to within one
socket read (the parser takes a read whole), far below where copying costs.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from runtime.service.protocol import HttpProtocol
from runtime.service.schemas import ErrorBody

__all__ = ["MAX_HEADER_BYTES", "HeaderLimitedProtocol", "header_limited"]

MAX_HEADER_BYTES = 64 * 1024

logger = logging.getLogger("runtime.service.header_limit")


def header_limited(max_bytes: int) -> type[HttpProtocol]:
    """The service's HTTP protocol with header sections bounded to ``max_bytes``."""
    if max_bytes < 1:
        raise ValueError(f"header limit: expected a positive number of bytes, got {max_bytes}")
    message = f"The request's header section is over the limit of {max_bytes} bytes"
    body = msgspec.json.encode(ErrorBody("header_too_large", message))
    refusal = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
               b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))

    class Limited(HttpProtocol):
        """Counts a header section's bytes as they reach the parser; see the module."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self.header_bytes = 0
            self.reading_headers = True  # a connection starts with a request's header section
            self.refused = False
            super().connection_made(transport)

        def on_headers_complete(self) -> None:
            self.reading_headers = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.reading_headers, self.header_bytes = True, 0  # the next request's, if any
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if self.refused:
                return
            if self.reading_headers:
                self.header_bytes += len(data)
            super().data_received(data)
            if self.reading_headers and self.header_bytes > max_bytes:
                self.refused = True
                logger.warning("header section over %d bytes refused", max_bytes,
                               extra={"fields": {"client": self.client}})
                self.transport.write(refusal)
                self.transport.close()

    Limited.__name__ = Limited.__qualname__ = "HeaderLimitedProtocol"
    return Limited


HeaderLimitedProtocol = header_limited(MAX_HEADER_BYTES)
