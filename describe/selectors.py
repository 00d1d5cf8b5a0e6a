"""Reads of the description service: who may see a job, and the shapes it is shown in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q
from django.http import Http404

from analysis.subtitles import Cue, clock, vtt_text
from describe import conf
from describe.models import DescribeClient, DescribeJob, DescriptionResult
from videoanalyzer.credentials import digests_match, token_digest


def client_for_token(token: str) -> DescribeClient | None:
    """The active client holding ``token`` (compared by digest), or None."""
    if not token:
        return None
    clients = DescribeClient.objects.select_related("owner")
    active = clients.filter(is_active=True, owner__is_active=True)
    found = active.filter(token_hash=token_digest(token)).first()
    return found if found is not None and digests_match(found.token_hash, token) else None


def job_get(principal: DescribeClient | AbstractBaseUser, job_id: Any) -> DescribeJob:
    """The job if ``principal`` (its client, or the user owning that client) may see it.

    Raises:
        Http404: no such job, or it belongs to someone else (the two look the same).
    """
    jobs = DescribeJob.objects.select_related("client")
    if isinstance(principal, DescribeClient):
        jobs = jobs.filter(client=principal)
    else:  # the owner of the client, or of the library video described
        jobs = jobs.filter(Q(client__owner_id=principal.pk) | Q(video__owner_id=principal.pk))
    job = jobs.filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def result_json(result: DescriptionResult) -> dict[str, Any]:
    return {
        "id": str(result.id),
        "index": result.index,
        "timestamp": result.timestamp,
        "end": result.end,
        "text": result.text,
        "language": result.language or None,
        "scene": result.scene,
        "delivered": result.delivered_at is not None,
    }


def job_json(job: DescribeJob) -> dict[str, Any]:
    """Status, facts of the run and every result so far."""
    return {
        "id": str(job.id),
        "status": job.status,
        "url": job.url,
        "video_id": str(job.video_id) if job.video_id else None,
        "pauses": job.pause_source or None,
        "subtitles": job.subtitles_url or None,
        "callback_url": job.callback_url or None,
        "language": job.language or None,
        "progress": job.progress,
        "message": job.message,
        "error": job.error or None,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "metadata": job.metadata,
        "results": [result_json(r) for r in job.results.order_by("index")],
    }


def _cue_text(text: str) -> str:
    # A blank line would end the cue and "-->" would start a new one: neither may appear.
    return " ".join(text.split()).replace("-->", "->")


def job_language(job: DescribeJob) -> str:
    """The language of the job's descriptions: the client's, else the one most of them are in
    (they follow the speech), else ``DESCRIBE_LANGUAGE``."""
    if job.language:
        return job.language
    counts: dict[str, int] = {}
    for language in job.results.exclude(language="").values_list("language", flat=True):
        counts[language] = counts.get(language, 0) + 1
    return max(counts, key=counts.__getitem__, default=str(conf.get("DESCRIBE_LANGUAGE")))


def job_vtt(job: DescribeJob) -> str:
    """The results as a WebVTT track for ``<track kind="descriptions">``: the ``Language:``
    header is ``job_language``, and each cue is in a ``<lang>`` span of its own language."""
    lines = ["WEBVTT", "Kind: descriptions", f"Language: {job_language(job)}", ""]
    for result in job.results.order_by("index"):
        start, end = clock(result.timestamp, "."), clock(result.end, ".")
        cue = Cue(result.timestamp, result.end, _cue_text(result.text), result.language)
        lines += [str(result.index + 1), f"{start} --> {end}", vtt_text(cue), ""]
    return "\n".join(lines)


def job_srt(job: DescribeJob) -> str:
    """The results as SubRip subtitles."""
    lines: list[str] = []
    for number, result in enumerate(job.results.order_by("index"), start=1):
        start, end = clock(result.timestamp, ","), clock(result.end, ",")
        lines += [str(number), f"{start} --> {end}", _cue_text(result.text), ""]
    return "\n".join(lines)
