"""Business logic for videos and analyses. Views, API handlers, consumers and actors call these."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import dramatiq
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from analysis import content_check
from analysis.conf import setting
from analysis.extensions import parameter_cleaners
from analysis.models import ACTIVE_STATUSES, Analysis, AnalysisStatus, ApiToken, Video
from analysis.parameters import scene_parameters, whisper_model
from analysis.progress import analysis_publish
from mediakit import probe as media
from mediakit.probe import MediaError
from videoanalyzer.errors import InvalidParameter

logger = logging.getLogger(__name__)


class AnalysisParameterError(InvalidParameter):
    """A parameter of an analysis request is out of range; the message is for the user."""


class UploadTooLarge(MediaError):
    status = 413  # read by videoanalyzer.http.install_error_handlers


# ISO 639 codes as Whisper knows them ("en", "ru", "haw"), optionally with a region, or "auto".
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?|auto")
QUEUE_DOWN_MESSAGE = "The job queue is unavailable; the analysis will start when it is back."
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    dramatiq.errors.ConnectionError,
    redis.exceptions.RedisError,
    OSError,
)


# --- Videos --------------------------------------------------------------------------------------


def video_create(*, owner: User, fileobj: IO[bytes], original_name: str) -> Video:
    """Check, probe and store an uploaded video; the same file twice returns the first Video.

    The file is probed before anything is written; the row and the stored file are created
    together: if saving the row fails, the stored file is removed again.

    Raises:
        MediaError: not a usable video, or larger than ``MAX_UPLOAD_BYTES``.
    """
    name = media.safe_display_name(original_name)
    extension = media.checked_extension(name)
    with _local_copy(fileobj, extension) as path:
        size = path.stat().st_size
        if size > settings.MAX_UPLOAD_BYTES:
            raise UploadTooLarge(
                f"The file is larger than the limit of {settings.MAX_UPLOAD_BYTES} bytes."
            )
        info = content_check.probe_upload(path)
        with path.open("rb") as handle:
            digest = media.sha256_of(handle)
        existing = Video.objects.filter(owner=owner, sha256=digest).first()
        if existing:
            return existing
        return _video_store(
            owner=owner, path=path, name=name, extension=extension, digest=digest, info=info
        )


def _video_store(
    *,
    owner: User,
    path: Path,
    name: str,
    extension: str,
    digest: str,
    info: media.MediaInfo,
) -> Video:
    video = Video(
        owner=owner,
        original_name=name,
        extension=extension,
        sha256=digest,
        size_bytes=path.stat().st_size,
        duration=info.duration,
        fps=info.fps,
        frame_count=info.frame_count,
        width=info.width,
        height=info.height,
        video_codec=info.video_codec,
        audio_codec=info.audio_codec,
        has_audio=info.has_audio,
        rotation=info.rotation,
    )
    with path.open("rb") as handle:
        video.file.save(name, File(handle), save=False)
    stored = str(video.file.name)
    try:
        with transaction.atomic():
            video.save()
    except IntegrityError:
        # A concurrent upload of the same file won the race: keep theirs, drop our copy.
        video.file.storage.delete(stored)
        return Video.objects.get(owner=owner, sha256=digest)
    except BaseException:
        video.file.storage.delete(stored)
        raise
    return video


class _local_copy:
    """A local path for ``fileobj``: its own temp path when it has one, else a temporary copy."""

    def __init__(self, fileobj: IO[bytes], suffix: str) -> None:
        self.fileobj = fileobj
        self.suffix = suffix
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        existing = getattr(self.fileobj, "temporary_file_path", None)
        if callable(existing):
            return Path(existing())
        # Beside Django's own upload temp files, so one folder holds (and cleans) them all.
        handle = tempfile.NamedTemporaryFile(
            prefix="upload-", suffix=self.suffix, delete=False, dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        with handle:
            self.fileobj.seek(0)
            shutil.copyfileobj(self.fileobj, handle, 1 << 20)
        self.tmp = Path(handle.name)
        return self.tmp

    def __exit__(self, *exc: object) -> None:
        if self.tmp:
            self.tmp.unlink(missing_ok=True)


def video_create_from_path(*, owner: User, path: Path) -> Video:
    with path.open("rb") as handle:
        return video_create(owner=owner, fileobj=handle, original_name=path.name)


@transaction.atomic
def video_delete(*, video: Video) -> None:
    """Delete a video with its analyses and files; running analyses are cancelled first."""
    for analysis in video.analyses.filter(status__in=ACTIVE_STATUSES):
        analysis_cancel(analysis=analysis)
    video.delete()


# --- Analyses ------------------------------------------------------------------------------------


def analysis_parameters_clean(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise user-supplied analysis parameters.

    Raises:
        AnalysisParameterError: with a message naming the parameter and the allowed range.
    """
    params: dict[str, Any] = {}
    num = raw.get("num_storylines", setting("DEFAULT_NUM_STORYLINES"))
    if num is not None and num != "auto":
        if isinstance(num, bool):
            raise AnalysisParameterError(
                "num_storylines must be a whole number or null (automatic)."
            )
        try:
            num = int(num)
        except (TypeError, ValueError):
            raise AnalysisParameterError(
                "num_storylines must be a whole number or null (automatic)."
            ) from None
        if not 1 <= num <= setting("MAX_NUM_STORYLINES"):
            raise AnalysisParameterError(
                f"num_storylines must be between 1 and {setting('MAX_NUM_STORYLINES')}, "
                "or null for automatic."
            )
    params["num_storylines"] = None if num == "auto" else num
    device = raw.get("device") or None
    if device not in (None, "cpu", "cuda"):
        raise AnalysisParameterError("device must be 'cpu', 'cuda' or left out.")
    if device:
        params["device"] = device
    language = raw.get("language")
    if language not in (None, "") and (
        not isinstance(language, str) or not LANGUAGE_CODE.fullmatch(language)
    ):
        raise AnalysisParameterError(
            "language must be a language code such as 'en' or 'ru', 'auto', or left out."
        )
    if language not in (None, ""):
        params["language"] = language
    try:
        params.update(scene_parameters(raw))
        params.update(whisper_model(raw))
    except InvalidParameter as exc:
        raise AnalysisParameterError(str(exc)) from None
    if raw.get("preset") not in (None, ""):
        params["preset"] = _preset(raw["preset"])
    for clean in parameter_cleaners():  # parameters of the other apps' stages
        try:
            params.update(clean(raw))
        except ValueError as exc:
            raise AnalysisParameterError(str(exc)) from None
    return params


def _preset(value: Any) -> str:
    """The storyline preset (story app): a genre name or ``auto``."""
    from story.presets import preset_name

    try:
        return preset_name(str(value))
    except ValueError as exc:
        raise AnalysisParameterError(str(exc)) from None


def analysis_start(
    *, video: Video, parameters: dict[str, Any] | None = None, enqueue: bool = True
) -> Analysis:
    """Create an analysis; queue it once the transaction commits unless run in the foreground."""
    params = analysis_parameters_clean(parameters or {})
    params.update(_subtitles_parameters(video, parameters or {}))
    with transaction.atomic():
        analysis = Analysis.objects.create(
            video=video, parameters=params, message="Waiting for a worker"
        )
        if enqueue:
            transaction.on_commit(
                lambda: analysis_enqueue(analysis_id=analysis.id, device=params.get("device"))
            )
    analysis.refresh_from_db()  # the enqueue may have noted that the queue is down
    return analysis


def analysis_enqueue(*, analysis_id: Any, device: str | None = None) -> bool:
    """Send the job to the GPU queue when the analysis asks for CUDA, else to the CPU queue."""
    from analysis.actors import run_analysis, run_analysis_gpu

    actor = run_analysis_gpu if device == "cuda" else run_analysis
    try:
        actor.send(str(analysis_id))
    except BROKER_ERRORS:
        # The row is safe in Postgres; recovery sends it again once the broker is back.
        logger.warning("job queue unavailable: analysis %s waits for it", analysis_id)
        Analysis.objects.filter(pk=analysis_id).update(message=QUEUE_DOWN_MESSAGE)
        return False
    Analysis.objects.filter(pk=analysis_id).update(enqueued_at=timezone.now())
    return True


def analysis_cancel(*, analysis: Analysis) -> Analysis:
    """Ask a queued or running analysis to stop; the worker stops at its next progress report."""
    updated = Analysis.objects.filter(pk=analysis.pk, status__in=ACTIVE_STATUSES).update(
        status=AnalysisStatus.CANCELLED,
        message="Cancelled by the user",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    analysis.refresh_from_db()
    if updated:
        analysis_publish(analysis)
    return analysis


def analysis_rerun(*, analysis: Analysis) -> Analysis:
    """Start a new analysis of the same video with the same parameters."""
    return analysis_start(video=analysis.video, parameters=dict(analysis.parameters))


def analyses_resume_unfinished() -> int:
    """Re-send every queued or running analysis (after a restart of the embedded worker)."""
    rows = list(Analysis.objects.filter(status__in=ACTIVE_STATUSES).values_list("id", "parameters"))
    for analysis_id, params in rows:
        analysis_enqueue(analysis_id=analysis_id, device=params.get("device"))
    return len(rows)


def analysis_start_for_sample(
    *, owner: User, filename: str, num_storylines: int | None
) -> Analysis:
    """The original ``POST /api/analyze``: analyse a file of the samples folder.

    Raises:
        Http404: the name is not a listed sample (paths and traversal never match).
    """
    from django.http import Http404

    from analysis.selectors import sample_video_path

    path = sample_video_path(filename)
    if path is None:
        raise Http404(f"No sample video named '{media.safe_display_name(filename)}'.")
    params = analysis_parameters_clean({"num_storylines": num_storylines})
    video = video_create_from_path(owner=owner, path=path)
    return analysis_start(video=video, parameters=params)


# --- Subtitles ---------------------------------------------------------------------------------

SUBTITLE_EXTENSIONS = {".srt", ".vtt"}


def video_attach_subtitles(*, video: Video, fileobj: IO[bytes], original_name: str) -> Video:
    """Check and store the user's SRT/VTT for ``video``, replacing any earlier one.

    Raises:
        MediaError: not an .srt/.vtt, too large, or unreadable (with the cue at fault).
    """
    from analysis.subtitles import MAX_SUBTITLE_BYTES, SubtitlesError, parse_subtitles

    suffix = Path(media.safe_display_name(original_name)).suffix.lower()
    if suffix not in SUBTITLE_EXTENSIONS:
        raise MediaError("Subtitles must be an .srt or .vtt file.")
    with _local_copy(fileobj, suffix) as path:
        if path.stat().st_size > MAX_SUBTITLE_BYTES:
            raise MediaError("The subtitles file is larger than 5 MB.")
        try:
            parse_subtitles(path)
        except SubtitlesError as exc:
            raise MediaError(str(exc)) from exc
        old = video.subtitles.name if video.subtitles else ""
        with path.open("rb") as handle:
            video.subtitles.save(f"subtitles{suffix}", File(handle), save=False)
    video.save(update_fields=["subtitles"])
    if old and old != video.subtitles.name:
        video.subtitles.storage.delete(old)
    return video


def video_remove_subtitles(*, video: Video) -> Video:
    if video.subtitles:
        video.subtitles.delete(save=False)
        video.save(update_fields=["subtitles"])
    return video


def _subtitles_parameters(video: Video, raw: dict[str, Any]) -> dict[str, Any]:
    """Analyses of a video with subtitles use them unless asked not to (``use_subtitles``)."""
    mode = raw.get("subtitles_mode") or "replace"
    if mode not in ("replace", "check"):
        raise AnalysisParameterError("subtitles_mode must be 'replace' or 'check'.")
    if raw.get("use_subtitles") is False:
        return {"use_subtitles": False}
    if not video.subtitles:
        return {}
    try:
        path = video.subtitles.path
    except NotImplementedError:  # remote storage: the stage cannot read it in place
        return {}
    return {"subtitles_path": path, "subtitles_mode": mode}


# --- API tokens -----------------------------------------------------------------------------

TOKEN_NAME_MAX = 100


class TokenNameError(InvalidParameter):
    """A token name that is empty, too long or already used by the same user."""


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token for ``user``; the key is returned to be shown once.

    Raises:
        TokenNameError: the name is empty, longer than 100 characters, or taken by another of
            the user's tokens (names are how a user tells tokens apart when revoking).
    """
    name = (name or "").strip()
    if not name:
        raise TokenNameError("Give the token a name, e.g. the script that will use it.")
    if len(name) > TOKEN_NAME_MAX:
        raise TokenNameError(f"A token name has at most {TOKEN_NAME_MAX} characters.")
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise TokenNameError(f"You already have a token named “{name}”.")
    return ApiToken.objects.issue(user=user, name=name)


def api_token_revoke(*, user: User, token_id: int) -> str:
    """Delete one of ``user``'s tokens (it stops working at once); returns its name.

    Raises:
        ApiToken.DoesNotExist: no such token among the user's own.
    """
    token = ApiToken.objects.get(user=user, pk=token_id)
    name = token.name or f"token {token.pk}"
    token.delete()  # the post_delete signal forgets the cached lookup
    return name
