"""Decoding shared by the stages: video frames in presentation order, and the audio track.

Frames are numbered 0, 1, 2… in the order they are presented, and their time is
``pts * time_base`` minus the first frame's, so a file whose streams start late still begins
at 0.0 s. Stages that decode the same file (shots, keyframes) get the same numbering, which is
what lets a later stage find "frame 123" again. PyAV is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
AUDIO_CACHE_NAME = "audio16k.npy"


@dataclass
class DecodedFrame:
    """One presented frame. Converting to pixels is left to the consumer: it is the costly part."""

    index: int
    time: float
    av_frame: Any  # av.VideoFrame

    def bgr(self, width: int | None = None) -> np.ndarray:
        """The picture as a BGR array, scaled to ``width`` (keeping the aspect) if given."""
        if width is None or width >= self.av_frame.width:
            return self.av_frame.to_ndarray(format="bgr24")
        height = max(2, round(self.av_frame.height * width / self.av_frame.width / 2) * 2)
        return self.av_frame.to_ndarray(width=width, height=height, format="bgr24")


def iter_frames(path: Path) -> Iterator[DecodedFrame]:
    """Yield every frame of the first video stream, decoded with the codec's own threads."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        # Frame and slice threading: several times faster on multi-core machines.
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        first: float | None = None
        for index, frame in enumerate(container.decode(stream)):
            raw = frame.time if frame.time is not None else index / fps  # pts * time_base
            if first is None:
                first = raw
            yield DecodedFrame(index=index, time=max(0.0, raw - first), av_frame=frame)


def video_start_time(path: Path) -> float:
    """Presentation time of the first video frame (the zero of every stage's clock)."""
    for frame in iter_frames(path):
        raw = frame.av_frame.pts
        return float(raw * frame.av_frame.time_base) if raw is not None else 0.0
    return 0.0


def load_audio(path: Path, workdir: Path) -> np.ndarray | None:
    """The audio track as mono float32 at 16 kHz, aligned to the first video frame.

    Decoded once per run and cached in ``workdir`` for the later stages; ``None`` when the file
    has no audio stream.
    """
    import numpy as np

    cache = workdir / AUDIO_CACHE_NAME
    if cache.exists():
        return np.load(cache)
    samples = _decode_audio(path)
    if samples is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, samples)
    tmp.replace(cache)  # a killed run never leaves a truncated cache behind
    return samples


def _decode_audio(path: Path) -> np.ndarray | None:
    import av
    import numpy as np

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        audio_start: float | None = None
        for frame in container.decode(stream):
            if audio_start is None:
                audio_start = frame.time
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    offset = (audio_start or 0.0) - video_start_time(path)
    return _align(samples.astype(np.float32, copy=False), offset)


def _align(samples: np.ndarray, offset: float) -> np.ndarray:
    """Shift audio so sample 0 is at the first video frame (pad with silence or trim)."""
    import numpy as np

    shift = round(offset * SAMPLE_RATE)
    if shift > 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), samples])
    return samples[-shift:] if shift < 0 else samples
