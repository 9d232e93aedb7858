"""Packaging: ``pip install .`` reads its pins from the requirements files the scripts and the
Dockerfile install (one source), the shipped bundle is found from the package, and every entry
point refuses a missing dependency with one line naming what to install."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement_files() -> dict[str, list[str]]:
    """Each dependency group ("" for the base) and the files pyproject.toml reads it from."""
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    files = {"": dynamic["dependencies"]["file"]}
    files.update({extra: entry["file"] for extra, entry in dynamic["optional-dependencies"].items()})
    return files


def test_pyproject_reads_every_requirements_file_and_only_existing_ones() -> None:
    named = {file for files in _requirement_files().values() for file in files}
    assert named == {path.name for path in ROOT.glob("requirements-*.txt")}
    assert set(PYPROJECT["project"]["dynamic"]) == {"dependencies", "optional-dependencies"}
    assert {"train", "scale", "docs", "dev"} <= set(_requirement_files())


def test_requirements_files_hold_only_pins_setuptools_can_read() -> None:
    for files in _requirement_files().values():
        for file in files:
            for number, line in enumerate((ROOT / file).read_text().splitlines(), 1):
                requirement = line.split("#", 1)[0].strip()
                if requirement:  # no -r/-c/--option lines: setuptools reads plain requirements
                    assert not requirement.startswith("-") and "==" in requirement, \
                        f"{file}:{number}: expected name==version, got {line!r}"


def test_every_python_package_is_packaged() -> None:
    folders = {".".join(path.parent.relative_to(ROOT).parts)
               for top in ("runtime", "training") for path in (ROOT / top).rglob("__init__.py")}
    assert folders <= set(PYPROJECT["tool"]["setuptools"]["packages"])


def test_console_scripts_name_existing_main_functions() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    assert {"segmentation-serve", "segmentation-train", "segmentation-score"} <= set(scripts)
    for target in scripts.values():
        module, _, function = target.partition(":")
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), target
        assert f"def {function}(" in (ROOT / (module.replace(".", "/") + ".py")).read_text(), target


@pytest.mark.slow
def test_default_bundle_is_found_from_the_package_not_the_working_directory() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from runtime.core.shipped import DEFAULT_BUNDLE; print(DEFAULT_BUNDLE)"],
        cwd="/", env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert done.stdout.strip() == str(ROOT / "artifacts" / "customer-segmentation" / "1.0.0")


BLOCKED = [  # entry point module, a package it needs, the remedy its error names
    ("runtime", "starlette", "scripts/serve (or pip install -r requirements-runtime.txt, or pip install .)"),
    ("training", "sklearn",
     "scripts/train (or pip install -r requirements-train.txt -r requirements-scale.txt, "
     "or pip install '.[train]')"),
    ("runtime.score", "pyarrow", "pip install -r requirements-runtime.txt -r requirements-train.txt "
     "-r requirements-scale.txt (or pip install '.[scale]')"),
    ("runtime.rollout", "numpy", "pip install -r requirements-runtime.txt (or pip install .)"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "blocked", "remedy"), BLOCKED, ids=[m for m, _, _ in BLOCKED])
def test_entry_point_without_a_dependency_says_what_to_install(module: str, blocked: str,
                                                               remedy: str) -> None:
    # A None entry in sys.modules makes the import fail, as if the package were not installed.
    code = (f"import runpy, sys; sys.modules[{blocked!r}] = None; "
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")
    done = subprocess.run([sys.executable, "-c", code, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    package = {"sklearn": "scikit-learn"}.get(blocked, blocked)
    assert f"needs {package}: " in done.stderr and remedy in done.stderr, done.stderr
