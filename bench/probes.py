"""Attacker-style probes against the real stack, and jobs of every kind killed with SIGKILL.

``python -m bench.probes`` starts ``manage.py serve`` and a ``rundramatiq`` worker on a fresh
database (``bench.load.Stack``), sends every probe of issue 20 as raw HTTP (bodies that must be
refused are not sent at all: an answer proves the server did not wait for them), counts clear
4xx answers (JSON with a ``detail`` text), 5xx and leftovers (temp files, stored files, rows),
then queues an analysis, an export and a description job, kills the worker with SIGKILL while
they are queued or running, starts a new one and counts the jobs that finish. It writes the
``reliability`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ffmpeg, markdown_table, write_section
from bench.load import CONFIGS, Stack, make_clip

CONFIGS["probes"] = {
    "DB_POOL": "true",
    "ANALYSIS_LEASE_SECONDS": "5",
    "RECOVERY_INTERVAL_SECONDS": "1",
    "QUEUED_RESEND_SECONDS": "5",
    "DESCRIBE_ALLOW_PRIVATE_URLS": "false",
    "DESCRIBE_DESCRIBER": "fallback",
}
SEED = """
import json
from django.contrib.auth import get_user_model
from analysis.models import ApiToken
from describe.services import client_create
user = get_user_model().objects.create_user("prober", password="prober-password-42")
client, client_token = client_create(owner=user, name="prober", allow_private_urls=False)
trusted, trusted_token = client_create(owner=user, name="trusted", allow_private_urls=True)
print("SEED" + json.dumps({"token": ApiToken.objects.issue(user=user)[1],
                           "client_token": client_token, "trusted_token": trusted_token}))
"""


@dataclass
class Probe:
    name: str
    raw: Callable[[Any], bytes]  # the request, made from the run's context
    expected: int


@dataclass
class Answer:
    status: int
    detail: str


def exchange(port: int, data: bytes) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        # Refused before the whole body was sent: the answer is waiting all the same.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        got = b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
                if _complete(got):
                    break
        except ConnectionResetError:
            pass
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    try:
        detail = json.loads(body).get("detail", "")
    except ValueError:
        detail = ""
    return Answer(status, detail if isinstance(detail, str) else json.dumps(detail))


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + rest[:size], rest[size + 2 :]
    return out


def _complete(got: bytes) -> bool:
    head, sep, body = got.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def http(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def upload(name: bytes, data: bytes, ctx: Any) -> bytes:
    head = (
        b'--XB\r\nContent-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: video/mp4\r\n\r\n'
    )
    body = head + data + b"\r\n--XB--\r\n"
    return http(
        "POST",
        "/api/videos",
        {**ctx.auth, "Content-Type": "multipart/form-data; boundary=XB"},
        body,
    )


def analysis_probe(params: dict[str, Any]) -> Callable[[Any], bytes]:
    def make(ctx: Any) -> bytes:
        body = json.dumps(params).encode()
        headers = {**ctx.auth, "Content-Type": "application/json"}
        return http("POST", f"/api/videos/{ctx.video_id}/analyses", headers, body)

    return make


def process_probe(body: dict[str, Any]) -> Callable[[Any], bytes]:
    def make(ctx: Any) -> bytes:
        headers = {
            "Authorization": f"Bearer {ctx.client_token}",
            "Content-Type": "application/json",
        }
        return http("POST", "/process", headers, json.dumps(body).encode())

    return make


MULTIPART = {"Content-Type": "multipart/form-data; boundary=x"}
# Just past the 10 MB limit, then nothing more (the server closes the connection).
CHUNKED_11MB = (b"100000\r\n" + b"a" * 2**20 + b"\r\n") * 10 + b"100\r\n" + b"a" * 256 + b"\r\n"
JSON = {"Content-Type": "application/json"}
PROBES = [
    Probe(
        "anonymous upload declaring 5 GB",
        lambda c: http("POST", "/api/videos", {**MULTIPART, "Content-Length": "5000000000"}),
        401,
    ),
    Probe(
        "anonymous upload declaring 10^12 bytes",
        lambda c: http("POST", "/api/videos", {**MULTIPART, "Content-Length": str(10**12)}),
        401,
    ),
    Probe(
        "upload declaring 5 GB, valid token",
        lambda c: http(
            "POST", "/api/videos", {**c.auth, **MULTIPART, "Content-Length": "5000000000"}
        ),
        413,
    ),
    Probe(
        "50 MB upload, forged token",
        lambda c: http(
            "POST",
            "/api/videos",
            {"Authorization": "Bearer forged", **MULTIPART, "Content-Length": str(50 * 2**20)},
        ),
        401,
    ),
    Probe(
        "JSON body declaring 11 MB",
        lambda c: http(
            "POST", "/api/analyze", {**c.auth, **JSON, "Content-Length": str(11 * 2**20)}
        ),
        413,
    ),
    Probe(
        "chunked JSON body past 10 MB",
        lambda c: http(
            "POST", "/api/analyze", {**c.auth, **JSON, "Transfer-Encoding": "chunked"}, CHUNKED_11MB
        ),
        413,
    ),
    Probe("16 kB query string", lambda c: http("GET", "/api/health?q=" + "a" * 16_500, {}), 414),
    Probe("9 kB query string", lambda c: http("GET", "/api/health?q=" + "a" * 9_000, {}), 414),
    Probe(
        "multipart without a boundary",
        lambda c: http(
            "POST",
            "/api/videos",
            {**c.auth, "Content-Type": "multipart/form-data"},
            b"--x\r\n\r\nabc",
        ),
        400,
    ),
    Probe("GET /api/analyze", lambda c: http("GET", "/api/analyze", c.auth), 405),
    Probe(
        "anonymous JSON write",
        lambda c: http("POST", "/api/analyze", JSON, b'{"filename": "x"}'),
        401,
    ),
    Probe(
        "file name that is not UTF-8", lambda c: upload(b"\xff\xfe\xe9t\xe9.mp4", c.clip, c), 400
    ),
    Probe("JPEG renamed .mp4", lambda c: upload(b"photo.mp4", c.jpeg, c), 400),
    Probe("GIF renamed .mp4", lambda c: upload(b"meme.mp4", c.gif, c), 400),
    Probe("MP4 with a damaged sample table", lambda c: upload(b"stsd.mp4", c.damaged, c), 400),
    Probe("scene_threshold 'abc'", analysis_probe({"scene_threshold": "abc"}), 422),
    Probe("min_scene_seconds 'xyz'", analysis_probe({"min_scene_seconds": "xyz"}), 422),
    Probe("scene_detector 'bogus'", analysis_probe({"scene_detector": "bogus"}), 422),
    Probe("num_storylines true", analysis_probe({"num_storylines": True}), 422),
    Probe("whisper_model '/etc'", analysis_probe({"whisper_model": "/etc"}), 422),
    Probe("whisper_model hub name", analysis_probe({"whisper_model": "large-v3"}), 422),
    Probe("caption_model '/etc/passwd'", analysis_probe({"caption_model": "/etc/passwd"}), 422),
    Probe(
        "translation_model hub name", analysis_probe({"translation_model": "someone/model"}), 422
    ),
    Probe("/process url 127.0.0.1", process_probe({"url": "http://127.0.0.1/a.mp4"}), 422),
    Probe("/process url localhost", process_probe({"url": "http://localhost/a.mp4"}), 422),
    Probe(
        "/process callback 10.0.0.1",
        process_probe({"url": "http://93.184.215.14/a.mp4", "callback_url": "http://10.0.0.1/h"}),
        422,
    ),
    Probe("/process url metadata address", process_probe({"url": "http://169.254.169.254/"}), 422),
    Probe(
        "media suffix range -999999999999",
        lambda c: http("GET", c.media, {**c.auth, "Range": "bytes=-999999999999"}),
        206,
    ),
    Probe(
        "media with an API token",
        lambda c: http("GET", c.media, {**c.auth, "Range": "bytes=0-99"}),
        206,
    ),
]


class Context:
    def __init__(self, stack: Stack, seed: dict[str, str], folder: Path) -> None:
        self.auth = {"Authorization": f"Bearer {seed['token']}"}
        self.client_token = seed["client_token"]
        clip = make_clip(folder / "clip.mp4", 3.0, "320x240", 440)
        self.clip = clip.read_bytes()
        for name, codec in (("jpeg", "jpg"), ("gif", "gif")):
            path = folder / f"still.{codec}"
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "1", str(path))
            setattr(self, name, path.read_bytes())
        self.damaged = self.clip.replace(b"avc1", b"\x00\x01\xfe\x7f")
        answer = exchange(stack.port, upload(b"clip.mp4", self.clip, self))
        assert answer.status == 201, answer
        videos = json.loads(_get(stack.port, "/api/videos", self.auth))
        self.video_id, self.media = videos[0]["id"], videos[0]["url"]


def _get(port: int, path: str, headers: dict[str, str]) -> bytes:
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(http("GET", path, headers))
        while chunk := sock.recv(65536):
            data += chunk
    return data.partition(b"\r\n\r\n")[2]


def leftovers(stack: Stack) -> dict[str, int]:
    temp = Path(stack.env["FILE_UPLOAD_TEMP_DIR"])
    media = Path(stack.env["MEDIA_ROOT"])
    files = [p for p in media.rglob("*") if p.is_file()]
    return {
        "upload temp files": len([p for p in temp.rglob("*") if p.is_file()]),
        "stored files": len(files) - 1,  # the one clip uploaded on purpose
    }


def run_probes(stack: Stack, ctx: Context) -> list[list[Any]]:
    rows = []
    for probe in PROBES:
        answer = exchange(stack.port, probe.raw(ctx))
        clear = 400 <= answer.status < 500 and bool(answer.detail)
        rows.append(
            [probe.name, probe.expected, answer.status, "yes" if clear else "", answer.detail[:70]]
        )
        print(f"{answer.status} (want {probe.expected}) {probe.name}: {answer.detail[:90]}")
    return rows


# --- Jobs of every kind killed with SIGKILL ---------------------------------------------------


def _json(stack: Stack, method: str, path: str, auth: dict[str, str], body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else b""
    headers = {**auth, "Content-Type": "application/json"} if body is not None else auth
    with socket.create_connection(("127.0.0.1", stack.port), timeout=60) as sock:
        sock.sendall(http(method, path, headers, data))
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    head, _, raw = got.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        raw = _dechunk(raw)
    return json.loads(raw)


def _serve_folder(folder: Path) -> tuple[str, Callable[[], None]]:
    """A plain HTTP server for the clip the description job downloads."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server.shutdown


def crash_jobs(stack: Stack, ctx: Context, seed: dict[str, str], folder: Path) -> list[list[Any]]:
    """An analysis, an export and a description job; the worker killed with SIGKILL while one
    runs and the others wait; a new worker started. Rows: kind, state at the kill, final."""
    import signal
    import time

    # A finished analysis (no models run) of another clip, for the export.
    other = make_clip(folder / "seeded.mp4", 3.0, "320x240", 660)
    stack.manage("seed_analysis", str(other), "--user", "prober", "--storylines", "2")
    videos = _json(stack, "GET", "/api/videos", ctx.auth)
    seeded = next(v for v in videos if (v["latest_analysis"] or {}).get("status") == "completed")
    base, stop_server = _serve_folder(folder)
    trusted = {"Authorization": f"Bearer {seed['trusted_token']}"}
    jobs = {
        "analysis": _json(
            stack, "POST", f"/api/videos/{ctx.video_id}/analyses", ctx.auth, {"num_storylines": 1}
        )["id"],
        "export": _json(
            stack,
            "POST",
            f"/api/analyses/{seeded['latest_analysis']['id']}/exports",
            ctx.auth,
            {"kind": "zip"},
        )["id"],
        "describe": _json(stack, "POST", "/process", trusted, {"url": f"{base}/clip.mp4"})["id"],
    }
    paths = {
        "analysis": (
            f"/api/analyses/{jobs['analysis']}",
            ctx.auth,
            {"completed", "failed", "cancelled"},
        ),
        "export": (f"/api/exports/{jobs['export']}", ctx.auth, {"completed", "failed"}),
        "describe": (f"/process/{jobs['describe']}", trusted, {"PROCESSED", "NOT_PROCESSED"}),
    }

    def states() -> dict[str, str]:
        return {k: _json(stack, "GET", p, a)["status"] for k, (p, a, _) in paths.items()}

    deadline = time.monotonic() + 300
    while (
        time.monotonic() < deadline
        and "running" not in states().values()
        and "PROCESSING" not in states().values()
    ):
        time.sleep(0.5)
    at_kill = states()
    worker = stack.procs[1]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    stack.procs.remove(worker)  # gone: nothing left for ``stop`` to end
    stack._spawn(
        "worker2",
        [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        now = states()
        if all(now[k] in final for k, (_, _, final) in paths.items()):
            break
        time.sleep(1.0)
    stop_server()
    final_states = states()
    return [[kind, at_kill[kind], final_states[kind]] for kind in paths]


def main() -> None:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="va-probes-"))
    (folder / "uploads").mkdir()
    CONFIGS["probes"]["FILE_UPLOAD_TEMP_DIR"] = str(folder / "uploads")
    stack = Stack(config="probes", web_processes=1)
    stack.start()
    try:
        out = stack.manage("shell", "-c", SEED)
        seed = json.loads(out.split("SEED", 1)[1])
        ctx = Context(stack, seed, folder)
        rows = run_probes(stack, ctx)
        left = leftovers(stack)
        healthy = exchange(stack.port, http("GET", "/api/health", {})).status
        crashed = crash_jobs(stack, ctx, seed, folder)
    finally:
        stack.stop()
    report(rows, left, healthy, crashed)


def report(
    rows: list[list[Any]], left: dict[str, int], healthy: int, crashed: list[list[Any]]
) -> None:
    as_expected = sum(1 for r in rows if r[1] == r[2])
    clear = sum(1 for r in rows if r[3])
    refusals = sum(1 for r in rows if 400 <= r[1] < 500)
    errors = sum(1 for r in rows if r[2] >= 500 or r[2] == 0)
    table = markdown_table(["probe", "expected", "got", "clear 4xx", "detail"], rows)
    body = (
        f"## reliability (issue 20)\n\n`python -m bench.probes` against `manage.py serve` "
        f"(Daphne) on a fresh database: **{len(rows)} probes, {as_expected} answered as "
        f"expected, {clear} of the {refusals} refusals a clear 4xx (JSON with a message), "
        f"{errors} 5xx or no answer**; "
        f"leftovers: {sum(left.values())} ({left}); health afterwards {healthy}.\n\n{table}"
    )
    good = {"completed", "PROCESSED"}
    recovered = sum(1 for row in crashed if row[2] in good)
    body += (
        f"\n\n**Jobs of each kind after kill -9 of the only worker: {recovered} of "
        f"{len(crashed)} finished** (a new worker started after the kill; leases "
        f"{CONFIGS['probes']['ANALYSIS_LEASE_SECONDS']} s, recovery every "
        f"{CONFIGS['probes']['RECOVERY_INTERVAL_SECONDS']} s). Per stage of the analysis "
        "pipeline: `tests/platform/test_faults.py`; per job kind with the kill inside the job: "
        "`tests/platform/test_job_recovery.py`.\n\n"
        + markdown_table(["job", "state at the kill", "final state"], crashed)
    )
    print(body)
    write_section("reliability", body)


if __name__ == "__main__":
    main()
