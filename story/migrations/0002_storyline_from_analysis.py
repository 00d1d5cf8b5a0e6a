"""``Storyline`` and ``StorylineScene`` move from the analysis app to this one.

Only Django's idea of who owns them changes: the tables keep their names
(``analysis_storyline``, ``analysis_storylinescene``), their rows, constraints and the foreign
keys that point at them, so nothing is copied and the move is instant on any size of database.
The content types follow the models (permissions and admin history stay attached).
The analysis app forgets the models in ``analysis.0006``, after every foreign key in the state
(story's here, exports' in ``exports.0003``) points at the new owner.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["storyline", "storylinescene"]


def content_types_to(app_label: str, other: str):
    def move(apps, schema_editor):
        content_type = apps.get_model("contenttypes", "ContentType")
        taken = set(
            content_type.objects.filter(app_label=app_label, model__in=MOVED).values_list(
                "model", flat=True
            )
        )
        content_type.objects.filter(app_label=other, model__in=MOVED).exclude(
            model__in=taken
        ).update(app_label=app_label)

    return move


STATE = [
    migrations.CreateModel(
        name="Storyline",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            ("name", models.CharField(max_length=200)),
            ("description", models.TextField(blank=True)),
            ("color", models.CharField(default="#4e79a7", max_length=7)),
            ("order", models.IntegerField(default=0)),
            (
                "analysis",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="storylines",
                    to="analysis.analysis",
                ),
            ),
        ],
        options={
            "db_table": "analysis_storyline",
            "ordering": ["analysis", "order"],
            "constraints": [
                models.UniqueConstraint(fields=("analysis", "order"), name="storyline_unique_order")
            ],
        },
    ),
    migrations.CreateModel(
        name="StorylineScene",
        fields=[
            (
                "id",
                models.BigAutoField(
                    auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                ),
            ),
            ("relevance", models.FloatField(default=1.0)),
            (
                "source",
                models.CharField(
                    choices=[("auto", "Automatic"), ("editor", "Editor")],
                    default="auto",
                    max_length=8,
                ),
            ),
            (
                "scene",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="memberships",
                    to="analysis.scene",
                ),
            ),
            (
                "storyline",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="memberships",
                    to="story.storyline",
                ),
            ),
        ],
        options={
            "db_table": "analysis_storylinescene",
            "constraints": [
                models.UniqueConstraint(fields=("storyline", "scene"), name="membership_unique"),
                models.CheckConstraint(
                    condition=models.Q(("relevance__gte", 0), ("relevance__lte", 1)),
                    name="membership_relevance_0_1",
                ),
            ],
        },
    ),
    migrations.AlterField(
        model_name="scenerelevance",
        name="storyline",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.CASCADE,
            related_name="relevances",
            to="story.storyline",
        ),
    ),
    migrations.AlterField(
        model_name="storylinelock",
        name="storyline",
        field=models.OneToOneField(
            on_delete=django.db.models.deletion.CASCADE,
            related_name="lock",
            to="story.storyline",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0004_scene_audio_loudness_lufs"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("story", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE, database_operations=[]),
        migrations.RunPython(
            content_types_to("story", "analysis"), content_types_to("analysis", "story")
        ),
    ]
