"""Running the app under uvicorn: one worker in this process, or several under uvicorn's
own supervisor.

SIGTERM stops accepting connections, gives requests in flight ``grace_seconds`` to
finish, and exits 0. SIGHUP reloads the bundle: one worker swaps it in place; with
several, uvicorn's supervisor starts a replacement for each worker and retires the
old one only once its replacement is ready, so a bundle that fails to load leaves
the old workers serving. A worker that cannot start stops the service with exit 1.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import sys
import tempfile
from types import FrameType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from runtime.service.settings import Settings
from runtime.service.supervision import METRICS_DIR_VARIABLE

__all__ = ["serve"]

_APP_FACTORY = "runtime.service.app:create_app"  # each worker builds its app from the environment


def _config(settings: Settings, app: ASGIApp | str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=settings.http,
        # None under httptools, which has no such bound: uvicorn then keeps h11's own default.
        h11_max_incomplete_event_size=settings.header_limit,
        lifespan="on",
        access_log=False,  # the app logs each request itself
        log_config=None,  # the app sends every log through its JSON handler
        log_level=settings.log_level,
        # Rounded up, never to 0 = "wait for ever": a 0.5 s grace must not become unbounded.
        timeout_graceful_shutdown=max(1, math.ceil(settings.grace_seconds)),
        server_header=False,
    )


def _stopped(signum: int, frame: FrameType | None) -> None:
    """What SIGTERM and SIGINT do once uvicorn has stopped: nothing more, so the process exits 0.

    uvicorn handles them while it serves, then restores the handlers found at start and
    raises the signal again, for the process to end as that handler says.
    """


def serve(settings: Settings) -> int:
    """Serve until stopped; returns the process exit code."""
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    if settings.workers == 1:
        from runtime.service.app import create_app

        server = uvicorn.Server(_config(settings, create_app(settings)))
        server.run()
        return 0 if server.started else 1
    return _serve_workers(settings)


def _serve_workers(settings: Settings) -> int:
    # The workers receive the settings as environment variables, and sum their metrics
    # through files in a folder of their own (prometheus_client's multiprocess mode).
    metrics_dir = tempfile.mkdtemp(prefix=f"segmentation-metrics-{settings.port}-")
    os.environ.update(settings.environ())
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir
    try:
        config = _config(settings, _APP_FACTORY)
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    failed = [process.pid for process in supervisor.processes if process.exitcode == STARTUP_FAILURE]
    if failed:
        print(f"error: worker process {failed[0]} could not start (its log lines above say why); "
              "the service stopped", file=sys.stderr)
        return 1
    return 0
