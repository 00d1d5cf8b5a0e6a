"""Reading the keyframes the keyframes stage stored, for the vision stages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from analysis.models import Analysis, Scene

if TYPE_CHECKING:
    import numpy as np

REDUCE_FROM_WIDTH = 1000  # wider keyframes decode at half size for the 224-px networks


def scenes_with_keyframes(analysis: Analysis) -> list[Scene]:
    """The analysis's scenes in order, only those that have a keyframe file."""
    return [s for s in analysis.scenes.order_by("index") if s.keyframe and s.keyframe.name]


def read_keyframe(scene: Scene, *, reduced: bool = False) -> np.ndarray | None:
    """The scene's keyframe as a BGR array (None if unreadable); ``reduced``: half size."""
    import cv2
    import numpy as np

    with scene.keyframe.open("rb") as handle:
        data = np.frombuffer(handle.read(), np.uint8)
    flag = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
    return cv2.imdecode(data, flag)


def read_rgb(scene: Scene, width_hint: int) -> np.ndarray:
    """The keyframe as RGB for the image networks (a black frame if unreadable)."""
    import cv2
    import numpy as np

    image = read_keyframe(scene, reduced=width_hint >= REDUCE_FROM_WIDTH)
    if image is None:
        return np.zeros((224, 224, 3), np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def batches(scenes: list[Scene], size: int) -> Iterator[list[Scene]]:
    for start in range(0, len(scenes), max(1, size)):
        yield scenes[start : start + size]
