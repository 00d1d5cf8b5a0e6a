"""Writes of the description service: clients and jobs. API, views and commands call these."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from describe.fetch import FetchError, Target, parse_url, resolve
from describe.models import DescribeClient, DescribeJob
from videoanalyzer.credentials import token_digest, token_new, token_visible_part
from videoanalyzer.errors import InvalidParameter

MAX_URL_LENGTH = 2000
LANGUAGE_CODES = {"en", "ru"}


class JobRequestError(InvalidParameter):
    """A field of a ``/process`` request is unusable; the message names it (HTTP 422)."""


def client_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    callback_url: str = "",
    allow_private_urls: bool = False,
) -> tuple[DescribeClient, str]:
    """Create a client; returns it with its token, which is shown this once and never stored."""
    if callback_url:
        _checked_url(
            callback_url, "callback_url", allow_private=_private_allowed(allow_private_urls)
        )
    token = token_new()
    client = DescribeClient.objects.create(
        owner_id=owner.pk,
        name=name,
        token_hash=token_digest(token),
        token_prefix=token_visible_part(token),
        secret=secrets.token_urlsafe(32),
        callback_url=callback_url,
        allow_private_urls=allow_private_urls,
    )
    return client, token


def client_rotate_token(*, client: DescribeClient) -> str:
    """Replace the client's token (the old one stops working at once); returns the new one."""
    token = token_new()
    client.token_hash, client.token_prefix = token_digest(token), token_visible_part(token)
    client.save(update_fields=["token_hash", "token_prefix"])
    return token


def client_rotate_secret(*, client: DescribeClient) -> str:
    """Replace the secret that signs the client's callbacks; returns the new one.

    Unlike the token, the secret is stored readable: every callback is signed with it.
    """
    client.secret = secrets.token_urlsafe(32)
    client.save(update_fields=["secret"])
    return client.secret


def client_set_active(*, client: DescribeClient, active: bool) -> DescribeClient:
    """Turn a client's access to ``/process`` off (its token stops working) or on again."""
    client.is_active = active
    client.save(update_fields=["is_active"])
    return client


def _private_allowed(flag: bool) -> bool:
    from describe import conf

    return flag or bool(conf.get("DESCRIBE_ALLOW_PRIVATE_URLS"))


def _checked_url(value: Any, field: str, *, allow_private: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise JobRequestError(f"{field} must be an http or https URL.")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise JobRequestError(f"{field} is longer than {MAX_URL_LENGTH} characters.")
    try:
        target = parse_url(url)
        if not allow_private:
            _public_or_unknown(target)
    except FetchError as exc:
        raise JobRequestError(f"{field}: {exc}") from None
    return url


def _public_or_unknown(target: Target) -> None:
    """Refuse a host that is, or resolves to, a private address: at once, not in the job.

    A name that does not resolve now is left to the job (DNS may be passing trouble); the job
    checks every address again when it connects, since the answer can change meanwhile.
    """
    try:
        resolve(target, allow_private=False)
    except FetchError as exc:
        if "could not be resolved" in str(exc) or "has no address" in str(exc):
            return
        raise


def job_request_clean(raw: dict[str, Any], *, allow_private: bool = False) -> dict[str, str]:
    """Check a ``/process`` body: ``url``; optional ``subtitles``, ``callback_url``, ``language``.

    Hosts that are private, loopback or link-local addresses (or resolve to one) are refused
    here unless ``allow_private``; the job checks them again when it connects.
    """
    cleaned = {"url": _checked_url(raw.get("url"), "url", allow_private=allow_private)}
    for key, field in (("subtitles", "subtitles_url"), ("callback_url", "callback_url")):
        value = raw.get(key)
        if value not in (None, ""):
            cleaned[field] = _checked_url(value, key, allow_private=allow_private)
        else:
            cleaned[field] = ""
    language = raw.get("language") or ""
    if not isinstance(language, str) or (language and language.split("-")[0] not in LANGUAGE_CODES):
        raise JobRequestError(f"language must be one of {', '.join(sorted(LANGUAGE_CODES))}.")
    cleaned["language"] = language.split("-")[0]
    return cleaned


def job_create(
    *,
    client: DescribeClient | None,
    data: dict[str, Any],
    enqueue: bool = True,
    allow_private_urls: bool = False,
) -> DescribeJob:
    """Create a job from a request body; it is queued once the transaction commits.

    Raises:
        JobRequestError: a field is missing or malformed.
    """
    allow_private = allow_private_urls or bool(client and client.allow_private_urls)
    cleaned = job_request_clean(data, allow_private=_private_allowed(allow_private))
    with transaction.atomic():
        job = DescribeJob.objects.create(
            client=client,
            allow_private_urls=allow_private,
            message="Waiting for a worker",
            **cleaned,
        )
        if enqueue:
            transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    return job


PAUSE_SOURCES = ("speech", "subtitles")


def job_create_for_video(*, video: Any, language: str, pauses: str) -> DescribeJob:
    """Describe a library video in place; queued once the transaction commits.

    Args:
        video: an ``analysis.Video`` the caller may use (ownership is checked by the caller).
        language: language of the descriptions (``en`` or ``ru``); empty: the language of the
            speech around each pause (``DESCRIBE_FOLLOW_SPEECH_LANGUAGE``).
        pauses: ``speech`` (pauses between the speech found in the audio) or ``subtitles``
            (between the cues of the subtitles attached to the video).

    Raises:
        JobRequestError: an unknown language or pause source, or subtitles the video lacks.
    """
    language = (language or "").split("-")[0]
    if language and language not in LANGUAGE_CODES:
        raise JobRequestError(f"language must be one of {', '.join(sorted(LANGUAGE_CODES))}.")
    if pauses not in PAUSE_SOURCES:
        raise JobRequestError("pauses must be speech or subtitles.")
    if pauses == "subtitles" and not video.subtitles:
        raise JobRequestError("This video has no subtitles: attach some, or use its speech.")
    with transaction.atomic():
        job = DescribeJob.objects.create(
            video=video,
            pause_source=pauses,
            language=language,
            message="Waiting for a worker",
        )
        transaction.on_commit(lambda: job_enqueue(job_id=job.id))
    return job


def job_enqueue(*, job_id: Any) -> None:
    """Send the job; with the broker down it waits in the table and recovery sends it."""
    from describe.jobs import DESCRIBE_JOBS
    from videoanalyzer import jobs

    jobs.enqueue(DESCRIBE_JOBS, job_id)
