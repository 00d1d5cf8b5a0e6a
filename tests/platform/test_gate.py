"""The request gate: limits and authentication decided by a request's head, before its body.

A real Daphne process is sent raw HTTP: requests that must be refused are sent *without* their
body, so an answer at all proves the server did not wait for (or read) it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from analysis.models import ApiToken
from tests.fixtures_processes import ROOT, free_port, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
GB5 = 5_000_000_000


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def daphne(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = (tmp_path / "daphne.log").open("ab")
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        [*command, "videoanalyzer.asgi:application"],
        cwd=ROOT,
        env=process_env(EMBEDDED_WORKER="false"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _port_open(port), 60, "daphne")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def exchange(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send ``head`` (and ``body``), read the answer until the server closes; status and JSON."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload) if payload else {}


def post_head(path: str, length: int | None, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


MULTIPART = "Content-Type: multipart/form-data; boundary=x"


def test_an_anonymous_upload_is_refused_before_its_body(daphne: int) -> None:
    status, body = exchange(daphne, post_head("/api/videos", GB5, MULTIPART))
    assert status == 401 and "Authorization: Bearer" in body["detail"]
    # A tiny body behind a huge declared length: answered at once, not after a timeout.
    status, _ = exchange(daphne, post_head("/api/videos", 10**12, MULTIPART), b"abc")
    assert status == 401


def test_a_declared_length_over_the_limit_is_413_before_the_body(daphne: int, user: Any) -> None:
    token = ApiToken.objects.issue(user=user)[1]
    auth = f"Authorization: Bearer {token}"
    status, body = exchange(daphne, post_head("/api/videos", GB5, MULTIPART, auth))
    assert status == 413 and "4096 MB" in body["detail"]
    json_type = "Content-Type: application/json"
    status, body = exchange(daphne, post_head("/api/analyze", 11 * 1024**2, json_type, auth))
    assert status == 413 and "10 MB" in body["detail"]


def test_a_forged_token_is_refused_before_a_large_body(daphne: int) -> None:
    forged = "Authorization: Bearer not-a-token"
    status, _ = exchange(daphne, post_head("/api/videos", 50 * 1024**2, MULTIPART, forged))
    assert status == 401


def test_bytes_received_are_capped_when_no_length_is_declared(daphne: int, user: Any) -> None:
    token = ApiToken.objects.issue(user=user)[1]
    head = post_head(
        "/api/analyze",
        None,
        "Content-Type: application/json",
        f"Authorization: Bearer {token}",
        "Transfer-Encoding: chunked",
    )
    piece = 1024 * 1024
    chunk = f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
    # Just over the 10 MB limit, then stop sending and wait for the answer.
    status, body = exchange(daphne, head, chunk * 10 + b"100\r\n" + b"a" * 256 + b"\r\n")
    assert status == 413 and "10 MB" in body["detail"]


def test_long_query_strings_get_414(daphne: int) -> None:
    for size in (9_000, 17_000):  # under and over Twisted's own 16 kB line limit
        head = f"GET /api/health?q={'a' * size} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        status, body = exchange(daphne, head)
        assert status == 414 and "query string" in body["detail"]
    ok = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert exchange(daphne, ok)[0] in (200, 503)  # the server is still there


def test_the_same_rules_hold_in_django(user: Any) -> None:
    """For servers other than Daphne (and the test client): the middleware applies them."""
    anonymous = Client()
    response = anonymous.post("/api/analyze", {"filename": "x"}, content_type="application/json")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert "Authorization" in response.json()["detail"]
    response = anonymous.post("/process", {"url": "http://example.com"}, "application/json")
    assert response.status_code == 401
    token = ApiToken.objects.issue(user=user)[1]
    big = json.dumps({"filename": "a" * (11 * 1024**2)})
    response = Client().post(
        "/api/analyze", big, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 413 and "10 MB" in response.json()["detail"]
    response = Client().get("/api/health", {"q": "a" * 9000})
    assert response.status_code == 414
