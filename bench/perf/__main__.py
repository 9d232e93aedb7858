"""Command line of the benchmark suite: ``bench/run [--quick] [--only PARTS] ...``.

Prints one table (figure, ours, reference, ratio, target, met) and writes
``bench/results/results.json`` and ``results.png``. Exit status: 0 when every part ran
and no figure is flagged, 1 otherwise; with ``--strict`` a missed target also gives 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from bench.perf.settings import PARTS, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark our service against R1 (the seed's design), R2 (bare Starlette), "
        "R3 (scikit-learn in process) and R4 (MLServer on the Open Inference Protocol); print "
        "the figures and write them to bench/results/.",
        epilog="Files: bench/results/results.json and results.png for a full run; "
        "results-quick.* with --quick; the parts' names added with --only (e.g. "
        "results-quick-predict-cold.json). "
        "Exit status: 0 when every part ran and nothing is flagged, 1 otherwise "
        "(also on a missed target with --strict), 130 when interrupted.",
    )
    parser.add_argument("--quick", action="store_true", help="short durations: a smoke run")
    parser.add_argument("--only", help=f"comma-separated parts among: {', '.join(PARTS)}")
    parser.add_argument("--profile", action="store_true", help="also profile /predict (py-spy)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--duration", type=float, help="seconds of each /predict load round")
    parser.add_argument("--rounds", type=int, help="/predict rounds per server, taken in turn")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up load")
    parser.add_argument("--batch-duration", type=float, help="seconds of each batch load run")
    parser.add_argument("--cold-starts", type=int, help="starts whose median is the cold start")
    parser.add_argument("--memory-requests", type=int, help="requests served before RSS")
    parser.add_argument("--rows", type=int, dest="inprocess_rows", help="in-process rows")
    parser.add_argument("--ours-python", type=Path, help="interpreter to run our service with")
    parser.add_argument("--data", type=Path, help="the raw customer export")
    parser.add_argument("--results", type=Path, help="folder for the results files (default: bench/results)")
    return parser


def settings_from(argv: list[str]) -> Settings:
    """Settings for the arguments: quick or full, then any explicit overrides."""
    args = _parser().parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    overrides = {
        name: getattr(args, name)
        for name in (
            "duration",
            "warmup",
            "batch_duration",
            "cold_starts",
            "memory_requests",
            "inprocess_rows",
            "ours_python",
            "data",
            "results",
        )
        if getattr(args, name) is not None
    }
    parts = settings.parts
    if args.only:
        parts = tuple(part.strip() for part in args.only.split(",") if part.strip())
        unknown = set(parts) - set(PARTS)
        if unknown:
            _parser().error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.profile and "profile" not in parts:
        parts = (*parts, "profile")
    return settings.replace(parts=parts, strict=args.strict, **overrides)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    settings = settings_from(argv)
    # Only now: --help and bad arguments answer without NumPy or the benchmark's venv.
    from bench.perf import report
    from bench.perf.figures import table
    from bench.perf.suite import Suite

    signal.signal(signal.SIGTERM, _terminate)
    try:
        data = Suite(settings).run()
    except KeyboardInterrupt:
        print("interrupted: every server started was stopped", file=sys.stderr)
        return 130
    figures = report.build(data)
    if figures:
        print()
        if settings.mode != "full":
            print(f"{settings.mode} run: short measurements, not comparable with a full run")
        print(table(figures))
    profile = data.get("ours", {}).get("profile")
    if profile:
        print(f"\nprofile of POST /predict ({profile['files']['flamegraph']}):")
        print(profile["summary"])
    json_path, chart_path = report.write(data, figures, settings.results, settings.stem)
    print(f"\nwrote {json_path} and {chart_path}")
    broken = bool(data["errors"]) or any(figure.flags for figure in figures)
    missed = any(figure.met is False for figure in figures)
    return 1 if broken or (settings.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
