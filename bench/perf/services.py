"""The servers under test, each built on demand: ours, R1 (the seed's design), R2 (the ceiling)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.perf import envs
from bench.perf.server import HOST, Server
from bench.perf.settings import ROOT, Settings

__all__ = ["Services"]

SEED_REQUIREMENTS = ROOT / "bench" / "requirements-seed.txt"
RUNTIME_REQUIREMENTS = ROOT / "requirements-runtime.txt"
# Used only while requirements-runtime.txt does not exist.
RUNTIME_FALLBACK = (
    "numpy==2.4.6\nmsgspec==0.22.0\nstarlette==1.10.0\nuvicorn[standard]==0.54.0\nprometheus_client==0.26.0\n"
)


class Services:
    """Builds the venvs and the seed's model once, and makes :class:`Server` objects.

    ``notes`` collects what a reader of the results should know (the seed model's
    cleaning counts and cluster sizes, a fallback requirements list).
    """

    def __init__(self, settings: Settings, logs: Path, scratch: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.scratch = scratch
        self.notes: dict[str, Any] = {}
        self._ours_python: Path | None = None

    def venv(self, name: str) -> Path:
        """The python of ``bench/.venvs/NAME`` (``seed`` or ``runtime``), built if needed."""
        if name == "seed":
            requirements = SEED_REQUIREMENTS.read_text()
        elif RUNTIME_REQUIREMENTS.is_file():
            requirements = RUNTIME_REQUIREMENTS.read_text()
        else:
            self.notes["runtime_requirements"] = "fallback list: requirements-runtime.txt absent"
            requirements = RUNTIME_FALLBACK
        venv = self.settings.venvs / name
        return envs.ensure_venv(venv, requirements, self.logs / f"venv-{name}.log")

    def ours_python(self) -> Path:
        """The given interpreter, else the repository's ``.venv``, else the runtime venv."""
        if self._ours_python is None:
            repo = ROOT / ".venv" / "bin" / "python"
            self._ours_python = self.settings.ours_python or (repo if repo.exists() else self.venv("runtime"))
        return self._ours_python

    def ours(self, workers: int = 1, env: dict[str, str] | None = None, name: str = "") -> Server:
        """``python -m runtime`` with its shipped defaults, or those ``env`` overrides."""
        python = str(self.ours_python())

        def command(port: int) -> list[str]:
            extra = ["--workers", str(workers)] if workers != 1 else []
            return [python, "-m", "runtime", "--host", HOST, "--port", str(port), *extra]

        name = name or f"ours-{workers}w"
        return Server(name, command, ROOT, self.logs / f"{name}.log", env=env)

    def ceiling(self, body: str, batch_body_file: Path | None = None, middleware: str = "none") -> Server:
        """R2: constant bodies from bare Starlette on the stock server stack we run
        (uvicorn with uvloop and httptools); see ``ceiling_app``. ``middleware`` dresses it
        in the service's middlewares (``service``) or as many empty layers (``layers``)."""
        python = str(self.ours_python())

        def command(port: int) -> list[str]:
            return [
                python, "-m", "uvicorn", "bench.perf.ceiling_app:app", "--host", HOST,
                "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                "--workers", "1", "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip

        env = {"CEILING_BODY": body}
        if batch_body_file is not None:
            env["CEILING_BATCH_BODY_FILE"] = str(batch_body_file)
        name = "ceiling" if batch_body_file is None else "ceiling-batch"
        if middleware != "none":
            env["CEILING_MIDDLEWARE"] = middleware
            name += f"-{middleware}"
        return Server(f"R2-{name}", command, ROOT, self.logs / f"{name}.log", env=env)

    def seed(self) -> Server:
        """R1: the seed's FastAPI service under plain uvicorn, as the seed ran it."""
        python, model = str(self.venv("seed")), self.seed_model()

        def command(port: int) -> list[str]:
            app = "bench.perf.seed_service:app"
            return [python, "-m", "uvicorn", app, "--host", HOST, "--port", str(port)]

        env = {"SEED_MODEL_DIR": str(model)}
        return Server("R1-seed", command, ROOT, self.logs / "seed.log", env=env)

    def seed_model(self) -> Path:
        """The seed's pickles, trained once per run into the scratch folder."""
        folder = self.scratch / "seed-model"
        if not folder.exists():
            command = [str(self.venv("seed")), "-m", "bench.perf.seed_train",
                       str(self.settings.data), str(folder)]  # fmt: skip
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"training the seed's model failed:\n{done.stderr}")
            self.notes["seed_model"] = json.loads(done.stdout.strip().splitlines()[-1])
        return folder
