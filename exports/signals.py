"""An export's file goes when its row goes (analysis deleted, storyline merged away)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from exports.models import ExportJob


@receiver(post_delete, sender=ExportJob)
def export_file_delete(sender: type[ExportJob], instance: ExportJob, **kwargs: Any) -> None:
    if instance.file and instance.file.name:
        from analysis.signals import delete_and_prune

        delete_and_prune(instance.file.storage, str(instance.file.name))
