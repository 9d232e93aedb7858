"""``python -m training --data PATH --out DIR``: train a model bundle from a customer export."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from runtime.core.bundle import BundleError
from runtime.scoring.export import ExportError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train K-Means on a customer export and write a versioned model bundle "
        "(manifest.json, arrays.npz and a report) to DIR.",
    )
    parser.add_argument("--data", required=True,
                        help="customer export (CSV as delivered, or Parquet; with --engine dask "
                             "also any fsspec URL)")
    parser.add_argument("--out", required=True, type=Path,
                        help="bundle directory, e.g. artifacts/customer-segmentation/1.0.0")
    parser.add_argument("--k", type=int, default=3, help="number of segments (default: 3)")
    parser.add_argument("--seed", type=int, default=42, help="K-Means random state (default: 42)")
    parser.add_argument("--model-version", help="model version (default: the name of DIR)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local (default): this process; dask: a Dask cluster, with dask-ml")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster "
                             "on 127.0.0.1 started for the run)")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options = _parser().parse_args(arguments)
    if options.k < 2:
        print("error: --k must be at least 2", file=sys.stderr)
        return 2
    if options.scheduler and options.engine != "dask":
        print("error: --scheduler needs --engine dask", file=sys.stderr)
        return 2
    from training.pipeline import train  # scikit-learn loads only once the arguments are valid

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if options.engine == "dask":
        return _train_dask(options, arguments, progress)
    try:
        train(
            Path(options.data),
            options.out,
            k=options.k,
            seed=options.seed,
            version=options.model_version,
            command=shlex.join(["python", "-m", "training", *arguments]),
            progress=progress,
        )
    except (ExportError, BundleError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _train_dask(options: argparse.Namespace, arguments: list[str],
                progress: Callable[[str], None]) -> int:
    try:
        from training.dask_pipeline import train_dask
    except ImportError as exc:
        print(f"error: the dask engine needs dask and dask-ml ({exc}); "
              "install them with: pip install -r requirements-scale.txt", file=sys.stderr)
        return 1
    try:
        train_dask(options.data, options.out, k=options.k, seed=options.seed,
                   version=options.model_version, scheduler=options.scheduler,
                   command=shlex.join(["python", "-m", "training", *arguments]), progress=progress)
    except (ExportError, BundleError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
