"""Settings of the description service, each overridable in Django settings or the environment.

Read through ``conf.get(name)`` at the moment of use, so tests (and ``override_settings``) can
change them. Environment variables have the same names as the settings.
"""

from __future__ import annotations

from typing import Any

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    # Downloads
    "DESCRIBE_MAX_VIDEO_BYTES": 2 * 1024**3,
    "DESCRIBE_MAX_SUBTITLE_BYTES": 5 * 1024**2,
    "DESCRIBE_DOWNLOAD_TIMEOUT_SECONDS": 600.0,  # the whole download
    "DESCRIBE_CONNECT_TIMEOUT_SECONDS": 10.0,  # connecting and each read
    # A download receiving fewer than STALL_MIN_BYTES in STALL_SECONDS is given up.
    "DESCRIBE_STALL_SECONDS": 30.0,
    "DESCRIBE_STALL_MIN_BYTES": 16 * 1024,
    "DESCRIBE_MAX_REDIRECTS": 5,
    # Private, loopback and link-local addresses are refused unless this is on (or the
    # client's own ``allow_private_urls`` flag is).
    "DESCRIBE_ALLOW_PRIVATE_URLS": False,
    # Placement and de-duplication
    "DESCRIBE_MIN_PAUSE_SECONDS": 2.0,
    "DESCRIBE_MAX_DESCRIPTION_SECONDS": 8.0,
    # How fast a description is read aloud: its cue lasts as long as reading it takes.
    "DESCRIBE_SPEECH_CHARS_PER_SECOND": 14.0,
    "DESCRIBE_FRAME_OFFSET_SECONDS": 1.0,
    # The cut detector (see mediakit.shots.DETECTORS); empty: the analysis default.
    "DESCRIBE_SCENE_DETECTOR": "",
    "DESCRIBE_SIMILARITY_THRESHOLD": 0.6,  # a description at least this similar is dropped
    "DESCRIBE_DESCRIBER": "auto",  # auto (vision if installed), fallback, or module:factory
    "DESCRIBE_LANGUAGE": "en",
    # Describe in the language of the speech around each pause (identified with the Whisper
    # model) when the client names no language; off: always DESCRIBE_LANGUAGE.
    "DESCRIBE_FOLLOW_SPEECH_LANGUAGE": True,
    # Callbacks
    "DESCRIBE_CALLBACK_TIMEOUT_SECONDS": 10.0,
    "DESCRIBE_CALLBACK_ATTEMPTS": 4,  # tries within the job before handing over to the broker
    "DESCRIBE_CALLBACK_BACKOFF_SECONDS": 0.5,  # doubled after every failed try
    "DESCRIBE_CALLBACK_RETRIES": 8,  # later retries by the broker, with its own backoff
    # A callback URL that refused the connection this many times is given up (nothing listens).
    "DESCRIBE_CALLBACK_REFUSED_ATTEMPTS": 3,
    # Jobs
    "DESCRIBE_JOB_TIME_LIMIT_SECONDS": 6 * 3600,
}


get = AppSettings(DEFAULTS)
