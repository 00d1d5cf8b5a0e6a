"""The history of an analysis's cut edits, with what undo needs to put things back."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from analysis.models import Analysis


class CutAction(models.TextChoices):
    ADD = "add", "Add a cut"
    REMOVE = "remove", "Remove a cut"
    MOVE = "move", "Move a cut"


class CutEdit(models.Model):
    """One cut edit by an editor.

    ``time`` is the cut the edit made (add, move) or took away (remove); ``from_time`` where a
    moved cut was. ``before`` holds what the edit replaced that the re-run cannot make again:
    the scene rows it removed (with their storyline decisions) and the transcript segments of
    the scenes it touched, so undo puts back the same rows with the same ids.
    """

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="cut_edits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=8, choices=CutAction.choices)
    time = models.FloatField()
    from_time = models.FloatField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    scene_ids = models.JSONField(default=list)  # pks of the scenes re-run after the edit
    before = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["analysis", "created_at", "id"]
        indexes = [models.Index(fields=["analysis", "created_at"])]

    def __str__(self) -> str:
        return self.summary or f"{self.action} at {self.time:.3f}"
