"""``python -m runtime.score``: score a customer export in bulk, as the service would answer.

Reads the export as delivered (the reader training uses), scores it with the
service's own predictor, and writes ``CustomerID,cluster,segment_name,
confidence_score`` per customer; rows that cannot be scored go to a side file
with their line and reason. Both files appear complete or not at all.
"""

from __future__ import annotations

import os

# One BLAS thread: the products here are skinny, (rows x columns) @ (columns x segments),
# and on a busy machine OpenBLAS's threads cost far more than they save on them (about
# 100 ms instead of 1 ms per chunk measured on 2 cores). An explicit setting still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from runtime.core.bundle import BundleError, load_bundle
from runtime.scoring.export import ExportError
from runtime.scoring.model import BulkModel, Scored
from runtime.scoring.output import ScoreFormat, ScoreOutput, rejected_path
from runtime.scoring.progress import Progress, Summary
from runtime.service.settings import Settings

__all__ = ["ScoreError", "main"]


class ScoreError(Exception):
    """The run cannot start or finish; the message names the file and the reason."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.score",
        description="Score a customer export (CSV as delivered) with a model bundle. Writes "
                    "CustomerID,cluster,segment_name,confidence_score per customer to OUTPUT, "
                    "and the rows it could not score, with line and reason, beside it to "
                    "OUTPUT's name with .rejected.csv.",
    )
    parser.add_argument("input", type=Path, help="the customer export to score")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the CSV to write")
    parser.add_argument("--bundle", type=Path, help="bundle directory (default: "
                        "$SEGMENTATION_BUNDLE, else the shipped default bundle)")
    parser.add_argument("--explain", action="store_true",
                        help="add one distance_<id> column per segment")
    parser.add_argument("--chunk-rows", type=int, default=32_768, metavar="N",
                        help="rows per chunk (local engine; default: %(default)s)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local (default): this process; dask: a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: a "
                             "LocalCluster on 127.0.0.1 started for the run)")
    parser.add_argument("--partition-mb", type=float, default=8.0, metavar="MB",
                        help="megabytes of the file per Dask partition (default: %(default)s)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar on stderr (default: when it is a terminal)")
    return parser


def _check_paths(source: Path, output: Path) -> None:
    if not source.is_file():
        raise ScoreError(f"{source}: no such export file")
    if output.is_dir():
        raise ScoreError(f"{output}: is a directory; give the CSV file to write")
    if not output.parent.is_dir():
        raise ScoreError(f"{output.parent}: output directory not found")
    if source.resolve() in (output.resolve(), rejected_path(output).resolve()):
        raise ScoreError(f"{output}: writing it would overwrite the input {source}")


def _answers(options: argparse.Namespace, model: BulkModel, bundle: Path
             ) -> Iterator[tuple[Scored, int]]:
    if options.engine == "local":
        from runtime.scoring.local import score_local

        return score_local(options.input, model, options.chunk_rows, options.explain)
    try:
        for module in ("dask.dataframe", "distributed"):
            importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        raise ScoreError(f"the dask engine needs dask ({exc}); "
                         "install it with: pip install -r requirements-dask.txt") from exc
    from runtime.scoring.dask_engine import score_dask

    answers: Iterator[tuple[Scored, int]] = score_dask(
        options.input, model, bundle, explain=options.explain, scheduler=options.scheduler,
        part_bytes=int(options.partition_mb * (1 << 20)))
    return answers


def run(options: argparse.Namespace) -> Summary:
    """Score ``options.input`` into ``options.output``; raises ScoreError, ExportError, BundleError."""
    started = time.monotonic()
    _check_paths(options.input, options.output)
    bundle_path = options.bundle or Settings.load().bundle
    model = BulkModel(load_bundle(bundle_path))
    summary = Summary(model.catalogue)
    progress = Progress(options.input.stat().st_size, sys.stderr, options.progress)
    try:
        with ScoreOutput(options.output, ScoreFormat(model.catalogue, options.explain)) as output:
            for scored, position in _answers(options, model, bundle_path):
                output.write(scored)
                summary.add(scored)
                progress.update(summary.rows, position)
    finally:
        progress.close()
    seconds = time.monotonic() - started
    print(summary.render(seconds, options.output, rejected_path(options.output)), file=sys.stderr)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.scheduler and options.engine != "dask":
        parser.error("--scheduler needs --engine dask")
    if options.chunk_rows < 1 or options.partition_mb <= 0:
        parser.error("--chunk-rows and --partition-mb must be positive")
    try:
        run(options)
    except (ScoreError, ExportError, BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no output written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
