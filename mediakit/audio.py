"""The audio track as the analysis hears it: mono float32 at 16 kHz, aligned to the video.

Sample 0 is at the first video frame (the zero of every clock): audio that starts later is
padded with silence, audio that starts earlier is trimmed. PyAV is imported inside the
functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mediakit.decode import decode_tolerant, save_array, video_start_time
from mediakit.passfiles import recorded_start_time

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
AUDIO_CACHE_NAME = "audio16k.npy"


def load_audio(path: Path, workdir: Path) -> np.ndarray | None:
    """The audio track as mono float32 at 16 kHz, aligned to the first video frame.

    Decoded once per run and cached in ``workdir`` for the later stages; ``None`` when the file
    has no audio stream. The first frame's time comes from the frame pass when it ran already.
    """
    import numpy as np

    cache = workdir / AUDIO_CACHE_NAME
    if cache.exists():
        cached: np.ndarray = np.load(cache)
        return cached
    samples = decode_audio(path, recorded_start_time(workdir))
    if samples is None:
        return None
    save_array(cache, samples)  # a killed run never leaves a truncated cache behind
    return samples


def decode_audio(path: Path, video_start: float | None = None) -> np.ndarray | None:
    """Mono 16 kHz float32 samples, sample 0 at the first video frame; None without audio.

    ``video_start`` is the first frame's time when known (else one frame is decoded for it).
    """
    import av
    import numpy as np

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        audio_start: float | None = None
        for frame in decode_tolerant(container, stream):
            if audio_start is None:
                audio_start = frame.time
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if video_start is None:
        video_start = video_start_time(path)
    offset = (audio_start or 0.0) - video_start
    return _align(samples.astype(np.float32, copy=False), offset)


def _align(samples: np.ndarray, offset: float) -> np.ndarray:
    """Shift audio so sample 0 is at the first video frame (pad with silence or trim)."""
    import numpy as np

    shift = round(offset * SAMPLE_RATE)
    if shift > 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), samples])
    return samples[-shift:] if shift < 0 else samples
