"""The partial re-run after a cut edit: the stages that depend on scene bounds, for the scenes
the edit touched only. An edit made while an earlier edit's re-run goes on takes it over: the
scenes of both are re-run together.

It is the analysis's own job: the analysis goes back to ``queued`` with every other stage
marked done and ``metadata["rescene"]`` naming the scenes, so the usual worker runs it under a
lease, reports progress on the analysis's WebSocket group, recovers from a crash, and can be
cancelled; the stages redo only the named scenes (``analysis.pipeline.stages.common.in_scope``).
The transcript is not recognised again: its segments were re-assigned by the edit itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from analysis.models import Analysis, AnalysisStatus, Scene
from analysis.pipeline import build_pipeline
from analysis.pipeline.stages.common import RESCENE_FAILED_KEY, RESCENE_KEY
from analysis.progress import analysis_publish

if TYPE_CHECKING:
    from cuts.models import CutEdit

# The stages whose results depend on where scenes start and end, in pipeline order. Faces are
# found again on the touched scenes' new pictures; each joins the character it looks like.
RESCENE_STAGES = (
    "keyframes",
    "audio",
    "faces",
    "embeddings",
    "objects",
    "ocr",
    "captions",
    "scene_index",
    "storylines",
)


def rescene_queue(
    analysis: Analysis,
    scene_ids: list[int],
    edit: CutEdit | None,
    step: str | None = None,
    tab: str = "",
) -> None:
    """Queue the re-run of ``scene_ids`` (with those of an earlier re-run that did not finish,
    or failed) on the locked ``analysis``; sent once the transaction commits, with the
    announcement of the edit's ``step`` (``edit``, ``undo`` or ``redo``; by default from the
    edit; none without an edit) naming ``tab``, the browser tab that asked for it."""
    metadata = analysis.metadata or {}
    pending = metadata.get(RESCENE_KEY) or metadata.get(RESCENE_FAILED_KEY) or {}
    wanted = set(scene_ids) | set(pending.get("scene_ids", []))
    alive = sorted(Scene.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    pipeline = [stage.name for stage in build_pipeline(analysis.parameters.get("stages"))]
    analysis.completed_stages = [name for name in pipeline if name not in RESCENE_STAGES]
    metadata = {k: v for k, v in analysis.metadata.items() if not k.startswith("rescene_")}
    edit_id = edit.pk if edit else pending.get("edit_id")
    analysis.metadata = {**metadata, RESCENE_KEY: {"scene_ids": alive, "edit_id": edit_id}}
    numbers = sorted(Scene.objects.filter(pk__in=alive).values_list("index", flat=True))
    analysis.status = AnalysisStatus.QUEUED
    analysis.progress = 0.0
    analysis.current_stage = ""
    analysis.error = ""
    analysis.attempts = 0
    # A re-run still going is taken over: without its lease, its worker's next progress report
    # or stage persist finds the job is not its own any more and stops, writing nothing.
    analysis.lease_owner, analysis.lease_expires_at = "", None
    analysis.finished_at = None
    listed = ", ".join(str(n + 1) for n in numbers)
    analysis.message = f"Re-running scene{'s' if len(numbers) > 1 else ''} {listed}"[:500]
    analysis.save()
    device = analysis.parameters.get("device")
    transaction.on_commit(lambda: _send(analysis, device, edit, step, tab))


def rescene_retry(analysis: Analysis) -> list[int]:
    """Queue again the re-run that failed on the locked ``analysis``; returns its scenes.

    Raises:
        ValueError: the latest re-run did not fail.
    """
    failed = (analysis.metadata or {}).get(RESCENE_FAILED_KEY)
    if not failed:
        raise ValueError("no failed re-run")
    rescene_queue(analysis, [], None)  # its scenes come from the failed scope
    return list(analysis.metadata[RESCENE_KEY]["scene_ids"])


def _send(
    analysis: Analysis, device: str | None, edit: CutEdit | None, step: str | None, tab: str
) -> None:
    from analysis.services import analysis_enqueue
    from cuts.selectors import publish_cuts_changed

    analysis_publish(analysis)
    if edit is not None:
        publish_cuts_changed(analysis, edit, step, tab=tab)
    analysis_enqueue(analysis_id=analysis.pk, device=device)
