"""R3: our NumPy prediction against scikit-learn's ``KMeans.predict``, in one process."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.rawcsv import read_rows

__all__ = ["compare", "raw_rows"]


def raw_rows(predictor: Any, data: Path, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows of raw model columns resampled from the export, numeric ones jittered."""
    rows = read_rows(data)
    base = predictor.encoder.transform({name: [row[name] for row in rows] for name in rows[0]})
    layout = predictor.layout
    numeric = [start for spec, start in zip(layout.weighted, layout.starts.tolist(), strict=True)
               if spec.kind == "numeric"]
    raw: np.ndarray = base[rng.integers(len(base), size=count)]
    raw[:, numeric] *= rng.lognormal(0.0, 0.1, size=(count, len(numeric)))
    return raw


def _timings(call: Callable[[], object], repeats: int) -> list[float]:
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def compare(bundle: Path, data: Path, rows: int, repeats: int, seed: int = 42) -> dict[str, Any]:
    """Best time of both predictions on the same rows, and whether their segments agree."""
    from sklearn.cluster import KMeans

    from runtime.core.bundle import load_bundle
    from runtime.core.predictor import Predictor

    predictor = Predictor(load_bundle(bundle))
    raw = raw_rows(predictor, data, rows, np.random.default_rng(seed))
    scaled = predictor.scale(raw)
    centroids = predictor.centroids
    model = KMeans(n_clusters=len(centroids), init=centroids, n_init=1, max_iter=1)
    model.fit(scaled[: 10 * len(centroids)])
    model.cluster_centers_ = centroids.copy()
    ours = predictor.predict_raw(raw).segments
    theirs = model.predict(scaled)
    ours_times = _timings(lambda: predictor.predict_raw(raw), repeats)
    theirs_times = _timings(lambda: model.predict(scaled), repeats)
    ours_s, theirs_s = min(ours_times), min(theirs_times)
    return {
        "rows": rows,
        "repeats": repeats,
        "timing": "best of the repeats (the machine is shared; the median is also kept)",
        "ours_seconds": ours_s,
        "sklearn_seconds": theirs_s,
        "ours_median_seconds": statistics.median(ours_times),
        "sklearn_median_seconds": statistics.median(theirs_times),
        "ours_rows_per_s": rows / ours_s,
        "sklearn_rows_per_s": rows / theirs_s,
        "mismatches": int(np.count_nonzero(ours != theirs)),
        "identical": bool(np.array_equal(ours, theirs)),
    }
