"""API tokens are kept as the SHA-256 of their key, with the key's first characters in clear.

Forwards, each existing key is hashed: scripts holding a key keep working. Backwards, the keys
cannot be restored from their digests, so every token is deleted (their owners make new ones).
"""

import hashlib
from typing import Any

from django.db import migrations, models


def hash_keys(apps: Any, schema_editor: Any) -> None:
    tokens = apps.get_model("analysis", "ApiToken").objects.using(schema_editor.connection.alias)
    for token in tokens.only("pk", "key"):
        # As videoanalyzer.credentials.token_digest does (spelled out: a migration is frozen).
        token.key_hash = hashlib.sha256(token.key.encode()).hexdigest()
        token.prefix = token.key[:6]  # what the tokens page showed before
        token.save(update_fields=["key_hash", "prefix"])


def delete_tokens(apps: Any, schema_editor: Any) -> None:
    tokens = apps.get_model("analysis", "ApiToken").objects.using(schema_editor.connection.alias)
    tokens.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0006_storylines_moved_to_story"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="key_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="prefix",
            field=models.CharField(blank=True, default="", max_length=8),
            preserve_default=False,
        ),
        migrations.RunPython(hash_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apitoken", name="key"),
        # Backwards, the plain key column comes back empty of meaning: no token survives.
        migrations.RunPython(migrations.RunPython.noop, delete_tokens),
        migrations.AlterField(
            model_name="apitoken",
            name="key_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
