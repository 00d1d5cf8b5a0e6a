"""Shared fixtures: users, API clients, isolated media folders, generated media, brokers."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytest_plugins = (
    ["tests.fixtures_media"] if (Path(__file__).parent / "fixtures_media.py").exists() else []
) + [
    "tests.fixtures_describe",
    "tests.fixtures_people",
    "tests.fixtures_vision",
    "tests.fixtures_story",
    "tests.fixtures_timeline",
    "tests.fixtures_robustness",
    "tests.fixtures_processes",
]


def pytest_configure(config: pytest.Config) -> None:
    if shutil.which("ffmpeg") is None:
        raise pytest.UsageError("ffmpeg is required for the tests (apt-get install ffmpeg)")


@pytest.fixture(autouse=True)
def isolated_storage(settings: Any, tmp_path: Path) -> Path:
    """Every test writes media, results and scratch files under its own temp folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RESULTS_DIR = tmp_path / "results"
    settings.VAR_DIR = tmp_path / "var"
    settings.SAMPLES_DIR = tmp_path / "samples"
    settings.SAMPLES_DIR.mkdir()
    return tmp_path


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    """API tokens remembered by one test (``analysis.tokens``) are not seen by the next."""
    from analysis import tokens

    tokens.forget_all()
    yield
    tokens.forget_all()


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that logs an unexpected error fails, unless it is marked ``allow_errors``."""
    collector = _ErrorCollector()
    logging.getLogger().addHandler(collector)
    yield
    logging.getLogger().removeHandler(collector)
    if collector.records and not request.node.get_closest_marker("allow_errors"):
        messages = "; ".join(r.getMessage() for r in collector.records)
        pytest.fail(f"errors were logged: {messages}")


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password="alice-password")


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="bob", password="bob-password")


@pytest.fixture
def alice(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(other_user: Any) -> Client:
    client = Client()
    client.force_login(other_user)
    return client


def make_clip(
    path: Path, *, seconds_per_shot: float = 1.2, shots: int = 3, audio: bool = True
) -> Path:
    """A small real video: ``shots`` visually different test sources joined by hard cuts."""
    sources = ["testsrc2", "smptebars", "rgbtestsrc", "yuvtestsrc", "testsrc"]
    inputs: list[str] = []
    for i in range(shots):
        src = sources[i % len(sources)]
        inputs += ["-f", "lavfi", "-i", f"{src}=size=320x240:rate=25:duration={seconds_per_shot}"]
    filters = "".join(f"[{i}:v]" for i in range(shots)) + f"concat=n={shots}:v=1:a=0[v]"
    cmd = ["ffmpeg", "-y", "-loglevel", "error", *inputs]
    if audio:
        total = seconds_per_shot * shots
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={total:.3f}"]
    cmd += ["-filter_complex", filters, "-map", "[v]"]
    if audio:
        cmd += ["-map", f"{shots}:a", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def three_shot_clip(clip_dir: Path) -> Path:
    """3 shots of 1.2 s at 25 fps: cuts at frames 30 and 60."""
    return make_clip(clip_dir / "three_shots.mp4")
