"""Who is in the video: characters found by their faces, speakers found by their voices.

Vectors (face and voice embeddings) are stored as JSON lists of floats: they are read in bulk
by the stages and the carry-over of editor names, never queried inside the database.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from analysis.models import Analysis, Scene, TranscriptSegment


def character_image_upload_to(instance: Character, filename: str) -> str:
    # Under the analysis folder, so the media view's ownership check covers it.
    return f"analyses/{instance.analysis_id}/characters/{filename}"


class Character(models.Model):
    """One person seen in the video: a cluster of face detections across all scenes."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="characters")
    order = models.IntegerField(default=0)  # by first appearance; "Character <order + 1>"
    label = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)  # given by an editor
    confidence = models.FloatField(default=0.0)
    thumbnail = models.FileField(upload_to=character_image_upload_to, max_length=500, blank=True)
    centroid = models.JSONField(default=list)  # mean 128-d face embedding
    # Centroids of every cluster merged into this one: a re-run matches new clusters against
    # each, so an editor's merge survives even when the mean drifted away from its parts.
    prototypes = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["analysis", "order"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="character_confidence_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.label


class FaceAppearance(models.Model):
    """One appearance: a face followed through part of a scene (``people.tracking``).

    ``start_time``..``end_time`` is the span the track covers; the box, score and embedding
    are of its best face, seen at ``frame_time``."""

    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="appearances")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="face_appearances")
    start_time = models.FloatField()
    end_time = models.FloatField()
    frame_time = models.FloatField()  # the frame of the track's best face
    # Box in pixels of the video's frame (its stored width x height).
    x = models.IntegerField()
    y = models.IntegerField()
    w = models.IntegerField()
    h = models.IntegerField()
    score = models.FloatField()  # the detector's confidence
    embedding = models.JSONField(default=list)
    # Degrees clockwise the scene's frames were turned to show this face upright (0, 90 or
    # 270): footage stored on its side, found by the sideways search. The vision stages turn
    # the scene's frames the same way before they look at them.
    turn = models.SmallIntegerField(default=0)

    class Meta:
        ordering = ["start_time", "x"]
        indexes = [models.Index(fields=["scene", "character"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lte=F("end_time")), name="appearance_start_before_end"
            ),
            models.CheckConstraint(condition=Q(w__gt=0) & Q(h__gt=0), name="appearance_box_size"),
        ]


class Speaker(models.Model):
    """One voice: a cluster of transcript segments whose speaker embeddings agree."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="speakers")
    order = models.IntegerField(default=0)
    label = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    confidence = models.FloatField(default=0.0)
    centroid = models.JSONField(default=list)  # mean 256-d voice embedding
    prototypes = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["analysis", "order"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="speaker_confidence_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.label


class SpeakerTurn(models.Model):
    """A transcript segment attributed to a speaker."""

    speaker = models.ForeignKey(Speaker, on_delete=models.CASCADE, related_name="turns")
    segment = models.OneToOneField(
        TranscriptSegment, on_delete=models.CASCADE, related_name="speaker_turn"
    )
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="speaker_turns")
    start_time = models.FloatField()
    end_time = models.FloatField()
    embedding = models.JSONField(default=list)

    class Meta:
        ordering = ["start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lte=F("end_time")), name="turn_start_before_end"
            ),
        ]
