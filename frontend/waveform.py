"""Waveform peaks of a video's sound for the timeline, computed once with ffmpeg and cached.

The audio is decoded to 8 kHz mono 16-bit and reduced to the loudest sample of each bin, as a
number 0..255; bins per second shrink for long films so the JSON stays ~100 KB or less.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.models import Video
from analysis.pipeline.runner import video_local_path

SAMPLE_RATE = 8000
TARGET_PEAKS = 40_000
MIN_RATE, MAX_RATE = 5, 100  # peaks per second


def peaks_per_second(duration: float) -> int:
    return int(min(MAX_RATE, max(MIN_RATE, TARGET_PEAKS // max(duration, 1.0))))


def _cache_path(video: Video) -> Path:
    return Path(settings.VAR_DIR) / "waveforms" / f"{video.pk}.json"


def compute_peaks(path: Path, rate: int) -> list[int]:
    """The loudest |sample| of every 1/rate s of ``path``'s first audio stream, scaled 0..255."""
    import numpy as np

    samples_per_bin = SAMPLE_RATE // rate
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "s16le",
        "-",
    ]
    peaks: list[np.ndarray] = []
    rest = np.zeros(0, dtype=np.int16)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(samples_per_bin * 2 * 4096):
            data = np.concatenate([rest, np.frombuffer(chunk[: len(chunk) // 2 * 2], np.int16)])
            whole = len(data) // samples_per_bin * samples_per_bin
            bins = np.abs(data[:whole].astype(np.int32)).reshape(-1, samples_per_bin).max(axis=1)
            peaks.append(bins)
            rest = data[whole:]
    if len(rest):
        peaks.append(np.array([np.abs(rest.astype(np.int32)).max()]))
    values = np.concatenate(peaks) if peaks else np.zeros(0)
    return [int(v) for v in np.minimum(values * 255 // 32767, 255)]


def waveform_json(video: Video) -> dict[str, Any]:
    """``{"rate": peaks per second, "peaks": [0..255, …]}`` (empty without sound)."""
    cache = _cache_path(video)
    if cache.exists():
        return dict(json.loads(cache.read_text()))
    rate = peaks_per_second(video.duration)
    peaks: list[int] = []
    if video.has_audio:
        workdir = Path(settings.VAR_DIR) / "work" / f"waveform-{video.pk}"
        workdir.mkdir(parents=True, exist_ok=True)
        with video_local_path(video, workdir) as path:
            peaks = compute_peaks(path, rate)
    result = {"rate": rate, "peaks": peaks}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, separators=(",", ":")))
    tmp.replace(cache)
    return result
