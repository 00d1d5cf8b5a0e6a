"""The description service's limits: private addresses refused when the request arrives, stalled
downloads given up, callback URLs that refuse connections given up, and a queue of its own."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from describe import callbacks
from describe.fetch import FetchError, Stall, download
from describe.models import CallbackDelivery, DescribeJob

pytestmark = pytest.mark.django_db


def process(token: str, **body: Any) -> Any:
    return Client().post(
        "/process", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("url", "http://127.0.0.1/film.mp4"),
        ("url", "http://[::1]:8080/film.mp4"),
        ("url", "http://localhost/film.mp4"),
        ("url", "http://169.254.169.254/latest/meta-data/"),
        ("subtitles", "http://10.1.2.3/film.srt"),
        ("callback_url", "http://192.168.0.10/hook"),
    ],
)
def test_private_addresses_are_422_when_the_request_arrives(
    describe_client: Any, field: str, url: str
) -> None:
    _client, token = describe_client
    body = {"url": "http://93.184.215.14/film.mp4", field: url}  # a public literal address
    response = process(token, **body)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}:") and "address" in detail
    assert DescribeJob.objects.count() == 0


@pytest.fixture
def dribbling_server() -> Iterator[str]:
    """Answers 200 with a large Content-Length, then sends one byte every 0.2 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000000\r\n\r\n"
            )
            while not stop.wait(0.2):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/film.mp4"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_a_download_that_dribbles_is_given_up_as_stalled(
    dribbling_server: str, tmp_path: Path
) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    started = time.monotonic()
    with pytest.raises(FetchError, match="stalled"):
        download(
            dribbling_server,
            folder / "film.mp4",
            kind="video",
            max_bytes=10**7,
            allow_private=True,
            timeout=600,  # the overall limit is far away: the stall check ends it
            connect_timeout=10,
            stall=Stall(seconds=1.0, min_bytes=1024),
        )
    assert time.monotonic() - started < 300  # not the 600 s download limit
    assert not list(folder.iterdir())  # no partial file left


def test_a_callback_url_that_refuses_connections_is_given_up(
    describe_settings: Any, describe_client: Any, dead_url: str
) -> None:
    describe_settings.DESCRIBE_CALLBACK_REFUSED_ATTEMPTS = 3
    client, _token = describe_client
    job = DescribeJob.objects.create(
        client=client, url="http://example.com/a.mp4", callback_url=dead_url, status="PROCESSED"
    )
    callbacks.delivery_for_status(job)
    assert callbacks.flush(job.pk, attempts=10)  # nothing left to send: given up
    delivery = CallbackDelivery.objects.get(job=job)
    assert delivery.attempts == 3 and delivery.abandoned_at is not None
    assert "refused" in delivery.last_error
    assert callbacks.flush(job.pk, attempts=10)
    assert CallbackDelivery.objects.get(job=job).attempts == 3  # never tried again


def test_the_description_service_has_its_own_queue() -> None:
    from analysis.actors import run_analysis
    from describe.actors import DESCRIBE_QUEUE, deliver_callbacks, run_describe_job

    assert run_describe_job.queue_name == deliver_callbacks.queue_name == DESCRIBE_QUEUE
    assert run_analysis.queue_name != DESCRIBE_QUEUE
