"""An export's storyline is ``story.Storyline`` now (same table: only the state changes)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0002_plain_kind_and_mode"),
        ("story", "0002_storyline_from_analysis"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="exportjob",
                    name="storyline",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="export_jobs",
                        to="story.storyline",
                    ),
                )
            ],
            database_operations=[],
        )
    ]
