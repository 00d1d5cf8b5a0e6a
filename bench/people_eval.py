"""People benchmark: face clustering purity and speed, speaker clustering and speed, on CPU.

``python -m bench.people_eval [--photos DIR] [--no-speakers]``

Faces: a 1280x720 video built from real public-domain portraits shipped by installed packages
(scikit-image's astronaut, matplotlib's Grace Hopper), each person in several non-adjacent
shots framed differently (scale, mirroring, exposure, blur, tilt, position), between shots of
real photos with no person (coffee, a cat, a rocket). ``--photos DIR`` adds people from
``DIR/<person>/*.jpg``. The real pipeline runs (probe, shots, keyframes, faces) and every
detected face is scored against the person of its shot.

Speakers: a clip of real recordings from ``../shared/media/speech`` (when present) and two
espeak-ng voices, one speaker per shot; the pipeline runs audio, transcript and speakers.

Writes its section of ``bench/RESULTS.md`` between ``<!-- people:start -->`` and ``:end``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SHARED_SPEECH = ROOT.parent / "shared" / "media" / "speech"
WIDTH, HEIGHT, FPS, SHOT_SECONDS = 1280, 720, 25, 2.0


# --- Building the face video ---------------------------------------------------------------------


def load_people(photos_dir: Path | None) -> dict[str, list[Any]]:
    """Person -> RGB portraits."""
    import cv2
    from skimage import data

    from tests.fixtures_people import hopper_path

    people: dict[str, list[Any]] = {"astronaut": [data.astronaut()]}
    hopper = hopper_path()
    hopper_image = None if hopper is None else cv2.imread(str(hopper))
    if hopper_image is not None:
        people["hopper"] = [cv2.cvtColor(hopper_image, cv2.COLOR_BGR2RGB)]
    if photos_dir is not None:
        for folder in sorted(p for p in photos_dir.iterdir() if p.is_dir()):
            images = [cv2.imread(str(f)) for f in sorted(folder.glob("*.jp*g"))]
            people[folder.name] = [
                cv2.cvtColor(i, cv2.COLOR_BGR2RGB) for i in images if i is not None
            ]
    return {name: photos for name, photos in people.items() if photos}


def variant(photo: Any, rng: random.Random) -> Any:
    """The photo re-framed: scaled, maybe mirrored, re-exposed, blurred and tilted, on a frame."""
    import cv2
    import numpy as np

    image = photo[:, ::-1] if rng.random() < 0.5 else photo
    image = np.clip(image.astype(np.float32) * rng.uniform(0.55, 1.25), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.8, 1.8))
    angle = rng.uniform(-8, 8)
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    image = cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    height = rng.randint(300, HEIGHT)
    width = min(WIDTH, round(w * height / h))
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[:] = [rng.randint(0, 200) for _ in range(3)]
    x, y = rng.randint(0, WIDTH - width), rng.randint(0, HEIGHT - height)
    frame[y : y + height, x : x + width] = image
    return frame


def face_shots(people: dict[str, list[Any]], per_person: int, seed: int) -> list[tuple[str, Any]]:
    """(truth, frame) per shot: every person ``per_person`` times, plus face-free photos."""
    from skimage import data

    rng = random.Random(seed)
    shots = [
        (name, variant(photos[i % len(photos)], rng))
        for name, photos in people.items()
        for i in range(per_person)
    ]
    shots += [
        ("none", variant(image, rng)) for image in (data.coffee(), data.chelsea(), data.rocket())
    ]
    for _attempt in range(1000):  # a person's shots apart: each match needs the clustering
        rng.shuffle(shots)
        if all(a[0] != b[0] or a[0] == "none" for a, b in itertools.pairwise(shots)):
            break
    return shots


def encode(folder: Path, frames: list[Any], audio: list[Path | None] | None = None) -> Path:
    """Still frames as ``SHOT_SECONDS`` shots with hard cuts (and an audio clip per shot)."""
    import cv2

    args: list[str] = []
    for i, frame in enumerate(frames):
        png = folder / f"shot{i:03d}.png"
        cv2.imwrite(str(png), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        args += ["-loop", "1", "-framerate", str(FPS), "-t", str(SHOT_SECONDS), "-i", str(png)]
    n = len(frames)
    filters = ["".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"]
    maps = ["-map", "[v]"]
    if audio is not None:
        for i, clip in enumerate(audio):
            source = ["-i", str(clip)] if clip else ["-f", "lavfi", "-i", "anullsrc=r=16000"]
            args += source
            filters.append(
                f"[{n + i}:a]aresample=16000,aformat=channel_layouts=mono,"
                f"adelay=300:all=1,apad=whole_dur={SHOT_SECONDS},"
                f"atrim=0:{SHOT_SECONDS}[a{i}]"
            )
        filters.append("".join(f"[a{i}]" for i in range(n)) + f"concat=n={n}:v=0:a=1[a]")
        maps += ["-map", "[a]", "-c:a", "aac"]
    path = folder / "video.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            *args,
            "-filter_complex",
            ";".join(filters),
            *maps,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


# --- Running and scoring ------------------------------------------------------------------------


def run(owner: Any, path: Path, stages: list[str], **params: Any) -> Any:
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute

    video = services.video_create_from_path(owner=owner, path=path)
    analysis = Analysis.objects.create(video=video, parameters={**params, "stages": stages})
    done = analysis_execute(analysis_id=analysis.id)
    if done is None or done.status != "completed":
        raise SystemExit(f"analysis failed: {done.error if done else 'not run'}")
    return done


def purity(pairs: list[tuple[Any, str]]) -> tuple[float, float]:
    """(purity, inverse purity) of (cluster, truth) pairs."""
    if not pairs:
        return 0.0, 0.0
    clusters: dict[Any, Counter[str]] = {}
    truths: dict[str, Counter[Any]] = {}
    for found, truth in pairs:
        clusters.setdefault(found, Counter())[truth] += 1
        truths.setdefault(truth, Counter())[found] += 1
    total = len(pairs)
    return (
        sum(c.most_common(1)[0][1] for c in clusters.values()) / total,
        sum(c.most_common(1)[0][1] for c in truths.values()) / total,
    )


def shot_of(time_s: float) -> int:
    return int(time_s // SHOT_SECONDS)


def eval_faces(owner: Any, work: Path, photos: Path | None, per_person: int) -> dict[str, Any]:
    from people.models import FaceAppearance

    people = load_people(photos)
    shots = face_shots(people, per_person, seed=7)
    path = encode(work, [frame for _truth, frame in shots])
    rows: dict[str, Any] = {"people": len(people), "shots": len(shots)}
    for label, params in (
        ("stored keyframes, 2/scene", {}),
        ("decode-pass candidates, 3/scene", {"face_frames_per_scene": 3}),
    ):
        done = run(owner, path, ["probe", "shots", "keyframes", "faces"], **params)
        hits = FaceAppearance.objects.filter(character__analysis=done)
        pairs = [(h.character_id, shots[shot_of(h.frame_time)][0]) for h in hits]
        with_face = {i for i, (truth, _f) in enumerate(shots) if truth != "none"}
        found = {shot_of(h.frame_time) for h in hits}
        seconds = done.metadata["stage_seconds"]["faces"]
        frames = done.metadata["faces"]["frames"]
        rows[label] = {
            "scenes": done.scenes.count(),
            "frames": frames,
            "faces": len(pairs),
            "characters": done.characters.count(),
            "purity_inverse": purity(pairs),
            "shot_recall": len(found & with_face) / max(len(with_face), 1),
            "false_faces": sum(1 for _c, truth in pairs if truth == "none"),
            "seconds": seconds,
            "per_frame": seconds / max(frames, 1),
        }
    return rows


def speech_sources(work: Path) -> list[tuple[str, Path]]:
    """(speaker, audio file): real recordings when ../shared is there, and two espeak voices."""
    sources: list[tuple[str, Path]] = []
    if SHARED_SPEECH.is_dir():
        reader = sorted(SHARED_SPEECH.glob("sense_and_sensibility_*.wav"))
        sources += [("librivox-reader", p) for p in reader[:4]]
        for name, file in (
            ("jfk", "jfk.flac"),
            ("timit", "LDC93S1.wav"),
            ("arctic", "arctic_a0024.wav"),
        ):
            if (SHARED_SPEECH / file).exists():
                sources.append((name, SHARED_SPEECH / file))
    lines = [
        "The quick brown fox jumps over the lazy dog.",
        "Please call Stella and ask her to bring these things.",
        "We also need a small plastic snake and a big toy frog.",
    ]
    for voice in ("en", "en+f3"):
        for i, text in enumerate(lines):
            wav = work / f"{voice.replace('+', '_')}{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
            sources.append((f"espeak-{voice}", wav))
    return sources


def eval_speakers(owner: Any, work: Path) -> dict[str, Any]:
    import numpy as np

    from people.models import SpeakerTurn

    rng = random.Random(3)
    sources = speech_sources(work)
    rng.shuffle(sources)
    frames = [np.full((HEIGHT // 4, WIDTH // 4, 3), rng.randint(0, 255), np.uint8) for _ in sources]
    for i, frame in enumerate(frames):  # a distinct picture per shot, so each is its own scene
        frame[:, : (i + 1) * frame.shape[1] // (len(frames) + 1)] = (i * 53 % 255, 90, 160)
    path = encode(work, frames, [p for _speaker, p in sources])
    done = run(
        owner, path, ["probe", "shots", "audio", "transcript", "speakers"], whisper_model="tiny.en"
    )
    turns = list(SpeakerTurn.objects.filter(speaker__analysis=done))
    pairs = [(t.speaker_id, sources[shot_of((t.start_time + t.end_time) / 2)][0]) for t in turns]
    seconds = done.metadata["stage_seconds"]["speakers"]
    return {
        "voices": len({s for s, _p in sources}),
        "shots": len(sources),
        "segments": len(turns),
        "speakers": done.speakers.count(),
        "purity_inverse": purity(pairs),
        "seconds": seconds,
        "per_segment": seconds / max(len(turns), 1),
        "real_speech": SHARED_SPEECH.is_dir(),
    }


def warm_up() -> str:
    """Load the models as a worker does once, so the figures are per frame, not per process."""
    from people import faces, voices

    started = time.perf_counter()
    for kind in ("hog", "landmarks", "embedding"):
        faces._model(kind)
    middle = time.perf_counter()
    voices.load_encoder("cpu")
    done = time.perf_counter()
    return f"dlib {middle - started:.1f} s, Resemblyzer {done - middle:.1f} s"


# --- Report --------------------------------------------------------------------------------------


def report(faces: dict[str, Any], speakers: dict[str, Any] | None) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## people (faces -> characters, voices -> speakers), CPU, 2 cores",
        "",
        f"Load average while measured: {load} (other jobs share the cores: times are upper "
        "bounds). `python -m bench.people_eval`; s/frame and s/segment are the whole stage "
        "(reading the pictures, detection, landmarks, embedding, clustering) divided "
        "by the frames or segments it handled.",
        "",
        f"Faces: {faces['shots']} shots of 2 s at 1280x720 with {faces['people']} real people "
        "(public-domain portraits, each re-framed per shot) and 3 face-free photos. "
        "HOG detector on frames scaled to 640 px, upsampled once; dlib ResNet embeddings.",
        "",
        "| sampling | frames | faces | characters | purity | inverse purity | shot recall "
        "| false faces | s/frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row in faces.items():
        if not isinstance(row, dict):
            continue
        pur, inv = row["purity_inverse"]
        lines.append(
            f"| {label} | {row['frames']} | {row['faces']} | {row['characters']} "
            f"(truth {faces['people']}) | {pur:.3f} | {inv:.3f} | {row['shot_recall']:.3f} "
            f"| {row['false_faces']} | {row['per_frame']:.3f} |"
        )
    if speakers:
        pur, inv = speakers["purity_inverse"]
        source = "real recordings + espeak-ng" if speakers["real_speech"] else "espeak-ng only"
        lines += [
            "",
            f"Speakers ({source}): {speakers['shots']} shots, {speakers['voices']} voices; "
            "Resemblyzer embeddings per transcript segment, average-linkage cosine clustering.",
            "",
            "| segments | speakers | purity | inverse purity | s/segment |",
            "|---|---|---|---|---|",
            f"| {speakers['segments']} | {speakers['speakers']} (truth {speakers['voices']}) "
            f"| {pur:.3f} | {inv:.3f} | {speakers['per_segment']:.3f} |",
        ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    start, end = "<!-- people:start -->", "<!-- people:end -->"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="extra people: DIR/<person>/*.jpg")
    parser.add_argument("--per-person", type=int, default=6, help="shots per person")
    parser.add_argument("--no-speakers", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import override_settings

    call_command("migrate", verbosity=0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        override_settings(
            MEDIA_ROOT=Path(tmp) / "media", VAR_DIR=Path(tmp) / "var", RESULTS_DIR=Path(tmp) / "res"
        ),
    ):
        owner, _ = get_user_model().objects.get_or_create(username="bench-people")
        try:
            loads = warm_up()
            started = time.perf_counter()
            (Path(tmp) / "faces").mkdir()
            faces = eval_faces(owner, Path(tmp) / "faces", args.photos, args.per_person)
            speakers = None
            if not args.no_speakers:
                (Path(tmp) / "speech").mkdir()
                speakers = eval_speakers(owner, Path(tmp) / "speech")
            text = report(faces, speakers) + f"\n\nModel loading, once per worker: {loads}."
            print(text)
            print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
            write_section(text)
        finally:
            owner.delete()  # cascades to the videos and analyses made here


if __name__ == "__main__":
    main()
