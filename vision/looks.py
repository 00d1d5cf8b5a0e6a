"""Which frames of a scene MobileNetV2 looks at for the tags, and where.

Every scene's keyframe is seen whole (:func:`vision.mobilenet.look_at_frames`). Its frame 1 s in
is there to confirm what the keyframe shows (a one-frame hallucination is averaged away) or to
lift a near miss, so it is looked at only where the keyframe leaves some word open
(:func:`vision.vocabulary.open_words`), and only along the stretch of the frame where the
keyframe found those words, a cell of the feature map wider on each side for what moved in
between: on a wide frame that is about half the pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vision.mobilenet import INPUT_SIZE, STRIDE, FrameLook, look_at_frames
from vision.vocabulary import WORDS, open_words, peak_windows, wants_parts, word_scores

if TYPE_CHECKING:
    import numpy as np

MARGIN_CELLS = 1  # feature-map cells (32 px at 224) kept beyond the windows to check again


def look_at_scenes(frames: list[list[np.ndarray]], device: str, size: int) -> list[list[FrameLook]]:
    """Per scene (its keyframe, then maybe the frame 1 s in, RGB), the looks taken: the
    keyframe's, then the second frame's where the keyframe left a word open."""
    first = look_at_frames([images[0] for images in frames], device, size, wants_parts)
    views = {
        k: view
        for k, (images, look) in enumerate(zip(frames, first, strict=True))
        if len(images) > 1 and (view := second_view(images[1], look)) is not None
    }
    looks = look_at_frames(list(views.values()), device, size, wants_parts)
    second = dict(zip(views, looks, strict=True))
    return [[look, *([second[k]] if k in second else [])] for k, look in enumerate(first)]


def scores_of(looks: list[FrameLook]) -> dict[str, float]:
    """The words' scores over a scene's looks (:func:`vision.vocabulary.word_scores`)."""
    return word_scores(
        [look.windows for look in looks],
        [look.parts for look in looks],
        [look.fine for look in looks],
    )


def second_view(image: np.ndarray, keyframe: FrameLook) -> np.ndarray | None:
    """The part of the second frame to look at, or None when the keyframe leaves no word
    open: along the longer side, from the first to the last window where an open word
    peaked on the keyframe, ``MARGIN_CELLS`` wider on each side (all of it for a word of the
    whole frame)."""
    words = open_words(scores_of([keyframe]))
    if not words:
        return None
    if any(WORDS[k].whole for k in words):
        return image  # a word of the whole frame is checked on the whole frame
    peaks = peak_windows(keyframe.windows, words)
    windows = keyframe.windows.shape[0]
    height, width = image.shape[:2]
    side = INPUT_SIZE // STRIDE  # the shorter side, in cells: a window's width
    cells = windows + side - 1
    start = max(0, min(peaks) - MARGIN_CELLS)
    end = min(cells, max(peaks) + side + MARGIN_CELLS)
    if end - start >= cells:
        return image
    long = max(height, width)
    a, b = round(start * long / cells), round(end * long / cells)
    return image[:, a:b] if width >= height else image[a:b]
