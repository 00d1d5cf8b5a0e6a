"""Bad input ends in a clear message (HTTP 4xx or a failed job with its reason) and leaves no
partial file in storage or in the scratch folder: a storyline with no scenes, a source gone
from storage, a full disk, a cancelled job, an ffmpeg that dies half way."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.test import Client

from exports import services
from exports.models import ExportJob
from story.models import Storyline

pytestmark = pytest.mark.django_db


def request(analysis: Any, number: int = 1, kind: str = "mp4") -> ExportJob:
    line = Storyline.objects.get(analysis=analysis, order=number - 1)
    job, _ = services.export_request(
        analysis=analysis, kind=kind, storyline_id=line.pk, enqueue=False
    )
    return job


def nothing_left(job: ExportJob) -> None:
    job.refresh_from_db()
    assert not job.file
    stored = Path(settings.MEDIA_ROOT) / "exports" / str(job.analysis_id) / str(job.pk)
    assert not stored.exists() or list(stored.iterdir()) == []
    scratch = Path(settings.VAR_DIR) / "work" / "exports"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_a_storyline_with_no_scenes_is_a_400(alice: Client, long_gop_analysis: Any) -> None:
    empty = Storyline.objects.create(analysis=long_gop_analysis, name="Empty", order=9)
    url = f"/api/analyses/{long_gop_analysis.pk}/exports"
    for kind in ("mp4", "srt"):
        response = alice.post(
            url, {"kind": kind, "storyline_id": empty.pk}, content_type="application/json"
        )
        assert response.status_code == 400
        assert "has no scenes" in response.json()["detail"]
    assert not ExportJob.objects.exists()


def test_a_source_gone_from_storage_is_a_409_before_any_job(
    alice: Client, long_gop_analysis: Any
) -> None:
    Path(long_gop_analysis.video.file.path).unlink()
    line = Storyline.objects.get(analysis=long_gop_analysis, order=0)
    response = alice.post(
        f"/api/analyses/{long_gop_analysis.pk}/exports",
        {"kind": "mp4", "storyline_id": line.pk},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "missing from storage" in response.json()["detail"]
    assert not ExportJob.objects.exists()


def test_the_keyframe_preview_of_an_unreadable_source_is_a_409(
    alice: Client, long_gop_analysis: Any
) -> None:
    Path(long_gop_analysis.video.file.path).write_bytes(b"not a video any more" * 100)
    response = alice.get(f"/api/analyses/{long_gop_analysis.pk}/exports/keyframe-cut")
    assert response.status_code == 409
    assert "can't be read" in response.json()["detail"]


def test_a_full_disk_fails_the_job_and_removes_the_half_written_file(
    long_gop_analysis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = FileSystemStorage._save

    def half_then_full(self: FileSystemStorage, name: str, content: Any) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read(1000))  # what a disk takes before it fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    job = request(long_gop_analysis)
    monkeypatch.setattr(FileSystemStorage, "_save", half_then_full)
    services.export_execute(job_id=job.pk)
    monkeypatch.setattr(FileSystemStorage, "_save", real_save)
    job.refresh_from_db()
    assert job.status == "failed" and "disk is full" in job.error
    nothing_left(job)


def test_a_cancelled_job_stops_and_keeps_nothing(alice: Client, long_gop_analysis: Any) -> None:
    job = request(long_gop_analysis)
    calls: list[float] = []

    def cancel_on_first_report(fraction: float, message: str) -> None:
        if not calls:
            response = alice.post(f"/api/exports/{job.pk}/cancel")
            assert response.status_code == 200 and response.json()["error"].startswith("Cancel")
        calls.append(fraction)

    services.export_execute(job_id=job.pk, listener=cancel_on_first_report)
    assert calls  # the job did report, and was cancelled then
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "Cancelled by the user."
    nothing_left(job)
    assert alice.post(f"/api/exports/{job.pk}/cancel").status_code == 409  # already over


def test_an_ffmpeg_that_dies_half_way_fails_the_job_with_its_reason(
    long_gop_analysis: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text(
        '#!/bin/sh\nfor last; do :; done\nhead -c 5000 /dev/urandom > "$last"\nkill -9 $$\n'
    )
    (fake / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    job = request(long_gop_analysis)
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "ffmpeg was stopped (signal 9)" in job.error
    nothing_left(job)
