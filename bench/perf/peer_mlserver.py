"""R4: MLServer with its scikit-learn runtime, serving the seed's design, beside ours on the
Open Inference Protocol; and our binary V2 batches beside our own JSON ``/predict/batch``.

Both servers get byte-identical V2 requests (JSON tensors, with the content-type hints
MLServer's pandas codec needs; ours ignores them), loaded in turn, round after round.
If MLServer cannot be installed or started, R4 is skipped with the reason; the binary
comparison, which needs only ours, still runs.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf import customers, envs, wrk
from bench.perf.figures import Figure
from bench.perf.server import HOST, Server, free_port
from bench.perf.services import Services
from bench.perf.settings import ROOT, Settings
from bench.perf.v2_bodies import INFER, binary_request, json_request

__all__ = ["figures", "measure"]

REQUIREMENTS = Path(__file__).with_name("requirements-mlserver.txt")
MODEL = "customer-segmentation"
BATCH = 1_000
BINARY_BATCH = 10_000


def _mlserver(settings: Settings, logs: Path, scratch: Path) -> Server:
    """MLServer serving the seed's pipeline, trained and saved with joblib now."""
    python = envs.ensure_venv(settings.venvs / "mlserver", REQUIREMENTS.read_text(),
                              logs / "venv-mlserver.log")
    folder = scratch / "mlserver"
    model = folder / MODEL / "model.joblib"
    done = subprocess.run([str(python), "-m", "bench.perf.seed_pipeline", str(settings.data),
                           str(model)], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"training the seed's pipeline failed:\n{done.stderr[-2000:]}")
    (folder / MODEL / "model-settings.json").write_text(json.dumps({
        "name": MODEL, "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"}}))

    def command(port: int) -> list[str]:
        (folder / "settings.json").write_text(json.dumps({
            "host": HOST, "http_port": port, "grpc_port": free_port(),
            "metrics_port": free_port(), "parallel_workers": 0}))
        return [str(python.with_name("mlserver")), "start", str(folder)]

    return Server("R4-mlserver", command, ROOT, logs / "mlserver.log", health="/v2/health/ready")


def _check(server: Server, body: Path, headers: dict[str, str] | None = None) -> None:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=60)
    try:
        connection.request("POST", INFER, body=body.read_bytes(),
                           headers={"Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        text = answer.read()
    finally:
        connection.close()
    if answer.status != 200:
        raise RuntimeError(f"{server.name} {INFER} answered {answer.status}: {text[:300]!r}")


def _rate(results: list[wrk.WrkResult]) -> dict[str, Any]:
    return {"rate": statistics.median(r.rate for r in results),
            "clean": all(r.clean for r in results), "rounds": [r.as_dict() for r in results]}


def _bodies(settings: Settings, scratch: Path) -> dict[str, tuple[Path, dict[str, str] | None]]:
    rng = np.random.default_rng(settings.seed)
    one, batch, large = (customers.draw(settings.data, count, rng)
                         for count in (1, BATCH, BINARY_BATCH))
    binary, headers = binary_request(large)
    (scratch / "v2-binary.bin").write_bytes(binary)
    return {
        "v2_1": (customers.write_body(scratch / "v2-1.json", json_request(one, hints=True)), None),
        "v2_batch": (customers.write_body(scratch / "v2-batch.json",
                                          json_request(batch, hints=True)), None),
        "v2_binary": (scratch / "v2-binary.bin", headers),
        "json_batch": (customers.write_body(scratch / "json-batch.json", large), None),
    }


def measure(settings: Settings, services: Services, logs: Path) -> dict[str, Any]:
    """Requests (or customers) per second of each load, per server, medians of the rounds."""
    scratch = services.scratch
    bodies = _bodies(settings, scratch)
    out: dict[str, Any] = {}
    loads: list[tuple[str, str, str, int]] = [  # (result key, server, body, connections)
        ("ours_v2_1", "ours", "v2_1", settings.connections),
        ("mlserver_v2_1", "mlserver", "v2_1", settings.connections),
        ("ours_v2_batch", "ours", "v2_batch", settings.batch_connections),
        ("mlserver_v2_batch", "mlserver", "v2_batch", settings.batch_connections),
        ("ours_v2_binary", "ours", "v2_binary", settings.batch_connections),
        ("ours_json_batch", "ours", "json_batch", settings.batch_connections),
    ]
    with ExitStack() as stack:
        servers = {"ours": stack.enter_context(services.ours())}
        try:
            servers["mlserver"] = stack.enter_context(_mlserver(settings, logs, scratch))
        except Exception as error:  # the reason is the result: R4 is skipped
            out["skipped"] = f"MLServer could not be installed or started: {error}"
            print(f"  R4 skipped: {out['skipped']}", flush=True)
        for server in servers.values():
            for name in ("v2_1", "v2_batch"):
                _check(server, *bodies[name])
        _check(servers["ours"], *bodies["v2_binary"])
        runs: dict[str, list[wrk.WrkResult]] = {}
        for number in range(settings.rounds):
            print(f"[{time.strftime('%H:%M:%S')}] R4 round {number + 1}", flush=True)
            for key, name, body_name, connections in loads:
                if name not in servers:
                    continue
                path, headers = bodies[body_name]
                url = servers[name].url + ("/predict/batch" if body_name == "json_batch" else INFER)
                duration = settings.duration if body_name == "v2_1" else settings.batch_duration
                if number == 0:  # warm-up
                    wrk.run(url, path, settings.warmup, connections=connections, headers=headers)
                runs.setdefault(key, []).append(
                    wrk.run(url, path, duration, connections=connections, headers=headers))
        out.update({key: _rate(results) for key, results in runs.items()})
    return out


def figures(data: dict[str, Any]) -> list[Figure]:
    """R4's three figures, each held to its ratio target."""
    r4 = data.get("r4") or {}
    error = data.get("errors", {}).get("r4")
    flags = [error] if error else []

    def rate(key: str, scale: int = 1) -> float | None:
        point = r4.get(key)
        return None if point is None else point["rate"] * scale

    def clean(*keys: str) -> list[str]:
        return [f"errors under load ({key})" for key in keys
                if r4.get(key) and not r4[key]["clean"]]

    def goal(reference: float | None, times: float) -> float | None:
        return None if reference is None else reference * times

    single, peer_single = rate("ours_v2_1"), rate("mlserver_v2_1")
    batch, peer_batch = rate("ours_v2_batch", BATCH), rate("mlserver_v2_batch", BATCH)
    binary, plain = rate("ours_v2_binary", BINARY_BATCH), rate("ours_json_batch", BINARY_BATCH)
    ours_binary = Figure(
        "v2_binary", f"binary V2 batches of {BINARY_BATCH:,}: customers/s", "k/s", binary, plain,
        "our JSON /predict/batch", ">= 2x JSON batch", goal(plain, 2),
        flags=flags + clean("ours_v2_binary", "ours_json_batch"), scale=1e-3)
    if "skipped" in r4:
        return [Figure("r4_skipped", f"R4 skipped: {r4['skipped']}", "", None), ours_binary]
    return [
        Figure("r4_v2_1", "R4 V2 infer, 1 customer: req/s", "req/s", single, peer_single,
               "MLServer", ">= 10x MLServer", goal(peer_single, 10),
               flags=flags + clean("ours_v2_1", "mlserver_v2_1")),
        Figure("r4_v2_batch", f"R4 V2 batches of {BATCH:,}: customers/s", "k/s", batch,
               peer_batch, "MLServer", ">= 5x MLServer", goal(peer_batch, 5),
               flags=flags + clean("ours_v2_batch", "mlserver_v2_batch"), scale=1e-3),
        ours_binary,
    ]
