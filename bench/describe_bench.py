"""Benchmark of the description service: seconds of work per minute of video.

Serves ``../shared/media/av/sonnet1_av_with_subs.mp4`` and its SRT from a loopback HTTP server
(which also receives the callbacks), runs the job in this process with and without subtitles,
prints a table and writes the ``describe`` section of ``bench/RESULTS.md``.

    DATABASE_URL=postgres://... python -m bench.describe_bench
"""

from __future__ import annotations

import os
import re
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"
VIDEO, SRT = "av/sonnet1_av_with_subs.mp4", "av/sonnet1_av.srt"
STORY = "story/story_dev_01.mp4"  # 14 scenes: shows the cost of describing many frames
STEPS = ("download", "speech", "shots", "describe")
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- describe:start -->", "<!-- describe:end -->"


class Handler(SimpleHTTPRequestHandler):
    """Files of the media folder for GET; POSTs (callbacks) are counted and answered 200."""

    posts = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.DESCRIBE_ALLOW_PRIVATE_URLS = True  # the media server is on loopback


def run_job(
    base: str, subtitles: bool, describer: str, video: str = VIDEO, detector: str = ""
) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from describe.models import DescribeClient
    from describe.processing import job_execute
    from describe.services import client_create, job_create

    settings.DESCRIBE_DESCRIBER = describer
    settings.DESCRIBE_SCENE_DETECTOR = detector
    srt = SRT if video == VIDEO else video.rsplit(".", 1)[0] + ".srt"
    owner, _ = get_user_model().objects.get_or_create(username="bench-describe")
    client = DescribeClient.objects.filter(owner=owner, name="bench").first()
    if client is None:
        client, _token = client_create(owner=owner, name="bench")
    data = {
        "url": f"{base}/{video}",
        "subtitles": f"{base}/{srt}" if subtitles else None,
        "callback_url": f"{base}/callback",
    }
    job = job_create(client=client, data=data, enqueue=False)
    posts_before = Handler.posts
    started = time.perf_counter()
    done = job_execute(job_id=job.id)
    seconds = time.perf_counter() - started
    assert done is not None and done.status == "PROCESSED", done and done.error
    meta = done.metadata
    return {
        "video": video.split("/")[-1],
        "pauses from": "subtitles" if subtitles else "VAD",
        "describer": meta.get("describer", describer),
        "detector": meta.get("scene_detector", ""),
        "video s": meta["duration"],
        "scenes": meta["scenes"],
        "in pauses": meta["in_pauses"],
        "results": done.results.count(),
        "dropped": meta["duplicates"],
        "callbacks": Handler.posts - posts_before,
        "job s": round(seconds, 2),
        "s per video min": round(seconds / meta["duration"] * 60, 2),
        "steps": meta.get("step_seconds", {}),
    }


def table(rows: list[dict[str, Any]]) -> str:
    keys = [k for k in rows[0] if k != "steps"] + ["steps (s)"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        steps = ", ".join(f"{k} {row['steps'][k]:.2f}" for k in STEPS if k in row["steps"])
        cells = [str(row[k]) for k in keys[:-1]] + [steps]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_section(body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"{START}\n{body}\n{END}"
    if START in text:
        text = re.sub(
            re.escape(START) + r".*?" + re.escape(END), lambda _m: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def dubbed_row() -> dict[str, Any]:
    """The tests' generated clip (5 shots, 3 spoken lines, long pauses): descriptions happen."""
    import tempfile

    from tests.fixtures_describe import make_dubbed_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_dubbed_clip(Path(tmp))
        (Path(tmp) / "dubbed.srt").write_text(clip.srt)
        httpd, base = serve(Path(tmp))
        try:
            row = run_job(base, subtitles=True, describer="fallback", video="dubbed.mp4")
        finally:
            httpd.shutdown()
    return row


def main() -> None:
    if not (MEDIA / VIDEO).exists():
        raise SystemExit(f"{MEDIA / VIDEO} is missing (the shared media folder)")
    setup_django()
    httpd, base = serve(MEDIA)
    try:
        rows = [
            run_job(base, subtitles=True, describer="fallback"),
            run_job(base, subtitles=True, describer="fallback", detector="content"),
            run_job(base, subtitles=False, describer="fallback"),
        ]
        if (MEDIA / STORY).exists():
            rows.append(run_job(base, subtitles=False, describer="fallback", video=STORY))
        rows.append(dubbed_row())
        from describe.describers import get_describer

        if get_describer("auto").name != "fallback":  # a captioning model is configured
            rows.append(run_job(base, subtitles=True, describer="auto"))
    finally:
        httpd.shutdown()
    cpu = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = "\n".join(
        [
            "## describe",
            "",
            f"`python -m bench.describe_bench` — jobs on `{VIDEO}` (54 s, 640x360, one "
            f"continuous shot) and `{STORY}` (84 s, 14 scenes) served over loopback HTTP with "
            f"callbacks, {cpu} CPU cores (load average {load}: shared with other work), no "
            "GPU. Download, speech (subtitles or Silero VAD), shot detection (`detector`: the "
            "analysis default, or `content` via DESCRIBE_SCENE_DETECTOR), frame description, "
            "de-duplication and signed callbacks are all included; `s per video min` is "
            "job seconds per minute of video. Both real clips "
            "have speech without any 2 s pause (so no description fits); `dubbed.mp4` is the "
            "tests' generated clip (16 s, 5 shots, long pauses), where descriptions are made.",
            "",
            table(rows),
        ]
    )
    print(body)
    write_section(body)


if __name__ == "__main__":
    main()
