"""Fixtures of the description service: a loopback HTTP server, a dubbed clip and its SRT.

The server plays both sides of the world outside: it serves the video and subtitles the job
downloads, and it receives the callbacks (it can be told to fail the first tries).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dramatiq
import pytest

from tests.fixtures_media import FPS, ffmpeg, speak

SIZE = "320x240"
# (lavfi source, seconds): shots 2 and 3 are mirror images (the same colours, so the same
# description) yet differ pixel by pixel enough for a hard cut.
DUBBED_SHOTS = [
    (f"testsrc2=size={SIZE}:rate={FPS}", 3.0),
    (f"smptebars=size={SIZE}:rate={FPS}", 3.0),
    (f"color=c=red:s={SIZE}:r={FPS},drawbox=x=160:y=0:w=160:h=240:color=blue:t=fill", 3.0),
    (f"color=c=blue:s={SIZE}:r={FPS},drawbox=x=160:y=0:w=160:h=240:color=red:t=fill", 3.0),
    (f"mandelbrot=size={SIZE}:rate={FPS}", 4.0),
]
# (start, end, text) of every line: the gaps after lines 1 and 2 are shorter than 2 s, the
# silence after line 3 lasts to the end of the clip.
DUBBED_LINES = [
    (0.3, 2.6, "Good morning, my dear friends."),
    (3.2, 5.0, "Look at these bars."),
    (6.2, 7.6, "Red and blue."),
]


@dataclass(frozen=True)
class DubbedClip:
    path: Path
    srt: str
    lines: list[tuple[float, float, str]]
    cut_times: list[float]
    duration: float
    spoken: list[tuple[float, float]]  # where the voice really is (the wavs without silence)


def voiced_span(wav: Path) -> tuple[float, float]:
    """First and last moment of ``wav`` louder than 2 % of its peak (espeak pads with silence)."""
    import numpy as np
    import soundfile

    samples, rate = soundfile.read(str(wav), dtype="float32")
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.max(np.abs(samples)))
    return float(loud[0]) / rate, float(loud[-1] + 1) / rate


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, minutes, secs = millis // 3_600_000, millis // 60_000 % 60, millis // 1000 % 60
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis % 1000:03d}"


def make_srt(lines: list[tuple[float, float, str]]) -> str:
    blocks = [
        f"{n}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n"
        for n, (start, end, text) in enumerate(lines, start=1)
    ]
    return "\n".join(blocks)


def make_dubbed_clip(folder: Path) -> DubbedClip:
    """Five shots with hard cuts and three spoken lines placed at their subtitle times."""
    inputs: list[str] = []
    for source, seconds in DUBBED_SHOTS:
        inputs += ["-t", str(seconds), "-f", "lavfi", "-i", source]
    shots = len(DUBBED_SHOTS)
    filters = [
        "".join(f"[{i}:v]" for i in range(shots)) + f"concat=n={shots}:v=1:a=0,format=yuv420p[v]"
    ]
    total = sum(seconds for _s, seconds in DUBBED_SHOTS)
    spoken = []
    for n, (start, end, text) in enumerate(DUBBED_LINES):
        wav = speak(folder / f"line{n}.wav", text)
        first, last = voiced_span(wav)
        spoken.append((start + first, min(end, start + last)))
        inputs += ["-i", str(wav)]
        filters.append(
            f"[{shots + n}:a]aresample=44100,atrim=end={end - start},"
            f"adelay={round(start * 1000)}:all=1[l{n}]"
        )
    mixed = "".join(f"[l{n}]" for n in range(len(DUBBED_LINES)))
    filters.append(f"{mixed}amix=inputs={len(DUBBED_LINES)}:normalize=0,apad=whole_dur={total}[a]")
    path = folder / "dubbed.mp4"
    ffmpeg(
        *inputs,
        "-filter_complex",
        ";".join(filters),
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-t",
        str(total),
        str(path),
    )
    cuts, elapsed = [], 0.0
    for _source, seconds in DUBBED_SHOTS[:-1]:
        elapsed += seconds
        cuts.append(elapsed)
    return DubbedClip(path, make_srt(DUBBED_LINES), list(DUBBED_LINES), cuts, total, spoken)


@pytest.fixture(scope="session")
def dubbed_clip(tmp_path_factory: pytest.TempPathFactory) -> DubbedClip:
    return make_dubbed_clip(tmp_path_factory.mktemp("describe-media"))


# --- The loopback server ---------------------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    content_type: str = "application/octet-stream"
    body: bytes = b""
    file: Path | None = None
    send_length: bool = True
    location: str = ""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    """Serves ``routes`` and records POSTed callbacks; ``fail_next`` POSTs answer HTTP 500."""

    routes: dict[str, Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve_file(self, path: str, file: Path, content_type: str = "video/mp4", **kw: Any) -> str:
        self.routes[path] = Route(content_type=content_type, file=file, **kw)
        return self.url(path)

    def serve_bytes(self, path: str, body: bytes, content_type: str, **kw: Any) -> str:
        self.routes[path] = Route(content_type=content_type, body=body, **kw)
        return self.url(path)

    def callbacks(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def _byte_range(header: str | None, body: bytes, status: int) -> tuple[int, bytes, dict[str, str]]:
    """Answer ``Range: bytes=a-b`` with 206 (browsers only seek in media served this way)."""
    extra = {"Accept-Ranges": "bytes"}
    if status != 200 or not header or not header.startswith("bytes="):
        return status, body, extra
    first, _, last = header[len("bytes=") :].split(",")[0].partition("-")
    start = int(first) if first else max(0, len(body) - int(last))
    end = int(last) if first and last else len(body) - 1
    extra["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
    return 206, body[start : end + 1], extra


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            body = route.file.read_bytes() if route.file else route.body
            status, body, extra = _byte_range(self.headers.get("Range"), body, route.status)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if route.location:
                self.send_header("Location", route.location)
            self.send_header("Content-Type", route.content_type)
            if route.send_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The client may stop reading (a size limit): that is the point, not an error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with server.lock:
                failing = server.fail_next > 0
                if failing:
                    server.fail_next -= 1
                    server.failed += 1
                else:
                    server.received.append(Received(self.path, dict(self.headers), body))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1 in a thread, for the duration of one test."""
    state = LoopbackServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dead_url() -> str:
    """A URL on a loopback port nobody listens on (bound, then closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/video.mp4"


@pytest.fixture
def describe_settings(settings: Any) -> Any:
    """Loopback URLs allowed (the test server lives there), the offline describer, fast retries."""
    settings.DESCRIBE_ALLOW_PRIVATE_URLS = True
    settings.DESCRIBE_DESCRIBER = "fallback"
    settings.DESCRIBE_CALLBACK_BACKOFF_SECONDS = 0.05
    return settings


@pytest.fixture
def describe_client(user: Any) -> tuple[Any, str]:
    """A client of ``user`` and its bearer token."""
    from describe.services import client_create

    return client_create(owner=user, name="partner-backend")


@pytest.fixture
def describe_worker() -> Iterator[Any]:
    """A real Dramatiq worker thread consuming the project's Redis broker."""
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    import describe.actors  # noqa: F401  (registers the actors with the broker)

    broker = dramatiq.get_broker()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()
    broker.flush_all()
