"""Running the app under uvicorn, with one worker or several, and the process signals.

``SIGTERM`` drains: readiness turns 503 at once, the listening socket closes
after ``drain_seconds``, in-flight requests get ``grace_seconds`` to finish,
and the process exits 0. ``SIGHUP`` reloads the bundle in every worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from types import FrameType

import uvicorn

from runtime.config import Settings

__all__ = ["serve"]

_RESTART_PAUSE = 0.5


class _DrainingServer(uvicorn.Server):
    """A uvicorn server whose SIGTERM first marks the app as draining, then stops it."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self._drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM:
            super().handle_exit(sig, frame)
            return
        app = self.config.loaded_app
        state = getattr(getattr(app, "app", app), "state", None)
        if state is not None:
            state.draining = True
        timer = threading.Timer(self._drain_seconds, self._stop)
        timer.daemon = True
        timer.start()

    def _stop(self) -> None:
        self.should_exit = True


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    from runtime.app import create_app

    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # the app sends every log through its JSON handler
        log_level=settings.log_level,
        timeout_graceful_shutdown=int(settings.grace_seconds) or None,
        server_header=False,
    )


def _run_worker(settings: Settings, host: str, port: int, sock: socket.socket | None) -> None:
    # Raised again by uvicorn after a graceful stop, when the drain has already happened.
    signal.signal(signal.SIGTERM, lambda *_: None)
    server = _DrainingServer(_config(settings, host, port), settings.drain_seconds)
    server.run(sockets=[sock] if sock else None)


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Serve until stopped; returns the process exit code."""
    if workers <= 1:
        _run_worker(settings, host, port, None)
        return 0
    # Metrics of all workers are summed through files in a directory of their own.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="segmentation-metrics-")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return _supervise(settings, host, port, workers, sock)


def _supervise(
    settings: Settings, host: str, port: int, workers: int, sock: socket.socket
) -> int:
    context = multiprocessing.get_context("fork")
    stopping = threading.Event()

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_run_worker, args=(settings, host, port, sock))
        process.start()
        return process

    processes = [start() for _ in range(workers)]

    def forward(sig: int, _: FrameType | None) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.set()
            sig = signal.SIGTERM
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while not stopping.is_set():
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping.is_set():
                processes[index] = start()
        stopping.wait(_RESTART_PAUSE)
    deadline = time.monotonic() + settings.drain_seconds + settings.grace_seconds + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    codes = [process.exitcode for process in processes]
    return 0 if all(code == 0 for code in codes) else 1
