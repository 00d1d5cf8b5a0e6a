"""Load on loopback: users polling analysis status and loading analysis pages while analyses run,
plus parallel uploads.

``python -m bench.load`` starts the real stack on a fresh Postgres database and a Redis database
of its own (``manage.py serve`` with ``--web-processes`` Daphne processes and one
``rundramatiq`` worker at its production ``WORKER_NICE``), gives each of ``--users`` users an
uploaded clip and a queued analysis, then for ``--seconds`` runs one client per user that polls
its analysis's status (``GET /api/analysis/<id>`` and ``GET /api/analyses/<id>``, alternating,
every ``--interval`` s) and every fifth time loads its analysis page, while ``--uploads`` other
users upload a clip each at the same moment. The worker analyses meanwhile.

The clients are asyncio tasks on keep-alive connections in one thread: with one OS thread per
user, the generator's own GIL hand-offs (5 ms each) showed up as server latency.

It prints per-kind latency (p50/p95/p99/max) and errors and writes the ``load`` section of
``bench/RESULTS.md``. ``--scenarios`` runs the whole measure once per ``<connections>:<worker>``:
connections ``connect`` (a new connection per request, the default settings), ``persistent``
(``DB_CONN_MAX_AGE=60``) or ``pool`` (``DB_POOL=true``, a psycopg pool); the worker ``running``
(analysing during the measure) or ``paused`` (SIGSTOP while measuring: the web server alone).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, markdown_table, write_section

ADMIN_DSN = os.environ.get("LOAD_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("LOAD_REDIS_BASE", "redis://127.0.0.1:6379")
# Shared with the e2e tests' claims, so a bench and a test run never take the same database.
REDIS_DBS = range(8, 16)
CLAIM_KEY = "va-e2e:claimed-by"
TARGET_P99_MS = 100.0
# Thread counts of the math libraries (PyTorch, ONNX Runtime, BLAS) the worker's models use.
# "persistent" is left out by default: it exhausts the server's connections (see RESULTS.md).
SCENARIOS = ["connect:running", "pool:running", "pool:paused"]
MATH_THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
CONFIGS = {
    "connect": {"DB_CONN_MAX_AGE": "0"},
    "persistent": {"DB_CONN_MAX_AGE": "60"},
    "pool": {"DB_POOL": "true"},
}

SEED_SCRIPT = """
import json, sys
from django.contrib.auth import get_user_model, HASH_SESSION_KEY, SESSION_KEY, BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from analysis.models import ApiToken
out = []
for i in range({users}):
    user = get_user_model().objects.create_user(f"load{{i}}", password="load-password-42")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out.append({{"token": ApiToken.objects.issue(user=user)[1], "session": session.session_key}})
sys.stdout.write("SEED" + json.dumps(out))
"""


# --- The stack ---------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _claim_redis(token: str) -> str:
    import redis

    for db in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
        if client.set(CLAIM_KEY, token, nx=True, ex=3600):
            client.flushdb()
            client.set(CLAIM_KEY, token, ex=3600)
            return f"{REDIS_BASE}/{db}"
    raise SystemExit(f"every Redis database in {list(REDIS_DBS)} is in use by another run")


@dataclass
class Stack:
    """Daphne and one worker on a throw-away database; everything is removed by ``stop``."""

    config: str
    worker_nice: int = 10
    worker_threads: int = 0
    web_processes: int = 2
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="va-load-")))
    name: str = field(default_factory=lambda: f"va_load_{secrets.token_hex(4)}")
    port: int = field(default_factory=_free_port)
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    redis_url: str = ""

    def start(self) -> Stack:
        self.redis_url = _claim_redis(self.name)
        _admin(f'CREATE DATABASE "{self.name}"')
        self.env = {
            **os.environ,
            "DATABASE_URL": ADMIN_DSN.rsplit("/", 1)[0] + f"/{self.name}",
            "REDIS_URL": self.redis_url,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "VAR_DIR": str(self.workdir / "var"),
            "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **CONFIGS[self.config],
        }
        self.manage("migrate", "--noinput")
        self._spawn(
            "web",
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                str(self.port),
                "--processes",
                str(self.web_processes),
            ],
        )
        # The worker lowers its own priority (WORKER_NICE): analyses wait, page loads do not.
        threads = {name: str(self.worker_threads) for name in MATH_THREADS if self.worker_threads}
        self._spawn(
            "worker",
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
            WORKER_NICE=str(self.worker_nice),
            **threads,
        )
        self._wait_healthy()
        return self

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _spawn(self, name: str, command: list[str], **env: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the web server did not become healthy within 60 s")

    def stop(self) -> None:
        import redis

        for proc in self.procs:
            try:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)
        _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        client = redis.Redis.from_url(self.redis_url)
        if client.get(CLAIM_KEY) == self.name.encode():
            client.flushdb()


# --- HTTP -------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def make_clip(path: Path, seconds: float, size: str, tone: int) -> Path:
    """A clip whose bytes differ by ``tone`` (each upload is a new video, not a duplicate)."""
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone}:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class Recorder:
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # (seconds since the first request, kind, ms) of every request, for --trace.
    trace: list[tuple[float, str, float]] = field(default_factory=list)
    origin: float = field(default_factory=time.perf_counter)

    async def timed(self, kind: str, call: Awaitable[tuple[int, bytes]]) -> bytes | None:
        started = time.perf_counter()
        try:
            status, body = await call
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status, body = 0, repr(exc).encode()
        millis = (time.perf_counter() - started) * 1000
        self.samples.setdefault(kind, []).append(millis)
        self.trace.append((round(started - self.origin, 4), kind, round(millis, 2)))
        if not 200 <= status < 300:
            self.errors.setdefault(kind, []).append(f"{status} {body[:120]!r}")
        return body if 200 <= status < 300 else None


class Connection:
    """One keep-alive HTTP/1.1 connection on loopback, opened on first use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def fetch(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        try:
            return await self._response(self.reader)
        except BaseException:
            self.close()
            raise

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status = int((await reader.readline()).split()[1])
        length, chunked = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                chunked = "chunked" in value.lower()
        if not chunked:
            return status, await reader.readexactly(length)
        parts = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        return status, b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class User:
    token: str
    session: str
    analysis_id: str = ""


def seed_users(stack: Stack, count: int, clip: Path) -> list[User]:
    out = stack.manage("shell", "-c", SEED_SCRIPT.format(users=count))
    users = [User(**row) for row in json.loads(out.split("SEED", 1)[1])]
    body, content_type = multipart("film.mp4", clip.read_bytes())

    def start(user: User) -> None:
        auth = {"Authorization": f"Bearer {user.token}"}
        status, raw = request(
            stack.port, "POST", "/api/videos", body, {**auth, "Content-Type": content_type}
        )
        assert status == 201, raw[:300]
        video = json.loads(raw)["id"]
        status, raw = request(
            stack.port,
            "POST",
            f"/api/videos/{video}/analyses",
            b'{"num_storylines": 2}',
            {**auth, "Content-Type": "application/json"},
        )
        assert status == 201, raw[:300]
        user.analysis_id = json.loads(raw)["id"]

    run_threads([functools.partial(start, u) for u in users], parallel=4)
    return users


def run_threads(jobs: list[Callable[[], None]], parallel: int | None = None) -> None:
    """Run ``jobs`` on threads, at most ``parallel`` at once (all at once by default)."""
    semaphore = threading.Semaphore(parallel or len(jobs))

    def guarded(job: Callable[[], None]) -> None:
        with semaphore:
            job()

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def poller(port: int, user: User, rec: Recorder, until: float, interval: float) -> None:
    api, page = Connection(port), Connection(port)
    auth = {"Authorization": f"Bearer {user.token}"}
    cookie = {"Cookie": f"sessionid={user.session}", "Accept": "text/html"}
    paths = [f"/api/analysis/{user.analysis_id}", f"/api/analyses/{user.analysis_id}"]
    await asyncio.sleep(interval * (hash(user.token) % 100) / 100)  # not in lockstep
    turn = 0
    while time.monotonic() < until:
        await rec.timed("status", api.fetch("GET", paths[turn % 2], auth))
        if turn % 5 == 4:
            url = f"/analyses/{user.analysis_id}/"
            await rec.timed("analysis page", page.fetch("GET", url, cookie))
        turn += 1
        await asyncio.sleep(interval)
    api.close()
    page.close()


async def uploader(port: int, user: User, clip: Path, rec: Recorder) -> None:
    body, content_type = multipart(clip.name, clip.read_bytes())
    headers = {"Authorization": f"Bearer {user.token}", "Content-Type": content_type}
    connection = Connection(port)
    await rec.timed("upload", connection.fetch("POST", "/api/videos", headers, body))
    connection.close()


async def drive(port: int, users: list[User], clips: list[Path], cfg: Config) -> Recorder:
    """The pollers and, once polling is in full swing, the uploads all at once."""
    rec = Recorder()
    pollers, uploaders = users[: cfg.users], users[cfg.users :]
    until = time.monotonic() + cfg.seconds

    async def uploads() -> None:
        await asyncio.sleep(min(5.0, cfg.seconds / 4))
        await asyncio.gather(
            *(uploader(port, u, c, rec) for u, c in zip(uploaders, clips, strict=True))
        )

    await asyncio.gather(*(poller(port, u, rec, until, cfg.interval) for u in pollers), uploads())
    return rec


@dataclass
class Config:
    users: int
    uploads: int
    seconds: float
    interval: float
    worker_nice: int
    worker_threads: int
    web_processes: int
    upload_mb: float = 0.0  # mean size of the uploaded clips


def measure(scenario: str, cfg: Config, clips: list[Path], seed_clip: Path) -> dict[str, Any]:
    config, worker = scenario.split(":")
    stack = Stack(config, cfg.worker_nice, cfg.worker_threads, cfg.web_processes).start()
    try:
        users = seed_users(stack, cfg.users + cfg.uploads, seed_clip)
        if worker == "paused":
            os.killpg(stack.procs[1].pid, signal.SIGSTOP)
        rec = asyncio.run(drive(stack.port, users, clips, cfg))
        if worker == "paused":
            os.killpg(stack.procs[1].pid, signal.SIGCONT)
        progress = analyses_progress(stack, users)
    finally:
        stack.stop()
    return {"config": scenario, "rec": rec, "progress": progress}


def analyses_progress(stack: Stack, users: list[User]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for user in users:
        status, raw = request(
            stack.port,
            "GET",
            f"/api/analyses/{user.analysis_id}",
            None,
            {"Authorization": f"Bearer {user.token}"},
        )
        state = json.loads(raw)["status"] if status == 200 else f"HTTP {status}"
        counts[state] = counts.get(state, 0) + 1
    return counts


# --- Report ------------------------------------------------------------------------------------


def rows_of(result: dict[str, Any], seconds: float) -> list[list[Any]]:
    rec: Recorder = result["rec"]
    rows = []
    for kind in ("status", "analysis page", "upload"):
        values = rec.samples.get(kind, [])
        if not values:
            continue
        rows.append(
            [
                result["config"],
                kind,
                len(values),
                f"{len(values) / seconds:.1f}",
                len(rec.errors.get(kind, [])),
                f"{statistics.median(values):.1f}",
                f"{percentile(values, 95):.1f}",
                f"{percentile(values, 99):.1f}",
                f"{max(values):.1f}",
            ]
        )
    return rows


HEADER = [
    "connections:worker",
    "request",
    "count",
    "per s",
    "errors",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
]


def report(results: list[dict[str, Any]], cfg: Config) -> str:
    rows = [row for result in results for row in rows_of(result, cfg.seconds)]
    table = markdown_table(HEADER, rows)
    verdicts = []
    for result in results:
        rec: Recorder = result["rec"]
        status = rec.samples.get("status", [0.0])
        errors = sum(len(v) for v in rec.errors.values())
        p99 = percentile(status, 99)
        ok = errors == 0 and p99 < TARGET_P99_MS
        verdicts.append(
            f"- {result['config']} ({CONFIGS[result['config'].split(':')[0]]}): {errors} errors, "
            f"status p99 "
            f"{p99:.1f} ms → target (no errors, p99 < {TARGET_P99_MS:.0f} ms) "
            f"{'**met**' if ok else '**missed**'}; analyses at the end: {result['progress']}"
        )
        for kind, messages in rec.errors.items():
            verdicts.append(f"  - {kind} errors, first: {messages[0]}")
    return (
        f"{cfg.users} users polling every {cfg.interval} s (status, alternating the original "
        f"`/api/analysis/<id>` and `/api/analyses/<id>`; every 5th poll also the analysis page) "
        f"for {cfg.seconds:.0f} s, with {cfg.uploads} uploads at the same moment (~"
        f"{cfg.upload_mb:.2f} MB: 8 s of 640x360), while one worker (1 process, 1 thread, "
        f"`WORKER_NICE={cfg.worker_nice}` and SCHED_IDLE, math threads "
        f"{cfg.worker_threads or 'uncapped'}) analyses the queued videos. `manage.py serve` "
        f"with {cfg.web_processes} Daphne processes on one socket, Postgres and Redis on "
        f"loopback; 2 CPU cores shared by everything, the load generator (asyncio, one thread) "
        f"included.\n\n"
        f"{table}\n\n" + "\n".join(verdicts)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--scenarios", nargs="+", default=SCENARIOS)
    parser.add_argument("--worker-nice", type=int, default=10, help="nice value of the worker")
    parser.add_argument(
        "--worker-threads", type=int, default=0, help="cap the worker's math threads (0: no cap)"
    )
    parser.add_argument(
        "--web-processes", type=int, default=2, help="Daphne processes of manage.py serve"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument("--trace", type=Path, help="write every request's start and latency here")
    args = parser.parse_args(argv)
    cfg = Config(
        args.users,
        args.uploads,
        args.seconds,
        args.interval,
        args.worker_nice,
        args.worker_threads,
        args.web_processes,
    )
    folder = Path(tempfile.mkdtemp(prefix="va-load-clips-"))
    seed = make_clip(folder / "seed.mp4", 4, "320x240", 300)
    clips = [
        make_clip(folder / f"upload{i}.mp4", 8, "640x360", 400 + 50 * i) for i in range(cfg.uploads)
    ]
    cfg.upload_mb = sum(c.stat().st_size for c in clips) / max(len(clips), 1) / 1e6
    results = [measure(scenario, cfg, clips, seed) for scenario in args.scenarios]
    if args.trace:
        args.trace.write_text(json.dumps({r["config"]: r["rec"].trace for r in results}))
    print(markdown_table(HEADER, [r for res in results for r in rows_of(res, cfg.seconds)]))
    text = report(results, cfg)
    print(text.split("\n\n", 2)[-1])
    if not args.no_write:
        write_section("load", text)


if __name__ == "__main__":
    main()
