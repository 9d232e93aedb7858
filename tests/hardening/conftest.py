"""Fixtures of the hardening tests: live service processes, always stopped at the end."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.live import LiveServer, start

Serve = Callable[..., LiveServer]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here attacks live service processes: all are ``slow``."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)


class _Launcher:
    """Starts servers whose logs go under ``directory``, and stops every one of them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.servers: list[LiveServer] = []
        self._count = itertools.count()

    def __call__(self, **options: Any) -> LiveServer:
        server = start(self.directory / f"server-{next(self._count)}.log", **options)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """``serve(env=..., bundle=..., workers=..., args=...)`` starts a live server for this test.

    It answers on a free 127.0.0.1 port once ``/health/ready`` is 200; each one
    gets SIGTERM at the end of the test, then SIGKILL if it has not exited.
    """
    launcher = _Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server with the default settings, shared by a module's tests."""
    launcher = _Launcher(tmp_path_factory.mktemp("server"))
    try:
        yield launcher()
    finally:
        launcher.stop_all()
