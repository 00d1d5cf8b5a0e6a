"""Interest score of every scene, 0..1, and the parts it is made of.

Parts (each 0..1, absent when the signal is missing): ``motion`` (the "action radar": frame
difference, scaled by the video's 95th percentile), ``audio_energy`` (loudness), ``audio_change``
(loudness swings inside the scene and the jump from the previous scene), ``speech_density``
(words per second, 3/s = 1), ``faces`` (characters on screen, 3 = 1), ``novelty`` (1 minus the
strongest similarity to any earlier scene). The score is the weighted mean of the parts present.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from story.graph import SceneNode

if TYPE_CHECKING:
    import numpy as np

PART_WEIGHTS = {
    "motion": 0.25,
    "audio_energy": 0.15,
    "audio_change": 0.15,
    "speech_density": 0.15,
    "faces": 0.1,
    "novelty": 0.2,
}


def _clip(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


def interest_scores(
    nodes: list[SceneNode],
    matrix: np.ndarray,
    loudness_db: dict[int, float | None],
    faces: dict[int, int] | None,
) -> list[dict[str, Any]]:
    """``{"score": s, "parts": {...}}`` per node, in order."""
    import numpy as np

    motion = np.array([float(n.features.get("motion") or 0.0) for n in nodes])
    top_motion = max(float(np.percentile(motion, 95)) if len(motion) else 0.0, 1e-4)
    out = []
    previous_db: float | None = None
    for i, node in enumerate(nodes):
        db = loudness_db.get(node.pk)
        parts: dict[str, float] = {"motion": _clip(motion[i] / top_motion)}
        if db is not None:
            parts["audio_energy"] = _clip((db + 60.0) / 50.0)  # -60 dBFS silent .. -10 loud
            jump = abs(db - previous_db) if previous_db is not None else 0.0
            swing = float(node.features.get("loudness_change") or 0.0)
            parts["audio_change"] = _clip(0.5 * swing / 10.0 + 0.5 * jump / 20.0)
            previous_db = db
        parts["speech_density"] = _clip(float(node.features.get("words_per_second") or 0) / 3.0)
        if faces is not None:
            parts["faces"] = _clip(faces.get(node.pk, 0) / 3.0)
        parts["novelty"] = _clip(1.0 - float(matrix[i, :i].max()) if i else 1.0)
        total = sum(PART_WEIGHTS[k] for k in parts)
        score = sum(PART_WEIGHTS[k] * v for k, v in parts.items()) / total
        out.append({"score": _clip(score), "parts": parts})
    return out
