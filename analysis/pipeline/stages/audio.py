"""Audio stage: loudness, brightness, noisiness, tempo and speech share of every scene.

Per scene, from its excerpt of the one decoded track: ``rms_energy`` (mean of librosa's
frame RMS, full scale = 1), ``spectral_centroid_mean`` (Hz), ``zero_crossing_rate`` (mean per
sample), ``tempo`` (BPM from librosa's beat tracker; 0 for silence or under 2 s),
``loudness_db`` (that RMS in dBFS: 20·log10(rms), -100 for silence; a sine at full scale is
-3 dBFS; not K-weighted, so not LUFS), ``speech_ratio`` (share of the scene's time inside
Silero VAD speech), and the ITU-R BS.1770-4 / EBU R128 measures of ``mediakit.loudness``:
``loudness_lufs`` (gated integrated loudness), ``momentary_max_lufs`` (loudest 400 ms) and
``loudness_range_lu`` (EBU Tech 3342), each None for a silent scene or one too short to
measure (400 ms; 3 s for the range). The whole video's go to ``analysis.metadata["loudness"]``
= {"integrated_lufs", "momentary_max_lufs", "range_lu"}.

The track is decoded once to mono 16 kHz float32 and cached in the run's scratch directory
(``mediakit.audio.load_audio``), where the transcript stage picks it up. Speech is found with the
Silero VAD model that faster-whisper bundles (ONNX, CPU): the same detector the transcript's
``vad_filter`` uses, so "speech" means the same thing in both stages.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analysis.models import Analysis, SceneAudioFeatures
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import SceneSpan, in_scope, load_scenes, scene_scope
from mediakit.audio import SAMPLE_RATE, Track, load_track
from mediakit.loudness import SILENT, Loudness, LoudnessMeter
from mediakit.vad import speech_intervals
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    import numpy as np

SILENT_DB = -100.0
SILENT_RMS = 1e-4  # about -80 dBFS: nothing to measure a tempo on
MIN_TEMPO_SECONDS = 2.0  # shorter excerpts hold too few beats for a meaningful BPM
# ``Analysis.metadata[SPEECH_KEY]``: the whole track's speech, [start, end] seconds per stretch.
SPEECH_KEY = "speech"


@dataclass(frozen=True)
class AudioFeatures:
    scene_index: int
    rms_energy: float = 0.0
    spectral_centroid_mean: float = 0.0
    zero_crossing_rate: float = 0.0
    tempo: float = 0.0
    loudness_db: float = SILENT_DB
    speech_ratio: float = 0.0
    loudness: Loudness = SILENT


@dataclass(frozen=True)
class AudioResult:
    scenes: list[AudioFeatures]
    loudness: Loudness  # of the whole video
    speech: list[tuple[float, float]] | None  # of the whole track; None: not found again


def overlap_ratio(start: float, end: float, intervals: list[tuple[float, float]]) -> float:
    """Fraction of [start, end) covered by ``intervals`` (which do not overlap each other)."""
    if end <= start:
        return 0.0
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in intervals)
    return min(1.0, covered / (end - start))


def scene_features(
    scene: SceneSpan,
    excerpt: np.ndarray,
    speech: list[tuple[float, float]],
    loudness: Loudness = SILENT,
) -> AudioFeatures:
    """The features of one scene from its ``excerpt`` of the track (and its ``loudness``)."""
    import librosa
    import numpy as np

    if excerpt.size < 2:  # the track ends before this scene
        return AudioFeatures(scene.index)
    rms = float(np.mean(librosa.feature.rms(y=excerpt)))
    centroid = float(np.mean(librosa.feature.spectral_centroid(y=excerpt, sr=SAMPLE_RATE)))
    tempo = 0.0
    if rms >= SILENT_RMS and excerpt.size >= MIN_TEMPO_SECONDS * SAMPLE_RATE:
        bpm, _beats = librosa.beat.beat_track(y=excerpt, sr=SAMPLE_RATE)
        tempo = float(np.atleast_1d(bpm)[0])
    return AudioFeatures(
        scene_index=scene.index,
        rms_energy=rms,
        spectral_centroid_mean=centroid if rms > 0 else 0.0,
        zero_crossing_rate=float(np.mean(librosa.feature.zero_crossing_rate(excerpt))),
        tempo=round(tempo, 2),
        loudness_db=max(SILENT_DB, 20 * math.log10(rms)) if rms > 0 else SILENT_DB,
        speech_ratio=round(overlap_ratio(scene.start_time, scene.end_time, speech), 4),
        loudness=loudness,
    )


def _kept_speech(kept: list[list[float]]) -> list[tuple[float, float]]:
    return [(float(start), float(end)) for start, end in kept]


class TrackMeter:
    """A loudness meter over each decoded part of the track (the whole track, or a partial
    re-run's ranges): a part's K-weighting settles in its lead (``mediakit.audio``)."""

    def __init__(self, track: Track) -> None:
        self.parts = [(part, LoudnessMeter(part.samples, SAMPLE_RATE)) for part in track.parts]

    def measure(self, start: float = 0.0, end: float = math.inf) -> Loudness:
        for part, meter in reversed(self.parts):
            offset = part.first / SAMPLE_RATE
            if offset <= start:
                return meter.measure(start - offset, end - offset)
        return SILENT


def warm_up_measures() -> None:
    """Run the scene measures once on a short noise, so librosa compiles its numba kernels.

    The first onset and beat-tracking calls of a process compile them (10-15 s on the benchmark
    cores, not cached across processes): run in a thread while the track is decoded and its
    speech found, that time overlaps work the stage waits on anyway instead of stalling the
    progress at scene 1.
    """
    import numpy as np

    noise = np.random.default_rng(0).standard_normal(int(3 * SAMPLE_RATE)).astype(np.float32)
    span = SceneSpan(0, 0, 0.0, 3.0, 0, 0)
    # A failure here is raised again, where it belongs, by the first real scene's measures.
    with contextlib.suppress(Exception):
        scene_features(span, noise * 0.1, [])


@register
class AudioStage(Stage[AudioResult]):
    """Measure every scene's audio; a video without sound gets silent features, not an error."""

    name = "audio"
    label = "Analysing audio"
    weight = 1.0
    lane = "sound"
    needs = ("shots",)  # measured per scene
    imports = ("numpy", "librosa", "faster_whisper")  # Silero VAD comes with faster-whisper

    def compute(self, ctx: StageContext) -> AudioResult:
        scenes = in_scope(ctx.analysis, load_scenes(ctx.analysis))
        warm_up = threading.Thread(target=warm_up_measures, name="audio-warm-up", daemon=True)
        warm_up.start()
        # A partial re-run decodes about its scenes only, when the whole run kept the speech
        # it found (speech does not move with the cuts); else the whole track.
        known = (ctx.analysis.metadata or {}).get(SPEECH_KEY)
        partial = scene_scope(ctx.analysis) is not None and known is not None
        ctx.report(0.0, "Decoding the audio" + (" of the edited scenes" if partial else " track"))
        spans = [(s.start_time, s.end_time) for s in scenes] if partial else None
        track = load_track(ctx.video_path, ctx.workdir, spans)
        if track is None or not any(part.samples.size for part in track.parts):
            ctx.report(1.0, "The video has no audio")
            return AudioResult([AudioFeatures(scene.index) for scene in scenes], SILENT, None)
        ctx.report(0.1, "Finding speech")
        speech = _kept_speech(known or []) if partial else speech_intervals(track.parts[0].samples)
        meter = TrackMeter(track)  # K-weights the track once for all scenes
        ctx.report(0.2, "Preparing the audio measures")
        warm_up.join()
        progress, result = ProgressThrottle(ctx.report), []
        for done, scene in enumerate(scenes):
            progress(0.2 + 0.8 * done / len(scenes), f"Audio of scene {done + 1} of {len(scenes)}")
            excerpt = track.excerpt(scene.start_time, scene.end_time)
            loudness = meter.measure(scene.start_time, scene.end_time)
            result.append(scene_features(scene, excerpt, speech, loudness))
        ctx.report(1.0, f"Measured the audio of {len(scenes)} scenes")
        whole = None if partial else meter.measure()
        return AudioResult(result, whole or SILENT, None if partial else speech)

    def persist(self, ctx: StageContext, result: AudioResult) -> None:
        scene_ids = dict(ctx.analysis.scenes.values_list("index", "id"))
        rows = SceneAudioFeatures.objects.filter(scene__analysis=ctx.analysis)
        scope = scene_scope(ctx.analysis)
        if scope is not None:  # a partial re-run: the video's own loudness is unchanged
            rows.filter(scene_id__in=scope).delete()
        else:
            rows.delete()
        SceneAudioFeatures.objects.bulk_create(
            SceneAudioFeatures(
                scene_id=scene_ids[item.scene_index],
                rms_energy=item.rms_energy,
                spectral_centroid_mean=item.spectral_centroid_mean,
                zero_crossing_rate=item.zero_crossing_rate,
                tempo=item.tempo,
                loudness_db=item.loudness_db,
                speech_ratio=item.speech_ratio,
                loudness_lufs=item.loudness.integrated,
                momentary_max_lufs=item.loudness.momentary_max,
                loudness_range_lu=item.loudness.range,
            )
            for item in result.scenes
        )
        if scope is None:
            _save_video_sound(ctx, result.loudness, result.speech)


def _save_video_sound(
    ctx: StageContext, loudness: Loudness, speech: list[tuple[float, float]] | None
) -> None:
    """The whole video's loudness, and its speech for the partial re-runs after cut edits."""
    analysis = Analysis.objects.select_for_update().get(pk=ctx.analysis.pk)
    analysis.metadata = {
        **(analysis.metadata or {}),
        "loudness": {
            "integrated_lufs": loudness.integrated,
            "momentary_max_lufs": loudness.momentary_max,
            "range_lu": loudness.range,
        },
        SPEECH_KEY: [list(pair) for pair in speech or []],
    }
    analysis.save(update_fields=["metadata"])
    ctx.analysis.metadata = analysis.metadata
