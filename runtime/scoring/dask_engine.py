"""The Dask engine: a ``dask.dataframe`` read on the workers, scored and written by them.

A CSV is cut into parts of a few tens of MB (:mod:`runtime.scoring.parts`),
each read on a worker by the local engine's Arrow reader (``from_map``); a
Parquet file is read by ``read_parquet``. ``map_partitions`` scores every
partition with :class:`BulkModel` and writes it as one file of a directory of
parts, answers and rejected rows apart. The bundle travels once, as one task's
result every partition depends on. The client plans the parts from the file's
size and gathers only counts: it never reads the data.

On Dask a rejected row is identified by its part and its line within the part
(``part,line``; part 0 starts at the file's first byte, so its lines are the
file's), or for Parquet by its partition and row within it: global line numbers
would need every part counted before any is read.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from dask.delayed import delayed

from runtime.core.bundle import Bundle
from runtime.scoring.checks import check, customer_rules
from runtime.scoring.columns import COLUMNS, ExportError
from runtime.scoring.model import BulkModel
from runtime.scoring.output import Format, ScoreFormat, ScoreOutput, rejected_path
from runtime.scoring.parts import LINE, plan_parts, raw_batch, read_part
from runtime.scoring.paths import OutputError, writable_target
from runtime.scoring.progress import Summary
from runtime.scoring.reader import is_parquet

__all__ = ["WORKER_ENVIRONMENT", "client", "input_frame", "score_dask", "score_partition"]

_CONNECT_SECONDS = 10
# Worker processes hand memory back as partitions come and go: Arrow's jemalloc pool (its
# default here, mimalloc, keeps what it had), glibc trimming freed memory early (as Dask's
# documentation advises), one BLAS thread per single-threaded worker.
WORKER_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "jemalloc", "MALLOC_TRIM_THRESHOLD_": "65536",
                      "OPENBLAS_NUM_THREADS": "1"}
_COUNTS_SCHEMA = pa.schema([("key", pa.string()), ("count", pa.int64())])


def _counts(counts: Counter[str]) -> Any:
    """A partition's counts, as the pandas frame Dask expects, made by Arrow."""
    return pa.table([pa.array(list(counts), pa.string()), pa.array(list(counts.values()), pa.int64())],
                    schema=_COUNTS_SCHEMA).to_pandas()


_COUNTS = _counts(Counter())


@contextlib.contextmanager
def client(scheduler: str | None) -> Iterator[distributed.Client]:
    """A client of the cluster at ``scheduler``, or of a LocalCluster on loopback for the run.

    It is the default client while the context lasts, so that ``compute`` runs there.
    """
    if scheduler:
        with distributed.Client(scheduler, timeout=_CONNECT_SECONDS) as connected:
            yield connected
        return
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  env=WORKER_ENVIRONMENT) as cluster, \
            distributed.Client(cluster) as connected:
        yield connected


def score_partition(frame: Any, bundle: Bundle, *, staging: str, rejected_staging: str,
                    kind: Format, explain: bool, partition_info: dict[str, Any] | None = None
                    ) -> Any:
    """Score one partition, write its answers and rejected rows as part files, return counts."""
    number = (partition_info or {}).get("number", 0)
    model = BulkModel(bundle)
    batch = check(raw_batch(frame), customer_rules())
    scored = model.score(batch, explain)
    name = f"part.{number:05d}"
    numbered = "part,line" if LINE in frame.columns else "partition,row"
    output = ScoreOutput(Path(staging) / f"{name}.{kind}", ScoreFormat(model.catalogue, explain),
                         kind, numbered, rejected=Path(rejected_staging) / f"{name}.csv",
                         prefix=f"{number},")
    with output:
        output.write(scored)
    counts = Counter({f"segment:{segment}": int(count) for segment, count
                      in enumerate(np.bincount(scored.segments, minlength=len(model.catalogue)))})
    counts.update(f"rejected:{row.reason.split(':', 1)[0]}" for row in scored.rejected)
    return _counts(counts)


def input_frame(source: str, part_bytes: int, limit: int) -> dd.DataFrame:
    """The export at ``source`` as a Dask dataframe read on the workers (CSV parts or Parquet)."""
    if is_parquet(source):
        with fsspec.open(source, "rb") as file:  # the footer only: which columns there are
            names = pq.read_schema(file).names
        missing = [name for name in COLUMNS if name not in names]
        if missing:
            raise ExportError(f"{source}: missing required column {', '.join(missing)} "
                              f"(the file has {', '.join(names) or 'nothing'})")
        frame: dd.DataFrame = dd.read_parquet(source, columns=list(COLUMNS),
                                              split_row_groups="adaptive")
        return frame
    parts = plan_parts(source, part_bytes)
    frame = dd.from_map(read_part, parts, limit=limit, enforce_metadata=False,
                        label="read-export")
    return frame


def _staging(target: Path) -> Path:
    staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    staging.mkdir()
    return staging


def _place(staging: Path, target: Path) -> None:
    """Put a finished directory of parts where the target is (an empty directory may be there)."""
    writable_target(target, directory=True)
    if target.is_dir():
        if any(target.iterdir()):
            raise OutputError(f"{target}: exists and is not empty; refusing to replace it")
        target.rmdir()
    os.replace(staging, target)


def score_dask(source: str, output: Path, bundle: Bundle, *, explain: bool, scheduler: str | None,
               kind: Format, part_bytes: int, limit: int) -> Summary:
    """Score ``source`` on a Dask cluster into the directories ``output`` and its side directory."""
    targets = [writable_target(output, directory=True),
               writable_target(rejected_path(output), directory=True)]
    for target in targets:
        if target.is_dir() and any(target.iterdir()):
            raise OutputError(f"{target}: exists and is not empty; refusing to replace it")
    staged = [_staging(target) for target in targets]
    try:
        frame = input_frame(source, part_bytes, limit)
        shipped = delayed(bundle, pure=True)  # one task: each worker gets it once
        counted = frame.map_partitions(score_partition, shipped, staging=str(staged[0]),
                                       rejected_staging=str(staged[1]), kind=kind,
                                       explain=explain, meta=_COUNTS, enforce_metadata=False)
        with client(scheduler) as dask_client:
            counts = dask_client.compute(counted).result()
        for stage, target in zip(staged, targets, strict=True):
            _place(stage, target)
    except BaseException:
        for stage in staged:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    summary = Summary(bundle.manifest.segments)
    for key, count in counts.groupby("key")["count"].sum().items():
        what, _, value = str(key).partition(":")
        if what == "segment":
            summary.segments[int(value)] += count
            summary.scored += count
        else:
            summary.rejected[value] += count
    return summary

