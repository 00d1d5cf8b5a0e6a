"""A finished analysis made up for a real video: demos, browser tests and the timeline benchmark.

``seed_analysis`` stores the video like an upload, then writes scenes (at given cuts, or a
given number of pseudo-random lengths), storylines that interleave, relevance, interest and a
transcript with word timings, exactly in the shapes the pipeline writes. Nothing is analysed:
use it to exercise the workbench with 1,500 scenes without running the models for hours.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus, Scene, TranscriptSegment, Video
from analysis.services import video_create_from_path
from story.models import Storyline, StorylineScene

PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]
WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "and",
    "then",
    "runs",
    "back",
    "home",
    "привет",
    "как",
    "дела",
    "сегодня",
    "хорошая",
    "погода",
    "мы",
    "идём",
    "домой",
)


def scene_bounds(duration: float, count: int, rng: random.Random) -> list[float]:
    """``count + 1`` boundaries from 0 to ``duration`` with lengths varying 0.3x to 1.7x."""
    weights = [rng.uniform(0.3, 1.7) for _ in range(count)]
    total = sum(weights)
    bounds, at = [0.0], 0.0
    for weight in weights[:-1]:
        at += duration * weight / total
        bounds.append(at)
    return [*bounds, duration]


def interleaved(count: int, storylines: int, rng: random.Random) -> list[int]:
    """A storyline per scene in runs of 1..6 scenes, as threads of a film alternate."""
    result: list[int] = []
    current = 0
    while len(result) < count:
        result += [current] * rng.randint(1, 6)
        current = (current + rng.randint(1, max(1, storylines - 1))) % storylines
    return result[:count]


def _words(start: float, end: float, rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """A few words evenly spread over the middle of a scene, with their timings."""
    span = end - start
    n = max(1, min(8, int(span * 2)))
    first, step = start + span * 0.1, span * 0.8 / n
    words = []
    for i in range(n):
        token = rng.choice(WORDS)
        w_start = first + i * step
        words.append(
            {
                "word": f" {token}",
                "start": round(w_start, 3),
                "end": round(w_start + step * 0.9, 3),
                "probability": 0.9,
            }
        )
    return "".join(str(w["word"]) for w in words).strip(), words


@transaction.atomic
def seed_analysis(
    *,
    owner: User,
    video_path: Path,
    cuts: Sequence[float] | None = None,
    scenes: int = 12,
    storylines: int = 3,
    assignment: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    seed: int = 0,
    thumbnails: bool = True,
    insights: bool = False,
    unsure: Sequence[int] = (),
) -> Analysis:
    """A completed analysis of ``video_path``: scenes at ``cuts`` (seconds) or ``scenes``
    pseudo-random ones, storyline ``assignment[i]`` per scene (else interleaved runs); the
    scenes at positions ``unsure`` get a storyline confidence below the review threshold."""
    rng = random.Random(seed)
    video = Video.objects.filter(owner=owner, original_name=video_path.name).first()
    video = video or video_create_from_path(owner=owner, path=video_path)
    bounds = (
        [0.0, *cuts, video.duration]
        if cuts is not None
        else scene_bounds(video.duration, scenes, rng)
    )
    count = len(bounds) - 1
    analysis = Analysis.objects.create(
        video=video,
        status=AnalysisStatus.COMPLETED,
        progress=1.0,
        message="Seeded",
        parameters={"num_storylines": storylines},
        metadata={"seeded": True},
        started_at=timezone.now(),
        finished_at=timezone.now(),
        analysis_time_seconds=0.0,
    )
    rows = _scenes(analysis, video, bounds)
    placed = list(assignment) if assignment is not None else interleaved(count, storylines, rng)
    lines = [
        Storyline.objects.create(
            analysis=analysis,
            order=i,
            color=PALETTE[i % len(PALETTE)],
            name=(names[i] if names and i < len(names) else f"Storyline {i + 1}"),
        )
        for i in range(storylines)
    ]
    _memberships(rows, lines, placed, rng)
    _confidences(rows, lines, placed, set(unsure))
    _transcript(analysis, rows, rng)
    if thumbnails:
        _thumbnails(video_path, rows, video.duration)
    if insights:
        seed_insights(analysis)
    return analysis


def _thumbnails(path: Path, scenes: list[Scene], duration: float) -> None:
    """A 160-pixel picture per scene, from one ffmpeg pass sampling at half the mean scene
    length (one decode, not one per scene, so 1,500 scenes take seconds)."""
    step = max(0.2, duration / max(1, len(scenes)) / 2)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                str(path),
                "-vf",
                f"fps=1/{step:.4f}:round=down,scale=160:-2",
                "-q:v",
                "5",
                str(Path(tmp) / "t%06d.jpg"),
            ],
            check=True,
            timeout=3600,
        )
        frames = sorted(Path(tmp).glob("t*.jpg"))
        if not frames:
            return
        for scene in scenes:
            middle = (scene.start_time + scene.end_time) / 2
            frame = frames[min(len(frames) - 1, int(middle / step))]
            scene.thumbnail.save(
                f"scene_{scene.index + 1:04d}_thumb.jpg",
                ContentFile(frame.read_bytes()),
                save=False,
            )
        Scene.objects.bulk_update(scenes, ["thumbnail"])


def _scenes(analysis: Analysis, video: Video, bounds: Sequence[float]) -> list[Scene]:
    fps = video.fps or 25.0
    scenes = [
        Scene(
            analysis=analysis,
            index=i,
            start_time=bounds[i],
            end_time=bounds[i + 1],
            start_frame=round(bounds[i] * fps),
            end_frame=max(round(bounds[i + 1] * fps), round(bounds[i] * fps) + 1),
            keyframe_time=(bounds[i] + bounds[i + 1]) / 2,
        )
        for i in range(len(bounds) - 1)
    ]
    return Scene.objects.bulk_create(scenes)


def _memberships(
    scenes: list[Scene], lines: list[Storyline], placed: list[int], rng: random.Random
) -> None:
    from story.models import SceneInterest, SceneRelevance

    members, relevance, interest = [], [], []
    for scene, where in zip(scenes, placed, strict=True):
        if where < 0:  # no storyline
            continue
        primary = round(rng.uniform(0.45, 1.0), 3)
        members.append(StorylineScene(storyline=lines[where], scene=scene, relevance=primary))
        rest = (1 - primary) / max(1, len(lines) - 1)
        relevance += [
            SceneRelevance(storyline=line, scene=scene, relevance=primary if i == where else rest)
            for i, line in enumerate(lines)
            if i == where or rest > 0
        ]
        parts = {
            "motion": round(rng.random(), 3),
            "audio_energy": round(rng.random(), 3),
            "speech": round(rng.random(), 3),
        }
        interest.append(
            SceneInterest(scene=scene, score=round(sum(parts.values()) / 3, 3), parts=parts)
        )
    StorylineScene.objects.bulk_create(members)
    SceneRelevance.objects.bulk_create(relevance)
    SceneInterest.objects.bulk_create(interest)


def _confidences(
    scenes: list[Scene], lines: list[Storyline], placed: list[int], unsure: set[int]
) -> None:
    """A storyline confidence with reasons per placed scene, as ``story.confidence`` writes it:
    the ``unsure`` positions fall below the review threshold, with a signal pulling away."""
    from story.confidence import REVIEW_BELOW
    from story.models import SceneConfidence

    rows = []
    for i, (scene, where) in enumerate(zip(scenes, placed, strict=True)):
        if where < 0:
            continue
        doubt = i in unsure and len(lines) > 1
        runner_up = lines[(where + 1) % len(lines)] if len(lines) > 1 else None
        rows.append(
            SceneConfidence(
                scene=scene,
                confidence=round(REVIEW_BELOW * 0.4, 4) if doubt else 0.8,
                reasons=[
                    {"signal": "voiceprint", "why": "the same voices", "share": 0.12},
                    {"signal": "colour", "why": "similar colours", "share": 0.05},
                ],
                against=(
                    {"signal": "text", "why": "similar words", "share": -0.08} if doubt else None
                ),
                runner_up=runner_up,
                needs_review=doubt,
            )
        )
    SceneConfidence.objects.bulk_create(rows)


def _transcript(analysis: Analysis, scenes: list[Scene], rng: random.Random) -> None:
    segments = []
    for scene in scenes:
        text, words = _words(scene.start_time, scene.end_time, rng)
        segments.append(
            TranscriptSegment(
                analysis=analysis,
                scene=scene,
                start_time=words[0]["start"],
                end_time=words[-1]["end"],
                text=text,
                words=words,
                language="en",
            )
        )
    TranscriptSegment.objects.bulk_create(segments)


# What the people and vision stages would have found, made up in fixed patterns (tests read
# them back): two characters, two speakers taking turns scene by scene, tags and on-screen text.
SEED_TAGS = {0: ["car", "street"], 1: ["car"], 2: ["beach"], 3: ["beach", "dog"], 4: ["street"]}
SEED_TEXTS = {1: "EXIT", 3: "Погода на завтра", 5: "EXIT"}
SEED_PEOPLE = [("Anna", [0, 2, 4]), ("", [1, 3, 4])]  # "" stays "Character 2"


def seed_insights(analysis: Analysis) -> None:
    """Characters, speakers, tags and on-screen text for a seeded analysis's scenes."""
    from people.models import Character, FaceAppearance, Speaker, SpeakerTurn
    from vision.models import SceneObjects, SceneText

    scenes = {s.index: s for s in Scene.objects.filter(analysis=analysis)}
    for order, (name, where) in enumerate(SEED_PEOPLE):
        character = Character.objects.create(
            analysis=analysis, order=order, label=f"Character {order + 1}", name=name
        )
        for index in (i for i in where if i in scenes):
            scene = scenes[index]
            start, end = scene.start_time + 0.1, scene.end_time - 0.1
            FaceAppearance.objects.create(
                character=character,
                scene=scene,
                start_time=start,
                end_time=end,
                frame_time=start,
                x=10,
                y=10,
                w=40,
                h=40,
                score=0.9,
            )
    voices = [
        Speaker.objects.create(analysis=analysis, order=i, label=f"Speaker {i + 1}")
        for i in range(2)
    ]
    for segment in TranscriptSegment.objects.filter(analysis=analysis).select_related("scene"):
        SpeakerTurn.objects.create(
            speaker=voices[segment.scene.index % 2],
            segment=segment,
            scene=segment.scene,
            start_time=segment.start_time,
            end_time=segment.end_time,
        )
    for index, labels in SEED_TAGS.items():
        if index in scenes:
            SceneObjects.objects.create(
                scene=scenes[index],
                analysis=analysis,
                labels=[{"label": labels[0], "score": 0.8, "class_id": 0}],
                tags=[{"label": label, "score": 0.5, "source": "seed"} for label in labels],
            )
    for index, text in SEED_TEXTS.items():
        if index in scenes:
            SceneText.objects.create(scene=scenes[index], analysis=analysis, text=text)
