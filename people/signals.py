"""A character's thumbnail goes with its row, once the deletion is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from people.models import Character


@receiver(post_delete, sender=Character)
def character_deleted(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    thumbnail = instance.thumbnail
    if thumbnail and thumbnail.name:
        storage, name = thumbnail.storage, thumbnail.name
        # After the commit: a rolled-back re-run or merge must not lose the picture.
        transaction.on_commit(lambda: storage.delete(name))
