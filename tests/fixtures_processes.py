"""Real processes for tests: `rundramatiq` workers that can be killed, and their environment.

Shared by the fault tests and the serving tests; registered in conftest's ``pytest_plugins``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
FAST_RECOVERY = {
    "ANALYSIS_LEASE_SECONDS": "3",
    "RECOVERY_INTERVAL_SECONDS": "0.5",
    "QUEUED_RESEND_SECONDS": "2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        RESULTS_DIR=str(settings.RESULTS_DIR),
        VAR_DIR=str(settings.VAR_DIR),
        **FAST_RECOVERY,
    )
    env.update(overrides)
    return env


class Worker:
    """A `rundramatiq` process group that can be killed like a crashed machine."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "rundramatiq",
                "--processes",
                "1",
                "--threads",
                "1",
                "--queues",
                "cpu",
                "describe",  # the description service's own queue
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def said(self, text: str) -> bool:
        """Whether the worker has logged ``text`` so far."""
        return text in self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    dramatiq.get_broker().flush_all()
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(process_env(**env), tmp_path / f"worker{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    dramatiq.get_broker().flush_all()
