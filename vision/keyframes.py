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
    return _decode(keyframe_bytes(scene), reduced)


def keyframe_bytes(scene: Scene) -> bytes:
    """The scene's keyframe file as stored (JPEG)."""
    with scene.keyframe.open("rb") as handle:
        return bytes(handle.read())


def _decode(data: bytes, reduced: bool) -> np.ndarray | None:
    import cv2
    import numpy as np

    flag = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
    return cv2.imdecode(np.frombuffer(data, np.uint8), flag)


def after_start_name(scene: Scene) -> str:
    """Storage name of the frame about 1 s into the scene, which the keyframes stage saves."""
    return f"analyses/{scene.analysis_id}/scene_{scene.index + 1:04d}_after1s.jpg"


def read_after_start(scene: Scene, *, reduced: bool = False) -> np.ndarray | None:
    """The scene's frame 1 s in as BGR, or None when it is missing or unreadable."""
    data = after_start_bytes(scene)
    return None if data is None else _decode(data, reduced)


def after_start_bytes(scene: Scene) -> bytes | None:
    """The scene's frame 1 s in as stored (JPEG), or None when it is missing."""
    storage = Scene._meta.get_field("keyframe").storage
    name = after_start_name(scene)
    if not storage.exists(name):
        return None
    with storage.open(name, "rb") as handle:
        return bytes(handle.read())


def read_scene_rgb(scene: Scene, width_hint: int) -> list[np.ndarray]:
    """The keyframe and, when stored and different, the frame 1 s in, as RGB: what the tags
    are averaged over (one frame's hallucination rarely survives the other)."""
    import cv2

    frames = [read_rgb(scene, width_hint)]
    after = read_after_start(scene, reduced=width_hint >= REDUCE_FROM_WIDTH)
    if after is not None and after.shape == frames[0].shape:
        after = cv2.cvtColor(after, cv2.COLOR_BGR2RGB)
        if (after != frames[0]).any():
            frames.append(after)
    return frames


def read_rgb(scene: Scene, width_hint: int) -> np.ndarray:
    """The keyframe as RGB for the image networks (a black frame if unreadable)."""
    import cv2
    import numpy as np

    image = read_keyframe(scene, reduced=width_hint >= REDUCE_FROM_WIDTH)
    if image is None:
        return np.zeros((224, 224, 3), np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def upright(image: np.ndarray, degrees: int) -> np.ndarray:
    """``image`` turned ``degrees`` clockwise (a multiple of 90; 0: as it is)."""
    import numpy as np

    quarters = (degrees // 90) % 4
    return image if quarters == 0 else np.ascontiguousarray(np.rot90(image, -quarters))


def batches(scenes: list[Scene], size: int) -> Iterator[list[Scene]]:
    for start in range(0, len(scenes), max(1, size)):
        yield scenes[start : start + size]
