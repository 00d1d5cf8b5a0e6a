"""Faults on purpose: real worker processes killed with SIGKILL, Redis stopped, Postgres restarted.

Workers are real `manage.py rundramatiq` processes against the test database and Redis; leases
and recovery run with short intervals so a takeover happens within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from analysis import services
from analysis.conf import setting
from analysis.models import Analysis, Scene, TranscriptSegment
from analysis.pipeline.runner import analysis_execute
from story.models import StorylineScene
from tests.fixtures_processes import (
    ROOT,
    Worker,
    free_port,
    process_env,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def fingerprint(analysis: Analysis) -> dict[str, Any]:
    """What a run produced, independent of row ids."""
    scenes = list(Scene.objects.filter(analysis=analysis).order_by("index"))
    groups: dict[int, list[int]] = {}
    for member in StorylineScene.objects.filter(scene__analysis=analysis):
        groups.setdefault(member.storyline_id, []).append(member.scene.index)
    return {
        "scenes": [(s.start_frame, s.end_frame) for s in scenes],
        "segments": list(
            TranscriptSegment.objects.filter(analysis=analysis).values_list("text", flat=True)
        ),
        "storylines": sorted(sorted(v) for v in groups.values()),
    }


def analysis_active(analysis: Analysis) -> bool:
    return Analysis.objects.get(pk=analysis.pk).is_active


def stored_files(analysis: Analysis) -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "analyses" / str(analysis.pk)
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.fixture
def baseline(user: Any, three_shot_clip: Path) -> dict[str, Any]:
    """An uninterrupted run in this process, to compare the resumed runs with."""
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={"num_storylines": 2}, enqueue=False)
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "completed"
    return {"video": video, "fingerprint": fingerprint(done), "files": stored_files(done)}


@pytest.mark.parametrize("stage", settings.ANALYSIS_PIPELINE)
def test_a_worker_killed_in_a_stage_is_replaced_and_the_result_is_the_same(
    workers: Callable[..., Worker], baseline: dict[str, Any], stage: str
) -> None:
    analysis = services.analysis_start(video=baseline["video"], parameters={"num_storylines": 2})
    # The first worker holds still inside the stage (fault injection) and says so: the kill
    # lands there, however fast the stage (the sound lane's run beside the picture stages).
    first = workers(FAULT_PAUSE_STAGE=stage)

    def held() -> bool:
        return first.said("fault injection: pausing") or not analysis_active(analysis)

    wait_until(held, 120, f"the worker held in stage {stage}")
    first.kill()
    analysis.refresh_from_db()
    assert analysis.status == "running" and analysis.current_stage == stage
    assert stage not in analysis.completed_stages  # killed mid-stage, nothing of it persisted
    second = workers()
    wait_until(lambda: not Analysis.objects.get(pk=analysis.pk).is_active, 120, "the takeover")
    analysis.refresh_from_db()
    assert analysis.status == "completed", analysis.error
    # At least the one takeover; a starved worker on a loaded machine may miss a heartbeat and
    # be taken over once more, which must not change the result either.
    assert analysis.attempts >= 2
    assert fingerprint(analysis) == baseline["fingerprint"]
    # Files are named per scene; a resumed run leaves exactly the files a clean run leaves.
    assert stored_files(analysis) == baseline["files"]
    second.stop()


def redis_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: _port_open(port), 10, "redis")
    return proc


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_redis_down_keeps_the_site_up_and_jobs_continue_when_it_returns(
    user: Any, three_shot_clip: Path, tmp_path: Path
) -> None:
    import json
    import urllib.error
    import urllib.request

    from analysis.models import ApiToken

    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis_proc = redis_server(port)
    token = ApiToken.objects.issue(user=user)[1]
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    web_port = free_port()
    env = process_env(REDIS_URL=redis_url, EMBEDDED_WORKER="false")
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(web_port),
            "videoanalyzer.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = Worker(env, tmp_path / "worker.log")
    base = f"http://127.0.0.1:{web_port}"

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    try:
        wait_until(lambda: _port_open(web_port), 30, "the web server")
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        status, health = call("GET", "/api/health")
        assert status == 503 and health["broker"] == "unavailable" and health["database"] == "ok"
        assert call("GET", "/api/videos")[0] == 200  # the site itself stays up
        status, created = call("POST", f"/api/videos/{video.pk}/analyses", {"num_storylines": 1})
        assert status == 201
        assert "queue is unavailable" in created["message"]
        redis_proc = redis_server(port)  # Redis is back: recovery sends the job again
        wait_until(
            lambda: call("GET", f"/api/analyses/{created['id']}")[1]["status"] == "completed",
            120,
            "the job after Redis returned",
        )
        assert call("GET", "/api/health")[0] == 200
    finally:
        worker.stop()
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=20)
        redis_proc.terminate()


def test_postgres_restart_during_a_run_is_survived(tmp_path: Path, three_shot_clip: Path) -> None:
    import pgserver
    from pgserver import _commands

    # As root, pgserver runs Postgres as its own user, which cannot enter pytest's 0700 tmp dirs.
    pg_root = Path(tempfile.mkdtemp(prefix="va-pg-"))
    pg_root.chmod(0o777)
    server = pgserver.get_server(pg_root / "data", cleanup_mode="delete")
    server.psql("CREATE DATABASE va_fault;")
    url = server.get_uri(database="va_fault")
    port = free_port()
    redis_proc = redis_server(port)
    env = process_env(DATABASE_URL=url, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    create = (
        "from django.contrib.auth.models import User; from pathlib import Path;"
        "from analysis import services; u = User.objects.create(username='pg');"
        f"v = services.video_create_from_path(owner=u, path=Path('{three_shot_clip}'));"
        "a = services.analysis_start(video=v, parameters={'num_storylines': 1}); print(a.pk)"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", create],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    analysis_id = out.stdout.strip().splitlines()[-1]

    def status() -> list[str]:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                query = "SELECT status, current_stage FROM analysis_analysis WHERE id = %s"
                row = conn.execute(query, [analysis_id]).fetchone()
        except psycopg.OperationalError:
            return ["", ""]  # restarting
        return [str(row[0]), str(row[1])] if row else ["", ""]

    worker = Worker(env, tmp_path / "worker.log")
    try:
        wait_until(
            lambda: status()[1] in {"keyframes", "audio", "transcript"}, 120, "a running stage"
        )
        _commands.pg_ctl(
            ["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user
        )
        wait_until(lambda: status()[0] in {"completed", "failed"}, 180, "the end of the run")
        assert status()[0] == "completed"
    finally:
        worker.stop()
        redis_proc.terminate()
        server.cleanup()
        shutil.rmtree(pg_root, ignore_errors=True)


def test_a_job_stuck_past_its_deadline_is_failed_with_a_reason(
    user: Any, three_shot_clip: Path, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from analysis.recovery import analyses_recover

    settings.ANALYSIS_TIME_LIMIT_SECONDS = 60
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running",
        started_at=timezone.now() - timedelta(minutes=5),
        lease_owner="some-worker",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    report = analyses_recover()
    analysis.refresh_from_db()
    assert str(analysis.pk) in report.failed
    assert analysis.status == "failed" and "time limit" in analysis.error


def test_a_worker_that_keeps_dying_ends_in_failed(
    user: Any, three_shot_clip: Path, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from analysis.recovery import analyses_recover

    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running",
        started_at=timezone.now(),
        attempts=setting("ANALYSIS_MAX_ATTEMPTS"),
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    analyses_recover()
    analysis.refresh_from_db()
    assert analysis.status == "failed" and "kept dying" in analysis.error


def test_a_live_lease_keeps_a_second_worker_out(user: Any, three_shot_clip: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running",
        lease_owner="alive-worker",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    assert analysis_execute(analysis_id=analysis.pk) is None
    assert Analysis.objects.get(pk=analysis.pk).attempts == 0
