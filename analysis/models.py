"""Domain models: videos, their analyses, and what each analysis found.

Times are seconds (float) everywhere; frames are 0-based indices at the video's fps.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from videoanalyzer.credentials import token_digest, token_new, token_visible_part


def video_upload_to(instance: Video, filename: str) -> str:
    # The stored name never comes from the user: only the checked extension does.
    return f"videos/{instance.owner_id}/{instance.id}/source{instance.extension}"


def subtitles_upload_to(instance: Video, filename: str) -> str:
    return f"videos/{instance.owner_id}/{instance.id}/subtitles{Path(filename).suffix.lower()}"


def scene_image_upload_to(instance: Scene, filename: str) -> str:
    return f"analyses/{instance.analysis_id}/{filename}"


class Video(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos"
    )
    file = models.FileField(upload_to=video_upload_to, max_length=500)
    original_name = models.CharField(max_length=255)
    extension = models.CharField(max_length=10, default=".mp4")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    duration = models.FloatField()
    fps = models.FloatField()
    frame_count = models.IntegerField()
    width = models.IntegerField()
    height = models.IntegerField()
    video_codec = models.CharField(max_length=50, blank=True)
    audio_codec = models.CharField(max_length=50, blank=True)
    has_audio = models.BooleanField(default=False)
    rotation = models.IntegerField(default=0)
    # The user's own subtitles (SRT/VTT): used instead of, or to check, the transcript.
    subtitles = models.FileField(upload_to=subtitles_upload_to, max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(duration__gt=0), name="video_duration_positive"),
            models.UniqueConstraint(fields=["owner", "sha256"], name="video_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return self.original_name


class AnalysisStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING)


class Analysis(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="analyses")
    status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.QUEUED
    )
    current_stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    # What the time left is estimated from, as of the last progress report: the seconds the
    # workers spent on work that is kept (time between a crash and the takeover, and work lost
    # with the crash, not counted) and the share of the whole that this work is. ``progress``
    # never goes back, so after a resume it may stand above ``work_done`` for a while.
    work_seconds = models.FloatField(default=0.0)
    work_done = models.FloatField(default=0.0)
    # Seconds left as estimated at the last progress report (``analysis.stagecosts``); None
    # while a stage of the run was never timed on this installation.
    time_left_seconds = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    parameters = models.JSONField(default=dict)
    # Names of stages whose output is persisted; a resumed run skips them.
    completed_stages = models.JSONField(default=list)
    # Per-stage seconds and other facts about the run (fps, size, models used).
    metadata = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    attempts = models.IntegerField(default=0)
    # A running analysis is leased by one worker, which renews the lease while it lives; an
    # expired lease means the worker died, and recovery hands the job to another worker.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    analysis_time_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["video", "-created_at"]),
            models.Index(
                fields=["updated_at"],
                name="analysis_active_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="analysis_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis {self.id} of {self.video_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def num_storylines(self) -> int | None:
        value: Any = self.parameters.get("num_storylines")
        return int(value) if value is not None else None


class Scene(models.Model):
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="scenes")
    index = models.IntegerField()
    start_time = models.FloatField()
    end_time = models.FloatField()
    start_frame = models.IntegerField()
    end_frame = models.IntegerField()
    keyframe_time = models.FloatField(null=True, blank=True)
    keyframe = models.FileField(upload_to=scene_image_upload_to, max_length=500, blank=True)
    thumbnail = models.FileField(upload_to=scene_image_upload_to, max_length=500, blank=True)

    class Meta:
        ordering = ["analysis", "index"]
        constraints = [
            models.UniqueConstraint(fields=["analysis", "index"], name="scene_unique_index"),
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="scene_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(start_frame__lt=F("end_frame")), name="scene_frames_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"scene_{self.index + 1}"

    @property
    def public_id(self) -> str:
        return f"scene_{self.index + 1}"

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time


class TranscriptSegment(models.Model):
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="segments")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="segments")
    start_time = models.FloatField()
    end_time = models.FloatField()
    text = models.TextField()
    words = models.JSONField(default=list)  # [{"word", "start", "end", "probability"}]
    language = models.CharField(max_length=12, blank=True)
    # How sure Whisper's detector was of ``language`` (None: forced, or from subtitles).
    language_probability = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["start_time"]
        indexes = [models.Index(fields=["analysis", "start_time"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lte=F("end_time")), name="segment_start_before_end"
            ),
        ]

    @property
    def start_in_scene(self) -> float:
        return self.start_time - self.scene.start_time

    @property
    def end_in_scene(self) -> float:
        return self.end_time - self.scene.start_time


class SceneAudioFeatures(models.Model):
    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="audio")
    rms_energy = models.FloatField()
    spectral_centroid_mean = models.FloatField()
    zero_crossing_rate = models.FloatField()
    tempo = models.FloatField()
    loudness_db = models.FloatField(null=True, blank=True)  # RMS in dBFS, not weighted
    speech_ratio = models.FloatField(null=True, blank=True)
    # ITU-R BS.1770-4 / EBU R128 (mediakit.loudness); null: silent or too short.
    loudness_lufs = models.FloatField(null=True, blank=True)
    momentary_max_lufs = models.FloatField(null=True, blank=True)
    loudness_range_lu = models.FloatField(null=True, blank=True)


def new_token_key() -> str:
    """The default of the plain ``key`` column tokens had before they were hashed (migration
    0001 still names it)."""
    return secrets.token_urlsafe(32)


API_TOKEN_PREFIX = "va_"  # tells a leaked string for what it is (secret scanners, logs)


class ApiTokenManager(models.Manager["ApiToken"]):
    def issue(self, *, user: Any, name: str = "") -> tuple[ApiToken, str]:
        """Make a token for ``user``; returns it with its key, which is never stored."""
        key = token_new(API_TOKEN_PREFIX)
        token = self.create(
            user=user, name=name, key_hash=token_digest(key), prefix=token_visible_part(key)
        )
        return token, key


class ApiToken(models.Model):
    """A bearer token for scripts and other backends calling the API.

    Only the key's SHA-256 is kept (``videoanalyzer.credentials``): the key is shown once,
    when the token is made, and a copy of the table lets nobody in.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, blank=True)  # the key's start, to tell tokens apart
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenManager()

    def __str__(self) -> str:
        return f"token {self.name or self.pk} of {self.user_id}"
