"""From measurements to figures held to their targets; the JSON file and the chart."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.perf import chart, peer_mlserver
from bench.perf.figures import Figure

__all__ = ["build", "write"]

MB = 2**20


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _wrk_flags(label: str, run: dict[str, Any] | None) -> list[str]:
    if run is None or run.get("clean", True):
        return []
    return [f"{label}: {run['non_2xx']} non-2xx answers, {run['socket_errors']} socket errors"]


def _errors(data: dict[str, Any], *parts: str) -> list[str]:
    return [f"{part} failed: {data['errors'][part]}" for part in parts if part in data["errors"]]


def _median(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _against_ceiling(data: dict[str, Any], part: str, label: str, ceiling: dict[str, Any],
                     ceiling_flags: list[str]) -> Figure:
    """An information row: one of the servers that show where the time between R2 and ours goes."""
    run = _get(data, part, "predict") or {}
    return Figure(f"predict_rps_{part}", f"  {label}", "req/s", run.get("rate"), ceiling.get("rate"),
                  "R2 ceiling", flags=_wrk_flags(label, run or None) + _errors(data, part) + ceiling_flags)


def build(data: dict[str, Any]) -> list[Figure]:
    """Every figure the run measured, in a fixed order; parts not run are left out."""
    parts = data["meta"]["parts"]
    figures: list[Figure] = []
    ours, seed, ceiling = (_get(data, name, "predict") or {} for name in ("ours", "seed", "ceiling"))
    if "predict" in parts:
        flags = _wrk_flags("ours", ours or None) + _errors(data, "ours")
        seed_flags = _wrk_flags("R1", seed or None) + _errors(data, "seed")
        ceiling_flags = _wrk_flags("R2", ceiling or None) + _errors(data, "ceiling")
        figures += [
            Figure(
                "predict_rps_vs_seed",
                "POST /predict req/s vs R1",
                "req/s",
                ours.get("rate"),
                seed.get("rate"),
                "R1 seed",
                ">= 35x R1",
                _times(seed.get("rate"), 35),
                flags=flags + seed_flags,
            ),
            Figure(
                "predict_rps_vs_ceiling",
                "POST /predict req/s vs R2",
                "req/s",
                ours.get("rate"),
                ceiling.get("rate"),
                "R2 ceiling",
                ">= 0.5x R2",
                _times(ceiling.get("rate"), 0.5),
                flags=flags + ceiling_flags,
            ),
            *(
                _against_ceiling(data, part, label, ceiling, ceiling_flags)
                for part, label in (
                    ("ceiling_layers", "R2 wearing an empty layer per middleware"),
                    ("ceiling_middleware", "R2 wearing our middlewares"),
                    ("ours_no_access_log", "ours without the access log"),
                )
            ),
            Figure(
                "predict_p99",
                "POST /predict p99 @16 conns",
                "ms",
                ours.get("p99"),
                seed.get("p99"),
                "R1 seed",
                "<= 0.05x R1",
                _times(seed.get("p99"), 0.05),
                lower=True,
                flags=flags + seed_flags,
                scale=1e3,
            ),
        ]
    sweep = _get(data, "ours", "batch_sweep")
    if "batch" in parts:
        largest = sweep[max(sweep, key=int)] if sweep else {}
        batch_ceiling = largest.get("ceiling") or {}
        figures.append(
            Figure(
                "batch_customers_per_s",
                f"POST /predict/batch {max(data['meta']['batch_sizes']):,}: customers/s",
                "k/s",
                largest.get("customers_per_s"),
                batch_ceiling.get("customers_per_s"),
                "decode-and-answer ceiling",
                ">= 0.5x ceiling",
                _times(batch_ceiling.get("customers_per_s"), 0.5),
                scale=1e-3,
                flags=_wrk_flags("batch", largest.get("wrk")) + _errors(data, "ours")
                + _wrk_flags("batch ceiling", batch_ceiling.get("wrk")),
            )
        )
    if "inprocess" in parts:
        inprocess = data.get("inprocess") or {}
        flags = _errors(data, "inprocess")
        if inprocess and not inprocess["identical"]:
            flags.append(f"{inprocess['mismatches']} segment ids differ from scikit-learn's")
        figures.append(
            Figure(
                "inprocess_rows_per_s",
                f"in-process predict {data['meta']['inprocess_rows']:,} rows: rows/s",
                "M rows/s",
                inprocess.get("ours_rows_per_s"),
                inprocess.get("sklearn_rows_per_s"),
                "R3 sklearn",
                ">= 0.5x R3, same ids",
                _times(inprocess.get("sklearn_rows_per_s"), 0.5),
                flags=flags,
                scale=1e-6,
            )
        )
    if "cold" in parts:
        figures.append(
            Figure(
                "cold_start",
                "cold start to healthy (median)",
                "s",
                _median(data.get("cold_ours")),
                _median(data.get("cold_seed")),
                "R1 seed",
                "<= 0.25x R1",
                _times(_median(data.get("cold_seed")), 0.25),
                lower=True,
                flags=_errors(data, "cold_ours", "cold_seed"),
            )
        )
    if "memory" in parts:
        memory = _get(data, "ours", "memory") or {}
        loaded = memory.get("clean", True) and _get(data, "seed", "memory", "clean") is not False
        figures.append(
            Figure(
                "rss",
                f"RSS after {data['meta']['memory_requests']:,} requests",
                "MB",
                memory.get("rss"),
                _get(data, "seed", "memory", "rss"),
                "R1 seed",
                "<= 0.35x R1",
                _times(_get(data, "seed", "memory", "rss"), 0.35),
                lower=True,
                scale=1 / MB,
                flags=_errors(data, "ours", "seed") + ([] if loaded else ["errors under load"]),
            )
        )
    if "size" in parts:
        size = data.get("size") or {}
        figures.append(
            Figure(
                "venv_size",
                "installed size (site-packages)",
                "MB",
                size.get("ours_bytes"),
                size.get("seed_bytes"),
                "R1 seed",
                "<= 0.35x R1",
                _times(size.get("seed_bytes"), 0.35),
                lower=True,
                flags=_errors(data, "size"),
                scale=1 / MB,
            )
        )
    if "scaling" in parts:
        two = data.get("workers_2")
        figures.append(
            Figure(
                "workers_2_rps",
                "POST /predict req/s, 2 workers",
                "req/s",
                _get(two or {}, "rate"),
                ours.get("rate"),
                "1 worker",
                flags=_wrk_flags("2 workers", two) + _errors(data, "workers_2"),
            )
        )
    for size, point in (sweep or {}).items():
        figures.append(
            Figure(
                f"batch_{size}",
                f"batch of {int(size):,}: customers/s",
                "k/s",
                point["customers_per_s"],
                scale=1e-3,
                flags=_wrk_flags("batch", point["wrk"]),
            )
        )
    if "r4" in parts:
        figures += peer_mlserver.figures(data)
    return figures


def write(data: dict[str, Any], figures: list[Figure], folder: Path, stem: str) -> tuple[Path, Path]:
    """``STEM.json`` (figures and every measurement) and ``STEM.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    results = {
        "meta": data["meta"],
        "figures": [figure.as_dict() for figure in figures],
        "batch_sweep": _get(data, "ours", "batch_sweep"),
        "measurements": data,
    }
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    return path, chart.draw(results, folder / f"{stem}.png")
