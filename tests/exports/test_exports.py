"""Exports: the produced files are probed (ffprobe, frame colours, OpenTimelineIO parse-back)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import opentimelineio as otio
import pytest
from django.test import Client

from analysis.subtitles import parse_subtitles_text
from exports import services
from exports.models import ExportJob
from mediakit import cutting
from story import services as story_services
from story.models import Storyline
from tests.fixtures_timeline import (
    ASSIGNMENT,
    FPS,
    NAMES,
    ColourClip,
    frame_colours,
    nearest_colour,
)

pytestmark = pytest.mark.django_db


def storyline(analysis: Any, number: int) -> Storyline:
    return Storyline.objects.get(analysis=analysis, order=number - 1)


def run(
    analysis: Any, kind: str, storyline_id: int | None = None, mode: str | None = None
) -> ExportJob:
    job, created = services.export_request(
        analysis=analysis, kind=kind, storyline_id=storyline_id, mode=mode, enqueue=False
    )
    assert created
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error
    return job


def members(number: int) -> list[int]:
    return [i for i, where in enumerate(ASSIGNMENT) if where == number - 1]


def video_frames(path: Path) -> int:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def scene_bounds(clip: ColourClip) -> list[tuple[float, float]]:
    bounds = [0.0, *clip.cuts, sum(clip.seconds)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(clip.seconds))]


def test_exact_cut_has_the_storylines_frames_in_order(
    seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    job = run(seeded_analysis, "mp4", storyline(seeded_analysis, 2).pk, "exact")
    path = Path(job.file.path)
    wanted = members(2)  # scenes 2, 4, 6: green, yellow, cyan
    frames = [round(colour_clip.seconds[i] * FPS) for i in wanted]
    assert video_frames(path) == sum(frames)
    assert cutting.probe_duration(path) == pytest.approx(sum(frames) / FPS, abs=0.08)
    shown = [nearest_colour(c) for c in frame_colours(path)]
    # Frame by frame: scene 2's frames, then scene 4's, then scene 6's, nothing else.
    assert shown == [i for i, count in zip(wanted, frames, strict=True) for _ in range(count)]
    assert job.metadata["encoder"] == "libx264"
    assert job.content_type == "video/mp4"


def test_stream_copy_cut_widens_to_keyframes_and_keeps_the_order(
    seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    job = run(seeded_analysis, "mp4", storyline(seeded_analysis, 1).pk, "copy")
    path = Path(job.file.path)
    # Scenes 1, 3, 5 = [0, 1.0], [2.6, 3.8], [5.8, 7.2]; keyframes every second.
    assert job.metadata["spans"] == [[0.0, 1.0], [2.0, 4.0], [5.0, 8.0]]
    # Packets are copied: a span may carry the B-frames that end its last GOP (<= 3 frames).
    assert 6 * FPS <= video_frames(path) <= 6 * FPS + 3 * 3
    assert cutting.probe_duration(path) == pytest.approx(6.0, abs=0.3)
    shown = [nearest_colour(c) for c in frame_colours(path)]
    # The widened spans in the source: [0, 1) red; [2, 4) green, blue, yellow; [5, 8) ...
    bounds = scene_bounds(colour_clip)
    source = [
        next(i for i, (a, b) in enumerate(bounds) if a <= (k + 0.5) / FPS < b)
        for k in range(9 * FPS)
    ]
    wanted = source[0:25] + source[50:100] + source[125:200]
    # Copied packets may add up to 3 B-frames at a span's end: compare runs of colours.
    assert [c for c, _ in runs(shown)] == [c for c, _ in runs(wanted)] == [0, 1, 2, 3, 4, 5]
    for (_, got), (_, want) in zip(runs(shown), runs(wanted), strict=True):
        assert want <= got <= want + 3  # libx264 makes at most 3 B-frames in a row


def runs(values: list[int]) -> list[tuple[int, int]]:
    """``[(value, how many in a row)]``."""
    result: list[tuple[int, int]] = []
    for value in values:
        if result and result[-1][0] == value:
            result[-1] = (value, result[-1][1] + 1)
        else:
            result.append((value, 1))
    return result


def test_copy_is_faster_than_exact_but_both_cover_the_scenes(seeded_analysis: Any) -> None:
    line = storyline(seeded_analysis, 1)
    copy = run(seeded_analysis, "mp4", line.pk, "copy")
    exact = run(seeded_analysis, "mp4", line.pk, "exact")
    assert copy.metadata["cut_duration"] >= exact.metadata["cut_duration"]
    assert exact.metadata["cut_duration"] == pytest.approx(3.6, abs=0.01)
    assert copy.pk != exact.pk and copy.filename != exact.filename


@pytest.mark.parametrize("kind", ["edl", "otio", "fcpxml"])
def test_edit_lists_parse_back_with_the_same_in_and_out_points(
    seeded_analysis: Any, colour_clip: ColourClip, kind: str
) -> None:
    line = storyline(seeded_analysis, 1)
    job = run(seeded_analysis, kind, line.pk)
    text = Path(job.file.path).read_text(encoding="utf-8")
    adapter = {"edl": "cmx_3600", "otio": "otio_json", "fcpxml": "fcp_xml"}[kind]
    extra = {"rate": FPS} if kind == "edl" else {}
    timeline = otio.adapters.read_from_string(text, adapter, **extra)
    clips = list(timeline.video_tracks()[0].find_clips())
    bounds = scene_bounds(colour_clip)
    assert [c.name.strip() for c in clips] == [f"scene_{i + 1}" for i in members(1)]
    record = 0
    for clip, i in zip(clips, members(1), strict=True):
        start, end = bounds[i]
        assert clip.source_range.start_time.to_frames() == round(start * FPS)
        assert clip.source_range.duration.to_frames() == round((end - start) * FPS)
        assert clip.range_in_parent().start_time.to_frames() == record  # back to back
        record += round((end - start) * FPS)
    if kind == "fcpxml":
        assert "<xmeml" in text and len(timeline.audio_tracks()) == 1


def test_whole_analysis_timeline_has_a_track_per_storyline_at_film_positions(
    seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    job = run(seeded_analysis, "otio")
    timeline = otio.adapters.read_from_file(job.file.path)
    tracks = timeline.video_tracks()
    assert [t.name for t in tracks] == NAMES
    bounds = scene_bounds(colour_clip)
    for number, track in enumerate(tracks, start=1):
        clips = list(track.find_clips())
        assert [c.name for c in clips] == [f"scene_{i + 1}" for i in members(number)]
        for clip, i in zip(clips, members(number), strict=True):
            # On the storyline's track each scene sits where it is in the film.
            assert clip.range_in_parent().start_time.to_frames() == round(bounds[i][0] * FPS)
        assert track.markers[0].name == NAMES[number - 1]
    edl = run(seeded_analysis, "edl")
    flat = otio.adapters.read_from_file(edl.file.path, rate=FPS)
    assert len(list(flat.video_tracks()[0].find_clips())) == len(ASSIGNMENT)


def test_subtitle_times_line_up_with_the_cut(seeded_analysis: Any) -> None:
    line = storyline(seeded_analysis, 2)
    srt = run(seeded_analysis, "srt", line.pk)
    vtt = run(seeded_analysis, "vtt", line.pk)
    assert srt.mode == vtt.mode == ""  # subtitles follow the exact scenes: no cut mode
    scenes = list(seeded_analysis.scenes.filter(index__in=members(2)).order_by("index"))
    spans = [cutting.Span(s.start_time, s.end_time) for s in scenes]
    offsets = cutting.cut_offsets(spans)
    expected = []
    for scene, offset, span in zip(scenes, offsets, spans, strict=True):
        words = scene.segments.get().words
        shift = offset - span.start
        expected.append((words[0]["start"] + shift, words[-1]["end"] + shift))
    cues = parse_srt(Path(srt.file.path).read_text(encoding="utf-8"))
    for (start, end, _), (want_start, want_end) in zip(cues, expected, strict=True):
        assert start == pytest.approx(want_start, abs=0.002)
        assert end == pytest.approx(want_end, abs=0.002)
    said = [(s.segments.get().text, s.segments.get().language) for s in scenes]
    for job in (srt, vtt):  # read back: each line's text and language
        back = parse_subtitles_text(Path(job.file.path).read_text(encoding="utf-8"), job.kind)
        assert [(c.text, c.language) for c in back] == said
    text = Path(vtt.file.path).read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\nLanguage: en\n\n")
    assert text.count(" --> ") == len(cues)
    assert srt.content_type.startswith("application/x-subrip")
    assert vtt.content_type.startswith("text/vtt")


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = lines[1].split(" --> ")
        cues.append((seconds(start), seconds(end), " ".join(lines[2:])))
    return cues


def test_storyline_json_and_scenes_csv(seeded_analysis: Any) -> None:
    line = storyline(seeded_analysis, 1)
    data = json.loads(Path(run(seeded_analysis, "json", line.pk).file.path).read_text("utf-8"))
    assert data["name"] == NAMES[0]
    assert [s["id"] for s in data["scenes"]] == [f"scene_{i + 1}" for i in members(1)]
    assert data["cut"][1]["cut_start"] == pytest.approx(1.0)
    assert data["cut"][-1]["cut_end"] == pytest.approx(3.6)
    csv_text = Path(run(seeded_analysis, "csv").file.path).read_text("utf-8-sig")
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("scene_id,index,start_time")
    assert len(rows) == 1 + len(ASSIGNMENT)
    assert rows[1].split(",")[7] == NAMES[0] and rows[2].split(",")[7] == NAMES[1]


def test_zip_holds_every_storylines_files(seeded_analysis: Any) -> None:
    job = run(seeded_analysis, "zip")
    with zipfile.ZipFile(job.file.path) as archive:
        names = set(archive.namelist())
        stem = "Фильм цвета"
        for number, name in enumerate(NAMES, start=1):
            base = f"{number:02d} {name}/{stem} - {name}"
            for ext in (".mp4", ".edl", ".otio", ".xml", ".srt", ".vtt", ".json"):
                assert base + ext in names
        assert f"{stem} - analysis.json" in names
        data = archive.read(f"01 {NAMES[0]}/{stem} - {NAMES[0]}.json")
    assert json.loads(data)["name"] == NAMES[0]
    assert job.filename == f"{stem} - storylines.zip"


def test_a_finished_export_is_reused_until_the_storylines_change(
    seeded_analysis: Any, user: Any
) -> None:
    line = storyline(seeded_analysis, 1)
    first = run(seeded_analysis, "edl", line.pk)
    again, created = services.export_request(
        analysis=seeded_analysis, kind="edl", storyline_id=line.pk, enqueue=False
    )
    assert not created and again.pk == first.pk
    scene = seeded_analysis.scenes.get(index=1)
    story_services.move_scene(
        analysis=seeded_analysis, user=user, scene=scene, storyline_id=line.pk
    )
    fresh, created = services.export_request(
        analysis=seeded_analysis, kind="edl", storyline_id=line.pk, enqueue=False
    )
    assert created and fresh.pk != first.pk
    services.export_execute(job_id=fresh.pk)
    fresh.refresh_from_db()
    timeline = otio.adapters.read_from_file(fresh.file.path, rate=FPS)
    assert [c.name.strip() for c in timeline.video_tracks()[0].find_clips()] == [
        "scene_1",
        "scene_2",
        "scene_3",
        "scene_5",
    ]


def test_api_request_follow_and_download_with_names_and_types(
    alice: Client, seeded_analysis: Any
) -> None:
    line = storyline(seeded_analysis, 1)
    url = f"/api/analyses/{seeded_analysis.pk}/exports"
    response = alice.post(
        url, {"kind": "vtt", "storyline_id": line.pk}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None
    services.export_execute(job_id=body["id"])
    job = alice.get(f"/api/exports/{body['id']}").json()
    assert job["status"] == "completed" and job["stale"] is False
    download = alice.get(job["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/vtt; charset=utf-8"
    name = "Фильм цвета - Погоня.vtt"
    assert f"filename*=utf-8''{quote(name)}" in download["Content-Disposition"]
    assert b"".join(download.streaming_content).startswith(b"WEBVTT")
    cached = alice.post(
        url, {"kind": "vtt", "storyline_id": line.pk}, content_type="application/json"
    )
    assert cached.status_code == 200 and cached.json()["cached"] is True
    listed = alice.get(url).json()
    assert [j["id"] for j in listed] == [body["id"]]


def test_other_users_get_404_everywhere(alice: Client, bob: Client, seeded_analysis: Any) -> None:
    job = run(seeded_analysis, "json")
    url = f"/api/analyses/{seeded_analysis.pk}/exports"
    assert bob.post(url, {"kind": "json"}, content_type="application/json").status_code == 404
    assert bob.get(url).status_code == 404
    assert bob.get(f"/api/exports/{job.pk}").status_code == 404
    assert bob.get(f"/api/exports/{job.pk}/download").status_code == 404
    assert alice.get(f"/api/exports/{job.pk}/download").status_code == 200
    assert bob.get(f"/media/{job.file.name}").status_code == 404
    assert Client().get(f"/api/exports/{job.pk}/download").status_code in (401, 403)


def test_bad_requests_say_what_is_wrong(alice: Client, seeded_analysis: Any) -> None:
    url = f"/api/analyses/{seeded_analysis.pk}/exports"
    line = storyline(seeded_analysis, 1)
    cases = [
        ({"kind": "gif"}, 400, "Unknown export kind"),
        ({"kind": "mp4"}, 400, "whole-analysis export is one of"),
        ({"kind": "zip", "storyline_id": line.pk}, 400, "storyline export is one of"),
        ({"kind": "mp4", "storyline_id": line.pk, "mode": "fast"}, 400, "mode must be"),
        ({"kind": "srt", "storyline_id": line.pk, "mode": "copy"}, 400, "has no cut mode"),
        ({"kind": "mp4", "storyline_id": 999999}, 400, "No storyline 999999"),
    ]
    for payload, status, text in cases:
        response = alice.post(url, payload, content_type="application/json")
        assert response.status_code == status
        assert text in response.json()["detail"]
    seeded_analysis.status = "running"
    seeded_analysis.save()
    response = alice.post(url, {"kind": "json"}, content_type="application/json")
    assert response.status_code == 409
    assert not ExportJob.objects.exists()


def test_a_missing_video_file_fails_the_job_with_a_message(seeded_analysis: Any) -> None:
    line = storyline(seeded_analysis, 1)
    job, _ = services.export_request(
        analysis=seeded_analysis, kind="mp4", storyline_id=line.pk, enqueue=False
    )
    Path(seeded_analysis.video.file.path).unlink()
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "missing" in job.error
    assert not job.file


@pytest.mark.django_db(transaction=True)
def test_progress_and_the_result_reach_the_owners_websocket(
    user: Any, colour_clip: ColourClip
) -> None:
    from channels.testing import WebsocketCommunicator

    from frontend.seeding import seed_analysis
    from videoanalyzer.asgi import application

    analysis = seed_analysis(
        owner=user,
        video_path=colour_clip.path,
        cuts=colour_clip.cuts,
        storylines=2,
        assignment=ASSIGNMENT,
        names=NAMES,
    )
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"cookie", cookie), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    line = storyline(analysis, 1)

    async def scenario() -> list[dict[str, Any]]:
        socket = WebsocketCommunicator(application, f"/ws/analyses/{analysis.pk}/", headers)
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=5))["type"] == "progress"
        job = await asyncio.to_thread(run, analysis, "mp4", line.pk, "exact")
        events = []
        while not events or events[-1]["status"] != "completed":
            events.append(await socket.receive_json_from(timeout=10))
        await socket.disconnect()
        assert events[-1]["id"] == str(job.pk)
        return events

    events = asyncio.run(scenario())
    assert {e["type"] for e in events} == {"export.progress"}
    assert events[0]["status"] == "queued"
    assert events[-1]["download_url"] and events[-1]["progress"] == 1.0


def test_encoder_selection_prefers_nvenc_only_when_it_can_run() -> None:
    both = frozenset({"libx264", "h264_nvenc"})
    cpu_only = frozenset({"libx264"})
    assert cutting.select_video_encoder("auto", both, has_cuda=True) == "h264_nvenc"
    assert cutting.select_video_encoder("auto", both, has_cuda=False) == "libx264"
    assert cutting.select_video_encoder("auto", cpu_only, has_cuda=True) == "libx264"
    assert cutting.select_video_encoder("cpu", both, has_cuda=True) == "libx264"
    assert cutting.select_video_encoder("cuda", cpu_only, has_cuda=False) == "libx264"
    assert "libx264" in cutting.available_encoders()
    assert cutting.encoder_args("h264_nvenc")[:2] == ["-c:v", "h264_nvenc"]


def test_spans_merge_and_snap() -> None:
    spans = cutting.merge_spans(
        [cutting.Span(2.0, 3.0), cutting.Span(0.0, 1.0), cutting.Span(1.0, 1.5)]
    )
    assert spans == [cutting.Span(0.0, 1.5), cutting.Span(2.0, 3.0)]
    snapped = cutting.snap_to_keyframes(spans, [0.0, 1.0, 2.0, 4.0], duration=5.0)
    assert snapped == [cutting.Span(0.0, 4.0)]  # 1.5 widens to 2.0, touching the next span
    assert cutting.snap_to_keyframes([cutting.Span(4.5, 4.9)], [0.0, 4.0], 5.0) == [
        cutting.Span(4.0, 5.0)
    ]
    assert cutting.cut_offsets([cutting.Span(1, 2), cutting.Span(5, 7)]) == [0.0, 1.0]


def test_download_names_are_safe() -> None:
    assert services.safe_name('a/b:c*?"<>|d') == "a_b_c_d"
    assert services.safe_name("  ..  ") == "export"
    assert services.safe_name("Сцена 1") == "Сцена 1"
