"""The direction of imports between the parts of ``runtime`` and ``training``, as
``runtime.PART_IMPORTS`` declares it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from runtime import PART_IMPORTS
from tests.conftest import ROOT


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def _part(module: str) -> str | None:
    """``core`` for ``runtime.core.bundle``; ``training`` for ``training.model``; else None."""
    parts = module.split(".")
    if parts[0] == "training":
        return "training"
    if parts[0] == "runtime" and len(parts) > 1 and parts[1] in PART_IMPORTS:
        return parts[1]
    return None


@pytest.mark.parametrize("part", sorted(PART_IMPORTS))
def test_a_part_imports_only_the_parts_it_declares(part: str) -> None:
    allowed = PART_IMPORTS[part] | {part}
    wrong = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "runtime" / part).rglob("*.py"))
        for module in _imported_modules(path)
        if (target := _part(module)) is not None and target not in allowed
    }
    assert not wrong, sorted(wrong)


def test_training_imports_core_and_scoring_only_and_runtime_never_imports_training() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "training").rglob("*.py"))
        for module in _imported_modules(path)
        if _part(module) not in (None, "core", "scoring", "training")
    }
    wrong |= {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "runtime").rglob("*.py"))
        for module in _imported_modules(path)
        if _part(module) == "training"
    }
    assert not wrong, sorted(wrong)


def test_every_runtime_module_belongs_to_a_part_or_is_an_entry_point() -> None:
    entry_points = {"__init__.py", "__main__.py", "rollout.py", "score.py", "smoke.py"}
    loose = sorted(path.name for path in (ROOT / "runtime").glob("*.py") if path.name not in entry_points)
    folders = sorted(path.name for path in (ROOT / "runtime").iterdir()
                     if path.is_dir() and path.name != "__pycache__")
    assert loose == [] and folders == sorted(PART_IMPORTS)


def test_the_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from runtime.service.app import create_app\nimport training.model\n")
    assert {_part(name) for name in _imported_modules(module)} == {"service", "training"}


TRAINING_ONLY = {"sklearn", "scipy", "pandas", "matplotlib", "joblib", "dask_ml"}


def test_runtime_imports_no_training_only_package() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "runtime").rglob("*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] in TRAINING_ONLY
    }
    assert not wrong, sorted(wrong)
