"""The web server's request layer: Daphne (Twisted) must leave upload bodies to Django."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from videoanalyzer.asgi_handler import skip_twisted_form_parsing

BODY = (
    b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
    b"Content-Type: video/mp4\r\n\r\n" + b"\x00" * 200_000 + b"\r\n--XYZ--\r\n"
)


def received(request_class: Any) -> Any:
    """A Daphne request that got a whole multipart POST, stopped before it reaches the app."""
    from twisted.web.test.requesthelper import DummyChannel

    channel = DummyChannel()
    channel.factory = SimpleNamespace(server=SimpleNamespace(protocol_connected=lambda r: None))
    request = request_class(channel)
    request.process = lambda: None  # the hand-over to the ASGI application is not under test
    request.requestHeaders.setRawHeaders(b"content-type", [b"multipart/form-data; boundary=XYZ"])
    request.gotLength(len(BODY))
    request.handleContentChunk(BODY)
    request.requestReceived(b"POST", b"/api/videos", b"HTTP/1.1")
    return request


def test_daphne_hands_the_raw_upload_body_on_without_parsing_it() -> None:
    from daphne import http_protocol

    skip_twisted_form_parsing()
    patched = http_protocol.WebRequest
    assert patched.raw_body_only
    # Daphne's own class: the first in the chain without the switch (the request gate,
    # videoanalyzer.daphne_gate, may sit on top once videoanalyzer.asgi was imported).
    original = next(c for c in patched.__mro__ if not getattr(c, "raw_body_only", False))
    # Unpatched, Twisted parses the whole body in the reactor thread (what this avoids)...
    assert list(received(original).args) == [b"file"]
    # ... patched, the body is left whole for Django, which parses it in the view's thread.
    request = received(patched)
    assert request.args == {}
    assert request.content.read() == BODY
    skip_twisted_form_parsing()  # idempotent: no subclass of the subclass
    assert http_protocol.WebRequest is patched


def test_request_threads_are_lent_again_and_extra_ones_stopped() -> None:
    from videoanalyzer.asgi_handler import RequestThreads

    threads = RequestThreads(keep=1)
    first, second = threads.lend(), threads.lend()
    assert first is not second
    names = {f.submit(lambda: threading.current_thread().name).result() for f in (first, second)}
    assert len(names) == 2
    threads.give_back(first)
    threads.give_back(second)  # one more than kept: shut down
    assert threads.lend() is first
    with pytest.raises(RuntimeError):
        second.submit(lambda: None)


@pytest.mark.django_db(transaction=True)
def test_requests_reuse_a_thread_and_leave_no_connection_open() -> None:
    """Two requests through the real ASGI handler: the second runs on the first one's thread,
    and the database connection the first opened is closed when it ends (request_finished)."""
    from django.db import connection

    from videoanalyzer.asgi_handler import OneHopASGIHandler

    handler = OneHopASGIHandler()
    seen: list[str] = []

    def where() -> tuple[str, bool]:
        return threading.current_thread().name, connection.connection is None

    async def get(path: str) -> int:
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1")],
            "server": ("127.0.0.1", 80),
        }

        bodies = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if bodies:
                return bodies.pop()
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: Any) -> None:
            sent.append(message)

        await handler(scope, receive, send)
        return int(sent[0]["status"])

    async def both() -> None:
        for _ in range(2):
            assert await get("/api/health") == 200  # it queries the database
            executor = handler.threads.lend()
            name, closed = executor.submit(where).result()
            handler.threads.give_back(executor)
            seen.append(name)
            assert closed, "the request's connection was left open on its thread"

    try:
        asyncio.run(both())
    finally:  # the kept threads go with this test, and their database sessions with them
        while handler.threads._idle:
            handler.threads._idle.pop().shutdown(wait=True)
    assert seen[0] == seen[1] and seen[0].startswith("request")


def test_uploads_are_taken_one_at_a_time_and_other_requests_pass(settings: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.http import HttpResponse
    from django.test import RequestFactory

    from videoanalyzer.middleware import RequestGateMiddleware

    settings.UPLOADS_AT_ONCE = 1
    entered = {0: threading.Event(), 1: threading.Event()}
    release = {0: threading.Event(), 1: threading.Event()}

    def view(request: Any) -> HttpResponse:
        if request.method == "POST":
            which = int(request.POST["which"])
            entered[which].set()
            assert release[which].wait(10)
        return HttpResponse("ok")

    middleware = RequestGateMiddleware(view)
    factory = RequestFactory()

    def upload(which: int) -> int:
        # multipart/form-data, with credentials (the gate turns anonymous API writes away)
        request = factory.post("/api/videos", {"which": str(which)}, HTTP_AUTHORIZATION="Bearer t")
        return middleware(request).status_code

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(upload, 0)
        assert entered[0].wait(10)
        second = pool.submit(upload, 1)
        # While the first upload is inside, a GET goes through and the second upload waits.
        assert middleware(factory.get("/api/videos")).status_code == 200
        assert not entered[1].wait(0.3)
        release[0].set()
        assert entered[1].wait(10)  # its turn came once the first one left
        release[1].set()
        assert first.result() == second.result() == 200
