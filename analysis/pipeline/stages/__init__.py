"""One module per stage; importing this package registers them all."""

from analysis.pipeline.stages import audio, keyframes, probe, shots, storylines, transcript  # noqa: F401
