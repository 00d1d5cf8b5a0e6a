"""Rows the database tests build by hand: a stored video and its analysis's scenes."""

from __future__ import annotations

import uuid
from typing import Any

from analysis.models import Analysis, Scene, Video

FPS = 25.0


def stored_video(
    owner: Any, duration: float, name: str = "film.mp4", has_audio: bool = True
) -> Video:
    """A 320x240 video at 25 fps as an upload leaves it (its file is not read)."""
    pk = uuid.uuid4()
    return Video.objects.create(
        id=pk,
        owner=owner,
        file=f"videos/{owner.pk}/{pk}/source.mp4",
        original_name=name,
        sha256=uuid.uuid4().hex * 2,
        size_bytes=1,
        duration=duration,
        fps=FPS,
        frame_count=int(duration * FPS),
        width=320,
        height=240,
        has_audio=has_audio,
    )


def scenes_of(analysis: Analysis, count: int, seconds: float = 3.0) -> list[Scene]:
    """``count`` scenes of ``seconds`` each, one after the other from the start."""
    frames = round(seconds * FPS)
    return [
        Scene.objects.create(
            analysis=analysis,
            index=index,
            start_time=index * seconds,
            end_time=(index + 1) * seconds,
            start_frame=index * frames,
            end_frame=(index + 1) * frames,
        )
        for index in range(count)
    ]
