"""What the story app stores about an analysis's scenes.

``Storyline`` and ``StorylineScene`` (moved here from the analysis app; their tables kept their
names): a scene's ``StorylineScene`` row is its *primary* storyline (the original result lists a
scene only there; ``source`` says whether the machine or an editor put it there). Beside them:
the full relevance matrix, the scene graph, interest scores, the editor's other decisions (scenes
in no storyline, locked names and colours), the history of corrections with undo/redo, and
per-user preferences.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.models import Analysis, Scene


class Storyline(models.Model):
    """A thread of scenes that belong together, found by the storylines stage or an editor."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="storylines")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    color = models.CharField(max_length=7, default="#4e79a7")
    order = models.IntegerField(default=0)

    class Meta:
        db_table = "analysis_storyline"  # kept from when the analysis app owned it
        ordering = ["analysis", "order"]
        constraints = [
            models.UniqueConstraint(fields=["analysis", "order"], name="storyline_unique_order")
        ]

    def __str__(self) -> str:
        return self.name


class MembershipSource(models.TextChoices):
    AUTO = "auto", "Automatic"
    EDITOR = "editor", "Editor"


class StorylineScene(models.Model):
    """A scene's primary storyline (its other memberships are ``SceneRelevance`` rows)."""

    storyline = models.ForeignKey(Storyline, on_delete=models.CASCADE, related_name="memberships")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="memberships")
    relevance = models.FloatField(default=1.0)
    source = models.CharField(
        max_length=8, choices=MembershipSource.choices, default=MembershipSource.AUTO
    )

    class Meta:
        db_table = "analysis_storylinescene"
        constraints = [
            models.UniqueConstraint(fields=["storyline", "scene"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(relevance__gte=0) & Q(relevance__lte=1), name="membership_relevance_0_1"
            ),
        ]


class SceneFeatures(models.Model):
    """Per-scene signals measured from the media (colour, voice, text…), kept so a regroup
    after an editor's correction needs no decoding."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="story_features")
    data = models.JSONField(default=dict)


class EdgeKind(models.TextChoices):
    SIMILARITY = "similarity", "Similarity"
    CAUSAL = "causal", "Cause and effect"


class SceneEdge(models.Model):
    """An undirected edge of the scene graph (``source.index < target.index`` for similarity;
    a causal edge points from cause to effect)."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="scene_edges")
    source = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=EdgeKind.choices, default=EdgeKind.SIMILARITY)
    weight = models.FloatField()
    # {"colour": {"score": 0.8, "weight": 0.2, "why": "similar colours"}, …}
    components = models.JSONField(default=dict)

    class Meta:
        ordering = ["analysis", "-weight"]
        indexes = [models.Index(fields=["analysis", "kind", "-weight"])]
        constraints = [
            models.UniqueConstraint(
                fields=["analysis", "source", "target", "kind"], name="scene_edge_unique"
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0) & Q(weight__lte=1), name="scene_edge_weight_0_1"
            ),
        ]


class SceneRelevance(models.Model):
    """Membership strength of a scene in a storyline, 0..1; a scene's row sums to 1."""

    storyline = models.ForeignKey(Storyline, on_delete=models.CASCADE, related_name="relevances")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="story_relevances")
    relevance = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["storyline", "scene"], name="relevance_unique"),
            models.CheckConstraint(
                condition=Q(relevance__gte=0) & Q(relevance__lte=1), name="relevance_0_1"
            ),
        ]


class SceneInterest(models.Model):
    """How interesting a scene is, 0..1, with the parts it is made of."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="interest")
    score = models.FloatField()
    parts = models.JSONField(default=dict)  # {"motion": 0.7, "audio_energy": 0.4, …}

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="interest_score_0_1"
            ),
        ]


class SceneExclusion(models.Model):
    """An editor said this scene belongs to no storyline."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="story_exclusion")


class StorylineLock(models.Model):
    """What an editor fixed on a storyline: a re-run keeps it."""

    storyline = models.OneToOneField(Storyline, on_delete=models.CASCADE, related_name="lock")
    name = models.BooleanField(default=False)
    color = models.BooleanField(default=False)
    description = models.BooleanField(default=False)
    created = models.BooleanField(default=False)  # made by an editor: kept even when empty


class EditAction(models.TextChoices):
    MOVE = "move", "Move a scene"
    EXCLUDE = "exclude", "Scene in no storyline"
    SPLIT = "split", "Split a storyline"
    MERGE = "merge", "Merge storylines"
    RENAME = "rename", "Rename or recolour"
    CREATE = "create", "Create a storyline"
    DELETE = "delete", "Delete a storyline"
    REGROUP = "regroup", "Regroup scenes"


class StorylineEdit(models.Model):
    """One correction by an editor, with the storyline state before and after (for undo)."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="storyline_edits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=10, choices=EditAction.choices)
    params = models.JSONField(default=dict)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["analysis", "created_at", "id"]
        indexes = [models.Index(fields=["analysis", "created_at"])]


class StoryPreference(models.Model):
    """Per-user: whether corrections teach the graph weights of the user's next videos."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="story_preference"
    )
    learn_from_edits = models.BooleanField(default=False)
    weight_multipliers = models.JSONField(default=dict)  # {"voice": 1.4, "colour": 0.8, …}
    updated_at = models.DateTimeField(auto_now=True)


class SceneConfidence(models.Model):
    """How sure the grouping is of a scene's storyline, the reasons, and whether an editor
    should check it (``story.confidence``)."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="story_confidence")
    confidence = models.FloatField()
    # [{"signal": "voiceprint", "why": "the same voice", "share": 0.21}, …], strongest first
    reasons = models.JSONField(default=list)
    against = models.JSONField(null=True, blank=True)  # the signal pulling the other way
    runner_up = models.ForeignKey(
        Storyline, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    needs_review = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["needs_review", "confidence"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="confidence_0_1"
            ),
        ]
