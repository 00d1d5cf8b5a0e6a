"""Cutting a storyline out of a video with ffmpeg: stream copy at keyframes, or re-encoded.

A cut is a list of ``Span`` s (source start/end in seconds) played one after the other.
Adjacent scenes become one span, so a run of consecutive scenes is cut once.

- ``copy`` mode (keyframes only; never the default, as it shows other footage) snaps every span
  outwards to keyframes (start to the keyframe at or before it, end to the keyframe at or after
  it) and copies the packets: fast, no quality loss, but a cut may start early and end late.
- ``exact`` mode decodes from the keyframe before each span and re-encodes exactly the span's
  frames: slower, frame-accurate. It encodes with NVENC when ffmpeg has it and a CUDA device is
  present, else with libx264.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

Report = Callable[[float, str], None]
EPSILON = 1e-3  # seconds: float noise between a scene's end and the next one's start
EXACT_BATCH = 40  # spans per ffmpeg run in exact mode (each span is one input of the graph)
FFMPEG_TIMEOUT = 6 * 3600


class CutError(Exception):
    """The cut could not be made; the message is for the user."""


@dataclass(frozen=True)
class Span:
    """A stretch of the source video, in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def merge_spans(spans: Sequence[Span], gap: float = EPSILON) -> list[Span]:
    """Spans in time order with touching or overlapping ones joined."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end + gap:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def snap_to_keyframes(
    spans: Sequence[Span], keyframes: Sequence[float], duration: float
) -> list[Span]:
    """Each span widened to keyframes: start down to one at or before, end up to one at or
    after (or the end of the video); spans that now touch are joined."""
    import bisect

    keys = sorted(keyframes) or [0.0]
    snapped = []
    for span in spans:
        at = bisect.bisect_right(keys, span.start + EPSILON) - 1
        start = keys[at] if at >= 0 else 0.0
        after = bisect.bisect_left(keys, span.end - EPSILON)
        end = keys[after] if after < len(keys) else duration
        snapped.append(Span(start, max(end, start + EPSILON)))
    return merge_spans(snapped)


def copy_overhang(spans: Sequence[Span], snapped: Sequence[Span]) -> float:
    """Seconds of footage a keyframe-snapped cut shows beyond the spans themselves."""
    wanted = sum(s.duration for s in merge_spans(spans))
    return max(0.0, sum(s.duration for s in snapped) - wanted)


def cut_offsets(spans: Sequence[Span]) -> list[float]:
    """Where each span starts in the cut."""
    offsets, total = [], 0.0
    for span in spans:
        offsets.append(total)
        total += span.duration
    return offsets


# --- ffmpeg / ffprobe ----------------------------------------------------------------------


def _failure(what: str, returncode: int, stderr: str) -> CutError:
    """The user's message for an ffmpeg that failed: its last words, or how it died."""
    tail = " ".join(stderr.strip().splitlines()[-3:])
    if "No space left on device" in stderr:
        return CutError(f"{what} failed: the disk is full (no space left on device).")
    if returncode < 0 and not tail:
        return CutError(f"{what} failed: ffmpeg was stopped (signal {-returncode}).")
    return CutError(f"{what} failed: {tail or f'ffmpeg exited with {returncode}'}")


def _run(command: list[str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT)
    if result.returncode != 0:
        raise _failure(what, result.returncode, result.stderr)
    return result


def probe(path: Path) -> dict[str, object]:
    """ffprobe's format and streams of ``path``."""
    out = _run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        "Reading the video",
    ).stdout
    return dict(json.loads(out))


def probe_duration(path: Path) -> float:
    return float(probe(path)["format"]["duration"])  # type: ignore[index]


def keyframe_times(path: Path) -> list[float]:
    """Times of the video's keyframes, from the packet index (no decoding), from 0."""
    out = _run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags:format=start_time",
            "-of",
            "compact=p=0:nk=1",
            str(path),
        ],
        "Reading keyframes",
    ).stdout
    times, start = [], 0.0
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 1 and parts[0] not in ("", "N/A"):
            start = float(parts[0])  # the format's start_time comes last
        elif len(parts) >= 2 and "K" in parts[1] and parts[0] not in ("", "N/A"):
            times.append(float(parts[0]))
    return sorted(t - start for t in times)


@functools.lru_cache(maxsize=1)
def available_encoders() -> frozenset[str]:
    """Video encoders this ffmpeg was built with."""
    out = _run(["ffmpeg", "-hide_banner", "-encoders"], "Listing encoders").stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


def cuda_device_present() -> bool:
    """Whether an NVIDIA GPU is visible (``nvidia-smi -L`` lists one)."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and "GPU" in result.stdout


def select_video_encoder(preference: str, encoders: frozenset[str], has_cuda: bool) -> str:
    """``h264_nvenc`` when wanted (``auto`` or ``cuda``) and possible, else ``libx264``.

    Asking for ``cuda`` where it is impossible falls back to the CPU with a warning rather
    than failing the export.
    """
    gpu_possible = "h264_nvenc" in encoders and has_cuda
    if preference == "cpu":
        return "libx264"
    if gpu_possible:
        return "h264_nvenc"
    if preference == "cuda":
        logger.warning("NVENC requested but not available; encoding with libx264")
    return "libx264"


def encoder_args(encoder: str) -> list[str]:
    if encoder == "h264_nvenc":
        return ["-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", "-cq", "19", "-b:v", "0"]
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]


# --- The two modes -----------------------------------------------------------------------------


def cut_copy(
    source: Path, spans: Sequence[Span], out: Path, workdir: Path, report: Report
) -> list[Span]:
    """Stream-copy the keyframe-snapped spans into ``out``; returns the spans really cut.

    One ffmpeg run: the concat demuxer reads the source once per span between ``inpoint``
    and ``outpoint`` (both keyframes, so no frame before a span's start is needed).
    """
    duration = probe_duration(source)
    snapped = snap_to_keyframes(spans, keyframe_times(source), duration)
    listing = workdir / "spans.txt"
    entry = _concat_entry(source)
    listing.write_text(
        "".join(f"{entry}inpoint {s.start:.6f}\noutpoint {s.end:.6f}\n" for s in snapped),
        encoding="utf-8",
    )
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        str(out),
    ]
    total = sum(s.duration for s in snapped)
    _run_with_progress(command, total, report, "Copying the scenes")
    return snapped


def _concat_entry(path: Path) -> str:
    # The concat demuxer's quoting: single quotes, with ' written as '\''.
    return "file '" + str(path).replace("'", "'\\''") + "'\n"


def _run_with_progress(command: list[str], total: float, report: Report, what: str) -> None:
    """Run ffmpeg reporting ``out_time`` / ``total`` as it goes."""
    with tempfile.TemporaryFile(mode="w+") as errors:
        proc = subprocess.Popen(
            [*command[:1], "-progress", "pipe:1", "-nostats", *command[1:]],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and total > 0:
                    done = int(value) / 1e6
                    report(min(done / total, 1.0), f"{what}: {done:.0f} of {total:.0f} s")
        except BaseException:  # the report said stop (a cancelled job): stop ffmpeg too
            proc.kill()
            proc.wait()
            raise
        if (code := proc.wait(timeout=FFMPEG_TIMEOUT)) != 0:
            errors.seek(0)
            raise _failure(what, code, errors.read())


def cut_exact(
    source: Path,
    spans: Sequence[Span],
    out: Path,
    workdir: Path,
    report: Report,
    *,
    has_audio: bool,
    encoder: str,
) -> list[Span]:
    """Re-encode exactly the spans' frames into ``out`` (batches of spans, then joined)."""
    spans = list(spans)
    batches = [spans[i : i + EXACT_BATCH] for i in range(0, len(spans), EXACT_BATCH)]
    if len(batches) == 1:  # the usual case: straight into the MP4
        command = _exact_command(source, spans, out, has_audio, encoder)
        _run_with_progress(
            [*command[:-1], "-movflags", "+faststart", command[-1]],
            sum(s.duration for s in spans),
            report,
            "Encoding the cut",
        )
        return spans
    parts = []
    for b, batch in enumerate(batches):
        part = workdir / f"batch{b:04d}.mkv"

        def sub(fraction: float, message: str, b: int = b) -> None:
            report((b + fraction) / len(batches), message)

        command = _exact_command(source, batch, part, has_audio, encoder)
        _run_with_progress(command, sum(s.duration for s in batch), sub, "Encoding the cut")
        parts.append(part)
    _concat(parts, out, workdir)
    return spans


def _exact_command(
    source: Path, spans: Sequence[Span], out: Path, has_audio: bool, encoder: str
) -> list[str]:
    """One input per span (input seeking: decoding starts at the keyframe before it, frames
    before the span are dropped), joined by the concat filter and encoded once."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    for span in spans:
        command += ["-ss", f"{span.start:.6f}", "-t", f"{span.duration:.6f}", "-i", str(source)]
    pads = "".join(f"[{i}:v:0]" + (f"[{i}:a:0]" if has_audio else "") for i in range(len(spans)))
    audio = 1 if has_audio else 0
    graph = f"{pads}concat=n={len(spans)}:v=1:a={audio}[v]" + ("[a]" if has_audio else "")
    command += ["-filter_complex", graph, "-map", "[v]"]
    if has_audio:
        command += ["-map", "[a]", "-c:a", "aac", "-b:a", "192k"]
    return [*command, *encoder_args(encoder), "-pix_fmt", "yuv420p", str(out)]


def _concat(parts: Sequence[Path], out: Path, workdir: Path) -> None:
    listing = workdir / "parts.txt"
    listing.write_text("".join(_concat_entry(p) for p in parts), encoding="utf-8")
    _run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-map",
            "0",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(out),
        ],
        "Joining the parts",
    )
