"""A fresh checkout: importing the settings starts nothing; the command line prepares the rest.

Each test runs Django in a subprocess with no ``DATABASE_URL`` and an empty ``VAR_DIR``, as a
newcomer's first command would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """An empty VAR_DIR outside pytest's temp root.

    Run as root, pgserver hands the data folder to a ``pgserver`` user that must traverse every
    parent; pytest keeps its root at mode 0700 and resets it when another session starts.
    """
    top = Path(tempfile.mkdtemp(prefix="va-fresh-"))
    top.chmod(0o755)
    yield top / "var"
    shutil.rmtree(top, ignore_errors=True)


def fresh_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(VAR_DIR=str(var_dir), SAMPLES_DIR=str(var_dir / "samples"))
    return env


def run(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (a postgres of that folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in line and "pytest" not in line:
                found.append(line)
    return found


IMPORT_EVERYTHING = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
django.setup()
import videoanalyzer.urls, videoanalyzer.api  # every app's models, routers and admin
from django.conf import settings
print(settings.DATABASES["default"]["ENGINE"])
"""


def test_importing_the_settings_starts_no_database(var_dir: Path) -> None:
    done = run(fresh_env(var_dir), "-c", IMPORT_EVERYTHING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "videoanalyzer.embedded"
    assert not (var_dir / "pgdata").exists()
    assert processes_mentioning(str(var_dir)) == []


@pytest.mark.slow
def test_analyze_on_a_fresh_checkout_prepares_the_database_and_refuses_a_non_video(
    var_dir: Path,
) -> None:
    not_a_video = var_dir.parent / "film.mp4"
    not_a_video.write_text("these are notes, not a film\n" * 100)
    env = fresh_env(var_dir)
    done = run(env, "manage.py", "analyze", str(not_a_video))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("CommandError: film.mp4: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # The embedded database was created and migrated on the way (it was not, before).
    assert (var_dir / "pgdata" / "PG_VERSION").is_file()
    check = run(env, "manage.py", "migrate", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert processes_mentioning(str(var_dir / "pgdata")) == []  # stopped with its last process


@pytest.mark.slow
def test_analyze_on_a_fresh_checkout_analyses_a_film(var_dir: Path, three_shot_clip: Path) -> None:
    out = var_dir.parent / "result.json"
    args = ["manage.py", "analyze", str(three_shot_clip), "--storylines", "2", "--json", str(out)]
    done = run(fresh_env(var_dir), *args, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    body = json.loads(out.read_text())
    assert body["status"] == "completed"
    assert body["result"]["total_scenes"] == 3 and len(body["result"]["storylines"]) == 2
    # dbshell starts the embedded server too, and finds the rows there.
    query = "SELECT count(*) FROM analysis_storyline"
    shell = run(fresh_env(var_dir), "manage.py", "dbshell", "--", "-Atc", query)
    assert shell.returncode == 0 and shell.stdout.strip() == "2", shell.stderr
