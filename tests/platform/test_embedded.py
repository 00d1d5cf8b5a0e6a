"""The zero-configuration mode: embedded Postgres, in-process worker, in-memory channel layer.

Starts the real server the way `make run` does, with no DATABASE_URL and no REDIS_URL, and
drives it over HTTP and a WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def embedded_env(var_dir: Path, samples: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(VAR_DIR=str(var_dir), SAMPLES_DIR=str(samples), ADMIN_PASSWORD="embedded-pass")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def embedded_server(
    tmp_path_factory: pytest.TempPathFactory, clip_dir: Path
) -> Iterator[dict[str, Any]]:
    from tests.conftest import make_clip

    # Outside pytest's basetemp: the embedded Postgres runs as its own user, which must reach
    # the data folder, and another pytest session resets /tmp/pytest-of-root to mode 0700.
    var_dir = Path(tempfile.mkdtemp(prefix="va-embedded-"))
    var_dir.chmod(0o755)
    samples = tmp_path_factory.mktemp("embedded-samples")
    make_clip(samples / "sample.mp4")
    env = embedded_env(var_dir, samples)
    manage(env, "migrate", "--noinput")
    manage(env, "bootstrap")
    token = (
        manage(
            env,
            "shell",
            "-c",
            "from analysis.models import ApiToken; from django.contrib.auth.models import User;"
            "print(ApiToken.objects.issue(user=User.objects.get(username='editor'))[1])",
        )
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        yield {"base": base, "token": token, "var_dir": var_dir}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)


def _wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the embedded server did not come up")


def call(server: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server["base"] + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {server['token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_health_reports_the_embedded_parts(embedded_server: dict[str, Any]) -> None:
    with urllib.request.urlopen(embedded_server["base"] + "/api/health") as response:
        body = json.loads(response.read())
    assert body == {"status": "ok", "database": "ok", "broker": "embedded", "worker": "embedded"}
    assert (embedded_server["var_dir"] / "pgdata" / "PG_VERSION").is_file()


def test_sample_is_analysed_in_process_with_progress_over_websocket(
    embedded_server: dict[str, Any],
) -> None:
    # bootstrap seeded the packaged bikes.mp4 beside our own clip
    assert call(embedded_server, "GET", "/api/sample-videos") == {
        "videos": ["bikes.mp4", "sample.mp4"]
    }
    started = call(
        embedded_server, "POST", "/api/analyze", {"filename": "sample.mp4", "num_storylines": 2}
    )
    task_id = started["task_id"]
    events = asyncio.run(_watch(embedded_server, task_id))
    assert events[-1]["status"] == "completed", events[-1]
    assert len({e["stage"] for e in events if e["stage"]}) >= 3  # several stages were streamed
    body = call(embedded_server, "GET", f"/api/analysis/{task_id}")
    assert body["status"] == "completed"
    assert body["result"]["total_scenes"] == 3
    assert len(body["result"]["storylines"]) == 2


async def _watch(server: dict[str, Any], task_id: str) -> list[dict[str, Any]]:
    import websockets

    url = server["base"].replace("http", "ws") + f"/ws/analyses/{task_id}/"
    cookie = await asyncio.to_thread(_session_cookie, server)
    events: list[dict[str, Any]] = []
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie}, origin=server["base"]
    ) as socket_:
        async with asyncio.timeout(120):
            while True:
                event = json.loads(await socket_.recv())
                events.append(event)
                if event["status"] not in {"queued", "running"}:
                    return events


def _session_cookie(server: dict[str, Any]) -> str:
    """Log in through the real login form and return the session cookie."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(server["base"] + "/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    data = f"username=editor&password=embedded-pass&csrfmiddlewaretoken={csrf}".encode()
    request = urllib.request.Request(
        server["base"] + "/login/", data=data, headers={"Referer": server["base"]}
    )
    opener.open(request).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)
