"""Prometheus metrics, through ``prometheus_client``.

Each app owns a registry. With several workers, ``PROMETHEUS_MULTIPROC_DIR``
is set before the library loads, values go to files, and ``/metrics`` sums the
workers' files with the library's ``MultiProcessCollector``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from runtime.core.bundle import Segment

__all__ = ["Metrics", "metrics_endpoint"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256,
                    0.512, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000)


class Metrics:
    """The service's metrics, registered in a registry of their own."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series are noise
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "segmentation_requests", "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"], registry=registry,
        )
        self.latency = Histogram(
            "segmentation_request_duration_seconds", "Time to answer, by route and status.",
            ["route", "status"], buckets=_LATENCY_BUCKETS, registry=registry,
        )
        self.predictions = Counter(
            "segmentation_predictions", "Customers assigned, by segment.",
            ["segment_id", "segment"], registry=registry,
        )
        self.batch_size = Histogram(
            "segmentation_batch_size", "Customers per /predict/batch request.",
            buckets=_BATCH_BUCKETS, registry=registry,
        )
        self.model_info = Gauge(
            "segmentation_model_info", "1 for the model being served, with its identity.",
            ["name", "version", "checksum"], registry=registry, multiprocess_mode="liveall",
        )
        self.reloads = Counter(
            "segmentation_reloads", "Bundle reloads, by result (success or failure).",
            ["result"], registry=registry,
        )
        for result in ("success", "failure"):  # both series exist from the start, at 0
            self.reloads.labels(result)
        self.drift = Gauge(
            "segmentation_drift_psi",
            "Population stability index of each input field over the drift window.",
            ["field"], registry=registry, multiprocess_mode="liveall",
        )
        self._served: tuple[str, str, str] | None = None
        # labels() is a lookup under a lock: each label set's child is looked up once.
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._predicted: dict[tuple[int, str], Counter] = {}

    def serving(self, name: str, version: str, checksum: str) -> None:
        """Mark the model being served, unmarking the previous one."""
        if self._served is not None:
            self.model_info.labels(*self._served).set(0)
        self._served = (name, version, checksum)
        self.model_info.labels(*self._served).set(1)

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one answered request."""
        key = (route, method, status)
        children = self._answered.get(key)
        if children is None:
            children = self._answered[key] = (self.requests.labels(route, method, str(status)),
                                              self.latency.labels(route, str(status)))
        children[0].inc()
        children[1].observe(seconds)

    def predicted(self, catalogue: Sequence[Segment], segments: np.ndarray,
                  batch_size: int | None = None) -> None:
        """Count customers by segment, and the size of a batch request."""
        if batch_size is not None:
            self.batch_size.observe(batch_size)
        counts = np.bincount(segments, minlength=len(catalogue)).tolist()
        for segment, count in zip(catalogue, counts, strict=True):
            if count:
                key = (segment.id, segment.name)
                counter = self._predicted.get(key)
                if counter is None:
                    counter = self._predicted[key] = self.predictions.labels(str(segment.id), segment.name)
                counter.inc(count)

    def stopped(self) -> None:
        """This process serves no more: drop its live gauges from the workers' shared files."""
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(registry))
        return bytes(generate_latest(self.registry))


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    served = request.app.state.served
    if served is not None:
        for field in served.drift.report().fields:
            metrics.drift.labels(field.field).set(field.psi)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
