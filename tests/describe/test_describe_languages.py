"""Descriptions follow the language of the speech around their pause (issue 17)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from describe.models import DescribeJob
from describe.processing import JobRun
from tests.fixtures_media import RU_SENTENCE, speak


def job_run(tmp_path: Path, language: str = "") -> JobRun:
    return JobRun(
        job=DescribeJob(url="https://example.org/film.mp4", language=language), workdir=tmp_path
    )


def test_a_description_takes_the_language_of_the_speech_its_pause_follows(
    tmp_path: Path, settings: Any
) -> None:
    settings.DESCRIBE_LANGUAGE = "en"
    run = job_run(tmp_path)
    run.spoken = [(1.0, 3.0, "ru"), (6.0, 8.0, "en")]
    assert [run.language_at(t) for t in (0.5, 4.0, 5.9, 9.0)] == ["ru", "ru", "ru", "en"]
    run.spoken = []
    assert run.language_at(4.0) == "en"  # no speech heard: the service's language
    named = job_run(tmp_path, language="ru")
    named.spoken = [(1.0, 3.0, "en")]
    assert named.language_at(4.0) == "ru"  # the client's choice wins


@pytest.mark.slow
def test_russian_speech_is_identified_with_the_whisper_model(tmp_path: Path) -> None:
    from mediakit.audio import decode_audio

    wav = speak(tmp_path / "ru.wav", RU_SENTENCE, voice="ru+f3", rate=150)
    samples = decode_audio(wav)
    run = job_run(tmp_path)
    spoken = run.speech_languages(samples)
    assert spoken and {language for _s, _e, language in spoken} == {"ru"}
    assert set(run.metadata["speech_languages"]) == {"ru"}
    assert job_run(tmp_path, language="en").speech_languages(samples) == []  # named: no model


def test_following_the_speech_can_be_switched_off(tmp_path: Path, settings: Any) -> None:
    settings.DESCRIBE_FOLLOW_SPEECH_LANGUAGE = False
    assert job_run(tmp_path).speech_languages(None) == []


def languages_around(moment: float) -> set[str]:
    """The languages a description at ``moment`` in ``mixed_language_clip`` may follow: its
    shot's sentence or, before that starts, the previous shot's (English, Russian, English)."""
    languages = ("en", "ru", "en")
    shot = min(int(moment // 9), 2)
    return {languages[shot], languages[max(shot - 1, 0)]}


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("pauses", ["speech", "subtitles"])
def test_a_library_job_describes_in_the_language_of_the_speech_around_each_pause(
    user: Any, alice: Any, mixed_language_clip: Any, describe_settings: Any, pauses: str
) -> None:
    from analysis.services import video_attach_subtitles, video_create_from_path
    from describe.processing import job_execute
    from describe.selectors import job_vtt
    from describe.services import job_create_for_video
    from tests.fixtures_describe import make_srt

    describe_settings.DESCRIBE_LANGUAGE = "en"
    describe_settings.DESCRIBE_MIN_PAUSE_SECONDS = 0.8
    describe_settings.DESCRIBE_SIMILARITY_THRESHOLD = 1.1  # the test patterns look alike: keep all
    video = video_create_from_path(owner=user, path=mixed_language_clip.path)
    if pauses == "subtitles":  # the sentences' spans, as a client's subtitles give them
        lines = [(0.5, 4.0, "Quick fox"), (9.5, 17.0, "Привет"), (18.5, 22.0, "Call Stella")]
        srt = make_srt(lines).encode()
        video = video_attach_subtitles(video=video, fileobj=io.BytesIO(srt), original_name="s.srt")
    job = job_create_for_video(video=video, language="", pauses=pauses)
    finished = job_execute(job_id=job.pk)
    assert finished is not None and not finished.error, finished.error
    assert finished.metadata["speech_source"] == pauses.replace("speech", "vad")
    assert set(finished.metadata["speech_languages"]) == {"en", "ru"}
    results = list(finished.results.order_by("index"))
    assert all(r.language in languages_around(r.timestamp) for r in results)
    vtt = job_vtt(finished)
    counts = {lang: sum(r.language == lang for r in results) for lang in ("en", "ru")}
    main = max(counts, key=counts.__getitem__)
    assert f"\nLanguage: {main}\n" in vtt
    assert f'srclang="{main}"' in alice.get(f"/process/{finished.pk}/view").content.decode()
    spans = re.findall(r"^<lang (\w+)>", vtt, flags=re.MULTILINE)
    assert spans == [r.language for r in results]
    named = job_create_for_video(video=video, language="ru", pauses=pauses)
    described = job_execute(job_id=named.pk)
    assert described is not None and "speech_languages" not in described.metadata  # no model
    assert {r.language for r in described.results.all()} == {"ru"}
    assert "\nLanguage: ru\n" in job_vtt(described)
