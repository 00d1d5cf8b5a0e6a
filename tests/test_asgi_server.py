"""The web server's request layer: Daphne (Twisted) must leave upload bodies to Django."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

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
    original = patched.__mro__[1]
    # Unpatched, Twisted parses the whole body in the reactor thread (what this avoids)...
    assert list(received(original).args) == [b"file"]
    # ... patched, the body is left whole for Django, which parses it in the view's thread.
    request = received(patched)
    assert request.args == {}
    assert request.content.read() == BODY
    skip_twisted_form_parsing()  # idempotent: no subclass of the subclass
    assert http_protocol.WebRequest is patched
