"""What each entry point needs installed, checked before it imports any of it.

An entry point calls :func:`require` first thing: a missing package then ends the
command with one ``error:`` line naming the requirements file (or extra) that
provides it, instead of a ``ModuleNotFoundError`` traceback. Standard library only.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["PROMOTING", "SCORING", "SERVING", "TRAINING", "Need", "missing", "require"]


class Need(NamedTuple):
    """The packages (import names) one command needs, and how to get them."""

    purpose: str
    modules: Sequence[str]
    remedy: str


SERVING = Need("serving", ("numpy", "msgspec", "starlette", "uvicorn", "prometheus_client"),
               "run scripts/serve (or pip install -r requirements-runtime.txt, or pip install .)")
SCORING = Need("bulk scoring", ("numpy", "msgspec", "pyarrow"),
               "pip install -r requirements-runtime.txt -r requirements-train.txt "
               "-r requirements-scale.txt (or pip install '.[scale]')")
PROMOTING = Need("promoting a bundle", ("numpy", "msgspec"),
                 "pip install -r requirements-runtime.txt (or pip install .)")
TRAINING = Need("training", ("numpy", "msgspec", "sklearn", "scipy", "matplotlib", "pyarrow"),
                "run scripts/train (or pip install -r requirements-train.txt "
                "-r requirements-scale.txt, or pip install '.[train]')")


def missing(need: Need) -> str | None:
    """The first of ``need``'s packages that is not installed, or None.

    Found without importing them: the check costs no start-up time.
    """
    for module in need.modules:
        if module in sys.modules:  # imported already, or blocked (None)
            if sys.modules[module] is None:
                return module
        elif importlib.util.find_spec(module) is None:
            return module
    return None


def require(need: Need) -> None:
    """Return when ``need`` is met; else exit with one line saying what to install."""
    module = missing(need)
    if module is not None:
        package = {"sklearn": "scikit-learn", "prometheus_client": "prometheus-client"}.get(module, module)
        raise SystemExit(f"error: {need.purpose} needs {package}: {need.remedy}")
