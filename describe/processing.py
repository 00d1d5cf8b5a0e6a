"""One description job from start to end: download, find speech and scenes, describe, report.

Steps (the original service's, in its order):

1. download the video (and subtitles, parsed at once) with the guarded fetcher, check the
   container;
2. decode the video once: ``mediakit.shots.find_shots`` (the analysis's decoder and detector)
   finds the scenes while the pass keeps pictures (``framestore.KeyframeCandidates``): the
   frame ``DESCRIBE_FRAME_OFFSET_SECONDS`` after every big picture change, one every half
   second or so, and the frame 0.2 s after each of those (for the movement);
3. find speech: the subtitle cues, or Silero VAD on the audio track when there are none;
4. for each scene take the kept frame nearest ``DESCRIBE_FRAME_OFFSET_SECONDS`` after its
   start; where the silence around it holds at least ``DESCRIBE_MIN_PAUSE_SECONDS``, describe
   it;
5. keep the description only if it differs enough from the previous accepted one, save it and
   post it to the callback at once;
6. finish with PROCESSED, or NOT_PROCESSED and the reason on any failure.

The run is idempotent: it claims the job with a conditional UPDATE, and a result already saved
for a scene (from an interrupted earlier attempt) is taken over instead of made again.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from describe import callbacks, conf
from describe.describers import Describer, FrameSample, get_describer
from describe.fetch import FetchError, Stall, download
from describe.models import DescribeJob, DescriptionResult, JobStatus
from describe.pauses import Interval, Slot, SubtitleError, find_slot, parse_subtitles, silences
from describe.services import LANGUAGE_CODES
from describe.similarity import similarity
from mediakit.probe import MediaError, MediaInfo, probe
from mediakit.shots import UnknownDetector
from videoanalyzer import jobs
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    import numpy as np

    from mediakit.decode import FrameConsumer
    from mediakit.framestore import Candidate
    from mediakit.shots import Shot

logger = logging.getLogger(__name__)
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
EXPECTED_ERRORS = (FetchError, MediaError, SubtitleError, UnknownDetector)
FOLLOWING_SECONDS = 0.2  # the second frame the motion estimate compares with
DESCRIBE_WIDTH = 768  # describers need no more; keeps a 4K frame small in memory
# The kept frames' step where no big change marks a scene start: the frame described is the
# one nearest the offset after the start, so twice the analyses' density (768 px is cheap).
DESCRIBE_GRID_SECONDS = 0.5
ResultListener = Callable[[DescriptionResult], None]
ProgressListener = Callable[[float, str], None]


class JobTakenOver(Exception):
    """The job is no longer ours (finished or taken over by another worker): stop quietly."""


def job_execute(
    *,
    job_id: Any,
    on_result: ResultListener | None = None,
    on_progress: ProgressListener | None = None,
) -> DescribeJob | None:
    """Run the job if it waits to run; returns it, or None when there was nothing to do.

    The job is claimed under a lease that a heartbeat renews: a worker killed mid-job stops
    renewing it, and recovery (``videoanalyzer.jobs``) sends the job again once it expires.
    """
    from describe.jobs import DESCRIBE_JOBS

    owner = jobs.new_owner()
    if not jobs.claim(DESCRIBE_JOBS, job_id, owner):
        return None
    with jobs.Heartbeat(DESCRIBE_JOBS, job_id, owner):
        return _execute(
            DescribeJob.objects.select_related("client", "video").get(pk=job_id),
            on_result,
            on_progress,
        )


def _execute(
    job: DescribeJob, on_result: ResultListener | None, on_progress: ProgressListener | None
) -> DescribeJob:
    workdir = Path(settings.VAR_DIR) / "describe" / str(job.id)
    started = time.perf_counter()
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        JobRun(job, workdir, on_result, on_progress).run()
        _finish(job, JobStatus.PROCESSED, "", time.perf_counter() - started)
    except JobTakenOver:
        logger.info("describe job %s was taken over", job.id)
        return job
    except EXPECTED_ERRORS as exc:
        _finish(job, JobStatus.NOT_PROCESSED, str(exc), time.perf_counter() - started)
    except TRANSIENT_ERRORS:
        raise  # the database is away: the broker retries; saved results are kept
    except Exception as exc:
        logger.exception("describe job %s failed", job.id)
        reason = f"Internal error: {exc.__class__.__name__}: {exc}"
        _finish(job, JobStatus.NOT_PROCESSED, reason, time.perf_counter() - started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    job.refresh_from_db()
    return job


def job_give_up(job_id: Any, reason: str) -> None:
    """End a job whose workers kept dying: NOT_PROCESSED with ``reason``, callback sent."""
    job = DescribeJob.objects.filter(pk=job_id).first()
    if job is not None:
        _finish(job, JobStatus.NOT_PROCESSED, reason, 0.0)


def _finish(job: DescribeJob, status: str, error: str, seconds: float) -> None:
    """Set the final status, record its callback in the same transaction, then send."""
    with transaction.atomic():
        locked = DescribeJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != JobStatus.PROCESSING:
            return
        locked.status, locked.error = status, error[:5000]
        locked.progress = 1.0 if status == JobStatus.PROCESSED else locked.progress
        locked.message = "Done" if status == JobStatus.PROCESSED else "Failed"
        locked.finished_at = timezone.now()
        locked.lease_owner, locked.lease_expires_at = "", None  # a finished job holds no lease
        locked.metadata = {**job.metadata, "seconds": round(seconds, 3)}
        locked.save()
        callbacks.delivery_for_status(locked)
    if status == JobStatus.NOT_PROCESSED:
        logger.warning("describe job %s not processed: %s", job.pk, error)
    send_callbacks(job.pk)


def send_callbacks(job_id: Any, *, attempts: int | None = None) -> bool:
    """Deliver what is pending now; leave the rest to the broker's retrying actor."""
    try:
        if callbacks.flush(job_id, attempts=attempts):
            return True
    except DatabaseError:
        logger.warning("could not send the callbacks of job %s now", job_id, exc_info=True)
    from describe.actors import deliver_callbacks

    transaction.on_commit(lambda: deliver_callbacks.send(str(job_id)))
    return False


@dataclass
class SceneWork:
    """A scene to describe: its index, span, its frame and the one a moment later, if kept."""

    index: int
    start: float
    end: float
    frame: Candidate
    following: Candidate | None


@dataclass
class JobRun:
    job: DescribeJob
    workdir: Path
    on_result: ResultListener | None = None
    on_progress: ProgressListener | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    _throttle: ProgressThrottle = field(default_factory=ProgressThrottle)
    _callbacks_down: bool = False
    spoken: list[tuple[float, float, str]] = field(default_factory=list)  # speech, language

    def __post_init__(self) -> None:
        # Shared with the job object: what is known so far is saved even when a step fails.
        self.job.metadata = self.metadata = {**self.job.metadata, **self.metadata}

    # --- steps ---------------------------------------------------------------------------------

    def run(self) -> None:
        clock = self.timed("download")
        video, info = self.fetch_video()
        cues = self.fetch_subtitles()  # before the decode: a bad subtitles URL fails early
        clock = self.timed("shots", clock)
        shots, candidates = self.find_shots(video, info)
        self.metadata["scenes"] = len(shots)
        clock = self.timed("speech", clock)
        speech, source = self.find_speech(video, cues)
        gaps = silences(speech, info.duration)
        self.metadata.update(
            duration=info.duration,
            fps=info.fps,
            speech_source=source,
            speech_seconds=round(sum(b - a for a, b in speech), 3),
            pauses=sum(1 for a, b in gaps if b - a >= self.min_pause),
        )
        clock = self.timed("describe", clock)
        self.describe_scenes(shots, candidates, gaps)
        self.timed("", clock)

    def timed(self, step: str, previous: tuple[str, float] | None = None) -> tuple[str, float]:
        """Close the previous step's clock (into ``metadata["step_seconds"]``), start ``step``."""
        now = time.perf_counter()
        if previous is not None:
            steps = self.metadata.setdefault("step_seconds", {})
            steps[previous[0]] = round(now - previous[1], 3)
        return step, now

    def fetch_video(self) -> tuple[Path, MediaInfo]:
        library = self.job.video  # None unless the job describes a library video
        if library is not None:  # read in place
            path = Path(default_storage.path(str(library.file.name)))
            self.report(0.08, "Reading the video", force=True)
            return path, probe(path)
        self.report(0.0, "Downloading the video", force=True)
        got = download(
            self.job.url,
            self.workdir / "video",
            kind="video",
            max_bytes=int(conf.get("DESCRIBE_MAX_VIDEO_BYTES")),
            **self._fetch_options(),
        )
        self.metadata["video_bytes"] = got.size
        try:
            info = probe(got.path)
        except MediaError as exc:
            raise MediaError(f"The downloaded file is not a usable video: {exc}") from None
        self.report(0.08, "Video downloaded", force=True)
        return got.path, info

    def _fetch_options(self) -> dict[str, Any]:
        return {
            "allow_private": callbacks.allows_private(self.job),
            "timeout": float(conf.get("DESCRIBE_DOWNLOAD_TIMEOUT_SECONDS")),
            "connect_timeout": float(conf.get("DESCRIBE_CONNECT_TIMEOUT_SECONDS")),
            "max_redirects": int(conf.get("DESCRIBE_MAX_REDIRECTS")),
            "stall": Stall(
                float(conf.get("DESCRIBE_STALL_SECONDS")), int(conf.get("DESCRIBE_STALL_MIN_BYTES"))
            ),
        }

    def fetch_subtitles(self) -> list[Interval] | None:
        """The spoken intervals of the job's subtitles; None when the job has none."""
        video = self.job.video
        if video is not None:
            wanted = self.job.pause_source == "subtitles" and video.subtitles
            return (
                parse_subtitles(Path(default_storage.path(str(video.subtitles.name))))
                if wanted
                else None
            )
        if not self.job.subtitles_url:
            return None
        self.report(0.08, "Downloading the subtitles", force=True)
        got = download(
            self.job.subtitles_url,
            self.workdir / "subtitles",
            kind="subtitles",
            max_bytes=int(conf.get("DESCRIBE_MAX_SUBTITLE_BYTES")),
            **self._fetch_options(),
        )
        return parse_subtitles(got.path)

    def find_speech(self, video: Path, cues: list[Interval] | None) -> tuple[list[Interval], str]:
        """(speech intervals, their source): the subtitles' cues, else voice activity in the
        audio (aligned to the decode pass). The audio is read for the speech's languages too
        when the descriptions follow them, subtitles or not."""
        from mediakit.audio import load_audio
        from mediakit.vad import speech_intervals

        samples = None
        if cues is None or self.follows_speech:
            self.report(0.6, "Finding speech in the audio", force=True)
            samples = load_audio(video, self.workdir)
        if samples is not None and samples.size:
            self.spoken = self.speech_languages(samples)
        if cues is not None:
            return cues, "subtitles"
        if samples is None or samples.size == 0:
            return [], "no-audio"
        return speech_intervals(samples), "vad"

    @property
    def follows_speech(self) -> bool:
        """Whether descriptions take the language of the speech around them: the client named
        no language and ``DESCRIBE_FOLLOW_SPEECH_LANGUAGE`` is on."""
        return not self.job.language and bool(conf.get("DESCRIBE_FOLLOW_SPEECH_LANGUAGE"))

    def speech_languages(self, samples: Any) -> list[tuple[float, float, str]]:
        """Each stretch of speech with its language, when descriptions follow the speech's
        language (the client named none and ``DESCRIBE_FOLLOW_SPEECH_LANGUAGE`` is on)."""
        if not self.follows_speech:
            return []
        from analysis.pipeline.models import load_whisper_model
        from analysis.pipeline.speech.recognise import identify

        found = identify(load_whisper_model(), samples, cuts=[], expected=sorted(LANGUAGE_CODES))
        seconds: dict[str, float] = {}
        for stretch, decision in found:
            seconds[decision.language] = seconds.get(decision.language, 0.0) + stretch.duration
        self.metadata["speech_languages"] = {k: round(v, 2) for k, v in seconds.items()}
        return [(stretch.start, stretch.end, decision.language) for stretch, decision in found]

    def language_at(self, moment: float) -> str:
        """The language of a description at ``moment``: the client's, else that of the speech
        the pause follows (or, before any speech, of the first), else ``DESCRIBE_LANGUAGE``."""
        if self.job.language:
            return self.job.language
        before = [language for start, _end, language in self.spoken if start <= moment]
        after = [language for start, _end, language in self.spoken if start > moment]
        return (before[-1:] or after[:1] or [str(conf.get("DESCRIBE_LANGUAGE"))])[0]

    def find_shots(self, video: Path, info: MediaInfo) -> tuple[list[Shot], list[Candidate]]:
        """The job's one decode pass: the analysis pipeline's shot detection (same detectors,
        same rules) on the file, keeping the frames to describe on the way."""
        from analysis.pipeline.mediaconf import shots_config
        from mediakit.shots import find_shots

        config = shots_config({"scene_detector": conf.get("DESCRIBE_SCENE_DETECTOR") or None})
        self.metadata["scene_detector"] = config.detector

        def report(fraction: float, message: str) -> None:
            self.report(0.1 + 0.5 * fraction, message)  # throttled by ``report`` itself

        keeper = FrameKeeper(self.workdir, info.duration)
        found = find_shots(
            video,
            config,
            keeper.consumers,
            fps=info.fps or 25.0,
            expected_frames=info.frame_count,
            workdir=self.workdir,
            progress=report,
        )
        candidates = keeper.save(len(found.frame_times))
        return found.shots, candidates

    def describe_scenes(
        self, shots: list[Shot], candidates: list[Candidate], gaps: list[Interval]
    ) -> None:
        """Describe each scene whose kept frame falls into a pause, in order."""
        work = scene_frames(shots, candidates, float(conf.get("DESCRIBE_FRAME_OFFSET_SECONDS")))
        describer = get_describer()
        self.metadata.update(
            describer=describer.name,
            described=0,
            duplicates=0,
            in_pauses=0,
            without_frame=len(shots) - len(work),
        )
        previous = self._existing_results()
        for done, item in enumerate(work):
            self.report(0.65 + 0.35 * done / max(len(work), 1), "Describing scenes")
            slot = self._slot(item, item.frame.time, gaps, previous.get("last"))
            if slot is None:
                continue
            following = read_rgb(item.following.path) if item.following else None
            sample = FrameSample(read_rgb(item.frame.path), round(item.frame.time, 3), following)
            self._describe(item, slot, sample, describer, previous)

    # --- helpers -------------------------------------------------------------------------------

    @property
    def min_pause(self) -> float:
        return float(conf.get("DESCRIBE_MIN_PAUSE_SECONDS"))

    def _existing_results(self) -> dict[str, Any]:
        """Results an interrupted earlier attempt saved, by scene, and the last of them."""
        rows = list(self.job.results.order_by("index"))
        return {"by_scene": {r.scene: r for r in rows}, "last": rows[-1] if rows else None}

    def _slot(self, item: SceneWork, moment: float, gaps: list[Interval], last: Any) -> Slot | None:
        slot = find_slot(
            moment,
            item.end,
            gaps,
            min_pause=self.min_pause,
            max_length=float(conf.get("DESCRIBE_MAX_DESCRIPTION_SECONDS")),
            not_before=last.end if last is not None else 0.0,
        )
        if slot is not None:
            self.metadata["in_pauses"] += 1
        return slot

    def _describe(
        self,
        item: SceneWork,
        slot: Slot,
        sample: FrameSample,
        describer: Describer,
        previous: dict[str, Any],
    ) -> None:
        existing = previous["by_scene"].get(item.index)
        if existing is not None:  # saved by an earlier attempt: keep it, send if still pending
            previous["last"] = existing
            return
        language = self.language_at(slot.start)
        text = describer.describe(sample, language).strip()
        self.metadata["described"] += 1
        last: DescriptionResult | None = previous["last"]
        score = similarity(text, last.text) if last is not None else None
        if not text or (score is not None and score >= self.threshold):
            self.metadata["duplicates"] += 1
            return
        result = self._save(item, slot, sample.time, (text, language), score, last)
        previous["last"] = result
        if self.on_result:
            self.on_result(result)
        if not self._callbacks_down:
            self._callbacks_down = not send_callbacks(self.job.pk)

    @property
    def threshold(self) -> float:
        return float(conf.get("DESCRIBE_SIMILARITY_THRESHOLD"))

    def _save(
        self,
        item: SceneWork,
        slot: Slot,
        moment: float,
        said: tuple[str, str],
        score: float | None,
        last: DescriptionResult | None,
    ) -> DescriptionResult:
        """Save the result and its callback together (one transaction).

        The result lasts as long as reading it aloud takes (at least the minimum pause), within
        its slot: the next description may start once it is over. ``said``: (text, language).
        """
        text, language = said
        reading = len(text) / float(conf.get("DESCRIBE_SPEECH_CHARS_PER_SECOND"))
        end = min(slot.end, slot.start + max(self.min_pause, reading))
        with transaction.atomic():
            result = DescriptionResult.objects.create(
                job=self.job,
                index=last.index + 1 if last is not None else 0,
                scene=item.index,
                timestamp=slot.start,
                end=round(end, 3),
                text=text,
                language=language,
                frame_time=moment,
                similarity=round(score, 4) if score is not None else None,
            )
            callbacks.delivery_for_result(result)
        return result

    def report(self, fraction: float, message: str, force: bool = False) -> None:
        """Save progress (at most twice a second); doubles as the check the job is still ours."""
        if not self._throttle.due(force):
            return
        progress = round(max(self.job.progress, min(0.99, fraction)), 4)
        updated = DescribeJob.objects.filter(
            pk=self.job.pk, status=JobStatus.PROCESSING, attempts=self.job.attempts
        ).update(progress=progress, message=message[:500], updated_at=Now())
        if not updated:
            raise JobTakenOver()
        self.job.progress, self.job.message = progress, message
        if self.on_progress:
            self.on_progress(progress, message)


class FrameKeeper:
    """The consumers of the job's decode pass besides the detector, and what they kept.

    The frames to describe are kept as the keyframe candidates of an analysis are (see
    ``mediakit.framestore``), at most ``DESCRIBE_WIDTH`` wide, plus the frame
    ``FOLLOWING_SECONDS`` after each; the first frame's time lets the audio decoder align the
    samples without decoding a frame itself.
    """

    def __init__(self, workdir: Path, duration: float) -> None:
        from mediakit.framestore import KeyframeCandidates, candidate_interval
        from mediakit.meters import MotionMeter, StartClock

        self.workdir = workdir
        self.motion = MotionMeter()  # where the picture changes a lot: probably a cut
        self.clock = StartClock()
        after = float(conf.get("DESCRIBE_FRAME_OFFSET_SECONDS"))
        self.consumers: list[FrameConsumer] = [
            self.motion,
            self.clock,
            KeyframeCandidates(
                workdir,
                candidate_interval(duration, DESCRIBE_GRID_SECONDS),
                self.motion,
                after=after,
                follow=FOLLOWING_SECONDS,
                max_width=DESCRIBE_WIDTH,
            ),
        ]

    def save(self, frames: int) -> list[Candidate]:
        """Record the pass (for the audio decoder) and return the kept frames in order."""
        from mediakit.framestore import load_candidates
        from mediakit.passfiles import record_pass

        record_pass(self.workdir, self.clock.value or 0.0, frames)
        return load_candidates(self.workdir) or []


def read_rgb(path: Path) -> np.ndarray:
    """A kept frame as a contiguous RGB array.

    Raises:
        MediaError: the picture cannot be read back.
    """
    import cv2
    import numpy as np

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError("A frame kept from the video could not be read back.")
    return np.ascontiguousarray(image[:, :, ::-1])


def scene_frames(shots: list[Shot], candidates: list[Candidate], offset: float) -> list[SceneWork]:
    """For each scene: the kept frame nearest ``offset`` s after its start, and the one kept
    nearest ``FOLLOWING_SECONDS`` after that (None when the scene ends first).

    A scene holding no kept frame (shorter than the grid step of a very long video, with no
    big picture change before it) is left out.
    """
    import bisect

    indices = [c.index for c in candidates]
    work = []
    for index, shot in enumerate(shots):
        lo, hi = (bisect.bisect_left(indices, f) for f in (shot.start_frame, shot.end_frame))
        inside = candidates[lo:hi]
        if not inside:
            continue
        frame = min(inside, key=lambda c: abs(c.time - (shot.start_time + offset)))
        later = [c for c in inside if c.index > frame.index]
        target = frame.time + FOLLOWING_SECONDS
        following = min(later, key=lambda c: abs(c.time - target)) if later else None
        work.append(SceneWork(index, shot.start_time, shot.end_time, frame, following))
    return work
