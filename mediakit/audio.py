"""The audio track as the analysis hears it: mono float32 at 16 kHz, aligned to the video.

Sample 0 is at the first video frame (the zero of every clock): audio that starts later is
padded with silence, audio that starts earlier is trimmed. PyAV is imported inside the
functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediakit.decode import decode_tolerant, save_array, video_start_time
from mediakit.passfiles import recorded_start_time

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
AUDIO_CACHE_NAME = "audio16k.npy"
# A range is decoded from this long before it, and that lead dropped: the codec (an AAC frame
# leans on the one before) and the resampler's filter settle within it, and a K-weighting
# filter run over it (``mediakit.loudness``) forgets its silent start.
LEAD_SECONDS = 1.0
DECODER_SETTLE_SECONDS = 0.25  # sought before the lead: the frames the decoder needs first
# The resampler's phase repeats every 10 ms of any rate that is a multiple of 100 Hz: fed from
# such a boundary it gives the samples a whole decode gives, and 10 ms is the loudness grid.
STEP = SAMPLE_RATE // 100


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


def load_track(
    path: Path, workdir: Path, spans: Sequence[tuple[float, float]] | None = None
) -> Track | None:
    """The audio track (``load_audio``), or with ``spans`` the samples about those stretches
    only (``decode_audio_ranges``; the whole track when the file's codec does not allow it);
    None without audio. Cached in ``workdir`` for the later stages of the run."""
    if spans is None:
        samples = load_audio(path, workdir)
        return None if samples is None else Track([Excerpt(0, samples)])
    import hashlib

    import numpy as np

    ranges = merge_spans(spans)
    key = hashlib.sha1(repr(ranges).encode()).hexdigest()[:16]
    cache = workdir / f"audio16k_{key}.npz"
    if cache.exists():
        with np.load(cache) as saved:
            firsts = saved["firsts"]
            return Track([Excerpt(int(f), saved[f"part{i}"]) for i, f in enumerate(firsts)])
    parts = decode_audio_ranges(path, ranges, recorded_start_time(workdir))
    if parts is None:
        return load_track(path, workdir)
    arrays: dict[str, Any] = {f"part{i}": part.samples for i, part in enumerate(parts)}
    arrays["firsts"] = np.array([part.first for part in parts])
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(cache)
    return Track(parts)


def merge_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``spans`` in time order, the ones that touch or nearly (within the lead) made one."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 2 * LEAD_SECONDS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Excerpt:
    """Samples of the track from sample ``first`` on (sample 0 at the first video frame)."""

    first: int
    samples: np.ndarray

    @property
    def end(self) -> int:
        return self.first + int(self.samples.size)


class Track:
    """The parts of the audio track a run decoded: the whole of it (one excerpt from 0), or
    the ranges a partial re-run needs (``decode_audio_ranges``). ``excerpt`` reads a stretch as
    slicing the whole track would."""

    def __init__(self, parts: Sequence[Excerpt]) -> None:
        self.parts = sorted(parts, key=lambda part: part.first)

    def excerpt(self, start: float, end: float) -> np.ndarray:
        """The samples of ``[start, end)`` seconds: ``whole[int(start * 16k):int(end * 16k)]``.

        Raises:
            ValueError: no decoded part holds ``start``.
        """
        first, last = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        for part in self.parts:
            if part.first <= first and (first < part.end or part is self.parts[-1]):
                return part.samples[first - part.first : max(first, last) - part.first]
        raise ValueError(f"no decoded audio at {start:.3f} s")


def decode_audio_ranges(
    path: Path, ranges: Sequence[tuple[float, float]], video_start: float | None = None
) -> list[Excerpt] | None:
    """The samples a whole decode (``decode_audio``) has in each of ``ranges`` (seconds on the
    clock that starts at the first video frame), decoding about those ranges only; each excerpt
    also holds up to ``LEAD_SECONDS`` before its range.

    A whole decode puts the frames one after the other, whatever their timestamps say (a file
    joined from clips has gaps and overlaps between them): where a frame lands is counted from
    the packets before it, read but not decoded. That needs a codec whose packets all give one
    frame size (AAC, MP3...) and a rate of a whole number of 10 ms: otherwise None, as for a
    file without audio (decode the whole track then).

    Args:
        ranges: in time order, not overlapping.
        video_start: the first frame's time when known (else one frame is decoded for it).
    """
    import av

    if video_start is None:
        video_start = video_start_time(path)
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate, size = int(stream.codec_context.sample_rate), int(stream.codec_context.frame_size)
        first = next(decode_tolerant(container, stream), None)
        if first is None or first.pts is None or not size or rate % 100:
            return None
        shift = round((float(first.time) - video_start) * SAMPLE_RATE)
        last = max(end for _start, end in ranges) if ranges else 0.0
        places = _packet_places(container, stream, first, size, last - video_start + 1.0)
        if places is None:
            return None
        return [_decode_range(container, stream, places, shift, span) for span in ranges]


def _packet_places(
    container: Any, stream: Any, first: Any, size: int, until: float
) -> dict[int, int] | None:
    """pts -> the input sample a whole decode puts that packet's frame at, for the packets up
    to ``until`` seconds (of the stream's time); None when two packets share a pts."""
    container.seek(0, stream=stream)
    places: dict[int, int] = {}
    at = 0
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        if packet.pts in places:
            return None
        places[packet.pts] = at
        at += first.samples if not places or at == 0 else size
        if float(packet.pts * stream.time_base) > until:
            break
    return places


def _decode_range(
    container: Any, stream: Any, places: dict[int, int], shift: int, span: tuple[float, float]
) -> Excerpt:
    """One range: output sample ``j`` of a whole decode's resampler is track sample ``j +
    shift``; resampling starts at output ``j0`` (a 10 ms boundary ``LEAD_SECONDS`` early) from
    the input sample the whole decode fed there, so the outputs after it are the same."""
    import numpy as np

    start, end = span
    rate = int(stream.codec_context.sample_rate)
    lead = int(start * SAMPLE_RATE) - shift - int(LEAD_SECONDS * SAMPLE_RATE)
    j0 = max(0, lead // STEP) * STEP
    stop = int(np.ceil(end * SAMPLE_RATE)) - shift + STEP  # outputs needed, and a little more
    i0 = j0 // STEP * (rate // 100)  # the input sample fed at output j0
    settle = i0 - int(DECODER_SETTLE_SECONDS * rate)
    target = max([pts for pts, at in places.items() if at <= settle], default=0)
    container.seek(target, stream=stream, backward=True, any_frame=False)
    resampler, chunks, produced = _resampler(), [], 0
    for frame in _frames_from(container, stream, places, i0):
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))
            produced += out.samples
        if produced >= stop - j0:
            break
    else:
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(chunks) if chunks else _empty()
    samples = samples[: max(0, stop - j0)].astype(np.float32, copy=False)
    if j0 + shift < 0:  # the audio starts before the first video frame: trimmed as a whole
        return Excerpt(0, samples[-(j0 + shift) :])
    return Excerpt(j0 + shift, samples)


def _frames_from(container: Any, stream: Any, places: dict[int, int], i0: int) -> Iterator[Any]:
    """The frames a whole decode feeds its resampler from input sample ``i0`` on, the frame
    holding it cut there."""
    import av
    import numpy as np

    for frame in decode_tolerant(container, stream):
        at = places.get(frame.pts) if frame.pts is not None else None
        if at is None:  # past the packets counted: a frame after the range's end
            yield frame
            continue
        skip = i0 - at
        if skip >= frame.samples:
            continue
        if skip > 0:
            array = frame.to_ndarray()
            width = skip if frame.format.is_planar else skip * len(frame.layout.channels)
            trimmed = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(array[:, width:]),
                format=frame.format.name,
                layout=frame.layout.name,
            )
            trimmed.sample_rate = frame.sample_rate
            trimmed.time_base = frame.time_base
            trimmed.pts = frame.pts
            frame = trimmed
        yield frame


def _resampler() -> Any:
    import av

    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


def _empty() -> np.ndarray:
    import numpy as np

    return np.zeros(0, dtype=np.float32)
