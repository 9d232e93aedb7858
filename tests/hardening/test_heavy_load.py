"""Heavy requests stay bounded: 64 concurrent batches of 10,000 customers with explanations
keep the event loop answering probes and the process within the Deployment's memory limit,
and bodies far over the batch limit are refused before they are read."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT
from tests.hardening.conftest import Serve
from tests.hardening.live import RawUpload, customer, wait_for

MB = 1024 * 1024


def _memory_limit() -> int:
    """The Deployment's container memory limit, in bytes (e.g. 256Mi)."""
    documents = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text())
    deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
    limit = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    return int(limit[:-2]) * MB


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_64_concurrent_explained_batches_keep_probes_answered_and_memory_bounded(serve: Serve) -> None:
    live = serve()
    body = json.dumps([customer(i) for i in range(10_000)]).encode()
    statuses: list[int] = []
    probes: list[float] = []
    peak = 0
    done = threading.Event()

    def post() -> None:
        with httpx.Client(timeout=300.0) as client:
            answer = client.post(f"{live.url}/predict/batch?explain=true", content=body,
                                 headers={"content-type": "application/json"})
            statuses.append(answer.status_code)

    clients = [threading.Thread(target=post) for _ in range(64)]
    for thread in clients:
        thread.start()
    with httpx.Client(base_url=live.url, timeout=30.0) as prober:
        while any(thread.is_alive() for thread in clients):
            began = time.monotonic()
            assert prober.get("/health/live").status_code == 200
            probes.append(time.monotonic() - began)
            peak = max(peak, _rss(live.pid))
            time.sleep(0.05)
    done.set()
    print(f"\n64 explained batches of 10,000: statuses {sorted(set(statuses))}, {len(probes)} probes, "
          f"slowest {max(probes) * 1000:.0f} ms, peak RSS {peak / MB:.0f} MB")
    assert sorted(set(statuses)) == [200]
    assert peak < _memory_limit()
    assert max(probes) < 1.0  # the loop is never blocked for long (it was 10.9 s)


def test_a_body_far_over_the_batch_limit_is_refused_before_it_is_read(serve: Serve) -> None:
    live = serve()
    body = json.dumps([customer(i) for i in range(60_000)]).encode()
    uploads = [RawUpload(live.port, "/predict/batch", body, declared=len(body)) for _ in range(16)]
    try:
        for upload in uploads:
            upload.send(64 * 1024)
        for upload in uploads:
            wait_for(upload.answered, timeout=10.0, what="an answer after the first piece")
            status, _, answer = upload.response()
            assert status == 413
            assert json.loads(answer)["error"] == "payload_too_large"
    finally:
        for upload in uploads:
            upload.close()
    assert _rss(live.pid) < 200 * MB
