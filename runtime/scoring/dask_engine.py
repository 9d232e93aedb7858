"""The Dask engine: the same reading and scoring, the file's parts spread over a Dask cluster.

The file is cut into parts of whole lines (:mod:`runtime.scoring.parts`); a
``dask.dataframe`` reads one part per partition and ``map_partitions`` scores
it with :class:`BulkModel`, the local engine's model. The bundle's files are
shipped to every worker once, as bytes, and loaded (and verified) there. The
answers come back part by part, in file order, a few parts in flight at a time.

Dask is optional: it is imported only when this engine runs, never by
``runtime`` at import time (``pip install -r requirements-dask.txt``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.core.bundle import MANIFEST_FILE, load_bundle
from runtime.scoring.export import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, ExportChunk, RejectedRow
from runtime.scoring.model import BulkModel, Scored
from runtime.scoring.parts import Layout, Part, plan_parts, read_part

__all__ = ["BundleFiles", "score_dask"]

_IN_FLIGHT = 4  # parts computed ahead of the one being written
_CONNECT_SECONDS = 10


@dataclass(frozen=True)
class BundleFiles:
    """A bundle directory's files as bytes, to be written out and loaded on a worker."""

    files: dict[str, bytes]

    @classmethod
    def read(cls, directory: Path) -> BundleFiles:
        bundle = load_bundle(directory)  # refuse a bad bundle here, before shipping it
        names = [MANIFEST_FILE, bundle.manifest.arrays.file if bundle.manifest.arrays else ""]
        return cls({name: (directory / name).read_bytes() for name in names if name})

    @property
    def key(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + self.files[name])
        return digest.hexdigest()


_models: dict[str, BulkModel] = {}
_models_lock = threading.Lock()


def _model(shipped: BundleFiles) -> BulkModel:
    """The model for ``shipped``, loaded once per worker process."""
    key = shipped.key
    with _models_lock:
        if key not in _models:
            with tempfile.TemporaryDirectory(prefix="bundle-") as directory:
                for name, data in shipped.files.items():
                    (Path(directory) / name).write_bytes(data)
                _models[key] = BulkModel(load_bundle(directory))
        return _models[key]


def _texts(pandas: Any, kept: np.ndarray, rest: list[str]) -> Any:
    """A column of str: ``kept`` then ``rest``, kept as Python objects.

    An explicit object dtype keeps pandas from converting the strings to Arrow
    and back, which would cost more than the scoring itself.
    """
    values = np.empty(len(kept) + len(rest), dtype=object)
    values[: len(kept)] = kept.tolist()
    values[len(kept):] = rest
    return pandas.Series(values, dtype=object)


def _strings(column: Any) -> np.ndarray:
    strings: np.ndarray = column.to_numpy(dtype=object).astype(np.str_)
    return strings


def read_frame(part: Part, layout: Layout) -> Any:
    """One part as a pandas DataFrame: its kept rows (empty ``reason``), then its rejected ones."""
    pandas = importlib.import_module("pandas")
    chunk = read_part(layout, part)
    rejected = chunk.rejected
    nothing = np.zeros(0, dtype=np.str_)
    columns: dict[str, Any] = {
        "line": np.concatenate([chunk.lines, [row.line for row in rejected]]).astype(np.int64),
        "reason": _texts(pandas, np.full(len(chunk), ""), [row.reason for row in rejected]),
    }
    for name in NUMERIC_COLUMNS:
        columns[name] = np.concatenate([chunk.columns[name], np.full(len(rejected), np.nan)])
    for name in TEXT_COLUMNS:
        rest = [row.customer_id if name == "CustomerID" else "" for row in rejected]
        columns[name] = _texts(pandas, chunk.columns[name] if len(chunk) else nothing, rest)
    return pandas.DataFrame(columns)


def score_frame(frame: Any, shipped: BundleFiles, explain: bool) -> Any:
    """Score one part's frame on a worker: the answers, and the rejected rows with their reasons."""
    pandas = importlib.import_module("pandas")
    model = _model(shipped)
    kept = (frame["reason"] == "").to_numpy()
    rows = frame[kept]
    set_aside = frame[~kept]
    chunk = ExportChunk(
        {name: _strings(rows[name]) if name in TEXT_COLUMNS
         else rows[name].to_numpy(dtype=np.float64) for name in COLUMNS},
        rows["line"].to_numpy(dtype=np.int64),
        [RejectedRow(line, customer, reason) for line, customer, reason in zip(
            set_aside["line"].tolist(), set_aside["CustomerID"].tolist(),
            set_aside["reason"].tolist(), strict=True)],
    )
    scored = model.score(chunk, explain)
    return pandas.DataFrame(_answer_columns(pandas, scored, len(model.catalogue), explain))


def _answer_columns(pandas: Any, scored: Scored, segments: int, explain: bool
                    ) -> dict[str, Any]:
    rejected = scored.rejected
    columns: dict[str, Any] = {
        "line": np.concatenate([np.zeros(len(scored.ids), dtype=np.int64),
                                [row.line for row in rejected]]).astype(np.int64),
        "CustomerID": _texts(pandas, scored.ids, [row.customer_id for row in rejected]),
        "position": np.concatenate([scored.segments, np.full(len(rejected), -1)]).astype(np.int64),
        "confidence": np.concatenate([scored.confidence, np.full(len(rejected), np.nan)]),
        "reason": _texts(pandas, np.full(len(scored.ids), ""), [row.reason for row in rejected]),
    }
    if explain:
        distances = scored.distances if scored.distances is not None else np.zeros((0, segments))
        for segment in range(segments):
            columns[f"distance_{segment}"] = np.concatenate(
                [distances[:, segment], np.full(len(rejected), np.nan)])
    return columns


def _scored(frame: Any, segments: int, explain: bool) -> Scored:
    """A worker's answer frame back into the local engine's :class:`Scored`."""
    kept = (frame["reason"] == "").to_numpy()
    rows, set_aside = frame[kept], frame[~kept]
    distances = None
    if explain:
        distances = np.stack([rows[f"distance_{segment}"].to_numpy(dtype=np.float64)
                              for segment in range(segments)], axis=1)
    return Scored(
        ids=_strings(rows["CustomerID"]) if len(rows) else np.zeros(0, dtype=np.str_),
        segments=rows["position"].to_numpy(dtype=np.intp),
        confidence=rows["confidence"].to_numpy(dtype=np.float64),
        distances=distances,
        rejected=[RejectedRow(line, customer, reason) for line, customer, reason in zip(
            set_aside["line"].tolist(), set_aside["CustomerID"].tolist(),
            set_aside["reason"].tolist(), strict=True)],
    )


@contextlib.contextmanager
def _client(scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a LocalCluster on loopback for the run."""
    distributed = importlib.import_module("distributed")
    if scheduler:
        with distributed.Client(scheduler, set_as_default=False, timeout=_CONNECT_SECONDS) as client:
            yield client
        return
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _answer_meta(pandas: Any, segments: int, explain: bool) -> Any:
    empty = Scored(np.zeros(0, dtype=np.str_), np.zeros(0, dtype=np.intp), np.zeros(0),
                   np.zeros((0, segments)) if explain else None)
    return pandas.DataFrame(_answer_columns(pandas, empty, segments, explain))


def score_dask(path: Path, model: BulkModel, bundle: Path, *, explain: bool,
               scheduler: str | None, part_bytes: int) -> Iterator[tuple[Scored, int]]:
    """Each part's answers in file order, with the offset the file has been read up to.

    ``model`` is the bundle loaded here; the workers load their own from its files.
    """
    dask = importlib.import_module("dask")
    frames = importlib.import_module("dask.dataframe")
    pandas = importlib.import_module("pandas")
    layout = plan_parts(path, part_bytes)
    shipped = BundleFiles.read(bundle)
    segments = len(model.catalogue)
    with dask.config.set({"dataframe.convert-string": False}), _client(scheduler) as client:
        bundle_future = client.scatter(shipped, broadcast=True)  # once per worker, not per part
        table = frames.from_map(read_frame, layout.parts, layout=layout,
                                meta=read_frame(Part(0, 0, 0), layout), enforce_metadata=False)
        answers = table.map_partitions(score_frame, bundle_future, explain,
                                       meta=_answer_meta(pandas, segments, explain),
                                       enforce_metadata=False)
        pending: deque[tuple[Any, Part]] = deque()
        for delayed, part in zip(answers.to_delayed(), layout.parts, strict=True):
            pending.append((client.compute(delayed), part))
            while len(pending) >= _IN_FLIGHT or (pending and part is layout.parts[-1]):
                future, done = pending.popleft()
                yield _scored(future.result(), segments, explain), done.stop
