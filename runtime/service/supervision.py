"""A worker process serves only while the supervisor that started it lives.

uvicorn's supervisor stops its workers on SIGTERM, but a supervisor killed outright
(SIGKILL, out of memory) leaves them serving the port on their own. A worker watches
its parent's sentinel, which becomes readable when the parent is gone, and then
stops as on SIGTERM: it finishes what is in flight and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
from collections.abc import Iterator

__all__ = ["METRICS_DIR_VARIABLE", "follow_supervisor"]

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
logger = logging.getLogger("runtime.service.supervision")


@contextlib.contextmanager
def follow_supervisor(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While inside, stop this process if the process that started it ends (a no-op when
    it was not started by a supervisor)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        yield
        return

    def supervisor_gone() -> None:
        loop.remove_reader(parent.sentinel)
        logger.error("supervisor gone, stopping this worker", extra={"fields": {"supervisor": parent.pid}})
        metrics_dir = os.environ.get(METRICS_DIR_VARIABLE)
        if metrics_dir:  # nobody else is left to remove it
            shutil.rmtree(metrics_dir, ignore_errors=True)
        signal.raise_signal(signal.SIGTERM)

    loop.add_reader(parent.sentinel, supervisor_gone)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(parent.sentinel)
