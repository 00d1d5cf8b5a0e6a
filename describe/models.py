"""Clients of the description service, their jobs, the descriptions found and callback deliveries.

Times are seconds (float) from the first video frame.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class DescribeClient(models.Model):
    """A backend allowed to call ``/process``: its token, signing secret and callback target."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="describe_clients"
    )
    name = models.CharField(max_length=100)
    # Only the token's SHA-256 (videoanalyzer.credentials): it is shown once, when made.
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8, blank=True)  # to tell tokens apart in lists
    secret = models.CharField(max_length=128)  # HMAC key for callbacks: must be kept readable
    callback_url = models.URLField(max_length=2000, blank=True)
    allow_private_urls = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="describe_client_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    # The original service's words for the end states, sent to the callback as they are.
    QUEUED = "QUEUED", "Queued"
    PROCESSING = "PROCESSING", "Processing"
    PROCESSED = "PROCESSED", "Processed"
    NOT_PROCESSED = "NOT_PROCESSED", "Not processed"


FINAL_STATUSES = (JobStatus.PROCESSED, JobStatus.NOT_PROCESSED)


class DescribeJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No client: a job started from the command line (``manage.py process_url``).
    client = models.ForeignKey(
        DescribeClient, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # A video of the library, described in place (no download); ``url`` is then empty.
    video = models.ForeignKey(
        "analysis.Video",
        on_delete=models.CASCADE,
        related_name="description_jobs",
        null=True,
        blank=True,
    )
    # Where the pauses come from for a library video: "subtitles" (its own) or "speech" (VAD).
    pause_source = models.CharField(max_length=10, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    subtitles_url = models.URLField(max_length=2000, blank=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=12, blank=True)
    allow_private_urls = models.BooleanField(default=False)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    # Facts of the run: duration, scene count, pauses, duplicates dropped, describer, seconds.
    metadata = models.JSONField(default=dict)
    attempts = models.IntegerField(default=0)
    # The worker's lease, renewed while it runs (videoanalyzer.jobs): a killed worker's job is
    # sent again once it expires; the broker message's time lets recovery resend a lost one.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="describe_job_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"DescribeJob {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class DescriptionResult(models.Model):
    """One accepted description: spoken from ``timestamp`` until at most ``end``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(DescribeJob, on_delete=models.CASCADE, related_name="results")
    index = models.IntegerField()  # order among the job's results, from 0
    scene = models.IntegerField()  # the scene (0-based) whose picture is described
    timestamp = models.FloatField()
    end = models.FloatField()
    text = models.TextField()
    frame_time = models.FloatField()  # the moment of the described frame
    similarity = models.FloatField(null=True, blank=True)  # to the previous accepted result
    language = models.CharField(max_length=12, blank=True)  # the description's ("": unknown)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="describe_result_unique_index"),
            models.UniqueConstraint(fields=["job", "scene"], name="describe_result_unique_scene"),
            models.CheckConstraint(
                condition=Q(timestamp__lt=F("end")), name="describe_result_start_before_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:.1f}s: {self.text}"


class CallbackDelivery(models.Model):
    """One callback message; its idempotency key makes sure it is delivered once at most."""

    job = models.ForeignKey(DescribeJob, on_delete=models.CASCADE, related_name="deliveries")
    result = models.OneToOneField(
        DescriptionResult,
        on_delete=models.CASCADE,
        related_name="delivery",
        null=True,
        blank=True,
    )
    event = models.CharField(max_length=16)  # "result" or "status"
    idempotency_key = models.CharField(max_length=200, unique=True)
    url = models.URLField(max_length=2000)
    body = models.TextField()  # the exact bytes signed and sent, identical on every retry
    attempts = models.IntegerField(default=0)
    last_status = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Given up: the URL refused the connection DESCRIBE_CALLBACK_REFUSED_ATTEMPTS times.
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "id"]
        indexes = [
            models.Index(
                fields=["job", "id"],
                name="describe_delivery_pending",
                condition=Q(delivered_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.idempotency_key}"
