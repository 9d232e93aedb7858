"""Running the app under uvicorn, with one worker or several, and the process signals.

``SIGTERM`` drains: readiness turns 503 at once, the listening socket closes
after ``drain_seconds``, in-flight requests get ``grace_seconds`` to finish,
and the process exits 0. ``SIGHUP`` reloads the bundle in every worker.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from types import FrameType

import uvicorn

from runtime.service.header_limit import HeaderLimitedProtocol
from runtime.service.settings import Settings

__all__ = ["serve"]

_RESTART_PAUSE = 0.5
_YOUNG_THRESHOLD = 5_000  # allocations between young collections (Python's default: 700)


def _settle_garbage_collector() -> None:
    """Freeze what start-up built (modules, the model) out of the collector's sight.

    Full collections would otherwise walk those objects several times a second
    under load, about 10 ms each: a p99 figure. The youngest generation is
    collected less often, as requests make their garbage in bursts.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class _DrainingServer(uvicorn.Server):
    """A uvicorn server whose SIGTERM first marks the app as draining, then stops it."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self._drain_seconds = drain_seconds
        self._hangups: list[int] = []

    def hold_hangups(self) -> None:
        """Until the app listens for SIGHUP, note it instead of dying of it (the default)."""
        signal.signal(signal.SIGHUP, lambda sig, _: self._hangups.append(sig))

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # runs the lifespan, which installs the SIGHUP handler
        _settle_garbage_collector()
        if self._hangups:  # a reload asked for while starting: the bundle may predate it
            os.kill(os.getpid(), signal.SIGHUP)

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
    from runtime.service.app import create_app

    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http=HeaderLimitedProtocol,  # httptools, one system call per answer, headers bounded
        lifespan="on",
        access_log=False,
        log_config=None,  # the app sends every log through its JSON handler
        log_level=settings.log_level,
        # Rounded up, never to 0 = "wait for ever": a 0.5 s grace must not become unbounded.
        timeout_graceful_shutdown=math.ceil(settings.grace_seconds),
        server_header=False,
    )


def _run_worker(settings: Settings, host: str, port: int, sock: socket.socket | None) -> None:
    # Raised again by uvicorn after a graceful stop, when the drain has already happened.
    signal.signal(signal.SIGTERM, lambda *_: None)
    # A worker forked by a supervisor inherits its forwarding handler: Ctrl-C is uvicorn's here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = _DrainingServer(_config(settings, host, port), settings.drain_seconds)
    server.hold_hangups()
    server.run(sockets=[sock] if sock else None)


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Serve until stopped; returns the process exit code."""
    if workers <= 1:
        _run_worker(settings, host, port, None)
        return 0
    # Metrics of all workers are summed through files in a directory of their own.
    metrics_dir = tempfile.mkdtemp(prefix="segmentation-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    try:
        return _supervise(settings, host, port, workers, sock)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(
    settings: Settings, host: str, port: int, workers: int, sock: socket.socket
) -> int:
    context = multiprocessing.get_context("fork")
    stopping = threading.Event()

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_run_worker, args=(settings, host, port, sock))
        process.start()
        return process

    processes: list[multiprocessing.process.BaseProcess] = []

    def forward(sig: int, _: FrameType | None) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.set()
            sig = signal.SIGTERM
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, sig)

    # Before the first fork: a SIGHUP while workers start must not end the supervisor
    # (its default action); the workers install their own handlers first thing.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    processes.extend(start() for _ in range(workers))
    while not stopping.is_set():
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping.is_set():
                _forget(process)
                processes[index] = start()
        stopping.wait(_RESTART_PAUSE)
    # The workers hold their own copies; once they close theirs, new connections are
    # refused at once instead of waiting in a backlog that nobody accepts from.
    sock.close()
    deadline = time.monotonic() + settings.drain_seconds + settings.grace_seconds + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():  # past its grace: stopped rather than left behind
            process.kill()
            process.join(5)
    codes = [process.exitcode for process in processes]
    return 0 if all(code == 0 for code in codes) else 1


def _forget(process: multiprocessing.process.BaseProcess) -> None:
    """Drop a dead worker's live gauges (e.g. the model it served) from the summed metrics."""
    from prometheus_client import multiprocess

    if process.pid is not None:
        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
