"""Settings of the analysis app: a Django setting of the same name wins, then the environment,
then ``DEFAULTS`` (``videoanalyzer.conf.AppSettings``). Meanings are in ``.env.example``.
"""

from __future__ import annotations

from typing import Any

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "DEFAULT_NUM_STORYLINES": 3,
    "MAX_NUM_STORYLINES": 50,
    # combined | transnetv2 | content (the original's, threshold 27) | adaptive | threshold | ...
    "SCENE_DETECTOR": "combined",
    # In the chosen detector's own scale; None: that detector's default.
    "SCENE_THRESHOLD": None,
    "SCENE_DEVICE": "auto",  # TransNetV2: auto | cpu | cuda
    # TransNetV2's arithmetic: auto (bfloat16/float16 where the hardware has it) | float32.
    "SCENE_PRECISION": "auto",
    "MIN_SCENE_SECONDS": 0.6,
    "WHISPER_MODEL_SIZE": "base",
    # Models a user may name in an analysis (`whisper_model`), besides WHISPER_MODEL_SIZE.
    "WHISPER_MODELS_ALLOWED": "base,tiny.en",
    "WHISPER_DEVICE": "auto",
    "WHISPER_COMPUTE_TYPE": "default",
    "WHISPER_LANGUAGE": None,  # None: identified stretch by stretch
    # The languages films may speak: each stretch of speech is transcribed in the one of these
    # the detector finds (analysis/pipeline/speech/languages.py). Empty: any language.
    "WHISPER_EXPECTED_LANGUAGES": "en,ru",
    # On the CPU, audio shorter than this is decoded window by window instead of in batches
    # (slower; see analysis/pipeline/stages/transcript.py). 0: everything in batches.
    "WHISPER_BATCH_MIN_SECONDS": 0.0,
    # The audio-only stages run on a thread of their own beside the picture stages
    # (analysis/pipeline/lanes.py); false: every stage on one thread, in pipeline order.
    "ANALYSIS_LANES": True,
    "ANALYSIS_TIME_LIMIT_SECONDS": 6 * 3600,
    # Recovery: a worker renews its lease while alive; an expired lease hands the job on.
    "ANALYSIS_LEASE_SECONDS": 60.0,
    "ANALYSIS_MAX_ATTEMPTS": 5,
    "RECOVERY_INTERVAL_SECONDS": 30.0,
    "QUEUED_RESEND_SECONDS": 600.0,
    # Fault injection for the crash tests only: a worker holds still mid-stage so a kill lands.
    "FAULT_PAUSE_STAGE": "",
    "FAULT_PAUSE_SECONDS": 60.0,
    # The first account `manage.py bootstrap` makes (the password defaults to "editor" only
    # with the embedded database, which listens on loopback).
    "ADMIN_USERNAME": "editor",
    "ADMIN_PASSWORD": "",
}

setting = AppSettings(DEFAULTS)
