"""The serving image, checked without Docker: the Dockerfile's rules, and what it would hold.

The build stage's commands run here with the image's paths moved under a temporary
folder; the final stage's COPY lines copy exactly what they name (minus .dockerignore),
and the service starts from that folder with that venv, as the image's CMD does.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ship import service
from tests.ship.dockerfile import Instruction, Stage, ignored, parse_dockerfile, read_dockerignore

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
TRAINING_PACKAGES = ("sklearn", "pandas", "scipy", "matplotlib", "joblib", "training")
CUSTOMER = {"CustomerID": "C002", "Age": 35, "Gender": "F", "City": "Delhi",
            "AnnualIncome": 600000, "TotalSpent": 250000, "MonthlyPurchases": 9,
            "AvgOrderValue": 3500, "AppTimeMinutes": 70, "DiscountUsage": "Medium",
            "PreferredShoppingTime": "Day"}


def _stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE)


def _final() -> Stage:
    return _stages()[-1]


def _healthcheck_command(stage: Stage) -> list[str]:
    check = stage.last("HEALTHCHECK")
    assert check is not None, "the final stage has no HEALTHCHECK"
    _, found, command = check.arguments.partition(" CMD ")
    assert found, f"HEALTHCHECK without CMD: {check.arguments!r}"
    words = Instruction("CMD", command).exec_form()
    assert words is not None, f"HEALTHCHECK CMD is not in exec form: {command!r}"
    return words


def test_both_stages_use_python_slim() -> None:
    stages = _stages()
    assert len(stages) >= 2, "expected a build stage and a final stage"
    assert {stage.base for stage in stages} == {"python:3.11-slim"}


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    user = _final().last("USER")
    assert user is not None, "the final stage has no USER"
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit() and int(uid) > 0, f"USER must be a numeric non-root uid: {user.arguments}"
    assert not gid or (gid.isdigit() and int(gid) > 0), f"USER group must be numeric: {gid}"


def test_final_stage_exposes_8000_and_checks_liveness() -> None:
    stage = _final()
    assert [item.arguments for item in stage.all("EXPOSE")] == ["8000"]
    command = _healthcheck_command(stage)
    assert command[:2] == ["python", "-c"], command
    assert "urllib.request" in command[2]
    assert "http://127.0.0.1:8000/health/live" in command[2]


def test_final_stage_cmd_is_exec_form() -> None:
    stage = _final()
    cmd = stage.last("CMD")
    assert cmd is not None, "the final stage has no CMD"
    assert cmd.exec_form() == ["python", "-m", "runtime", "--host", "0.0.0.0", "--port", "8000"]
    assert stage.last("ENTRYPOINT") is None
    env = stage.env()
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("PATH", "").startswith("/opt/venv/bin:")


def test_dockerignore_leaves_out_everything_not_served() -> None:
    rules = read_dockerignore(DOCKERIGNORE)
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "training/model.py",
                 "bench/synthetic.py", "artifacts/customer-segmentation/1.0.0/report/report.md",
                 "requirements-train.txt", "requirements-dev.txt", "deploy/kubernetes",
                 "scripts/test", "README.md", "runtime/__pycache__/app.cpython-311.pyc",
                 "CustomerData.csv"):
        assert ignored(path, rules), f".dockerignore lets {path} into the build context"
    for stage in _stages():
        for copy in stage.copies():
            if "from" in copy.flags:
                continue
            for source in copy.sources:
                assert not ignored(source, rules), f"COPY {source}: .dockerignore leaves it out"


@dataclass(frozen=True)
class Image:
    root: Path  # the image's "/" moved here
    workdir: Path
    python: Path

    def files(self) -> list[str]:
        """Files the Dockerfile copies from the checkout (the venv aside)."""
        skip = (self.root / "opt" / "venv", self.root / "tmp")
        return sorted(str(path.relative_to(self.root)) for path in self.root.rglob("*")
                      if path.is_file() and not any(path.is_relative_to(s) for s in skip))


def _inside(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _copy(root: Path, stage: Stage, workdir: str) -> None:
    rules = read_dockerignore(DOCKERIGNORE)
    for copy in stage.copies():
        if "from" in copy.flags:
            assert copy.sources == [copy.destination], f"COPY --from: {copy}"
            continue  # the build stage wrote it under the same root already
        destination = _inside(root, copy.destination if copy.destination.startswith("/")
                              else f"{workdir}/{copy.destination}")
        for source in copy.sources:
            path = ROOT / source
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            assert files, f"COPY {source}: nothing there"
            for file in files:
                relative = file.relative_to(ROOT).as_posix()
                if ignored(relative, rules):
                    continue
                if path.is_file():
                    renamed = len(copy.sources) == 1 and not copy.destination.endswith("/")
                    target = destination if renamed else destination / file.name
                else:
                    target = destination / file.relative_to(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)


def _run_build_steps(root: Path, stage: Stage) -> None:
    """The build stage's RUN lines, with python and pip of this interpreter."""
    for run in stage.all("RUN"):
        for part in run.arguments.split("&&"):
            words = shlex.split(part)
            program, *arguments = words
            command = {"python": [sys.executable], "pip": [sys.executable, "-m", "pip"]}.get(program)
            assert command is not None, f"build step not mirrored by this test: {part.strip()}"
            mapped = [str(_inside(root, word)) if word.startswith("/") else word
                      for word in arguments]
            done = subprocess.run([*command, *mapped], capture_output=True, text=True,
                                  timeout=300, check=False)
            assert done.returncode == 0, f"{part.strip()}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    root = tmp_path_factory.mktemp("image")
    build, final = _stages()[0], _final()
    _copy(root, build, "/")
    _run_build_steps(root, build)
    workdir = final.last("WORKDIR")
    assert workdir is not None, "the final stage has no WORKDIR"
    _copy(root, final, workdir.arguments)
    shutil.rmtree(root / "tmp")  # the build stage's copies: not in the final image
    python = root / "opt" / "venv" / "bin" / "python"
    assert python.exists(), "the build stage made no venv at /opt/venv"
    return Image(root=root, workdir=_inside(root, workdir.arguments), python=python)


def _environment(image: Image) -> dict[str, str]:
    env = _final().env()
    env["PATH"] = f"{image.python.parent}:/usr/local/bin:/usr/bin:/bin"
    env["HOME"] = str(image.root)
    return env


def _in_image(image: Image, words: list[str], port: int) -> list[str]:
    """A CMD of the image, run here: its python, loopback only, a free port."""
    result = [str(image.python) if word == "python" else word for word in words]
    for flag, value in (("--host", service.HOST), ("--port", str(port))):
        if flag in result:
            result[result.index(flag) + 1] = value
    return [word.replace(":8000/", f":{port}/") for word in result]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_image_holds_only_the_service_and_its_bundle(image: Image) -> None:
    files = image.files()
    print("\nimage files (besides /opt/venv):\n  " + "\n  ".join(files))
    assert "app/runtime/__main__.py" in files
    assert "app/artifacts/customer-segmentation/1.0.0/manifest.json" in files
    assert "app/artifacts/customer-segmentation/1.0.0/arrays.npz" in files
    allowed = ("app/runtime/", "app/artifacts/customer-segmentation/1.0.0/")
    for name in files:
        assert name.startswith(allowed), f"unexpected file in the image: {name}"
        for part in ("tests", "training", "bench", "report", "__pycache__", "shared"):
            assert part not in name.split("/"), f"{name}: no {part} in the serving image"
        assert not name.endswith((".csv", ".pkl", ".pickle")), name


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_image_venv_has_no_training_packages(image: Image) -> None:
    probe = ("import importlib.util, json; "
             f"print(json.dumps([m for m in {TRAINING_PACKAGES!r} if importlib.util.find_spec(m)]))")
    done = subprocess.run([str(image.python), "-I", "-c", probe], cwd=image.workdir,
                          env=_environment(image), capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [], f"importable in the serving venv: {done.stdout}"
    size = subprocess.run(["du", "-sh", str(image.root / "opt" / "venv")],
                          capture_output=True, text=True, check=True).stdout.split()[0]
    print(f"\nserving venv size: {size}")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_image_serves_with_its_cmd_and_healthcheck(image: Image, tmp_path: Path) -> None:
    final = _final()
    cmd = final.last("CMD")
    assert cmd is not None
    words = cmd.exec_form()
    assert words is not None
    port = service.free_port()
    env = _environment(image)
    with service.running(_in_image(image, words, port), port, cwd=image.workdir, env=env,
                         log=tmp_path / "service.log") as base:
        assert service.get(f"{base}/health/live")[0] == 200
        status, body = service.get(f"{base}/health/ready")
        assert status == 200, body
        status, body = service.get(f"{base}/predict", json.dumps(CUSTOMER).encode())
        assert status == 200, body
        assert json.loads(body)["segment_name"] == "Value-Seeking Regular"
        assert service.get(f"{base}/docs")[0] == 200, "the docs assets are not in the image"
        check = subprocess.run(_in_image(image, _healthcheck_command(final), port),
                               cwd=image.workdir, env=env, capture_output=True, text=True,
                               timeout=10, check=False)
        assert check.returncode == 0, f"HEALTHCHECK fails: {check.stderr}"
    written = [p for p in image.workdir.rglob("*") if p.name == "__pycache__"]
    assert not written, f"the service wrote into its code folder (read-only in k8s): {written}"
