"""Encoding the pieces around the cuts: decoded here, encoded by one ffmpeg fed through a pipe.

The source is opened once (an ffmpeg input per piece would read the file's whole index again
for each piece: seconds per storyline on a long film) and each piece is decoded from the
keyframe before it. Pictures that no other picture refers to (H.264 ``nal_ref_idc`` 0, most
B-frames) and that are shown before the piece are not decoded at all: nothing needs them, and
they are up to half of what a head would otherwise decode. The frames of all pieces go as raw
video to one ffmpeg run, which encodes them to match the copied stream with an IDR frame at
each piece's first frame; decoding here and encoding there use both cores.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from mediakit.cutting import FFMPEG_TIMEOUT, CutError, Report, _failure
from mediakit.smartcut.plan import Piece

SLICES = (1, 5)  # H.264 NAL unit types of coded pictures (non-IDR, IDR)


def nal_length_size(extradata: bytes | None) -> int:
    """Bytes of each NAL unit's length in MP4 packets (avcC), 0 when not known."""
    if not extradata or len(extradata) < 5 or extradata[0] != 1:
        return 0
    return (extradata[4] & 3) + 1


def unreferenced(data: memoryview | bytes, length_size: int) -> bool:
    """Whether an H.264 packet (length-prefixed NAL units) is a picture no other refers to."""
    at = 0
    while length_size and at + length_size < len(data):
        size = int.from_bytes(data[at : at + length_size], "big")
        header = data[at + length_size]
        if header & 0x1F in SLICES:
            return header & 0x60 == 0  # nal_ref_idc
        at += length_size + size
    return False


class PieceDecoder:
    """The frames of pieces of one source, decoded with a single open container."""

    def __init__(self, path: Path, times: Sequence[float]) -> None:
        import av

        self.container: Any = av.open(str(path))
        self.stream: Any = self.container.streams.video[0]
        self.stream.codec_context.thread_count = 1  # CPU time, not latency: one thread
        self.length_size = nal_length_size(self.stream.codec_context.extradata)
        self.base = float(self.stream.time_base or 0) or 1 / 90000
        self.times = times  # frame times, display order, seconds as stored

    def close(self) -> None:
        self.container.close()

    def _ticks(self, seconds: float) -> int:
        return round(seconds / self.base)

    def frames(self, piece: Piece) -> Iterator[Any]:
        """The piece's frames in display order (raises CutError if the source lacks one)."""
        first = self._ticks(self.times[piece.first])
        end = piece.first + piece.count
        stop = self._ticks(self.times[end]) if end < len(self.times) else None
        # Seeking lands on the keyframe shown at or before the time.
        self.container.seek(first, stream=self.stream)
        sent = 0
        for packet in self.container.demux(self.stream):
            if packet.pts is not None and packet.pts < first and self._skippable(packet):
                continue
            for frame in packet.decode():
                if frame.pts is None or frame.pts < first or (stop and frame.pts >= stop):
                    continue
                yield frame
                sent += 1
                if sent == piece.count:
                    return
        raise CutError(f"The video ends before frame {end} could be decoded.")

    def _skippable(self, packet: Any) -> bool:
        return unreferenced(memoryview(packet), self.length_size)


def raw_input(decoder: PieceDecoder, rate: str) -> list[str]:
    """ffmpeg's input options for the frames as written to its stdin."""
    context = decoder.stream.codec_context
    size = f"{context.width}x{context.height}"
    return ["-f", "rawvideo", "-pix_fmt", context.format.name, "-s", size, "-framerate", rate]


def feed(
    decoder: PieceDecoder, pieces: Sequence[Piece], command: list[str], report: Report
) -> None:
    """Run ``command`` (reading raw frames from stdin) on every frame of ``pieces``."""
    total = sum(p.count for p in pieces)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None
        try:
            _write_frames(decoder, pieces, proc.stdin, total, report)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg died: its code and words follow
        except BaseException:  # cancelled, or the source failed: stop ffmpeg too
            proc.kill()
            proc.wait()
            raise
        if (code := proc.wait(timeout=FFMPEG_TIMEOUT)) != 0:
            errors.seek(0)
            raise _failure("Encoding around the cuts", code, errors.read().decode(errors="replace"))


def _write_frames(
    decoder: PieceDecoder, pieces: Sequence[Piece], sink: IO[bytes], total: int, report: Report
) -> None:
    done = 0
    for piece in pieces:
        for frame in decoder.frames(piece):
            sink.write(frame.to_ndarray().data)
            done += 1
        report(done / total, f"Encoding around the cuts: {done} of {total} frames")
