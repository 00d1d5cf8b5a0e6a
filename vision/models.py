"""What the vision stages found per scene, and the scene index that search reads.

Each stage owns one table and replaces its rows on every run. Vectors are stored as raw
little-endian floats (``BinaryField``): pgvector is not available on every Postgres this
app runs on, and similarity over one library is computed in numpy.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from analysis.models import Analysis, Scene


class SceneEmbedding(models.Model):
    """A keyframe's image embedding (float32, L2-normalised) for visual similarity."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="image_embedding")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=200)
    dim = models.IntegerField()
    vector = models.BinaryField()


class SceneObjects(models.Model):
    """ImageNet classes, zero-shot tags, place and motion of a scene."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="visual_objects")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    labels = models.JSONField(default=list)  # [{"label", "score", "class_id"}], best first
    tags = models.JSONField(default=list)  # [{"label", "score"}] from CLIP, when configured
    actions = models.JSONField(default=list)  # [{"label", "score"}] from CLIP, when configured
    place = models.CharField(max_length=10, blank=True)  # "indoor", "outdoor" or ""
    place_score = models.FloatField(default=0.0)
    motion = models.FloatField(null=True, blank=True)  # mean grey difference 0.2 s apart, 0..1
    action = models.CharField(max_length=20, blank=True)  # static, calm, moving, fast motion


class SceneText(models.Model):
    """On-screen text read from a scene's keyframe."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="onscreen_text")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    lines = models.JSONField(default=list)  # [{"text", "confidence", "box": [x, y, w, h]}]
    # The same text as in the scene before: recorded once, at first_scene_index.
    continues = models.BooleanField(default=False)
    first_scene_index = models.IntegerField(null=True, blank=True)


class CaptionSource(models.TextChoices):
    MODEL = "model", "Captioning model"
    DESCRIBER = "describer", "Offline describer"


class SceneCaption(models.Model):
    """A sentence describing a scene's keyframe, in the language asked for."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="caption")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    language = models.CharField(max_length=8, default="en")
    text_en = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=CaptionSource.choices)
    model = models.CharField(max_length=200, blank=True)


class SceneIndex(models.Model):
    """Everything searchable about a scene: ``{objects, people, actions, text, sceneId}``."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="search_index")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="scene_index")
    object_names = models.JSONField(default=list)  # "objects" in the index record
    people = models.JSONField(default=list)
    speakers = models.JSONField(default=list)
    actions = models.JSONField(default=list)
    text = models.TextField(blank=True)
    transcript = models.TextField(blank=True)
    caption = models.TextField(blank=True)
    names = models.TextField(blank=True)  # people and speakers, for the search vector
    keywords = models.TextField(blank=True)  # objects and actions, for the search vector
    document = models.TextField(blank=True)  # all of the above as one text
    search_vector = SearchVectorField(null=True)

    class Meta:
        indexes = [GinIndex(fields=["search_vector"], name="vision_sceneindex_fts")]


class ChunkKind(models.TextChoices):
    SPEECH = "speech", "Speech"
    PHRASE = "phrase", "Phrase of speech"  # a few words of a segment, for semantic search
    CAPTION = "caption", "Caption"
    TEXT = "text", "On-screen text"
    OBJECTS = "objects", "Objects"
    PEOPLE = "people", "People"


class SceneChunk(models.Model):
    """One searchable piece of a scene with its moment and its sentence embedding."""

    index = models.ForeignKey(SceneIndex, on_delete=models.CASCADE, related_name="chunks")
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ChunkKind.choices)
    text = models.TextField()
    context = models.TextField(blank=True)  # a phrase's whole segment, shown as the snippet
    time = models.FloatField()  # where the player should start, in seconds
    model = models.CharField(max_length=200, blank=True)
    vector = models.BinaryField(blank=True)  # float16 sentence embedding

    class Meta:
        ordering = ["time"]
