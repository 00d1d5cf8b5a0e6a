"""Descriptions follow the language of the speech around their pause (issue 17)."""

from __future__ import annotations

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
