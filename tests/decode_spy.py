"""A spy on PyAV that counts, per opening of a media file, the video packets and frames read.

``av.open`` is replaced by a wrapper that returns the real container behind a thin proxy: every
packet demuxed and every frame decoded still comes from FFmpeg, the proxy only counts those of
video streams. A probe that decodes the first picture reads one frame; a decode pass reads
them all. Audio decoding reads no video packet at all; the audio frames decoded from demuxed
packets are counted apart (``audio_frames``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class CountingContainer:
    """The container ``av.open`` returned, counting the video packets and frames read from it."""

    def __init__(self, container: Any, path: str) -> None:
        self._container = container
        self.path = path
        self.video_reads = 0
        self.audio_frames = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def __enter__(self) -> CountingContainer:
        self._container.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._container.__exit__(*exc)

    def demux(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return self._counted(self._container.demux(*args, **kwargs))

    def decode(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return self._counted(self._container.decode(*args, **kwargs))

    def _counted(self, items: Iterator[Any]) -> Iterator[Any]:
        import av

        for item in items:
            packet = isinstance(item, av.Packet) and item.stream.type == "video"
            if packet or isinstance(item, av.VideoFrame):
                self.video_reads += 1
            if isinstance(item, av.Packet) and item.stream.type == "audio":
                yield CountingPacket(item, self)
                continue
            yield item


class CountingPacket:
    """An audio packet whose ``decode`` counts the frames it gives on its container."""

    def __init__(self, packet: Any, container: CountingContainer) -> None:
        self._packet = packet
        self._container = container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._packet, name)

    def decode(self) -> list[Any]:
        frames = self._packet.decode()
        self._container.audio_frames += len(frames)
        return list(frames)


def spy_on_av_open(monkeypatch: pytest.MonkeyPatch) -> list[CountingContainer]:
    """Replace ``av.open`` for the test; returns the list every opening is appended to."""
    import av

    real_open = av.open
    opened: list[CountingContainer] = []

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> CountingContainer:
        container = CountingContainer(real_open(file, *args, **kwargs), str(file))
        opened.append(container)
        return container

    monkeypatch.setattr(av, "open", counting_open)
    return opened


def decoding(opened: list[CountingContainer]) -> list[CountingContainer]:
    """The openings that read more video than a probe's first picture (one frame)."""
    return [c for c in opened if c.video_reads > 1]
