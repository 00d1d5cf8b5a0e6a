"""Exporting every storyline's files into a folder, with a ``manifest.json`` (the CLI's
``--export DIR``).

Each file is made by an ordinary export job (so a second run reuses the cached files), copied
into a hidden folder inside DIR and moved into place only when every file is done: a failed or
interrupted run leaves nothing of itself in DIR.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from analysis.models import Analysis
from exports.errors import ExportError
from exports.formats import ANALYSIS, STORYLINE, ExportFormat, get_format
from exports.models import ExportJob, ExportStatus
from exports.production import scene_spans
from exports.selectors import StorylinePlan, storyline_plans
from exports.services.jobs import export_execute
from exports.services.requests import export_request

DEFAULT_FORMATS = ("mp4", "edl", "otio", "fcpxml", "srt", "vtt")
Listener = Callable[[int, int, str, float], None]  # file number, files, what, fraction


def parse_formats(text: str | None) -> list[ExportFormat]:
    """``"mp4,edl"`` as formats; unknown names are refused with the list of known ones."""
    names = [n.strip() for n in (text or ",".join(DEFAULT_FORMATS)).split(",") if n.strip()]
    formats = [get_format(n) for n in names]
    unknown = [n for n, f in zip(names, formats, strict=True) if f is None]
    if unknown:
        raise ExportError(f"Unknown format(s): {', '.join(unknown)}.")
    return [f for f in formats if f is not None]


def _plan_files(
    analysis: Analysis, formats: Sequence[ExportFormat]
) -> list[tuple[ExportFormat, StorylinePlan | None]]:
    plans = [p for p in storyline_plans(analysis) if p.scenes]
    if not plans:
        raise ExportError("The analysis has no storyline with scenes to export.")
    wanted: list[tuple[ExportFormat, StorylinePlan | None]] = []
    for fmt in formats:
        if STORYLINE in fmt.scopes:
            wanted += [(fmt, plan) for plan in plans]
        elif ANALYSIS in fmt.scopes:
            wanted.append((fmt, None))
    return wanted


def export_to_directory(
    *,
    analysis: Analysis,
    directory: Path,
    formats: Sequence[ExportFormat],
    mode: str | None = None,
    listener: Listener | None = None,
) -> dict[str, Any]:
    """Write the files into ``directory`` and return the manifest (also written there).

    Raises:
        ExportError: a file could not be made (its job's reason); nothing is left in DIR.
    """
    wanted = _plan_files(analysis, formats)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=directory))
    try:
        entries = [
            _one_file(analysis, fmt, plan, mode, staging, n, len(wanted), listener)
            for n, (fmt, plan) in enumerate(wanted)
        ]
        manifest = {"video": analysis.video.original_name, "files": entries}
        text = json.dumps(manifest, ensure_ascii=False, indent=2)
        (staging / "manifest.json").write_text(text, encoding="utf-8")
        for path in sorted(staging.iterdir()):  # all made: move them into place
            path.replace(directory / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _one_file(
    analysis: Analysis,
    fmt: ExportFormat,
    plan: StorylinePlan | None,
    mode: str | None,
    staging: Path,
    number: int,
    total: int,
    listener: Listener | None,
) -> dict[str, Any]:
    what = f"{plan.name if plan else 'whole analysis'} \u00b7 {fmt.name}"

    def hear(fraction: float, message: str) -> None:
        if listener is not None:
            listener(number, total, what, fraction)

    hear(0.0, "")
    job, _ = export_request(
        analysis=analysis,
        kind=fmt.name,
        storyline_id=plan.pk if plan else None,
        mode=mode if fmt.cut_mode else None,
        enqueue=False,
    )
    if job.status == ExportStatus.QUEUED:
        export_execute(job_id=job.pk, listener=hear)
    job = ExportJob.objects.get(pk=job.pk)
    if job.status != ExportStatus.COMPLETED:
        raise ExportError(f"{what}: {job.error or job.message or job.status}")
    with job.file.open("rb") as src, (staging / job.filename).open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    hear(1.0, "")
    return _entry(job, fmt, plan)


def _entry(job: ExportJob, fmt: ExportFormat, plan: StorylinePlan | None) -> dict[str, Any]:
    if "spans" in job.metadata:  # what the video cut really holds
        spans = [list(s) for s in job.metadata["spans"]]
    elif plan is not None:
        spans = [[round(s.start, 3), round(s.end, 3)] for s in scene_spans(plan)]
    else:
        spans = []
    return {
        "path": job.filename,
        "format": fmt.name,
        "storyline": f"storyline_{plan.number}" if plan else None,  # its id in the result JSON
        "mode": job.mode or None,
        "spans": spans,
    }
