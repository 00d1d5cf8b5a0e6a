"""The media kit: what the analysis does with video and audio files, without Django.

Modules (each imports its heavy libraries inside its functions):

- ``probe``: what a file is (``MediaInfo``), upload checks; ``errors.MediaError``;
- ``decode``: the one pass over a video's frames (``run_frame_pass``, ``FrameConsumer``);
- ``meters``: motion and first-frame clock consumers; ``framestore``: keyframe candidates,
  thumbnail strip, colour layouts; ``framepass``: ``PicturePlan`` and ``PassRecorder``;
  ``passfiles``: the files a pass leaves (``PassFiles``);
- ``shots``: ``find_shots(path, config, consumers)`` and the cut detectors; ``transnet``:
  TransNetV2 and its fused rebuild;
- ``audio``: the track as mono 16 kHz; ``vad``: speech intervals; ``loudness``: BS.1770;
- ``cutting``: cutting spans out of a video with ffmpeg; ``smartcut``: copy the whole GOPs
  and most of each tail, re-encode the rest around the cuts (a few ffmpeg runs per cut).

Nothing here imports Django: settings come in as typed arguments (see
``analysis.pipeline.mediaconf`` for how the analysis builds them).
"""

from mediakit.errors import MediaError

__all__ = ["MediaError"]
