"""pg_trgm and a trigram index on the scene text, where the server offers the extension.

The embedded Postgres (pgserver) has no pg_trgm, and a managed server may not let us create
it: then nothing is done here, and search falls back to correcting words with rapidfuzz.
"""

from django.db import migrations

INDEX = "vision_sceneindex_trgm"


def create(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("SAVEPOINT vision_trgm")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # no privilege to create extensions: search falls back
            cursor.execute("ROLLBACK TO SAVEPOINT vision_trgm")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON vision_sceneindex "
            "USING gin (document gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("vision", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
