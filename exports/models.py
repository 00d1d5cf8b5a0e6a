"""Export jobs: one file made from an analysis (or one of its storylines), cached by content.

A job is keyed by what it exports (analysis, storyline, kind, mode) and by the fingerprint of
the analysis's editable state when it ran: a request for the same export of an unchanged
analysis gets the finished job back instead of a new one.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from analysis.models import Analysis
from story.models import Storyline


def export_upload_to(instance: ExportJob, filename: str) -> str:
    # The stored name is ours; the download name (with the video's name) is sent separately.
    return f"exports/{instance.analysis_id}/{instance.id}/{filename}"


class ExportMode(models.TextChoices):
    """How a video cut is made. Not the field's ``choices``: a new mode needs no migration."""

    NONE = "", "Not applicable"
    SMART = "smart", "Frame-accurate, fast (re-encode only around the cuts)"
    EXACT = "exact", "Frame-accurate (re-encode everything)"
    COPY = "copy", "Keyframes only (includes neighbouring frames)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="export_jobs")
    storyline = models.ForeignKey(
        Storyline, null=True, blank=True, on_delete=models.CASCADE, related_name="export_jobs"
    )
    # Plain strings checked against the format registry and ``ExportMode`` by the services:
    # adding a format or a mode needs no migration.
    kind = models.CharField(max_length=16)
    mode = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    # The analysis state the file was made from (scenes, memberships, names): the cache key.
    fingerprint = models.CharField(max_length=64)
    file = models.FileField(upload_to=export_upload_to, max_length=500, blank=True)
    filename = models.CharField(max_length=255, blank=True)  # the download name
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    # Facts about the run: encoder, seconds, spans cut, output duration.
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's lease, renewed while it runs (videoanalyzer.jobs): a killed worker's job is
    # sent again once it expires; the broker message's time lets recovery resend a lost one.
    attempts = models.IntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["analysis", "kind", "fingerprint"]),
            models.Index(fields=["analysis", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="export_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.kind} of {self.analysis_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
