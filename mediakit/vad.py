"""Where people speak: Silero VAD (the copy faster-whisper bundles; ONNX on the CPU).

The same detector the transcript's ``vad_filter`` uses, so "speech" means the same thing
wherever it is measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediakit.audio import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np


def speech_intervals(samples: np.ndarray) -> list[tuple[float, float]]:
    """Speech (start, end) seconds in ``samples`` (mono 16 kHz float32) per Silero VAD."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300))
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks]
