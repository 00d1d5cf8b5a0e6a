"""Settings of the people stages and the analysis parameters that override them.

Every default comes from a Django setting of the same name when the project defines it, else
from the environment variable of that name, else from ``DEFAULTS`` (``videoanalyzer.conf``).
An analysis may override each with a parameter (lower-case name, e.g. ``{"faces": false,
"face_detector": "cnn"}``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from videoanalyzer.conf import AppSettings
from videoanalyzer.errors import InvalidParameter

FACE_DETECTORS = ("auto", "hog", "cnn")
DEVICES = ("auto", "cpu", "cuda")


class PeopleParameterError(InvalidParameter):
    """An analysis parameter of the people stages is invalid; the message says which."""


# Each also the Django setting of the same name (videoanalyzer.conf.AppSettings).
DEFAULTS: dict[str, Any] = {
    "FACES_ENABLED": True,
    "FACE_DETECTOR": "auto",
    "FACE_DEVICE": "auto",
    "FACE_FRAMES_PER_SCENE": 4,
    "FACE_SIDEWAYS": True,  # a scene without an upright face is searched turned, once
    "FACE_DETECT_WIDTH": 640,
    "FACE_UPSAMPLE": 1,
    "FACE_MIN_SCORE": 0.25,
    "FACE_MIN_SIZE": 36,
    "FACE_CLUSTER_THRESHOLD": 0.5,
    "FACE_CARRY_THRESHOLD": 0.5,
    "FACE_THREADS": None,  # one per core, at most 4 (face_threads)
    "SPEAKERS_ENABLED": True,
    "SPEAKER_DEVICE": "auto",
    "SPEAKER_CLUSTER_THRESHOLD": 0.3,
    "SPEAKER_CARRY_THRESHOLD": 0.25,
    "SPEAKER_MIN_SECONDS": 0.5,
}
setting = AppSettings(DEFAULTS)


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class FaceConfig:
    enabled: bool
    detector: str  # "auto" | "hog" | "cnn"
    device: str  # "auto" | "cpu" | "cuda"
    frames_per_scene: int
    detect_width: int  # frames are scaled down to this width for detection
    upsample: int  # HOG finds faces of ~80 px; each upsampling halves that
    min_score: float
    min_size: int  # smallest face side kept, in video pixels
    cluster_threshold: float  # face-embedding distance joining two faces into one character
    carry_threshold: float  # distance matching a new character to an editor-named one
    threads: int = 1  # frames searched at once (dlib's HOG detector lets go of the GIL)
    sideways: bool = True  # search a scene without upright faces for faces turned 90 degrees


@dataclass(frozen=True)
class SpeakerConfig:
    enabled: bool
    device: str
    cluster_threshold: float  # cosine distance joining two segments into one speaker
    carry_threshold: float
    num_speakers: int | None
    min_seconds: float  # shorter segments hold too little voice for an embedding


def _number(params: dict[str, Any], key: str, kind: type, low: float, high: float) -> Any:
    """Parameter ``key`` of the analysis, else the setting of that name, checked."""
    raw = params.get(key)
    try:
        value = setting(key.upper()) if raw in (None, "") else raw
        number = kind(value)
    except (TypeError, ValueError):
        raise PeopleParameterError(f"{key} must be a number between {low} and {high}.") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise PeopleParameterError(f"{key} must be a number between {low} and {high}.")
    return number


def _choice(params: dict[str, Any], key: str, env: str, choices: tuple[str, ...]) -> str:
    value = str(params.get(key) or setting(env)).lower()
    if value not in choices:
        raise PeopleParameterError(f"{key} must be one of {', '.join(choices)}.")
    return value


def face_config(params: dict[str, Any]) -> FaceConfig:
    """The face settings of an analysis (``params`` are its parameters)."""
    enabled = params.get("faces")
    return FaceConfig(
        enabled=as_bool(setting("FACES_ENABLED") if enabled is None else enabled),
        detector=_choice(params, "face_detector", "FACE_DETECTOR", FACE_DETECTORS),
        device=_choice(params, "device", "FACE_DEVICE", DEVICES),
        frames_per_scene=_number(params, "face_frames_per_scene", int, 1, 30),
        detect_width=_number(params, "face_detect_width", int, 160, 4096),
        upsample=_number(params, "face_upsample", int, 0, 3),
        min_score=_number(params, "face_min_score", float, -5.0, 5.0),
        min_size=_number(params, "face_min_size", int, 8, 4096),
        cluster_threshold=_number(params, "face_cluster_threshold", float, 0.05, 1.5),
        carry_threshold=_number(params, "face_carry_threshold", float, 0.05, 1.5),
        threads=face_threads(),
        sideways=as_bool(params.get("face_sideways", setting("FACE_SIDEWAYS"))),
    )


def face_threads() -> int:
    """``FACE_THREADS``, by default one per core (at most 4): a worker's own setting."""
    try:
        value = setting("FACE_THREADS")
        value = min(4, os.cpu_count() or 1) if value is None else int(value)
    except (TypeError, ValueError):
        raise PeopleParameterError("FACE_THREADS must be a whole number from 1 to 32.") from None
    if not 1 <= value <= 32:
        raise PeopleParameterError("FACE_THREADS must be a whole number from 1 to 32.")
    return value


def speaker_config(params: dict[str, Any]) -> SpeakerConfig:
    """The speaker settings of an analysis."""
    enabled = params.get("speakers")
    num = params.get("num_speakers")
    return SpeakerConfig(
        enabled=as_bool(setting("SPEAKERS_ENABLED") if enabled is None else enabled),
        device=_choice(params, "device", "SPEAKER_DEVICE", DEVICES),
        cluster_threshold=_number(params, "speaker_cluster_threshold", float, 0.01, 1.99),
        carry_threshold=_number(params, "speaker_carry_threshold", float, 0.01, 1.99),
        num_speakers=None
        if num in (None, "", "auto")
        else _number(params, "num_speakers", int, 1, 50),
        min_seconds=_number(params, "speaker_min_seconds", float, 0.1, 30.0),
    )


PARAMETER_KEYS = (
    "faces",
    "face_detector",
    "face_frames_per_scene",
    "face_sideways",
    "face_detect_width",
    "face_upsample",
    "face_min_score",
    "face_min_size",
    "face_cluster_threshold",
    "face_carry_threshold",
    "speakers",
    "speaker_cluster_threshold",
    "speaker_carry_threshold",
    "num_speakers",
    "speaker_min_seconds",
)


def people_parameters_clean(raw: dict[str, Any]) -> dict[str, Any]:
    """The people parameters present in ``raw``, validated (for ``analysis_parameters_clean``).

    Raises:
        PeopleParameterError: naming the parameter and what it accepts.
    """
    params = {key: raw[key] for key in PARAMETER_KEYS if raw.get(key) not in (None, "")}
    for key in ("faces", "speakers", "face_sideways"):
        if key in params and not isinstance(params[key], bool):
            raise PeopleParameterError(f"{key} must be true or false.")
    face_config(params)
    speaker_config(params)
    return params
