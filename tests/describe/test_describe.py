"""The audio-description service end to end: real media over a real loopback HTTP server.

The clip (``fixtures_describe.dubbed_clip``) has five shots with hard cuts and three spoken
lines; its SRT says exactly when they are spoken. Only shots 3 and 5 (0-based 2 and 4) have a
silence of 2 s or more around their frame a second in; shot 4 mirrors shot 3 (same colours),
so its description repeats the previous one and must be dropped.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pysubs2
import pytest
from django.core.management import call_command
from django.test import Client

from describe import callbacks, fetch, selectors
from describe.describers import FallbackDescriber, FrameSample
from describe.models import CallbackDelivery, DescribeJob, JobStatus
from describe.pauses import find_slot, parse_subtitles, silences
from describe.processing import job_execute
from describe.services import JobRequestError, client_create, job_create
from describe.similarity import meteor, similarity
from tests.decode_spy import decoding, spy_on_av_open
from tests.fixtures_describe import DubbedClip, LoopbackServer, Route

MIN_PAUSE = 2.0


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- Pieces without the database -------------------------------------------------------------


def test_meteor_matches_a_hand_computed_value() -> None:
    # 3 matches in one chunk: P = 1, R = 0.5, Fmean = 0.5 / 0.95, penalty = 0.5 * (1/3)^3.
    expected = (0.5 / 0.95) * (1 - 0.5 * (1 / 3) ** 3)
    assert meteor("the cat sat", "the cat sat on the mat") == pytest.approx(expected, abs=1e-9)
    assert similarity("A red car.", "a red CAR") == 1.0
    assert similarity("A red car on the road", "Green trees under a blue sky") < 0.2


def test_similarity_matches_russian_word_forms_by_stem() -> None:
    same_meaning = similarity("Красная машина едет по дороге", "Красную машину на дороге")
    exact_only = similarity("Красная машина едет по дороге", "Зелёный лес под синим небом")
    assert same_meaning > 0.5 > exact_only


def test_slots_need_a_long_enough_silence_and_stay_in_the_scene() -> None:
    gaps = silences([(0.3, 2.6), (3.2, 5.0), (6.2, 7.6)], 16.0)
    assert gaps == [(0.0, 0.3), (2.6, 3.2), (5.0, 6.2), (7.6, 16.0)]
    kw = {"min_pause": 2.0, "max_length": 8.0}
    assert find_slot(1.0, 3.0, gaps, **kw) is None  # speech, then only 0.6 s of silence
    assert find_slot(4.0, 6.0, gaps, **kw) is None  # speech, then 1.2 s
    slot = find_slot(7.0, 9.0, gaps, **kw)  # speech until 7.6, then silence to the end
    assert slot is not None and (slot.start, slot.end) == (7.6, 15.6)
    assert find_slot(7.0, 7.5, gaps, **kw) is None  # the silence starts after the scene
    later = find_slot(10.0, 12.0, gaps, **kw, not_before=11.0)
    assert later is not None and later.start == 11.0


def test_subtitles_parse_as_srt_and_webvtt(tmp_path: Any) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,400 --> 00:00:04,000\nThere\n"
    )
    vtt = tmp_path / "a.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello\n\n00:00:05.000 --> 00:00:06.000\nX\n"
    )
    assert parse_subtitles(srt) == [(1.0, 4.0)]  # overlapping cues merge
    assert parse_subtitles(vtt) == [(1.0, 2.5), (5.0, 6.0)]


def test_private_loopback_and_link_local_addresses_are_named() -> None:
    import ipaddress

    def problem(text: str) -> str | None:
        return fetch.address_problem(ipaddress.ip_address(text))

    assert problem("127.0.0.1") == "a loopback"
    assert problem("::ffff:127.0.0.1") == "a loopback"
    assert problem("10.1.2.3") == "a private"
    assert problem("169.254.169.254") == "a link-local"
    assert problem("8.8.8.8") is None
    with pytest.raises(fetch.FetchError, match="Only http and https"):
        fetch.parse_url("file:///etc/passwd")


def test_the_fallback_describer_sees_colours_and_ignores_mirroring() -> None:
    left = np.zeros((120, 160, 3), dtype=np.uint8)
    left[:, :80] = (255, 0, 0)
    left[:, 80:] = (0, 0, 255)
    mirrored = left[:, ::-1].copy()
    green = np.zeros_like(left)
    green[..., 1] = 200
    describer = FallbackDescriber()
    first = describer.describe(FrameSample(left, 1.0, left), "en")
    assert "red" in first and "blue" in first and "still" in first
    assert describer.describe(FrameSample(mirrored, 1.0, mirrored), "en") == first
    assert "green" in describer.describe(FrameSample(green, 1.0, None), "en")
    russian = describer.describe(FrameSample(left, 1.0, left), "ru")
    assert "красных" in russian and "синих" in russian


def test_the_decode_pass_keeps_each_scene_frame_and_the_one_a_moment_later(
    dubbed_clip: DubbedClip, tmp_path: Any
) -> None:
    from describe.processing import FOLLOWING_SECONDS, FrameKeeper, read_rgb, scene_frames
    from mediakit.decode import run_frame_pass
    from mediakit.passfiles import recorded_start_time
    from mediakit.shots import shots_from_cuts

    keeper = FrameKeeper(tmp_path, dubbed_clip.duration)
    times = run_frame_pass(dubbed_clip.path, keeper.consumers)
    candidates = keeper.save(len(times))
    assert recorded_start_time(tmp_path) == 0.0  # the audio decoder aligns to it
    shots = shots_from_cuts([round(t * 25) for t in dubbed_clip.cut_times], times, 25.0)
    work = scene_frames(shots, candidates, 1.0)
    assert [item.index for item in work] == list(range(len(shots)))
    for item, shot in zip(work, shots, strict=True):
        assert item.frame.time == pytest.approx(shot.start_time + 1.0, abs=0.02)
        assert item.following is not None
        assert item.following.time == pytest.approx(item.frame.time + FOLLOWING_SECONDS, abs=0.02)
        assert read_rgb(item.frame.path).shape == (240, 320, 3)
    # Shot 2 is red on the left, shot 3 its mirror image: the kept pictures say so.
    left = [read_rgb(work[i].frame.path)[:, :80].mean(axis=(0, 1)) for i in (2, 3)]
    assert left[0][0] > 200 > left[0][2] and left[1][2] > 200 > left[1][0]


def test_the_describer_is_chosen_by_setting(settings: Any) -> None:
    from describe.describers import Describer, get_describer

    settings.CAPTION_MODEL = ""  # no captioning model: "auto" uses the offline describer
    assert get_describer("auto").name == "fallback"
    custom = get_describer("describe.describers:FallbackDescriber")
    assert isinstance(custom, Describer) and custom.name == "fallback"


# --- Jobs run by the service -----------------------------------------------------------------


def start_job(
    client: Any, loopback: LoopbackServer, clip: DubbedClip, subtitles: bool = True
) -> DescribeJob:
    video = loopback.serve_file("/film.mp4", clip.path)
    srt = loopback.serve_bytes("/film.srt", clip.srt.encode(), "application/x-subrip")
    data = {"url": video, "subtitles": srt if subtitles else None}
    data["callback_url"] = loopback.url("/callback")
    return job_create(client=client, data=data, enqueue=False)


def check_signed_once(loopback: LoopbackServer, secret: str) -> list[dict[str, Any]]:
    """Every callback verifies, and no idempotency key arrives twice; returns the payloads."""
    received = loopback.callbacks()
    keys = [r.headers["Idempotency-Key"] for r in received]
    assert len(keys) == len(set(keys)), keys
    for r in received:
        assert callbacks.verify(secret, r.body, r.headers["X-Signature"]), r.headers
        assert not callbacks.verify("another secret", r.body, r.headers["X-Signature"])
    return [json.loads(r.body) for r in received]


@pytest.mark.django_db
def test_descriptions_fall_into_subtitle_pauses_and_repeats_are_dropped(
    describe_settings: Any, describe_client: Any, loopback: LoopbackServer, dubbed_clip: DubbedClip
) -> None:
    client, _token = describe_client
    loopback.fail_next = 1  # the receiver fails the very first callback once
    job = start_job(client, loopback, dubbed_clip)

    done = job_execute(job_id=job.id)

    assert done is not None and done.status == JobStatus.PROCESSED, done and done.error
    assert done.metadata["scenes"] == len(dubbed_clip.cut_times) + 1
    assert done.metadata["speech_source"] == "subtitles"
    results = list(done.results.order_by("index"))
    lines = [(start, end) for start, end, _text in dubbed_clip.lines]
    for result in results:
        assert result.end - result.timestamp >= MIN_PAUSE
        assert not any(overlaps((result.timestamp, result.end), line) for line in lines)
    # Shots 0 and 1 have no 2 s pause; shot 3 repeats shot 2 and is dropped.
    assert [r.scene for r in results] == [2, 4]
    assert done.metadata["duplicates"] == 1
    assert results[0].text != results[1].text

    payloads = check_signed_once(loopback, client.secret)
    assert loopback.failed == 1
    assert [p.get("text") for p in payloads[:-1]] == [r.text for r in results]
    assert payloads[-1] == {"id": str(job.id), "status": "PROCESSED", "results": 2}
    assert {"id", "timestamp", "end", "text", "scene"} <= payloads[0].keys()
    assert not CallbackDelivery.objects.filter(job=job, delivered_at__isnull=True).exists()

    assert job_execute(job_id=job.id) is None  # finished: a second delivery does nothing
    assert len(loopback.callbacks()) == len(payloads)


@pytest.mark.django_db
def test_without_subtitles_the_pauses_come_from_voice_activity(
    describe_settings: Any,
    describe_client: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _token = describe_client
    job = start_job(client, loopback, dubbed_clip, subtitles=False)
    opened = spy_on_av_open(monkeypatch)

    done = job_execute(job_id=job.id)

    assert done is not None and done.status == JobStatus.PROCESSED, done and done.error
    assert done.metadata["speech_source"] == "vad"
    assert set(done.metadata["speech_languages"]) == {"en"}  # descriptions follow the speech
    # Shots, the frames to describe and the audio's alignment all come from one decode pass.
    (decoded,) = decoding(opened)
    frames = round(dubbed_clip.duration * 25)
    assert decoded.video_reads >= frames and all(c.video_reads <= 1 for c in opened if c != decoded)
    results = list(done.results.all())
    assert results, "the long silence at the end leaves room for descriptions"
    for result in results:
        assert result.end - result.timestamp >= MIN_PAUSE
        for voice in dubbed_clip.spoken:
            assert not overlaps((result.timestamp, result.end), voice), (result, voice)


def _garbage() -> bytes:
    return bytes(range(256)) * 64


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "HTTP 404"),
        ("html", "'text/html', not a video"),
        ("garbage", "not a usable video"),
        ("dead", "connection refused"),
        ("too-large", "larger than the limit"),
        ("too-large-unannounced", "larger than the limit"),
        ("missing-subtitles", "subtitles URL answered HTTP 404"),
    ],
)
def test_a_job_that_cannot_be_done_ends_not_processed_with_the_reason(
    case: str,
    reason: str,
    describe_settings: Any,
    describe_client: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
    dead_url: str,
) -> None:
    client, _token = describe_client
    video = loopback.serve_file("/film.mp4", dubbed_clip.path)
    urls = {
        "missing": (loopback.url("/nothing.mp4"), None),
        "html": (loopback.serve_bytes("/page", b"<html>hi</html>", "text/html"), None),
        "garbage": (loopback.serve_bytes("/junk.mp4", _garbage(), "video/mp4"), None),
        "dead": (dead_url, None),
        "too-large": (video, None),
        "too-large-unannounced": (
            loopback.serve_file("/stream.mp4", dubbed_clip.path, send_length=False),
            None,
        ),
        "missing-subtitles": (video, loopback.url("/none.srt")),
    }
    if case.startswith("too-large"):
        describe_settings.DESCRIBE_MAX_VIDEO_BYTES = 20_000
    url, subtitles = urls[case]
    data = {"url": url, "subtitles": subtitles, "callback_url": loopback.url("/callback")}
    job = job_create(client=client, data=data, enqueue=False)

    done = job_execute(job_id=job.id)

    assert done is not None and done.status == JobStatus.NOT_PROCESSED
    assert reason in done.error
    assert not done.results.exists()
    (payload,) = check_signed_once(loopback, client.secret)
    assert payload["status"] == "NOT_PROCESSED" and reason in payload["reason"]


@pytest.mark.django_db
def test_loopback_is_refused_unless_allowed(
    settings: Any, user: Any, loopback: LoopbackServer, dubbed_clip: DubbedClip
) -> None:
    settings.DESCRIBE_ALLOW_PRIVATE_URLS = False
    settings.DESCRIBE_CALLBACK_BACKOFF_SECONDS = 0.01
    client, _token = client_create(owner=user, name="strict")
    video = loopback.serve_file("/film.mp4", dubbed_clip.path)
    data = {"url": video, "callback_url": loopback.url("/callback")}
    # Refused when the request arrives...
    with pytest.raises(JobRequestError, match="a loopback address"):
        job_create(client=client, data=data, enqueue=False)
    assert not DescribeJob.objects.exists()
    # ... and again when the job connects (a name may resolve elsewhere by then).
    job = DescribeJob.objects.create(client=client, url=video, callback_url=data["callback_url"])

    done = job_execute(job_id=job.id)

    assert done is not None and done.status == JobStatus.NOT_PROCESSED
    assert "127.0.0.1, a loopback address" in done.error
    assert loopback.callbacks() == []  # the callback target is refused just the same
    delivery = CallbackDelivery.objects.get(job=job)
    assert delivery.delivered_at is None and "loopback" in delivery.last_error

    trusted, _ = client_create(owner=user, name="trusted", allow_private_urls=True)
    allowed = job_create(client=trusted, data=data, enqueue=False)
    assert job_execute(job_id=allowed.id).status == JobStatus.PROCESSED  # type: ignore[union-attr]


@pytest.mark.django_db
def test_redirects_are_checked_hop_by_hop(
    settings: Any, user: Any, loopback: LoopbackServer, dubbed_clip: DubbedClip
) -> None:
    settings.DESCRIBE_ALLOW_PRIVATE_URLS = True
    target = loopback.serve_file("/film.mp4", dubbed_clip.path)
    loopback.routes["/go"] = Route(status=302, location=target)
    got = fetch.download(
        loopback.url("/go"),
        dubbed_clip.path.parent / "redirected.mp4",
        kind="video",
        max_bytes=10**9,
        allow_private=True,
        timeout=30,
        connect_timeout=5,
    )
    assert got.final_url == target and got.size == dubbed_clip.path.stat().st_size
    loopback.routes["/loop"] = Route(status=302, location=loopback.url("/loop"))
    with pytest.raises(fetch.FetchError, match="redirects"):
        fetch.download(
            loopback.url("/loop"),
            dubbed_clip.path.parent / "never.mp4",
            kind="video",
            max_bytes=10**9,
            allow_private=True,
            timeout=30,
            connect_timeout=5,
        )


# --- The HTTP API ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_process_api_needs_a_client_token_and_validates_urls(
    describe_client: Any, user: Any
) -> None:
    from analysis.models import ApiToken

    _client, token = describe_client
    web = Client()
    body = {"url": "https://example.org/film.mp4", "subtitles": None}
    for path in ("/process", "/api/process"):
        created = web.post(path, body, content_type="application/json", **bearer(token))
        assert created.status_code == 200, created.content
        assert created.json()["status"] == "QUEUED" and set(created.json()) == {"id", "status"}
        assert web.post(path, body, content_type="application/json").status_code == 401
    user_token = ApiToken.objects.issue(user=user)[1]  # a user's token is not a client's
    refused = web.post("/process", body, content_type="application/json", **bearer(user_token))
    assert refused.status_code == 401
    bad = web.post(
        "/process", {"url": "ftp://example.org/x"}, content_type="application/json", **bearer(token)
    )
    assert bad.status_code == 422 and "http and https" in bad.json()["detail"]


@pytest.mark.django_db
def test_results_are_readable_by_their_client_only_in_three_formats(
    describe_settings: Any,
    describe_client: Any,
    other_user: Any,
    user: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
) -> None:
    client, token = describe_client
    _stranger, stranger_token = client_create(owner=other_user, name="stranger")
    job = start_job(client, loopback, dubbed_clip)
    job_execute(job_id=job.id)
    web = Client()

    shown = web.get(f"/process/{job.id}", **bearer(token))
    assert shown.status_code == 200
    data = shown.json()
    assert data["status"] == "PROCESSED" and len(data["results"]) == 2
    assert web.get(f"/api/process/{job.id}", **bearer(token)).json() == data
    assert web.get(f"/process/{job.id}", **bearer(stranger_token)).status_code == 404

    vtt = web.get(f"/process/{job.id}.vtt", **bearer(token))
    assert vtt["Content-Type"].startswith("text/vtt")
    assert vtt.content.decode().startswith("WEBVTT\nKind: descriptions")
    cues = pysubs2.SSAFile.from_string(vtt.content.decode())
    assert [(c.start / 1000, c.end / 1000, c.text) for c in cues] == [
        (r["timestamp"], r["end"], r["text"]) for r in data["results"]
    ]
    srt = web.get(f"/process/{job.id}?format=srt", **bearer(token)).content.decode()
    assert [c.text for c in pysubs2.SSAFile.from_string(srt)] == [
        r["text"] for r in data["results"]
    ]
    assert web.get(f"/process/{job.id}.srt", **bearer(stranger_token)).status_code == 404

    owner, stranger = Client(), Client()
    owner.force_login(user)
    stranger.force_login(other_user)
    page = owner.get(f"/process/{job.id}/view")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'kind="descriptions"' in html and f"/process/{job.id}.vtt" in html
    assert "js/describe.js" in html and data["results"][0]["text"] in html
    assert stranger.get(f"/process/{job.id}/view").status_code == 404
    assert owner.get(f"/process/{job.id}.vtt").status_code == 200  # the page's track


@pytest.mark.django_db
def test_process_url_command_prints_the_descriptions(
    describe_settings: Any, loopback: LoopbackServer, dubbed_clip: DubbedClip, capsys: Any
) -> None:
    video = loopback.serve_file("/film.mp4", dubbed_clip.path)
    srt = loopback.serve_bytes("/film.srt", dubbed_clip.srt.encode(), "text/plain")
    call_command("process_url", video, "--subtitles", srt, "--language", "ru")
    out = capsys.readouterr().out
    job = DescribeJob.objects.get()
    assert job.client is None and job.status == JobStatus.PROCESSED
    assert out.strip().endswith("PROCESSED")
    for result in job.results.all():
        assert result.text in out and "тонах" in result.text


# --- Through the real broker -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_job_posted_to_the_api_runs_on_a_redis_worker(
    describe_worker: Any,
    describe_settings: Any,
    describe_client: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
) -> None:
    client, token = describe_client
    # The receiver is down for longer than the job's own tries (2 for the first result, 2
    # more at the end): the broker's callback actor delivers the backlog afterwards, in order.
    describe_settings.DESCRIBE_CALLBACK_ATTEMPTS = 2
    loopback.fail_next = 4
    body = {
        "url": loopback.serve_file("/film.mp4", dubbed_clip.path),
        "subtitles": loopback.serve_bytes("/film.srt", dubbed_clip.srt.encode(), "text/plain"),
        "callback_url": loopback.url("/hook"),
    }
    created = Client().post("/process", body, content_type="application/json", **bearer(token))
    job_id = created.json()["id"]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = DescribeJob.objects.get(pk=job_id)
        if job.is_final and any(json.loads(r.body).get("status") for r in loopback.callbacks()):
            break
        time.sleep(0.2)
    assert job.status == JobStatus.PROCESSED, job.error
    payloads = check_signed_once(loopback, client.secret)
    assert loopback.failed == 4
    assert len(payloads) == job.results.count() + 1 == 3
    assert [p.get("index") for p in payloads] == [0, 1, None]
    assert payloads[-1]["status"] == "PROCESSED"
    assert selectors.job_json(job)["results"][0]["delivered"] is True


# --- The job's page in a real browser --------------------------------------------------------

# Replaces the browser's speech synthesis with a recorder, before the page's scripts run.
SPEECH_RECORDER = """
window.__spoken = [];
class FakeUtterance { constructor(text) { this.text = text; } }
window.SpeechSynthesisUtterance = FakeUtterance;
Object.defineProperty(window, "speechSynthesis", { value: {
  speak(u) { window.__spoken.push(u.text); setTimeout(() => u.onend && u.onend(), 10); },
  cancel() {},
} });
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_job_page_speaks_each_description_at_its_cue(
    live_server: Any,
    describe_settings: Any,
    describe_client: Any,
    user: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
) -> None:
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from tests.e2e_server import CHROMIUM_ARGS, CHROMIUM_PATH

    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"no Chromium at {CHROMIUM_PATH}")
    client, _token = describe_client
    job = start_job(client, loopback, dubbed_clip)
    job_execute(job_id=job.id)
    results = list(job.results.order_by("index"))
    web = Client()
    web.force_login(user)
    cookie = {"name": "sessionid", "value": web.cookies["sessionid"].value, "url": live_server.url}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        # bypass_csp: Playwright's wait_for_function evals strings, which the pages' policy forbids
        # (the policy itself is tested by tests/frontend/test_csp_browser.py).
        context = browser.new_context(
            bypass_csp=True,
        )
        context.add_cookies([cookie])
        context.add_init_script(SPEECH_RECORDER)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/process/{job.id}/view")
        items = page.locator('[data-testid="describe-item"]')
        assert items.count() == len(results)
        page.wait_for_function("document.getElementById('describe-track').track.cues?.length > 0")
        for result in results:  # seeking into a cue makes it active, as playing there would
            page.evaluate(
                f"document.getElementById('describe-player').currentTime = {result.timestamp + 0.2}"
            )
            page.wait_for_function(f"window.__spoken.length >= {result.index + 1}")
        spoken = page.evaluate("window.__spoken")
        browser.close()
    assert spoken == [r.text for r in results]
    assert errors == []
