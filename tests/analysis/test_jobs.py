"""Jobs through the real Redis broker and progress over a real WebSocket."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from analysis import services
from analysis.models import Analysis
from analysis.progress import analysis_publish

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def redis_worker() -> Any:
    """A real Dramatiq worker thread consuming the project's Redis broker."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    broker = dramatiq.get_broker()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()
    broker.flush_all()


def wait_for(predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_an_analysis_sent_to_redis_is_run_by_a_worker(
    redis_worker: Any, user: Any, three_shot_clip: Path
) -> None:
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={"num_storylines": 1})

    def finished() -> bool:
        analysis.refresh_from_db()
        return not analysis.is_active

    wait_for(finished)
    assert analysis.status == "completed", analysis.error
    assert analysis.scenes.count() == 3


def test_sending_the_same_job_twice_runs_it_once(
    redis_worker: Any, user: Any, three_shot_clip: Path
) -> None:
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={"num_storylines": 1})
    services.analysis_enqueue(analysis_id=analysis.id)  # a duplicate delivery

    def finished() -> bool:
        analysis.refresh_from_db()
        return not analysis.is_active

    wait_for(finished)
    time.sleep(1.0)  # let the duplicate be consumed
    analysis.refresh_from_db()
    assert analysis.status == "completed"
    assert analysis.attempts == 1
    assert analysis.scenes.count() == 3


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(path: str, cookie: bytes) -> WebsocketCommunicator:
    from videoanalyzer.asgi import application

    headers = [(b"cookie", cookie), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    return WebsocketCommunicator(application, path, headers=headers)


def test_websocket_streams_progress_to_the_owner_only(
    user: Any, other_user: Any, three_shot_clip: Path
) -> None:
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = Analysis.objects.create(video=video, parameters={}, message="Waiting")
    path = f"/ws/analyses/{analysis.id}/"
    owner_cookie, stranger_cookie = _session_cookie(user), _session_cookie(other_user)

    async def scenario() -> None:
        owner = await _connect(path, owner_cookie)
        connected, _ = await owner.connect()
        assert connected
        first = await owner.receive_json_from(timeout=5)
        assert first["type"] == "progress" and first["status"] == "queued"
        analysis.status, analysis.progress, analysis.message = "running", 0.5, "Halfway"
        await asyncio.to_thread(analysis_publish, analysis)
        update = await owner.receive_json_from(timeout=5)
        assert update["progress"] == 0.5 and update["message"] == "Halfway"
        await owner.disconnect()

        stranger = await _connect(path, stranger_cookie)
        connected, code = await stranger.connect()
        assert not connected and code == 4404
        anonymous = await _connect(path, b"")
        connected, code = await anonymous.connect()
        assert not connected

    asyncio.run(scenario())
