"""Helpers that run the real stack for end-to-end tests.

``E2EStack`` creates a throw-away Postgres database, migrates it, creates a user, then starts
Daphne (HTTP + WebSockets) and one Dramatiq worker as subprocesses against a dedicated Redis
database. Everything it made is removed again by ``stop()``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from psycopg import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADMIN_DSN = os.environ.get("E2E_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Each run claims a Redis database of its own among these (queues and groups are not prefixed).
E2E_REDIS_BASE = os.environ.get("E2E_REDIS_BASE", "redis://127.0.0.1:6379")
E2E_REDIS_DBS = range(8, 16)
CLAIM_KEY = "va-e2e:claimed-by"
CLAIM_SECONDS = 3 * 3600
USERNAME = "editor"
PASSWORD = "cut-and-splice-42"
OTHER_USERNAME = "other-editor"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CHROMIUM_PATH = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


THREE_SHOTS = [
    "testsrc2=size=320x240:rate=25:duration=1.4",
    "color=c=0x0b1f6b:size=320x240:rate=25:duration=1.3,"
    "drawbox=x=40:y=60:w=120:h=120:color=yellow@1:t=fill",
    "smptebars=size=320x240:rate=25:duration=1.3",
]


def make_clip(path: Path, shots: list[str] | None = None) -> Path:
    """Write a ~4 s 320x240 H.264/AAC clip of visually different shots joined by hard cuts.

    ``shots`` are lavfi sources that each end by themselves; the default is three shots
    (cuts at 1.4 s and 2.7 s) with a 440 Hz tone under them.
    """
    shots = shots or THREE_SHOTS
    inputs: list[str] = []
    for source in shots:
        inputs += ["-f", "lavfi", "-i", source]
    inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4"]
    joined = "".join(f"[{index}:v]" for index in range(len(shots)))
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *inputs,
        "-filter_complex",
        f"{joined}concat=n={len(shots)}:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-map",
        f"{len(shots)}:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "25",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-movflags",
        "+faststart",
        "-shortest",
        str(path),
    ]
    subprocess.run(command, check=True, timeout=60)
    return path


def claim_redis_db(token: str) -> str:
    """Flush and return the URL of a Redis database no other e2e run is using."""
    for db in E2E_REDIS_DBS:
        client = redis.Redis.from_url(f"{E2E_REDIS_BASE}/{db}")
        if client.set(CLAIM_KEY, token, nx=True, ex=CLAIM_SECONDS):
            client.flushdb()
            client.set(CLAIM_KEY, token, ex=CLAIM_SECONDS)
            return f"{E2E_REDIS_BASE}/{db}"
    raise RuntimeError(f"every Redis database in {list(E2E_REDIS_DBS)} is claimed by an e2e run")


def release_redis_db(url: str, token: str) -> None:
    client = redis.Redis.from_url(url)
    if client.get(CLAIM_KEY) == token.encode():
        client.flushdb()


def _admin_execute(statement: sql.Composed) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)


def create_database(name: str) -> str:
    _admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(name: str) -> None:
    _admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_for_http(url: str, timeout: float, alive: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in alive:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        if _answers_ok(url):
            return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class E2EStack:
    """The web server and a worker on a fresh database; ``base_url`` once started."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="va-e2e-")))
    db_name: str = field(default_factory=lambda: f"va_e2e_{secrets.token_hex(4)}")
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    redis_url: str = ""
    _db_created: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> E2EStack:
        self.redis_url = claim_redis_db(self.db_name)
        self.env = self._environment(create_database(self.db_name))
        self._db_created = True
        self.manage("migrate", "--noinput")
        self.create_user(USERNAME, PASSWORD)
        self.create_user(OTHER_USERNAME, PASSWORD)
        # Two web processes, as in production: WebSocket events must cross processes via Redis.
        self._spawn(
            "web",
            [sys.executable, "manage.py", "serve", "--port", str(self.port), "--processes", "2"],
        )
        self._spawn(
            "worker",
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
        )
        try:
            wait_for_http(f"{self.base_url}/api/health", timeout=60, alive=self.processes)
        except Exception:
            self.print_logs()
            raise
        return self

    def _environment(self, database_url: str) -> dict[str, str]:
        media, var = self.workdir / "media", self.workdir / "var"
        media.mkdir(parents=True, exist_ok=True)
        var.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            MEDIA_ROOT=str(media),
            VAR_DIR=str(var),
            # Models are large downloads: share the project's cache instead of the temp var dir.
            MODELS_DIR=os.environ.get("MODELS_DIR", str(PROJECT_DIR / "var" / "models")),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DEBUG="0",
            PYTHONUNBUFFERED="1",
        )
        return env

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def create_user(self, username: str, password: str) -> None:
        code = (
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user({username!r}, password={password!r})"
        )
        self.manage("shell", "-c", code)

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the worker forks children
        )
        self.processes.append(proc)

    def log_text(self, name: str, tail: int = 6000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def print_logs(self) -> None:
        for name in ("daphne", "worker"):
            print(f"----- {name} log -----\n{self.log_text(name)}", file=sys.stderr)

    def stop(self) -> None:
        for proc in self.processes:
            _terminate_group(proc)
        self.processes.clear()
        if self._db_created:
            drop_database(self.db_name)
            self._db_created = False
        if self.redis_url:
            with contextlib.suppress(redis.RedisError):
                release_redis_db(self.redis_url, self.db_name)
            self.redis_url = ""


def _terminate_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
