"""``python -m runtime.score``: score a customer export in bulk, as the service would answer.

Reads the export as delivered, CSV or Parquet (the reader training uses), scores
it with the service's own predictor, and writes ``CustomerID,cluster,segment_name,
confidence_score`` per customer as CSV or Parquet; rows that cannot be scored go
to a side file with their line and reason. Both files appear complete or not at
all. With ``--engine dask`` the work runs on a Dask cluster (docs/scale.md).
"""

from __future__ import annotations

import os

# One BLAS thread: the products here are skinny, (rows x columns) @ (columns x segments),
# and on a busy machine OpenBLAS's threads cost far more than they save on them (about
# 100 ms instead of 1 ms per chunk measured on 2 cores). An explicit setting still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Arrow's jemalloc pool hands memory back as batches come and go, where its default here
# (mimalloc) keeps growing with the file: a 4M-row Parquet file scored peaks at 282 MB with
# it, 216 MB with jemalloc. Read when pyarrow loads: set before anything imports it.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

import argparse
import importlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from runtime.core.bundle import BundleError, load_bundle
from runtime.scoring.export import ExportError
from runtime.scoring.lines import DEFAULT_LINE_LIMIT
from runtime.scoring.model import BulkModel, Scored
from runtime.scoring.output import ScoreFormat, ScoreOutput, format_of, rejected_path
from runtime.scoring.paths import OutputError, writable_target
from runtime.scoring.progress import Progress, Summary
from runtime.scoring.reader import BATCH_ROWS, is_parquet
from runtime.service.settings import Settings, SettingsError

__all__ = ["ScoreError", "Terminated", "main"]


class ScoreError(Exception):
    """The run cannot start or finish; the message names the file and the reason."""


class Terminated(Exception):
    """SIGTERM arrived: the run stops as on Ctrl-C, leaving nothing behind."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.score",
        description="Score a customer export (CSV as delivered, or Parquet) with a model bundle. "
                    "Writes CustomerID,cluster,segment_name,confidence_score per customer to "
                    "OUTPUT (CSV, or Parquet by its extension or --format), and the rows it could "
                    "not score, with line (or row) and reason, beside it to OUTPUT's name with "
                    ".rejected.csv.",
    )
    parser.add_argument("input", help="the customer export to score (a path; with --engine "
                        "dask also any fsspec URL)")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="the file to write (with --engine dask: a directory of parts)")
    parser.add_argument("--format", choices=("csv", "parquet"),
                        help="output format (default: by OUTPUT's extension, else csv)")
    parser.add_argument("--bundle", type=Path, help="bundle directory (default: "
                        "$SEGMENTATION_BUNDLE, else the shipped default bundle)")
    parser.add_argument("--explain", action="store_true",
                        help="add one distance_<id> column per segment")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS, metavar="N",
                        help="rows per Parquet batch (default: %(default)s; CSV batches are "
                             "Arrow's blocks of a few MB)")
    parser.add_argument("--max-line-bytes", type=int, default=DEFAULT_LINE_LIMIT, metavar="N",
                        help="a CSV line longer than this is a rejected row (default: %(default)s)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local (default): this process; dask: a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (default: a "
                             "LocalCluster on 127.0.0.1 started for the run)")
    parser.add_argument("--partition-mb", type=float, default=64.0, metavar="MB",
                        help="megabytes of a CSV per Dask partition (default: %(default)s)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar on stderr (default: when it is a terminal)")
    return parser


def _check_paths(source: Path, output: Path) -> None:
    if not source.is_file():
        raise ScoreError(f"{source}: no such export file")
    writable_target(output)
    writable_target(rejected_path(output))
    if source.resolve() in (output.resolve(), rejected_path(output).resolve()):
        raise ScoreError(f"{output}: writing it would overwrite the input {source}")


def _answers(options: argparse.Namespace, model: BulkModel) -> Iterator[Scored]:
    from runtime.scoring.local import score_local

    return score_local(Path(options.input), model, options.explain,
                       limit=options.max_line_bytes, batch_rows=options.batch_rows)


def run(options: argparse.Namespace) -> Summary:
    """Score ``options.input`` into ``options.output``; raises the errors :func:`main` reports."""
    started = time.monotonic()
    bundle_path = options.bundle or Settings.load().bundle
    if options.engine == "dask":
        return _run_dask(options, bundle_path, started)
    source = Path(options.input)
    _check_paths(source, options.output)
    model = BulkModel(load_bundle(bundle_path))
    summary = Summary(model.catalogue)
    progress = Progress(source.stat().st_size, sys.stderr, options.progress)
    kind = format_of(options.output, options.format)
    numbered = "row" if is_parquet(source) else "line"
    try:
        with ScoreOutput(options.output, ScoreFormat(model.catalogue, options.explain), kind,
                         numbered) as output:
            for scored in _answers(options, model):
                output.write(scored)
                summary.add(scored)
                progress.update(summary.rows, scored.position)
    finally:
        progress.close()
    seconds = time.monotonic() - started
    print(summary.render(seconds, options.output, rejected_path(options.output)), file=sys.stderr)
    return summary


def _run_dask(options: argparse.Namespace, bundle: Path, started: float) -> Summary:
    try:
        for module in ("dask.dataframe", "distributed"):
            importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        raise ScoreError(f"the dask engine needs dask ({exc}); "
                         "install it with: pip install -r requirements-scale.txt") from exc
    from runtime.scoring.dask_engine import score_dask

    summary = score_dask(options.input, options.output, load_bundle(bundle),
                         explain=options.explain, scheduler=options.scheduler,
                         kind=format_of(options.output, options.format),
                         part_bytes=int(options.partition_mb * (1 << 20)),
                         limit=options.max_line_bytes)
    seconds = time.monotonic() - started
    print(summary.render(seconds, options.output, rejected_path(options.output)), file=sys.stderr)
    return summary


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.scheduler and options.engine != "dask":
        parser.error("--scheduler needs --engine dask")
    if options.batch_rows < 1 or options.partition_mb <= 0 or options.max_line_bytes < 1:
        parser.error("--batch-rows, --partition-mb and --max-line-bytes must be positive")
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        run(options)
    except (ScoreError, ExportError, BundleError, OutputError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no output written", file=sys.stderr)
        return 130
    except Terminated:
        print("error: terminated; no output written", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
