"""Files follow their rows: deleting a video, analysis or scene removes its files from storage.

Deletion waits for the commit, so a rolled-back delete never loses a file. Changing a user or
one of their API tokens forgets the tokens this process remembers (``analysis.tokens``).
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from analysis import tokens
from analysis.models import Analysis, ApiToken, Scene, Video


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
def token_changed(sender: type[ApiToken], instance: ApiToken, **kwargs: Any) -> None:
    tokens.forget_user(instance.user_id)


@receiver(post_save, sender=get_user_model())
@receiver(post_delete, sender=get_user_model())
def user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    tokens.forget_user(instance.pk)


def delete_and_prune(storage: Any, name: str) -> None:
    """Delete the stored file ``name`` and the folders it leaves empty."""
    storage.delete(name)
    prune_empty_parents(storage, name)


def prune_empty_parents(storage: Any, name: str) -> None:
    """Remove the folders above ``name`` that are empty now, up to the storage's root.

    Only a file-system storage has folders; ``rmdir`` removes nothing that is not empty.
    """
    try:
        folder = Path(storage.path(name)).parent
        root = Path(storage.location).resolve()
    except (NotImplementedError, AttributeError):
        return
    while folder.resolve() != root and root in folder.resolve().parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or already gone): the folders above are not empty either
            return
        folder = folder.parent


def _delete_after_commit(*files: FieldFile) -> None:
    for f in files:
        if f and f.name:
            transaction.on_commit(partial(delete_and_prune, f.storage, str(f.name)))


@receiver(post_delete, sender=Video)
def video_deleted(sender: type[Video], instance: Video, **kwargs: Any) -> None:
    _delete_after_commit(instance.file, instance.subtitles)


@receiver(post_delete, sender=Scene)
def scene_deleted(sender: type[Scene], instance: Scene, **kwargs: Any) -> None:
    _delete_after_commit(instance.keyframe, instance.thumbnail)


def _delete_folder(storage: Any, folder: str) -> None:
    """Remove every file under ``folder`` (files that no FileField points to, e.g. strips)."""
    try:
        dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
    for sub in dirs:
        _delete_folder(storage, f"{folder}/{sub}")
    prune_empty_parents(storage, f"{folder}/-")  # the folder itself, then empty parents


@receiver(post_delete, sender=Analysis)
def analysis_deleted(sender: type[Analysis], instance: Analysis, **kwargs: Any) -> None:
    """An analysis's images, result file and scratch space go with it."""
    storage = Scene._meta.get_field("keyframe").storage
    folder = f"analyses/{instance.pk}"
    result = Path(settings.RESULTS_DIR) / f"{instance.pk}.json"
    work = Path(settings.VAR_DIR) / "work" / str(instance.pk)

    def cleanup() -> None:
        _delete_folder(storage, folder)
        result.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)

    transaction.on_commit(cleanup)
