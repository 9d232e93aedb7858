"""The measurements: each part starts what it needs, measures within bounded time, stops it.

A part that fails (a server that does not start, an answer that is not 200) is recorded
under ``errors`` and the others go on; the report flags every figure it touches.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf import customers, envs, profiling, wrk
from bench.perf.server import HOST, Server, http_call
from bench.perf.settings import ROOT, Settings

__all__ = ["Suite"]

SEED_REQUIREMENTS = ROOT / "bench" / "requirements-seed.txt"
RUNTIME_REQUIREMENTS = ROOT / "requirements-runtime.txt"
# Used only while requirements-runtime.txt does not exist yet.
RUNTIME_FALLBACK = (
    "numpy==2.4.6\nmsgspec==0.22.0\nstarlette==1.10.0\nuvicorn[standard]==0.54.0\nprometheus_client==0.26.0\n"
)


class Suite:
    """One benchmark run; :meth:`run` returns every measurement as plain data."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.logs = settings.results / "logs"
        self.data: dict[str, Any] = {"errors": {}}
        self._tmp = Path()
        self._python: Path | None = None

    # -- environments -------------------------------------------------------------

    def _venv(self, name: str, requirements: str) -> Path:
        return envs.ensure_venv(self.settings.venvs / name, requirements, self.logs / f"venv-{name}.log")

    def _runtime_requirements(self) -> str:
        if RUNTIME_REQUIREMENTS.is_file():
            return RUNTIME_REQUIREMENTS.read_text()
        self.data["runtime_requirements"] = "fallback list (requirements-runtime.txt absent)"
        return RUNTIME_FALLBACK

    def _seed_python(self) -> Path:
        return self._venv("seed", SEED_REQUIREMENTS.read_text())

    def _ours_python(self) -> Path:
        """The given interpreter, else the repository's venv, else the runtime venv."""
        if self._python is None:
            repo = ROOT / ".venv" / "bin" / "python"
            self._python = self.settings.ours_python or (
                repo if repo.exists() else self._venv("runtime", self._runtime_requirements())
            )
        return self._python

    # -- servers ------------------------------------------------------------------

    def _ours(self, workers: int = 1) -> Server:
        python = str(self._ours_python())

        def command(port: int) -> list[str]:
            extra = ["--workers", str(workers)] if workers != 1 else []
            return [python, "-m", "runtime", "--host", HOST, "--port", str(port), *extra]

        return Server(f"ours-{workers}w", command, ROOT, self.logs / f"ours-{workers}w.log")

    def _ceiling(self, body: str) -> Server:
        python = str(self._ours_python())

        def command(port: int) -> list[str]:
            return [
                python,
                "-m",
                "uvicorn",
                "bench.perf.ceiling_app:app",
                "--host",
                HOST,
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ]

        return Server("R2-ceiling", command, ROOT, self.logs / "ceiling.log", env={"CEILING_BODY": body})

    def _seed(self) -> Server:
        python, model = str(self._seed_python()), self._seed_model()

        def command(port: int) -> list[str]:
            return [
                python,
                "-m",
                "uvicorn",
                "bench.perf.seed_service:app",
                "--host",
                HOST,
                "--port",
                str(port),
            ]

        return Server("R1-seed", command, ROOT, self.logs / "seed.log", env={"SEED_MODEL_DIR": str(model)})

    def _seed_model(self) -> Path:
        folder = self._tmp / "seed-model"
        if not folder.exists():
            done = subprocess.run(
                [
                    str(self._seed_python()),
                    "-m",
                    "bench.perf.seed_train",
                    str(self.settings.data),
                    str(folder),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"training the seed's model failed:\n{done.stderr}")
            self.data["seed_model"] = json.loads(done.stdout.strip().splitlines()[-1])
        return folder

    # -- load ---------------------------------------------------------------------

    def _load(
        self,
        server: Server,
        path: str,
        body: Path,
        seconds: float,
        *,
        connections: int | None = None,
        limit: int | None = None,
    ) -> wrk.WrkResult:
        result = wrk.run(
            server.url + path,
            body,
            seconds,
            connections=connections or self.settings.connections,
            limit=limit,
        )
        server.served += result.requests
        return result

    def _check(self, server: Server, path: str, body: Path, key: str) -> bytes:
        status, answer = http_call(server.port, "POST", path, body.read_bytes())
        if status != 200 or key not in json.loads(answer):
            raise RuntimeError(f"{server.name} {path} answered {status}: {answer[:300]!r}")
        return answer

    def _top_up(self, server: Server, body: Path, rate: float) -> list[dict[str, Any]]:
        """Bring the count of served /predict requests to ``memory_requests``."""
        runs = []
        while server.served < self.settings.memory_requests:
            remaining = self.settings.memory_requests - server.served
            seconds = min(120.0, 1.0 + 1.3 * remaining / max(rate, 1.0))
            result = self._load(server, "/predict", body, seconds, limit=remaining)
            runs.append(result.as_dict())
            if result.requests == 0:
                break
            rate = result.rate
        return runs

    def _memory(self, server: Server, body: Path, rate: float) -> dict[str, Any]:
        runs = self._top_up(server, body, rate)
        time.sleep(0.5)
        return {
            "rss": server.rss(),
            "requests": server.served,
            "top_up": runs,
            "clean": all(run["clean"] for run in runs),
        }

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
        ours = self.settings.venvs / "runtime"
        self._venv("runtime", self._runtime_requirements())
        seed = self._seed_python().parents[1]
        return {
            "method": "du of site-packages (allocated blocks)",
            "ours_bytes": envs.installed_bytes(envs.site_packages(ours)),
            "seed_bytes": envs.installed_bytes(envs.site_packages(seed)),
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

    def _ours_session(self, body: Path) -> dict[str, Any]:
        s, out = self.settings, {}
        with self._ours() as server:
            out["answer"] = self._check(server, "/predict", body, "cluster").decode()
            out["warmup"] = self._load(server, "/predict", body, s.warmup).as_dict()
            if s.wants("predict") or s.wants("memory") or s.wants("scaling"):
                out["predict"] = self._load(server, "/predict", body, s.duration).as_dict()
            if s.wants("memory"):
                out["memory"] = self._memory(server, body, out.get("predict", {}).get("rate", 1e3))
            if s.wants("batch"):
                out["batch_sweep"] = self._batch_sweep(server)
                out["rss_after_batches"] = server.rss()
            if s.wants("profile"):
                out["profile"] = self._profile(server, body)
        return out

    def _batch_sweep(self, server: Server) -> dict[str, Any]:
        rng, sweep = np.random.default_rng(self.settings.seed), {}
        for size in self.settings.batch_sizes:
            body = customers.write_body(
                self._tmp / f"batch-{size}.json", customers.draw(self.settings.data, size, rng)
            )
            answer = json.loads(self._check(server, "/predict/batch", body, "predictions"))
            if len(answer["predictions"]) != size:
                raise RuntimeError(f"/predict/batch answered {len(answer['predictions'])} of {size}")
            connections = self.settings.batch_connections
            self._load(server, "/predict/batch", body, 1, connections=connections)
            result = self._load(
                server, "/predict/batch", body, self.settings.batch_duration, connections=connections
            )
            sweep[str(size)] = {
                "customers_per_s": result.rate * size,
                "body_bytes": body.stat().st_size,
                "wrk": result.as_dict(),
            }
        return sweep

    def _profile(self, server: Server, body: Path) -> dict[str, Any]:
        seconds = self.settings.profile_seconds
        files = {
            "raw": self.settings.results / "profile-predict.txt",
            "flamegraph": self.settings.results / "profile-predict.svg",
        }
        for kind, path in files.items():
            sampler = profiling.record(server.pid, seconds, path, kind)
            try:
                self._load(server, "/predict", body, seconds + 1)
            finally:
                sampler.wait(timeout=seconds + 30)
        return {"files": {k: str(v) for k, v in files.items()}, "summary": profiling.summarise(files["raw"])}

    def _reference_session(self, make: Callable[[], Server], body: Path, memory: bool) -> dict[str, Any]:
        s, out = self.settings, {}
        with make() as server:
            self._check(server, "/predict", body, "cluster")
            out["warmup"] = self._load(server, "/predict", body, s.warmup).as_dict()
            out["predict"] = self._load(server, "/predict", body, s.duration).as_dict()
            if memory:
                out["memory"] = self._memory(server, body, out["predict"]["rate"])
        return out

    def _workers(self, body: Path, workers: int) -> dict[str, Any]:
        with self._ours(workers) as server:
            self._load(server, "/predict", body, self.settings.warmup)
            return self._load(server, "/predict", body, self.settings.duration).as_dict()

    # -- the run ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        s = self.settings
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        began = time.perf_counter()
        with ExitStack() as stack:
            self._tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            body = customers.write_body(self._tmp / "seed-body.json", customers.SEED_BODY)
            if s.wants("size"):
                self._part("size", self._size)
            if s.wants("inprocess"):
                self._part("inprocess", self._inprocess)
            if s.wants("cold"):
                self._part("cold_ours", lambda: self._cold(self._ours))
                self._part("cold_seed", lambda: self._cold(self._seed))
            if any(s.wants(p) for p in ("predict", "memory", "batch", "scaling", "profile")):
                self._part("ours", lambda: self._ours_session(body))
            answer = self.data.get("ours", {}).get("answer") or json.dumps(customers.SEED_ANSWER)
            if s.wants("predict"):
                self._part(
                    "ceiling",
                    lambda: self._reference_session(lambda: self._ceiling(answer), body, memory=False),
                )
            if s.wants("predict") or s.wants("memory"):
                self._part(
                    "seed", lambda: self._reference_session(self._seed, body, memory=s.wants("memory"))
                )
            if s.wants("scaling"):
                self._part("workers_2", lambda: self._workers(body, 2))
        self.data["meta"] = self._meta(time.perf_counter() - began)
        return self.data

    def _meta(self, elapsed: float) -> dict[str, Any]:
        s = self.settings
        fields: Sequence[str] = (
            "mode",
            "duration",
            "warmup",
            "batch_duration",
            "connections",
            "batch_connections",
            "cold_starts",
            "memory_requests",
            "inprocess_rows",
            "inprocess_repeats",
            "batch_sizes",
            "parts",
        )
        version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        return {
            **{name: getattr(s, name) for name in fields},
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(elapsed, 1),
            "ours_python": str(self._python) if self._python else None,
            "wrk": (version.stdout + version.stderr).strip().split(" Copyright")[0],
        }
