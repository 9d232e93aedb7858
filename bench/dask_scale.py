"""Training on Dask beyond the workers' memory: the figures ``bench/train_scale.py --engine dask`` prints.

A synthetic export is trained with ``python -m training --engine dask``'s code on
a LocalCluster of worker processes whose memory limits add up to less than the
export's size in memory as the local engine holds it (estimated from a sample;
the size as a pandas frame with Arrow-backed text is printed too). A thread
asks every worker for its resident memory each half second; the report gives
the wall time and each worker's peak.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.synthetic import SyntheticExport, write_synthetic_export
from runtime.core.bundle import Manifest
from runtime.scoring.export import iter_export

__all__ = ["DaskRun", "format_dask", "in_memory_bytes", "run_dask"]

_SAMPLE_ROWS = 100_000
_POLL_SECONDS = 0.5
PART_BYTES = 8 << 20  # of the CSV per partition: a worker holds a few of them at a time


@dataclass
class DaskRun:
    export: SyntheticExport
    export_bytes: int
    frame_bytes: int  # the export in memory as the local engine holds it, estimated
    arrow_bytes: int  # the same as a pandas frame with Arrow-backed text
    workers: int
    limit_bytes: int  # per worker
    seconds: float = 0.0
    peaks: dict[str, int] = field(default_factory=dict)  # worker address -> peak RSS
    manifest: Manifest | None = None
    phases: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return (self.manifest is not None and self.workers * self.limit_bytes < self.frame_bytes
                and self.manifest.training.cleaning[0].rows_out == self.export.complete)


def in_memory_bytes(path: Path, rows: int) -> tuple[int, int]:
    """The export's size in memory, from its first rows: as the local engine holds it (NumPy
    columns, text as Python strings), and as a pandas frame with Arrow-backed text."""
    chunk = next(iter_export(path, chunk_rows=_SAMPLE_ROWS))
    local = sum(values.nbytes + (sum(map(sys.getsizeof, values.tolist()))
                                 if values.dtype == object else 0)
                for values in chunk.columns.values())
    frame = pd.DataFrame({name: pd.Series(values, dtype="str" if values.dtype == object else None)
                          for name, values in chunk.columns.items()})
    scale = rows / max(len(chunk), 1)
    return int(local * scale), int(frame.memory_usage(deep=True).sum() * scale)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def run_dask(source: Path, rows: int, workdir: Path, *, workers: int = 2, share: float = 0.8,
             seed: int = 0, limit_bytes: int | None = None) -> DaskRun:
    """Train on ``rows`` synthetic customers, the workers' limits ``share`` of the frame's size.

    ``limit_bytes`` sets each worker's limit instead (small runs: a worker needs its own
    ~150 MB to start, whatever the data).
    """
    import distributed

    from runtime.scoring.dask_engine import WORKER_ENVIRONMENT
    from training.dask_pipeline import train_dask

    export = write_synthetic_export(source, workdir / "export.csv", rows, seed=seed)
    frame_bytes, arrow_bytes = in_memory_bytes(export.path, rows)
    limit = limit_bytes or int(frame_bytes * share / workers)
    result = DaskRun(export, export.path.stat().st_size, frame_bytes, arrow_bytes, workers, limit)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  memory_limit=limit, host="127.0.0.1", dashboard_address=None,
                                  env=WORKER_ENVIRONMENT) as cluster, \
            distributed.Client(cluster) as client:
        done = threading.Event()

        def poll() -> None:
            while not done.wait(_POLL_SECONDS):
                try:
                    for address, rss in client.run(_rss).items():
                        result.peaks[address] = max(result.peaks.get(address, 0), rss)
                except (OSError, distributed.TimeoutError):
                    continue  # a worker restarting: the next poll sees it

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        started = time.perf_counter()
        try:
            result.manifest = train_dask(
                str(export.path), workdir / "bundle", seed=42, scheduler=cluster.scheduler_address,
                part_bytes=PART_BYTES,
                progress=lambda line: result.phases.append(
                    f"{time.perf_counter() - started:7.1f} s  {line}"))
        finally:
            result.seconds = time.perf_counter() - started
            done.set()
            poller.join()
    return result


def format_dask(result: DaskRun) -> str:
    """The run's figures, as printed by the benchmark."""
    lines = [
        f"Dask training, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{result.export.rows:,} synthetic customers, export {result.export_bytes / 1e6:,.0f} MB; "
        f"in memory {result.frame_bytes / 1e6:,.0f} MB as the local engine holds it "
        f"({result.arrow_bytes / 1e6:,.0f} MB as a pandas frame with Arrow-backed text)",
        f"LocalCluster: {result.workers} worker processes x {result.limit_bytes / 1e6:,.0f} MB "
        f"memory limit = {result.workers * result.limit_bytes / 1e6:,.0f} MB "
        f"({'less' if result.workers * result.limit_bytes < result.frame_bytes else 'NOT less'}"
        " than the data in memory)",
        *result.phases,
        f"wall time: {result.seconds:.1f} s",
        *(f"peak RSS of worker {address}: {peak / 1e6:,.0f} MB"
          for address, peak in sorted(result.peaks.items())),
    ]
    if result.manifest is not None:
        steps = result.manifest.training.cleaning
        lines.append(f"cleaning {' -> '.join([str(steps[0].rows_in), *(str(s.rows_out) for s in steps)])}"
                     f", segments {result.manifest.metrics.sizes}")
    return "\n".join(lines)
