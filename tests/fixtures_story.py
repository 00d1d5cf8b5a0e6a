"""A generated video for the story app: two storylines share a recording, a third differs.

Six 2-second shots, interleaved A C B C A B. A and B are filmed "with the same camera and
microphone": the same espeak voice over a 100 Hz mains hum, each with its own test picture; C has
another picture, another voice (female, faster) and no hum. Their sentences all differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_media import FPS, ffmpeg, speak, video_inputs

SHOT_SECONDS = 2.0
STORY = "ACBCAB"
SENTENCES = {
    "A": ["The river is high tonight.", "Boats wait by the river bank."],
    "B": ["Prices rose again this morning.", "The market closed lower today."],
    "C": ["Count the stars above us.", "A comet crossed the sky."],
}
VOICES = {"A": ("en", 150), "B": ("en", 150), "C": ("en+f3", 185)}
PICTURES = {"A": "testsrc2", "B": "testsrc", "C": "smptebars"}


@dataclass(frozen=True)
class StoryClip:
    path: Path
    labels: str  # storyline of each shot, in order


def _audio_filter(first_input: int) -> str:
    parts = []
    for i, story in enumerate(STORY):
        hum = story in "AB"
        chain = (
            f"[{first_input + i}:a]aresample=44100,adelay=150:all=1,"
            f"apad=whole_dur={SHOT_SECONDS},atrim=0:{SHOT_SECONDS}"
        )
        if hum:  # the shared recording chain: a mains hum under the voice
            parts.append(f"{chain}[v{i}]")
            parts.append(
                f"sine=frequency=100:sample_rate=44100:duration={SHOT_SECONDS},volume=0.08[h{i}]"
            )
            parts.append(f"[v{i}][h{i}]amix=inputs=2:duration=first:normalize=0[s{i}]")
        else:
            parts.append(f"{chain}[s{i}]")
    joined = "".join(f"[s{i}]" for i in range(len(STORY)))
    return ";".join([*parts, f"{joined}concat=n={len(STORY)}:v=0:a=1[a]"])


@pytest.fixture(scope="session")
def story_clip(tmp_path_factory: pytest.TempPathFactory) -> StoryClip:
    folder = tmp_path_factory.mktemp("story-media")
    used = {"A": 0, "B": 0, "C": 0}
    wavs = []
    for i, story in enumerate(STORY):
        voice, rate = VOICES[story]
        text = SENTENCES[story][used[story]]
        used[story] += 1
        wavs.append(speak(folder / f"shot{i}.wav", text, voice=voice, rate=rate))
    inputs, video_filter = video_inputs([(PICTURES[s], SHOT_SECONDS) for s in STORY])
    audio_inputs = [arg for wav in wavs for arg in ("-i", str(wav))]
    path = folder / "story.mp4"
    ffmpeg(
        *inputs,
        *audio_inputs,
        "-filter_complex",
        f"{video_filter};{_audio_filter(len(STORY))}",
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:a",
        "aac",
        "-ar",
        "44100",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-r",
        str(FPS),
        str(path),
    )
    return StoryClip(path, STORY)
