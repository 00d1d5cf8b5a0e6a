"""Files follow their rows: deleting a video, analysis or scene removes its files from storage.

Deletion waits for the commit, so a rolled-back delete never loses a file.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete
from django.dispatch import receiver

from analysis.models import Scene, Video


def _delete_after_commit(*files: FieldFile) -> None:
    for f in files:
        if f and f.name:
            storage, name = f.storage, f.name
            transaction.on_commit(lambda s=storage, n=name: s.delete(n))


@receiver(post_delete, sender=Video)
def video_deleted(sender: type[Video], instance: Video, **kwargs: Any) -> None:
    _delete_after_commit(instance.file)


@receiver(post_delete, sender=Scene)
def scene_deleted(sender: type[Scene], instance: Scene, **kwargs: Any) -> None:
    _delete_after_commit(instance.keyframe, instance.thumbnail)
