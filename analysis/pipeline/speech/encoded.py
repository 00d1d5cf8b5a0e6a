"""One encoder pass answers both questions: which language, and what was said.

The stretches of speech are packed in time order into windows of at most 30 s (as
faster-whisper's batched pipeline packs them), and each window is encoded once, padded to 30 s
as Whisper was trained. Whisper's encoder output has ``POSITIONS_PER_SECOND`` positions a
second, so the part of it that belongs to a stretch is known:

* **language:** Whisper's detector (one decoder step) runs on the encoder output of each
  detection window's stretches only (``windows.detection_windows``), cut out of the window's
  and put back to back. No encoder pass of its own: encoding the detection windows separately
  cost more than the detection of the old single-language run (bench/RESULTS.md, speech
  languages);
* **text:** a window whose stretches are all of one language is decoded whole on its encoder
  output, exactly as before; the speech of windows holding several languages is packed anew
  by language and encoded again (``split``), the only speech encoded twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.pipeline.speech.batched import Decoded, Decoder, batches
from analysis.pipeline.speech.windows import Chunk, Stretch, pack

POSITIONS_PER_SECOND = 50  # Whisper's encoder output: one position per 20 ms


@dataclass(frozen=True)
class Encoded:
    """A chunk of speech with its encoder output (positions x width, a numpy array); the
    chunk's ``at`` is 0: times count from the start of this output."""

    chunk: Chunk
    output: Any

    def positions(self, stretch: Stretch) -> tuple[int, int]:
        """The encoder positions of ``stretch``, one of this chunk's."""
        start = 0.0
        for own in self.chunk.stretches:
            if own == stretch:
                break
            start += own.duration
        first = round(start * POSITIONS_PER_SECOND)
        last = round((start + stretch.duration) * POSITIONS_PER_SECOND)
        return first, min(max(last, first + 1), len(self.output))

    def part(self, stretches: Sequence[Stretch], language: str) -> Encoded:
        """The encoder output of ``stretches`` (of this chunk) back to back, as a chunk of
        ``language``."""
        import numpy as np

        spans = [self.positions(s) for s in stretches]
        output = np.concatenate([self.output[first:last] for first, last in spans])
        return Encoded(Chunk(language, tuple(stretches), 0.0), output)


def encode(decoder: Decoder, stretches: list[Stretch], batch: int) -> list[Encoded]:
    """The stretches packed in time order into 30 s windows, each encoded once."""
    import numpy as np

    windows = pack(stretches, [""] * len(stretches))
    encoded: list[Encoded] = []
    for group in batches(windows, max(batch, 1), mixed=True):
        output = np.asarray(decoder.model.encode(decoder.features(group)))
        encoded += [Encoded(chunk, output[i]) for i, chunk in enumerate(group)]
    return encoded


def holder(encoded: list[Encoded]) -> dict[Stretch, Encoded]:
    return {stretch: item for item in encoded for stretch in item.chunk.stretches}


def detect(
    model: Any, where: dict[Stretch, Encoded], stretches: Sequence[Stretch]
) -> dict[str, float]:
    """Whisper's language probabilities for ``stretches`` (a detection window), heard on their
    encoder output (``holder``: which window holds each)."""
    import ctranslate2
    import numpy as np

    parts = [where[stretch].part([stretch], "").output for stretch in stretches]
    view = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate(parts)[None]))
    return {token[2:-2]: float(p) for token, p in model.model.detect_language(view)[0]}


def split(
    encoded: list[Encoded], languages: dict[Stretch, str]
) -> tuple[list[Encoded], list[Chunk]]:
    """(the windows of one language, ready to decode whole; the stretches of the windows that
    hold several languages, packed anew by language, to be encoded again). Decoding a
    language's part of a window on its own slice of the encoder output, with or without the
    encoder output of silence after it, made Whisper repeat itself (bench/RESULTS.md, speech
    languages)."""
    whole: list[Encoded] = []
    mixed: list[Stretch] = []
    for window in encoded:
        own = {languages[s] for s in window.chunk.stretches}
        if len(own) == 1:
            whole.append(Encoded(Chunk(own.pop(), window.chunk.stretches, 0.0), window.output))
        else:
            mixed += window.chunk.stretches
    return whole, pack(mixed, [languages[s] for s in mixed])


def decode(decoder: Decoder, items: list[Encoded], batch: int) -> Iterator[Decoded]:
    """Every item (a whole window: ``split``) decoded in its chunk's language, on its encoder
    output. A generator."""
    import ctranslate2
    import numpy as np

    size = max(batch, 1)  # whole windows' outputs are all of 30 s: any of them batch together
    for group in (items[k : k + size] for k in range(0, len(items), size)):
        output = np.ascontiguousarray(np.stack([item.output for item in group]))
        view = ctranslate2.StorageView.from_array(output)
        yield from decoder.decode_encoded([item.chunk for item in group], view)
