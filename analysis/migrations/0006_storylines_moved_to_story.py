"""The analysis app forgets ``Storyline`` and ``StorylineScene``: the story app owns them now
(``story.0002``). Nothing happens to the tables or their rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0005_segment_language_probability"),
        ("story", "0002_storyline_from_analysis"),
        ("exports", "0003_storyline_in_story"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="StorylineScene"),
                migrations.DeleteModel(name="Storyline"),
            ],
            database_operations=[],
        )
    ]
