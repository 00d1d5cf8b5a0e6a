"""Bad input on purpose: every case gets a clear 4xx answer, leaves nothing behind, and the
server stays healthy. Files the upload accepts (damaged in the middle, silent, one frame,
variable frame rate, rotated) are analysed to the end.

The corpus is made at test time (tests/bad_inputs); uploads stream to a temp folder of the test
(``FILE_UPLOAD_MAX_MEMORY_SIZE = 0``) so a temp file left behind would be seen.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analysis import services
from analysis.models import Analysis, AnalysisStatus, TranscriptSegment, Video
from analysis.pipeline.runner import analysis_execute
from tests.bad_inputs import BROKEN_SRT, MEDIA_CASES, MediaCase, make

pytestmark = pytest.mark.django_db
REFUSED = [c for c in MEDIA_CASES if c.status != 201]
ACCEPTED = [c for c in MEDIA_CASES if c.status == 201]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-inputs")
    return {case.name: make(case, folder) for case in MEDIA_CASES}


@pytest.fixture
def upload_tmp(settings: Any, tmp_path: Path) -> Path:
    """Every upload goes through a temp file in a folder of this test's own."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return folder


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def assert_nothing_written(settings: Any, upload_tmp: Path) -> None:
    assert Video.objects.count() == 0
    assert files_under(Path(settings.MEDIA_ROOT)) == []
    assert files_under(upload_tmp) == []


def assert_healthy() -> None:
    response = Client().get("/api/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def assert_clear_4xx(response: Any, status: int, fragment: str = "") -> str:
    assert response.status_code == status, response.content[:500]
    detail = response.json()["detail"]
    assert detail, "the answer must say what is wrong"
    if isinstance(detail, str):
        assert fragment.lower() in detail.lower(), detail
        assert "Traceback" not in detail
    return str(detail)


def post_file(client: Client, name: str, content: bytes) -> Any:
    return client.post("/api/videos", {"file": SimpleUploadedFile(name, content)})


# --- Files the upload refuses ------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_unusable_files_are_refused_with_a_clear_message(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, settings: Any, case: MediaCase
) -> None:
    response = post_file(alice, case.filename, corpus[case.name].read_bytes())
    assert_clear_4xx(response, case.status, case.detail)
    assert_nothing_written(settings, upload_tmp)
    assert_healthy()


# --- Files the upload accepts and the analysis finishes ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_odd_but_readable_files_are_analysed_to_the_end(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, case: MediaCase
) -> None:
    """Decision for damage in the middle: the analysis completes with the frames that decode."""
    response = post_file(alice, case.filename, corpus[case.name].read_bytes())
    assert response.status_code == 201, response.content
    assert files_under(upload_tmp) == []
    video = Video.objects.get(pk=response.json()["id"])
    analysis = services.analysis_start(video=video, enqueue=False)

    done = analysis_execute(analysis_id=analysis.id)

    assert done is not None
    assert done.status == AnalysisStatus.COMPLETED, done.error
    scenes = list(done.scenes.order_by("index"))
    assert scenes and scenes[0].start_time == 0.0
    # The scenes cover the film up to its last readable frame.
    assert scenes[-1].end_time == pytest.approx(video.duration, abs=0.25)
    assert done.storylines.exists()
    assert_healthy()


def test_a_video_without_audio_is_accepted_as_such(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path
) -> None:
    response = post_file(alice, "silent.mp4", corpus["video without audio"].read_bytes())
    assert response.status_code == 201
    body = response.json()
    assert body["has_audio"] is False and body["audio_codec"] == ""


def test_a_rotated_video_records_its_rotation(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path
) -> None:
    response = post_file(alice, "phone.mp4", corpus["rotated 90 degrees"].read_bytes())
    assert response.status_code == 201
    assert Video.objects.get(pk=response.json()["id"]).rotation == 90


def test_variable_frame_rate_keeps_the_true_duration(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path
) -> None:
    response = post_file(alice, "vfr.mp4", corpus["variable frame rate"].read_bytes())
    assert response.status_code == 201
    body = response.json()
    assert body["duration"] == pytest.approx(3.0, abs=0.1)
    assert body["frame_count"] < 75  # frames were dropped, time was not


# --- Names ------------------------------------------------------------------------------------


def test_path_traversal_without_a_video_extension_is_refused(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, settings: Any
) -> None:
    data = corpus["video without audio"].read_bytes()
    response = post_file(alice, "../../etc/passwd", data)
    assert_clear_4xx(response, 400, "unsupported file type")
    assert_nothing_written(settings, upload_tmp)


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.mp4", "..\\..\\windows\\system32\\evil.mp4", "/abs/olute.mp4"]
)
def test_directory_parts_of_names_are_dropped(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, settings: Any, name: str
) -> None:
    response = post_file(alice, name, corpus["video without audio"].read_bytes())
    assert response.status_code == 201
    video = Video.objects.get(pk=response.json()["id"])
    assert "/" not in video.original_name and "\\" not in video.original_name
    assert ".." not in video.original_name
    stored = Path(video.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert stored.name == "source.mp4"  # the stored name never comes from the user


def test_an_over_long_name_is_shortened_keeping_its_extension(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path
) -> None:
    response = post_file(alice, "x" * 1000 + ".mp4", corpus["video without audio"].read_bytes())
    assert response.status_code == 201
    name = response.json()["original_name"]
    assert len(name) <= 255 and name.endswith(".mp4")


def multipart_with_raw_name(name: bytes, content: bytes) -> tuple[bytes, str]:
    """A multipart body whose filename is the given bytes, untouched (not valid UTF-8)."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: video/mp4\r\n\r\n'
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "raw_name",
    [
        b"nul\x00byte.mp4",
        b"tab\tand\x1bescape.mp4",
        "\u202egnp.mp4".encode(),  # a right-to-left override that would disguise the name
        "Фильм 🎬 финал.mp4".encode(),
    ],
    ids=["NUL byte", "control characters", "RTL override", "Cyrillic and emoji"],
)
def test_names_with_control_or_odd_characters_are_cleaned(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, raw_name: bytes
) -> None:
    body, content_type = multipart_with_raw_name(
        raw_name, corpus["video without audio"].read_bytes()
    )
    response = alice.generic("POST", "/api/videos", body, content_type=content_type)
    assert response.status_code == 201, response.content
    name = response.json()["original_name"]
    assert name.endswith(".mp4") and name.isprintable()
    assert Video.objects.get().original_name == name  # stored as it is shown
    assert files_under(upload_tmp) == []


def test_a_name_that_is_not_utf8_is_refused_without_writing(
    alice: Client, corpus: dict[str, Path], upload_tmp: Path, settings: Any
) -> None:
    """Django drops a multipart part whose headers are not UTF-8: the file is missing (422)."""
    body, content_type = multipart_with_raw_name(
        b"\xff\xfe\xe9t\xe9 \xc0\xc1.mp4", corpus["video without audio"].read_bytes()
    )
    response = alice.generic("POST", "/api/videos", body, content_type=content_type)
    detail = assert_clear_4xx(response, 422)
    assert "file" in detail
    assert_nothing_written(settings, upload_tmp)
    assert_healthy()


def test_a_multipart_part_without_a_file_says_the_file_is_missing(
    alice: Client, upload_tmp: Path, settings: Any
) -> None:
    body, content_type = multipart_with_raw_name(b"", b"")
    response = alice.generic("POST", "/api/videos", body, content_type=content_type)
    assert_clear_4xx(response, 422)
    assert_nothing_written(settings, upload_tmp)


# --- Parameters, ids and bodies ------------------------------------------------------------------


@pytest.fixture
def video(user: Any, corpus: dict[str, Path]) -> Video:
    return services.video_create_from_path(owner=user, path=corpus["video without audio"])


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "between 1 and"),
        (-3, "between 1 and"),
        (10**6, "between 1 and"),
        (10**40, "between 1 and"),
        ("many", ""),
        (2.5, ""),
        ([3], ""),
        ({"n": 3}, ""),
    ],
)
def test_num_storylines_out_of_range_or_not_a_number(
    alice: Client, video: Video, value: Any, fragment: str, settings: Any
) -> None:
    shutil.copy(video.file.path, Path(settings.SAMPLES_DIR) / "bikes.mp4")
    for url, body in (
        (f"/api/videos/{video.id}/analyses", {"num_storylines": value}),
        ("/api/analyze", {"filename": "bikes.mp4", "num_storylines": value}),
    ):
        response = alice.post(url, body, content_type="application/json")
        assert_clear_4xx(response, 422, fragment)
    assert Analysis.objects.count() == 0
    assert_healthy()


def test_num_storylines_as_a_numeric_string_is_read(alice: Client, video: Video) -> None:
    response = alice.post(
        f"/api/videos/{video.id}/analyses", {"num_storylines": "4"}, "application/json"
    )
    assert response.status_code == 201
    assert response.json()["parameters"]["num_storylines"] == 4


UNKNOWN = "6b1f2a9e-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/api/videos/{UNKNOWN}"),
        ("delete", f"/api/videos/{UNKNOWN}"),
        ("get", f"/api/videos/{UNKNOWN}/analyses"),
        ("post", f"/api/videos/{UNKNOWN}/analyses"),
        ("get", f"/api/analyses/{UNKNOWN}"),
        ("get", f"/api/analysis/{UNKNOWN}"),
        ("post", f"/api/analyses/{UNKNOWN}/cancel"),
        ("post", f"/api/analyses/{UNKNOWN}/rerun"),
        ("get", f"/api/analyses/{UNKNOWN}/scenes"),
        ("get", f"/api/analyses/{UNKNOWN}/transcript.srt"),
        ("get", f"/api/analyses/{UNKNOWN}/result.json"),
    ],
)
def test_unknown_ids_are_404_with_a_message(alice: Client, method: str, url: str) -> None:
    response = getattr(alice, method)(url, {}, content_type="application/json")
    assert_clear_4xx(response, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/api/videos/not-a-uuid",
        "/api/analyses/12345",
        "/api/analysis/%00",
        "/api/analyses/' OR 1=1 --",
    ],
)
def test_malformed_ids_are_4xx(alice: Client, url: str) -> None:
    response = alice.get(url)
    assert 400 <= response.status_code < 500
    assert_healthy()


@pytest.mark.parametrize(
    "path",
    [f"/analyses/{UNKNOWN}/", f"/videos/{UNKNOWN}/", f"/media/videos/1/{UNKNOWN}/source.mp4"],
)
def test_unknown_pages_and_files_are_404(alice: Client, path: str) -> None:
    assert alice.get(path).status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"num_storylines": 3', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
        ("\xff\xfe garbage", "application/json"),
        ("num_storylines=3", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_json_bodies_are_4xx_with_a_message(
    alice: Client, video: Video, body: str, content_type: str
) -> None:
    for url in (f"/api/videos/{video.id}/analyses", "/api/analyze"):
        response = alice.post(url, body, content_type=content_type)
        assert 400 <= response.status_code < 500, (url, body, response.content[:300])
        assert response.json()["detail"]
    assert Analysis.objects.count() == 0
    assert_healthy()


@pytest.mark.allow_errors  # Django logs RequestDataTooBig on its security logger (ERROR)
def test_a_json_body_over_the_memory_limit_is_refused(
    alice: Client, video: Video, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"num_storylines": 3, "language": "' + "x" * 5000 + '"}'
    response = alice.post(f"/api/videos/{video.id}/analyses", body, "application/json")
    assert 400 <= response.status_code < 500
    assert Analysis.objects.count() == 0


# --- Subtitles with broken timings ---------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BROKEN_SRT), ids=sorted(BROKEN_SRT))
def test_broken_subtitles_fail_the_analysis_with_the_reason(
    video: Video, settings: Any, case: str
) -> None:
    srt = Path(settings.MEDIA_ROOT) / "subtitles" / "broken.srt"
    srt.parent.mkdir(parents=True, exist_ok=True)
    srt.write_text(BROKEN_SRT[case], encoding="utf-8")
    analysis = Analysis.objects.create(
        video=video,
        parameters={
            "num_storylines": None,
            "subtitles_path": str(srt),
            "stages": ["probe", "shots", "keyframes", "audio", "transcript"],
        },
    )
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == AnalysisStatus.FAILED
    assert "subtitles" in done.error.lower() or "cue" in done.error.lower(), done.error
    assert "Internal error" not in done.error
    assert not TranscriptSegment.objects.filter(analysis=done).exists()
    assert not (Path(settings.VAR_DIR) / "work" / str(done.id)).exists()


def test_a_cue_ending_before_it_starts_is_named() -> None:
    from analysis.subtitles import SubtitlesError, parse_subtitles_text

    with pytest.raises(SubtitlesError, match=r"Cue 1 ends before it starts \(00:00:05,000"):
        parse_subtitles_text(BROKEN_SRT["end before start"], "srt")


@pytest.mark.parametrize("case", sorted(BROKEN_SRT), ids=sorted(BROKEN_SRT))
def test_a_describe_job_with_broken_subtitles_ends_not_processed(
    case: str,
    describe_settings: Any,
    describe_client: Any,
    loopback: Any,
    corpus: dict[str, Path],
) -> None:
    from describe.models import JobStatus
    from describe.processing import job_execute
    from describe.services import job_create

    client, _token = describe_client
    video_url = loopback.serve_file("/film.mp4", corpus["video without audio"])
    srt_url = loopback.serve_bytes("/broken.srt", BROKEN_SRT[case].encode(), "application/x-subrip")
    job = job_create(client=client, data={"url": video_url, "subtitles": srt_url}, enqueue=False)

    done = job_execute(job_id=job.id)

    assert done is not None and done.status == JobStatus.NOT_PROCESSED
    assert "subtitles" in done.error.lower(), done.error
    assert not done.results.exists()


# --- Text the database cannot hold ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "what"),
    [("a\x00b", "NUL character"), ("x" * 5000, "text over the column length")],
)
@pytest.mark.django_db(transaction=True)  # each request commits or rolls back, as in production
def test_unstorable_text_is_a_4xx_not_a_server_error(
    alice: Client, owned: Any, value: str, what: str
) -> None:
    """Found by schemathesis: a NUL in a storyline name was a 500 (Postgres refuses NUL)."""
    analysis_id, video_id = owned.ids["analysis_id"], owned.ids["video_id"]
    requests = [
        (f"/api/analyses/{analysis_id}/story/storylines", {"name": value, "scene_ids": []}),
        (f"/api/videos/{video_id}/analyses", {"language": value}),
        (f"/api/characters/{owned.ids['character_id']}", {"name": value}),
    ]
    for url, body in requests:
        method = alice.patch if "/characters/" in url else alice.post
        response = method(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (what, url, response.content[:300])
        assert response.json()["detail"]
    assert Analysis.objects.count() == 1  # nothing half-written
    assert_healthy()
