"""REST API of the analysis domain: the original service's endpoints and our own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from django.http import HttpResponse
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from analysis import selectors, services
from analysis.models import Analysis, Scene, Video
from analysis.progress import eta_seconds
from videoanalyzer.errors import InvalidParameter, NotFound
from videoanalyzer.http import AuthedRequest, Detail
from videoanalyzer.ratelimit import rate_limited

router = Router(tags=["analysis"])


# --- Schemas -------------------------------------------------------------------------------------


class AnalysisBrief(Schema):
    id: UUID
    status: str
    progress: float
    current_stage: str
    message: str


class VideoOut(Schema):
    id: UUID
    original_name: str
    url: str
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    size_bytes: int
    video_codec: str
    audio_codec: str
    has_audio: bool
    has_subtitles: bool
    created_at: datetime
    latest_analysis: AnalysisBrief | None


class AnalysisOut(Schema):
    id: UUID
    video_id: UUID
    status: str
    progress: float
    current_stage: str
    message: str
    error: str
    parameters: dict[str, Any]
    metadata: dict[str, Any]
    completed_stages: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    analysis_time_seconds: float | None
    eta_seconds: float | None = None  # time left while running, once a tenth is done

    @staticmethod
    def resolve_eta_seconds(obj: Analysis) -> float | None:
        return eta_seconds(obj)


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):  # pydantic's lax mode would read true as 1
        raise ValueError("a number is expected, not true or false")
    return value


StorylineCount = Annotated[int | None, BeforeValidator(_not_a_boolean)]
Number = Annotated[float | None, BeforeValidator(_not_a_boolean)]


class AnalysisIn(BaseModel):
    """Known parameters; the stages of other apps accept more (validated by their cleaners).

    A plain pydantic model: ninja's ``Schema`` drops undeclared keys even with extra="allow".
    """

    model_config = ConfigDict(extra="allow")

    num_storylines: StorylineCount = None
    scene_detector: str | None = None
    language: str | None = None
    device: str | None = None
    preset: str | None = None  # storyline preset: auto, film, news, lecture, sports (+aliases)
    scene_threshold: Number = Field(default=None, description="in the detector's own scale")
    min_scene_seconds: Number = Field(default=None, description="shortest scene, 0-600 s")
    whisper_model: str | None = Field(
        default=None, description="one of the models the server allows (WHISPER_MODELS_ALLOWED)"
    )


class OriginalAnalyzeIn(Schema):
    filename: str
    num_storylines: StorylineCount = 3


class OriginalAnalyzeOut(Schema):
    task_id: str
    status: str
    message: str


class SceneAudioOut(Schema):
    """A scene's audio; the loudness fields are None for silence or a scene under 400 ms
    (3 s for the range)."""

    rms_energy: float
    spectral_centroid_mean: float
    zero_crossing_rate: float
    tempo: float
    loudness_db: float | None = Field(description="RMS level in dBFS (not K-weighted)")
    speech_ratio: float | None
    loudness_lufs: float | None = Field(description="ITU-R BS.1770-4 integrated loudness")
    momentary_max_lufs: float | None = Field(description="loudest 400 ms block")
    loudness_range_lu: float | None = Field(description="EBU Tech 3342 loudness range")


class SceneOut(Schema):
    id: str
    index: int
    start_time: float
    end_time: float
    duration: float
    start_frame: int
    end_frame: int
    keyframe_url: str | None
    thumbnail_url: str | None
    transcript: str
    storyline_id: int | None
    audio: SceneAudioOut | None


class StorylineOut(Schema):
    id: int
    name: str
    description: str
    color: str
    order: int
    scene_ids: list[str]
    duration: float
    start_time: float
    end_time: float


class SegmentOut(Schema):
    scene_id: str
    start_time: float
    end_time: float
    text: str
    start_in_scene: float
    end_in_scene: float
    language: str
    language_probability: float | None = Field(
        description="how sure the language detector was (None: forced or from subtitles)"
    )
    words: list[dict[str, Any]]


# --- Helpers -------------------------------------------------------------------------------------


def _video_out(video: Video) -> dict[str, Any]:
    latest = selectors.analysis_latest(video)
    data = {
        field: getattr(video, field) for field in VideoOut.model_fields if hasattr(video, field)
    }
    data["url"] = video.file.url
    data["has_subtitles"] = bool(video.subtitles)
    data["latest_analysis"] = latest
    return data


def _file_url(field: Any) -> str | None:
    return field.url if field and field.name else None


def _scene_out(scene: Scene) -> dict[str, Any]:
    audio = getattr(scene, "audio", None)
    return {
        "id": scene.public_id,
        "index": scene.index,
        "start_time": scene.start_time,
        "end_time": scene.end_time,
        "duration": scene.duration,
        "start_frame": scene.start_frame,
        "end_frame": scene.end_frame,
        "keyframe_url": _file_url(scene.keyframe),
        "thumbnail_url": _file_url(scene.thumbnail),
        "transcript": selectors.scene_transcript(scene),
        "storyline_id": selectors.scene_primary_storyline_id(scene),
        "audio": None
        if audio is None
        else {
            "rms_energy": audio.rms_energy,
            "spectral_centroid_mean": audio.spectral_centroid_mean,
            "zero_crossing_rate": audio.zero_crossing_rate,
            "tempo": audio.tempo,
            "loudness_db": audio.loudness_db,
            "speech_ratio": audio.speech_ratio,
            "loudness_lufs": audio.loudness_lufs,
            "momentary_max_lufs": audio.momentary_max_lufs,
            "loudness_range_lu": audio.loudness_range_lu,
        },
    }


# --- The original service's endpoints -------------------------------------------------------------


@router.get("/sample-videos", response=dict[str, list[str]])
def sample_videos(request: AuthedRequest) -> dict[str, list[str]]:
    return {"videos": selectors.sample_videos()}


@router.post("/analyze", response={202: OriginalAnalyzeOut, 404: Detail})
def analyze(request: AuthedRequest, payload: OriginalAnalyzeIn) -> tuple[int, dict[str, Any]]:
    analysis = services.analysis_start_for_sample(
        owner=request.auth, filename=payload.filename, num_storylines=payload.num_storylines
    )
    return 202, {
        "task_id": str(analysis.id),
        "status": "processing",
        "message": "Analysis started in the background",
    }


@router.get("/analysis/{task_id}")
def analysis_status(request: AuthedRequest, task_id: UUID) -> dict[str, Any]:
    return selectors.analysis_status_json(selectors.analysis_get_for_user(request.auth, task_id))


# --- Videos --------------------------------------------------------------------------------------


@router.post("/videos", response={201: VideoOut, 429: Detail})
@rate_limited("upload")
def video_upload(
    request: AuthedRequest, file: UploadedFile | None = File(None)
) -> tuple[int, dict[str, Any]]:
    if file is None:  # also when Django dropped a part whose headers are not UTF-8
        raise InvalidParameter(
            "file: the upload has no video file. Send it as the multipart form field 'file' "
            "(with a UTF-8 file name)."
        )
    video = services.video_create(
        owner=request.auth, fileobj=file, original_name=file.name or "video"
    )
    return 201, _video_out(video)


@router.get("/videos", response=list[VideoOut])
def video_list(request: AuthedRequest) -> list[dict[str, Any]]:
    return [_video_out(v) for v in selectors.videos_for_user(request.auth)]


@router.get("/videos/{video_id}", response=VideoOut)
def video_detail(request: AuthedRequest, video_id: UUID) -> dict[str, Any]:
    return _video_out(selectors.video_get_for_user(request.auth, video_id))


@router.delete("/videos/{video_id}", response={204: None})
def video_delete(request: AuthedRequest, video_id: UUID) -> tuple[int, None]:
    services.video_delete(video=selectors.video_get_for_user(request.auth, video_id))
    return 204, None


@router.post("/videos/{video_id}/subtitles", response={200: VideoOut})
def video_subtitles_upload(
    request: AuthedRequest, video_id: UUID, file: UploadedFile = File(...)
) -> dict[str, Any]:
    """Attach an SRT/VTT: later analyses use it instead of (or to check) speech recognition."""
    video = selectors.video_get_for_user(request.auth, video_id)
    name = file.name or "subtitles.srt"
    return _video_out(
        services.video_attach_subtitles(video=video, fileobj=file, original_name=name)
    )


@router.delete("/videos/{video_id}/subtitles", response={200: VideoOut})
def video_subtitles_delete(request: AuthedRequest, video_id: UUID) -> dict[str, Any]:
    video = selectors.video_get_for_user(request.auth, video_id)
    return _video_out(services.video_remove_subtitles(video=video))


@router.get("/videos/{video_id}/analyses", response=list[AnalysisOut])
def video_analyses(request: AuthedRequest, video_id: UUID) -> Any:
    return selectors.video_get_for_user(request.auth, video_id).analyses.order_by("-created_at")


@router.post("/videos/{video_id}/analyses", response={201: AnalysisOut})
def analysis_create(
    request: AuthedRequest, video_id: UUID, payload: AnalysisIn
) -> tuple[int, Analysis]:
    video = selectors.video_get_for_user(request.auth, video_id)
    params = payload.model_dump(exclude_unset=True)
    return 201, services.analysis_start(video=video, parameters=params)


# --- Analyses ------------------------------------------------------------------------------------


@router.get("/analyses/{analysis_id}", response=AnalysisOut)
def analysis_detail(request: AuthedRequest, analysis_id: UUID) -> Analysis:
    return selectors.analysis_get_for_user(request.auth, analysis_id)


@router.post("/analyses/{analysis_id}/cancel", response=AnalysisOut)
def analysis_cancel(request: AuthedRequest, analysis_id: UUID) -> Analysis:
    return services.analysis_cancel(
        analysis=selectors.analysis_get_for_user(request.auth, analysis_id)
    )


@router.post("/analyses/{analysis_id}/rerun", response={201: AnalysisOut})
def analysis_rerun(request: AuthedRequest, analysis_id: UUID) -> tuple[int, Analysis]:
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    return 201, services.analysis_rerun(analysis=analysis)


@router.get("/analyses/{analysis_id}/scenes", response=list[SceneOut])
def analysis_scenes(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    return [_scene_out(s) for s in selectors.scenes_with_details(analysis)]


@router.get("/analyses/{analysis_id}/storylines", response=list[StorylineOut])
def analysis_storylines(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    return selectors.storylines_summary(analysis)


@router.get("/analyses/{analysis_id}/transcript", response=list[SegmentOut])
def analysis_transcript(
    request: AuthedRequest, analysis_id: UUID, language: str | None = None
) -> list[dict[str, Any]]:
    """The transcript's segments; ``?language=ru`` keeps the segments spoken in that language."""
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    return selectors.transcript_segments(analysis, language=language)


@router.get("/analyses/{analysis_id}/result.json")
def analysis_result_file(request: AuthedRequest, analysis_id: UUID) -> HttpResponse:
    """The result JSON as a download (the file the original kept in ``results/``)."""
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    response = HttpResponse(
        selectors.analysis_result_json_text(analysis),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.id}.json"'
    return response


@router.get("/analyses/{analysis_id}/transcript.{fmt}")
def analysis_transcript_subtitles(
    request: AuthedRequest, analysis_id: UUID, fmt: str, language: str | None = None
) -> HttpResponse:
    """The transcript as subtitles: ``transcript.srt`` (SubRip) or ``transcript.vtt`` (WebVTT),
    each line with its language (``analysis.subtitles``); ``?language=ru`` keeps the lines spoken
    in that language, and a file of one language is named ``….ru.srt``."""
    if fmt not in selectors.SUBTITLE_TYPES:
        raise NotFound("Use transcript.srt or transcript.vtt.")
    analysis = selectors.analysis_get_for_user(request.auth, analysis_id)
    text, kind, name = selectors.transcript_subtitles(analysis, fmt, language=language)
    response = HttpResponse(text, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
