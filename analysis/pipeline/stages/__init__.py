"""One module per stage; importing this package registers them all."""

from analysis.pipeline.stages import audio, keyframes, probe, shots, transcript  # noqa: F401
