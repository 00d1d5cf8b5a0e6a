"""The vision stages, one per module: embeddings, objects (with motion), ocr, captions and
scene_index. Importing this package registers them all."""

from vision.stages import captions, embeddings, objects, ocr, scene_index  # noqa: F401
