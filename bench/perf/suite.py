"""The measurements: each part starts what it needs, measures within bounded time, stops it.

A part that fails (a server that does not start, an answer that is not 200) is recorded
under ``errors`` and the others go on; the report flags every figure it touches.
Servers compared on ``/predict`` run side by side and are loaded in turn, round after
round, so that a noisy neighbour on the machine weighs on each of them alike.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf import customers, envs, peer_mlserver, profiling, wrk
from bench.perf.server import Server, http_call
from bench.perf.services import Services
from bench.perf.settings import Settings

__all__ = ["Suite"]

PREDICT = "/predict"
BATCH = "/predict/batch"


def _combine(rounds: list[wrk.WrkResult]) -> dict[str, Any]:
    """Rounds of one server: median rate and percentiles, summed counts, every round kept."""
    return {
        "rate": statistics.median(r.rate for r in rounds),
        "p50": statistics.median(r.p50 for r in rounds),
        "p99": statistics.median(r.p99 for r in rounds),
        "requests": sum(r.requests for r in rounds),
        "non_2xx": sum(r.non_2xx for r in rounds),
        "socket_errors": sum(r.socket_errors for r in rounds),
        "clean": all(r.clean for r in rounds),
        "rounds": [r.as_dict() for r in rounds],
    }


def _machine() -> str:
    """The processor and core count, as the figures depend on them."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown processor")
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


class Suite:
    """One benchmark run; :meth:`run` returns every measurement as plain data."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.logs = settings.results / "logs"
        self.data: dict[str, Any] = {"errors": {}}
        self.services = Services(settings, self.logs, Path())

    # -- load ---------------------------------------------------------------------

    def _load(
        self, server: Server, path: str, body: Path, seconds: float, *,
        connections: int | None = None, limit: int | None = None,
    ) -> wrk.WrkResult:  # fmt: skip
        connections = connections or self.settings.connections
        result = wrk.run(server.url + path, body, seconds, connections=connections, limit=limit)
        server.served += result.requests
        return result

    @staticmethod
    def _check(server: Server, path: str, body: Path, key: str) -> bytes:
        status, answer = http_call(server.port, "POST", path, body.read_bytes())
        if status != 200 or key not in json.loads(answer):
            raise RuntimeError(f"{server.name} {path} answered {status}: {answer[:300]!r}")
        return answer

    def _memory(self, server: Server, body: Path, rate: float) -> dict[str, Any]:
        """RSS once the server has answered at least ``memory_requests`` /predict calls."""
        print(f"[{time.strftime('%H:%M:%S')}] {server.name}: memory", flush=True)
        runs = []
        while server.served < self.settings.memory_requests:
            remaining = self.settings.memory_requests - server.served
            seconds = min(120.0, 1.0 + 1.3 * remaining / max(rate, 1.0))
            result = self._load(server, PREDICT, body, seconds, limit=remaining)
            runs.append(result.as_dict())
            if result.requests == 0:
                break
            rate = result.rate
        time.sleep(0.5)
        clean = all(run["clean"] for run in runs)
        return {"rss": server.rss(), "requests": server.served, "top_up": runs, "clean": clean}

    # -- parts --------------------------------------------------------------------

    def _part(self, name: str, action: Callable[[], Any]) -> None:
        """Run one part, recording its result, or its error without stopping the others."""
        print(f"[{time.strftime('%H:%M:%S')}] {name}", flush=True)
        try:
            self.data[name] = action()
        except Exception as error:
            self.data["errors"][name] = f"{type(error).__name__}: {error}"
            (self.logs / f"error-{name}.txt").write_text(traceback.format_exc())
            print(f"  failed: {self.data['errors'][name]}", flush=True)

    def _size(self) -> dict[str, Any]:
        ours, seed = self.services.venv("runtime"), self.services.venv("seed")
        return {
            "method": "du of site-packages (allocated blocks)",
            "ours_bytes": envs.installed_bytes(envs.site_packages(ours.parents[1])),
            "seed_bytes": envs.installed_bytes(envs.site_packages(seed.parents[1])),
        }

    def _inprocess(self) -> dict[str, Any]:
        from bench.perf.inprocess import compare

        s = self.settings
        return compare(s.bundle, s.data, s.inprocess_rows, s.inprocess_repeats, s.seed)

    def _cold(self, make: Callable[[], Server]) -> list[float]:
        times = []
        for _ in range(self.settings.cold_starts):
            server = make()
            try:
                times.append(server.start())
            finally:
                server.stop()
        return times

    def _reference(self, stack: ExitStack, name: str, make: Callable[[], Server],
                   body: Path) -> Server | None:  # fmt: skip
        """Start and warm up a reference, or record why it could not be."""
        print(f"[{time.strftime('%H:%M:%S')}] {name}: start", flush=True)
        try:
            server = stack.enter_context(make())
            self._check(server, PREDICT, body, "cluster")
            self._load(server, PREDICT, body, self.settings.warmup)
        except Exception as error:
            self.data["errors"][name] = f"{type(error).__name__}: {error}"
            (self.logs / f"error-{name}.txt").write_text(traceback.format_exc())
            print(f"  failed: {self.data['errors'][name]}", flush=True)
            return None
        return server

    def _rounds(self, servers: dict[str, Server], body: Path) -> dict[str, dict[str, Any]]:
        """``rounds`` wrk runs on each server, in turn, combined per server."""
        results: dict[str, list[wrk.WrkResult]] = {name: [] for name in servers}
        for number in range(self.settings.rounds):
            print(f"[{time.strftime('%H:%M:%S')}] /predict round {number + 1}", flush=True)
            for name, server in servers.items():
                results[name].append(self._load(server, PREDICT, body, self.settings.duration))
        return {name: _combine(runs) for name, runs in results.items()}

    def _ours_session(self, body: Path) -> dict[str, Any]:
        """Ours under load, side by side with R1 and R2 for /predict, then batches."""
        s, out = self.settings, {}
        with self.services.ours() as server:
            answer = self._check(server, PREDICT, body, "cluster")
            out["answer"] = answer.decode()
            self._load(server, PREDICT, body, s.warmup)
            if s.wants("predict") or s.wants("memory") or s.wants("scaling"):
                with ExitStack() as references:
                    others = {"ours": server}
                    if s.wants("predict"):
                        ceiling = partial(self.services.ceiling, answer.decode())
                        others["ceiling"] = self._reference(references, "ceiling", ceiling, body)
                        # Where the time between R2 and ours goes: R2 wearing as many empty
                        # layers as we have middlewares, then our middlewares, and ours
                        # without its access log.
                        for name, dress in (("ceiling_layers", "layers"), ("ceiling_middleware", "service")):
                            dressed = partial(ceiling, middleware=dress)
                            others[name] = self._reference(references, name, dressed, body)
                        quiet = partial(self.services.ours, env={"SEGMENTATION_ACCESS_LOG": "false"},
                                        name="ours-no-access-log")
                        others["ours_no_access_log"] = self._reference(
                            references, "ours_no_access_log", quiet, body)
                    if s.wants("predict") or s.wants("memory"):
                        others["seed"] = self._reference(references, "seed", self.services.seed, body)
                    running = {name: other for name, other in others.items() if other is not None}
                    for name, combined in self._rounds(running, body).items():
                        place = out if name == "ours" else self.data.setdefault(name, {})
                        place["predict"] = combined
                    if s.wants("memory"):
                        out["memory"] = self._memory(server, body, out["predict"]["rate"])
                        if "seed" in running:
                            rate = self.data["seed"]["predict"]["rate"]
                            self.data["seed"]["memory"] = self._memory(running["seed"], body, rate)
            if s.wants("batch"):
                out["batch_sweep"] = self._batch_sweep(server, answer.decode())
                out["rss_after_batches"] = server.rss()
            if s.wants("profile"):
                out["profile"] = self._profile(server, body)
        return out

    def _batch_sweep(self, server: Server, single_answer: str) -> dict[str, Any]:
        """Customers/s for each batch size; for the largest, also the decode-and-answer ceiling
        (bare Starlette decoding the same body into ``list[Customer]``, answering our answer)."""
        rng, sweep = np.random.default_rng(self.settings.seed), {}
        connections = self.settings.batch_connections
        largest = max(self.settings.batch_sizes)
        for size in self.settings.batch_sizes:
            print(f"[{time.strftime('%H:%M:%S')}] batches of {size}", flush=True)
            drawn = customers.draw(self.settings.data, size, rng)
            body = customers.write_body(self.services.scratch / f"batch-{size}.json", drawn)
            raw = self._check(server, BATCH, body, "predictions")
            answer = json.loads(raw)
            if len(answer["predictions"]) != size:
                raise RuntimeError(f"{BATCH} answered {len(answer['predictions'])} of {size}")
            self._load(server, BATCH, body, 1, connections=connections)
            result = self._load(server, BATCH, body, self.settings.batch_duration, connections=connections)
            sweep[str(size)] = {
                "customers_per_s": result.rate * size,
                "body_bytes": body.stat().st_size,
                "wrk": result.as_dict(),
            }
            if size == largest:
                answer_file = self.services.scratch / f"answer-{size}.json"
                answer_file.write_bytes(raw)
                sweep[str(size)]["ceiling"] = self._batch_ceiling(single_answer, answer_file, body)
        return sweep

    def _batch_ceiling(self, single_answer: str, answer_file: Path, body: Path) -> dict[str, Any]:
        print(f"[{time.strftime('%H:%M:%S')}] batch ceiling", flush=True)
        size = len(json.loads(body.read_bytes()))
        with self.services.ceiling(single_answer, answer_file) as ceiling:
            status, _ = http_call(ceiling.port, "POST", BATCH, body.read_bytes())
            if status != 200:
                raise RuntimeError(f"the batch ceiling answered {status}")
            connections = self.settings.batch_connections
            self._load(ceiling, BATCH, body, 1, connections=connections)
            result = self._load(ceiling, BATCH, body, self.settings.batch_duration, connections=connections)
        return {"customers_per_s": result.rate * size, "answer_bytes": answer_file.stat().st_size,
                "wrk": result.as_dict()}

    def _profile(self, server: Server, body: Path) -> dict[str, Any]:
        """py-spy on ours under /predict load: raw stacks (summarised), then a flame graph."""
        seconds, folder = self.settings.profile_seconds, self.settings.results
        files = {"raw": folder / "profile-predict.txt", "flamegraph": folder / "profile-predict.svg"}
        for kind, path in files.items():
            print(f"[{time.strftime('%H:%M:%S')}] profile ({kind})", flush=True)
            sampler = profiling.record(server.pid, seconds, path, kind)
            try:
                self._load(server, PREDICT, body, seconds + 1)
            finally:
                sampler.wait(timeout=seconds + 30)
        summary = profiling.summarise(files["raw"])
        return {"files": {kind: str(path) for kind, path in files.items()}, "summary": summary}

    def _workers(self, body: Path, workers: int) -> dict[str, Any]:
        with self.services.ours(workers) as server:
            self._load(server, PREDICT, body, self.settings.warmup)
            return _combine(
                [
                    self._load(server, PREDICT, body, self.settings.duration)
                    for _ in range(self.settings.rounds)
                ]
            )

    # -- the run ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        s = self.settings
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            self.services.scratch = Path(scratch)
            body = customers.write_body(Path(scratch) / "seed-body.json", customers.SEED_BODY)
            if s.wants("size"):
                self._part("size", self._size)
            if s.wants("inprocess"):
                self._part("inprocess", self._inprocess)
            if s.wants("cold"):
                self._part("cold_ours", lambda: self._cold(self.services.ours))
                self._part("cold_seed", lambda: self._cold(self.services.seed))
            if any(s.wants(p) for p in ("predict", "memory", "batch", "scaling", "profile")):
                self._part("ours", lambda: self._ours_session(body))
            if s.wants("scaling"):
                self._part("workers_2", lambda: self._workers(body, 2))
            if s.wants("r4"):
                self._part("r4", lambda: peer_mlserver.measure(s, self.services, self.logs))
        self.data["notes"] = self.services.notes
        self.data["meta"] = self._meta(time.perf_counter() - began)
        return self.data

    def _meta(self, elapsed: float) -> dict[str, Any]:
        version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.settings).items()}
        return {
            **settings,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": _machine(),
            "seconds": round(elapsed, 1),
            "ours_python": str(self.services.ours_python()),
            "wrk": (version.stdout + version.stderr).strip().split(" Copyright")[0],
        }
