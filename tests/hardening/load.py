"""Load on a live service while it changes model: every answer checked, failures counted."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from tests.hardening.live import customer

__all__ = ["Load"]


class Load:
    """Threads posting single and batch predictions, checking every answer names one model."""

    def __init__(self, url: str, threads: int, seconds: float, max_requests: int) -> None:
        self.url = url
        self.stop = threading.Event()
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.requests = 0
        self.failures: list[str] = []
        self.versions: Counter[str] = Counter()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                        for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def _check(self, answer: httpx.Response, batch: bool) -> str | None:
        if answer.status_code != 200:
            return f"status {answer.status_code}: {answer.text[:200]}"
        header = answer.headers.get("x-model-version")
        body = answer.json()
        if body["model_version"] != header:
            return f"body names {body['model_version']}, header {header}"
        if batch and {p["model_version"] for p in body["predictions"]} != {header}:
            return f"one batch mixes {sorted({p['model_version'] for p in body['predictions']})}"
        with self.lock:
            self.versions[header] += 1
        return None

    def _run(self, number: int) -> None:
        batch_body = [customer(i) for i in range(number, number + 25)]
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            index = 0
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                with self.lock:
                    if self.requests >= self.max_requests:
                        return
                    self.requests += 1
                batch = index % 2 == 1
                try:
                    if batch:
                        answer = client.post("/predict/batch", json=batch_body)
                    else:
                        answer = client.post("/predict", json=customer(index))
                    problem = self._check(answer, batch)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if problem:
                    with self.lock:
                        self.failures.append(problem)
                index += 1
