"""Where the audio sounds: its loudness in 10 ms frames and the level below which it is silence.

The transcript stage moves each word's start to where its sound begins (``stages.transcript``);
recognition uses the same measure to tell which side of a packing seam a word is spoken on
(``whisper.anchor``).
"""

from __future__ import annotations

from typing import Any

from analysis.pipeline.speech.windows import SAMPLE_RATE, Stretch

FRAME_SECONDS = 0.01  # the loudness envelope's step
ONSET_DB = 30.0  # quieter than the word's peak by this much is silence before the word
FLOOR_DB = 6.0  # ... and so is anything this close to the local noise floor
MIN_ONSET_DB = 15.0  # ... but silence is always at least this much below the peak
FLOOR_SECONDS = 2.0  # the noise floor is measured this far either side of a word's start


def loudness(samples: Any) -> Any:
    """The energy in dB of every ``FRAME_SECONDS`` of ``samples`` (16 kHz mono)."""
    import numpy as np

    hop = round(SAMPLE_RATE * FRAME_SECONDS)
    count = max(1, samples.size // hop)  # at least one frame, so every index has a value
    padded = np.pad(np.asarray(samples, dtype=np.float32), (0, max(0, hop - samples.size)))
    frames = padded[: count * hop].reshape(count, hop)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)


def noise_floor(db: Any, frame: int) -> float:
    """The local noise floor: the 10th percentile of the frames ``FLOOR_SECONDS`` around."""
    import numpy as np

    reach = round(FLOOR_SECONDS / FRAME_SECONDS)
    return float(np.percentile(db[max(0, frame - reach) : frame + reach], 10))


def silence_level(db: Any, first: int, peak: float) -> float:
    """Loudness below which the frames before a word's peak count as silence: ``ONSET_DB``
    under the peak or ``FLOOR_DB`` over the local noise floor, whichever is louder (noisy
    recordings never get 30 dB quieter than speech), and at least ``MIN_ONSET_DB`` under."""
    floor = noise_floor(db, first)
    return min(peak - MIN_ONSET_DB, max(peak - ONSET_DB, floor + FLOOR_DB))


def frames(db: Any, span: Stretch) -> Any:
    """The frames of ``db`` inside ``span`` (film seconds)."""
    first = max(0, int(span.start / FRAME_SECONDS))
    return db[first : max(first, int(span.end / FRAME_SECONDS))]


def sounds(db: Any, part: Stretch, word: list[Stretch]) -> bool:
    """Whether ``part`` of a word (its pieces ``word``, film seconds) holds some of its sound:
    a frame over the silence level of the word's loudest frame and over the noise floor (a
    word aligned wholly in a pause has no sound anywhere)."""
    pieces = [frames(db, piece) for piece in word]
    own = frames(db, part)
    if not own.size or not any(piece.size for piece in pieces):
        return False
    peak = max(float(piece.max()) for piece in pieces if piece.size)
    first = max(0, int(part.start / FRAME_SECONDS))
    loudest = float(own.max())
    return loudest >= silence_level(db, first, peak) and loudest > noise_floor(db, first) + FLOOR_DB
