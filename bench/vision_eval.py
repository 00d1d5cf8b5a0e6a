"""Vision benchmark: are the tags right, is the on-screen text read, is the subject findable?

``python -m bench.vision_eval`` (needs ``../shared/media``; set ``SHARED_MEDIA`` elsewhere)

Every hand-labelled shot of ``bench/vision_labels.json`` is one scene. Its frames are taken as
the keyframes stage takes them (the middle, and 1 s after the start) and go through the same
functions the vision stages call, with the default offline models (MobileNetV2, Tesseract, dlib
faces for the "person" tag). The rotated clip is read with its rotation applied, so its screen
text stands on its side, as cut into ``story_dev_01.mp4``; where faces are found only turned
(:func:`count_faces`), the tag frames are turned the same way, as the stages turn them.
On-screen text is read as the ocr stage reads it (:func:`vision.ocr.read_scene`): from the two
frames, the scene's last frame and up to 5 more spread over a 0.5 s grid starting at the
scene's cut (the stage asks the decode pass for pictures that often, the pass starts its grid
again at each cut and keeps each shot's last frame: :func:`text_grid`).

Figures (all per scene unless said otherwise):

- no wrong tag: share of scenes none of whose shown tags is outside the scene's labels;
- subject named: share of scenes with a tag among the scene's subject words;
- OCR words: share of the labelled on-screen words read (case-insensitive, fuzzy 85; a
  labelled word may be read split over up to three words, as a web address is);
- gibberish: share of the words read that are part of no labelled word of their clip;
- P@3: for each query, relevant scenes among the first three found by tag (a tag, en or ru,
  equal to the query or one of its words) or by a word read on screen, out of
  min(3, relevant); ranked by tag score (a word read on screen ranks as 0.5);
- face recall: labelled face scenes where a face was found on one of the 4 frames spread
  over the scene that the faces stage searches by default (equalised, dlib HOG), sideways
  too where none is upright, as the stage searches (:func:`count_faces`);
- CPU per keyframe: CPU seconds (this process and Tesseract's) of the tag and text work per
  scene, and its ratio to "before" (one keyframe through MobileNetV2 and the previous OCR path)
  as it ran then (torch's own thread count: on two loaded cores its idle threads spin), and to
  the same "before" work on one torch thread, as the new path runs the network.

"before" is what the first version showed: ImageNet labels of score >= 0.1 (top 3) of the one
keyframe, and text read from it by the first OCR path (``bench/vision_before.py``: a
morphological detector, bands read upright, no dictionary check).
Writes its section of ``bench/RESULTS.md`` between ``<!-- vision-eval:start -->`` and ``:end``.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    load_average,
    markdown_table,
    require_media,
    setup_django,
    write_section,
)

LABELS = ROOT / "bench" / "vision_labels.json"
OLD_MIN_SCORE, OLD_MAX = 0.1, 3
TEXT_STEP = 0.5  # seconds between the frames searched for text (the ocr stage's picture_interval)
STOP_WORDS = {"a", "an", "the", "in", "on", "of", "with", "в", "на", "с"}  # noqa: RUF001
TEXT_SCORE = 0.5  # rank of a scene found by its on-screen text, among tag scores (0-1)
FACE_FRAMES = 4  # the faces stage's default frames per scene (FACE_FRAMES_PER_SCENE)
ENGINE_RUNS = 20


@dataclass
class Scene:
    clip: str
    number: int
    label: dict[str, Any]
    frames: list[Any]  # RGB: the keyframe (middle) and the frame 1 s in
    grid: list[Any]  # RGB: further frames on the 0.5 s grid, for on-screen text
    face_frames: list[Any]  # RGB: FACE_FRAMES frames spread over the scene, for faces
    tags: list[str] = field(default_factory=list)
    tags_ru: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    old_tags: list[str] = field(default_factory=list)
    words: list[list[str]] = field(default_factory=list)  # per line read
    old_words: list[list[str]] = field(default_factory=list)
    faces: int = 0
    turn: int = 0  # degrees clockwise the faces stage would turn the scene (0: upright)
    seconds: float = 0.0
    old_seconds: float = 0.0
    old_seconds_one_thread: float = 0.0
    tag_seconds: float = 0.0  # the tag pass alone (network, words), without the text
    old_tag_seconds: float = 0.0
    old_tag_seconds_one_thread: float = 0.0
    looks: int = 0  # frames the tag pass put through the network


def read_frame(path: Path, time_s: float) -> Any:
    """The frame at ``time_s`` as RGB, its rotation metadata applied (as ffmpeg shows it)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_MSEC, time_s * 1000)
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read {path.name} at {time_s:.2f} s")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def text_grid(start: float, end: float, fps: float) -> list[float]:
    """The times of a scene's frames searched for text besides its two: the decode pass keeps
    a picture every ``TEXT_STEP`` seconds on a grid that starts again at each cut, and the
    shot's last frame (``mediakit.framestore.KeyframeCandidates``); the ocr stage takes that
    last frame and spreads the rest of its ``MAX_TEXT_FRAMES`` over the grid, from its first
    picture to its last (:func:`vision.stages.ocr.scene_frames`). The last frame is sought
    two frames before the labelled end: seeking by time in a clip of variable frame rate
    lands a frame or two off."""
    from vision.stages.ocr import grid_picks

    steps = range(1, int((end - start) / TEXT_STEP) + 1)
    grid = [start + k * TEXT_STEP for k in steps if start + k * TEXT_STEP < end - 0.1]
    last = end - 2 / fps
    return [grid[k] for k in grid_picks(len(grid), 1)] + [last]


def load_scenes(media: Path) -> list[Scene]:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    scenes = []
    for clip, info in labels["clips"].items():
        for number, shot in enumerate(info["shots"]):
            start, end = shot["span"]
            times = [(start + end) / 2, min(end - 0.05, start + 1.0)]
            grid = text_grid(start, end, info["fps"])
            path = media / "shots" / clip
            frames = [read_frame(path, t) for t in times]
            text_frames = [read_frame(path, t) for t in grid]
            spread = [start + (end - start) * (k + 0.5) / FACE_FRAMES for k in range(FACE_FRAMES)]
            face_frames = [read_frame(path, t) for t in spread]
            scenes.append(Scene(clip, number, shot, frames, text_frames, face_frames))
    return scenes


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (Tesseract runs as one): less
    noisy than the wall clock on a machine shared with other work."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_new(scene: Scene, workdir: Path) -> None:
    from vision import ocr, vocabulary
    from vision.keyframes import upright
    from vision.looks import look_at_scenes, scores_of

    scene.faces, scene.turn = count_faces(scene.face_frames)
    frames = [upright(frame, scene.turn) for frame in scene.frames]  # as the stages turn them
    start = cpu_seconds()
    looks = look_at_scenes([frames], "cpu", 16)[0]  # as the stages look
    scores = scores_of(looks)
    scene.tag_seconds, scene.looks = cpu_seconds() - start, len(looks)
    bgr = [frame[..., ::-1].copy() for frame in [*scene.frames, *scene.grid]]
    lines = ocr.read_scene(bgr, "rus+eng", workdir)
    scene.seconds = cpu_seconds() - start
    grey = vocabulary.is_black_and_white(scene.frames)
    tags = vocabulary.tags_from_scores(scores, faces=scene.faces, black_and_white=grey)
    scene.tags = [t["label"] for t in tags]
    scene.tags_ru = [t["label_ru"] for t in tags]
    scene.scores = {t["label"]: float(t["score"]) for t in tags}
    scene.words = [line.text.split() for line in lines]


def count_faces(frames: list[Any]) -> tuple[int, int]:
    """The most faces on one of the frames, searched as the faces stage searches a scene:
    upright, and where no frame shows an upright face, turned a quarter both ways on the
    middle frame; if that finds one, all the frames turned that way (footage stored on its
    side: the rotated clip). Also the turn in degrees clockwise when faces were found only
    turned (the stage stores it with each appearance, and the vision stages turn the
    scene's frames by it: ``people.selectors.scene_turns_by_scene``), else 0."""
    from people.conf import face_config
    from people.faces import detect_faces, sideways, turn, turn_degrees

    config = face_config({})
    found = max(len(detect_faces(f, config, "hog")) for f in frames)
    if found or not config.sideways:
        return found, 0
    rotation = sideways(frames[len(frames) // 2], config, "hog")
    if rotation is None:
        return found, 0
    turned = max(len(detect_faces(turn(f, rotation), config, "hog")) for f in frames)
    return turned, turn_degrees(rotation) if turned else 0


def run_old(scene: Scene, workdir: Path) -> None:
    from bench import vision_before
    from vision.imagenet import class_names
    from vision.mobilenet import few_threads

    names = class_names()
    start = cpu_seconds()
    probs = vision_before.classify(scene.frames[0])
    scene.old_tag_seconds = cpu_seconds() - start
    lines = vision_before.read_text(scene.frames[0][..., ::-1].copy(), "rus+eng", workdir)
    scene.old_seconds = cpu_seconds() - start
    with few_threads():  # the same work on one torch thread, as the new path runs it
        start = cpu_seconds()
        vision_before.classify(scene.frames[0])
        scene.old_tag_seconds_one_thread = cpu_seconds() - start
        vision_before.read_text(scene.frames[0][..., ::-1].copy(), "rus+eng", workdir)
        scene.old_seconds_one_thread = cpu_seconds() - start
    ranked = sorted(range(len(probs)), key=lambda i: -probs[i])[:OLD_MAX]
    scene.old_tags = [names[i] for i in ranked if probs[i] >= OLD_MIN_SCORE]
    scene.old_words = [line.text.split() for line in lines]


def allowed(scene: Scene) -> set[str]:
    return {w.lower() for w in [*scene.label["subject"], *scene.label["ok"]]}


def tag_figures(scenes: list[Scene], old: bool) -> tuple[float, float]:
    right = named = 0
    for scene in scenes:
        tags = [t.lower() for t in (scene.old_tags if old else scene.tags)]
        right += all(t in allowed(scene) for t in tags)
        named += any(t in {s.lower() for s in scene.label["subject"]} for t in tags)
    return right / len(scenes), named / len(scenes)


def bare(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def matches(read: str, target: str) -> bool:
    from rapidfuzz import fuzz

    return bool(read) and fuzz.ratio(read, bare(target)) >= 85


def found_in(line: list[str], targets: set[str]) -> tuple[set[str], set[int]]:
    """The targets a read line holds, and which of its words make them: a target may be
    read as one word or split over up to three ("www.bcastell.com" as "www bcastell com")."""
    found, used = set(), set()
    for start in range(len(line)):
        for end in range(start + 1, min(len(line), start + 3) + 1):
            joined = "".join(bare(w) for w in line[start:end])
            hits = {t for t in targets if matches(joined, t)}
            if hits:
                found |= hits
                used |= set(range(start, end))
    return found, used


def ocr_figures(scenes: list[Scene], old: bool) -> tuple[float, float, int]:
    wanted = found = read = wrong = 0
    clip_words: dict[str, set[str]] = {}
    for scene in scenes:
        clip_words.setdefault(scene.clip, set()).update(scene.label["text"], scene.label["seen"])
    for scene in scenes:
        lines = scene.old_words if old else scene.words
        wanted += len(scene.label["text"])
        got = set().union(*(found_in(line, set(scene.label["text"]))[0] for line in lines))
        found += len(got)
        for line in lines:
            read += len(line)
            wrong += len(line) - len(found_in(line, clip_words[scene.clip])[1])
    return found / max(1, wanted), wrong / max(1, read), read


def commit() -> str:
    import subprocess

    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def search_figures(scenes: list[Scene], queries: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for query in queries:
        text = query["query"].casefold()
        wanted = {text, *(w for w in text.split() if w not in STOP_WORDS)}
        hits = []
        for scene in scenes:
            pairs = zip(scene.tags, scene.tags_ru, strict=True)
            found = [
                scene.scores[en] for en, ru in pairs if {en.casefold(), ru.casefold()} & wanted
            ]
            read = {bare(word) for line in scene.words for word in line}
            if read & wanted:  # the app indexes on-screen text too
                found.append(TEXT_SCORE)
            if found:
                hits.append((max(found), scene))
        ranked = [s for _score, s in sorted(hits, key=lambda h: -h[0])][:3]
        relevant = {(c, n) for c, ns in query["relevant"].items() for n in ns}
        good = sum((s.clip, s.number) in relevant for s in ranked)
        retrieved = sum((s.clip, s.number) in relevant for _score, s in hits)
        rows.append(
            [
                query["query"],
                len(relevant),
                len(hits),
                round(good / min(3, len(relevant)), 3),
                round(retrieved / len(relevant), 3),
            ]
        )
    return rows


def warm_up(scenes: list[Scene]) -> None:
    """Put a frame of each clip's size through the network twice before timing: the compiled
    network settles on a new input size in its first calls, which a video (one size, many
    scenes) pays once but these clips of seven sizes would pay in their first scenes."""
    from vision.mobilenet import look_at_frames

    for frame in {scene.frames[0].shape: scene.frames[0] for scene in scenes}.values():
        look_at_frames([frame])
        look_at_frames([frame])


def engine_ms() -> tuple[float, float]:
    """CPU milliseconds of MobileNetV2's convolutional part on one 224 x 224 frame, one
    thread: as a plain module and compiled (:func:`vision.mobilenet.feature_extractor`)."""
    import torch

    from vision.mobilenet import feature_extractor, few_threads, load_mobilenet_v2

    sample = torch.rand(1, 3, 224, 224)
    found = []
    for network in (load_mobilenet_v2("cpu").features, feature_extractor("cpu")):
        with few_threads(), torch.inference_mode():
            network(sample)
            start = cpu_seconds()
            for _ in range(ENGINE_RUNS):
                network(sample)
            found.append((cpu_seconds() - start) / ENGINE_RUNS * 1000)
    return found[0], found[1]


def main() -> None:
    setup_django()
    media = require_media()
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    scenes = load_scenes(media)
    with tempfile.TemporaryDirectory() as tmp:
        run_new(scenes[0], Path(tmp))  # load the models before timing
        warm_up(scenes)
        for scene in scenes:
            run_old(scene, Path(tmp))
            run_new(scene, Path(tmp))
    text = report(scenes, labels["queries"], engine_ms())
    write_section("vision-eval", text)
    print(text)


def report(scenes: list[Scene], queries: list[dict[str, Any]], engine: tuple[float, float]) -> str:
    old_right, old_named = tag_figures(scenes, old=True)
    right, named = tag_figures(scenes, old=False)
    old_ocr, old_junk, old_read = ocr_figures(scenes, old=True)
    words, junk, read = ocr_figures(scenes, old=False)
    faced = [s for s in scenes if s.label["faces"]]
    recall = sum(s.faces > 0 for s in faced) / max(1, len(faced))
    queries_rows = search_figures(scenes, queries)
    p3 = sum(r[3] for r in queries_rows) / len(queries_rows)
    recall_q = sum(r[4] for r in queries_rows) / len(queries_rows)
    new_cost = sum(s.seconds for s in scenes) / len(scenes)
    old_cost = sum(s.old_seconds for s in scenes) / len(scenes)
    old_one = sum(s.old_seconds_one_thread for s in scenes) / len(scenes)
    tag_cost = sum(s.tag_seconds for s in scenes) / len(scenes)
    old_tag = sum(s.old_tag_seconds_one_thread for s in scenes) / len(scenes)
    looks = sum(s.looks for s in scenes) / len(scenes)
    summary = markdown_table(
        ["figure", "before", "now", "target"],
        [
            ["no wrong tag", f"{old_right:.3f}", f"{right:.3f}", ">= 0.90"],
            ["subject named", f"{old_named:.3f}", f"{named:.3f}", ">= 0.80"],
            ["OCR words read", f"{old_ocr:.3f}", f"{words:.3f}", "all"],
            [
                "gibberish words",
                f"{old_junk:.3f} of {old_read}",
                f"{junk:.3f} of {read}",
                "<= 0.05",
            ],
            ["search P@3 (tags)", "", f"{p3:.3f}", ""],
            ["search recall (tags)", "", f"{recall_q:.3f}", ""],
            ["face scenes with a face", "", f"{recall:.3f}", ""],
            [
                "CPU s per scene",
                f"{old_cost:.3f}",
                f"{new_cost:.3f} ({new_cost / old_cost:.2f}x)",
                "<= 1.5x",
            ],
            [
                "CPU s per scene, both on one torch thread",
                f"{old_one:.3f}",
                f"{new_cost:.3f} ({new_cost / old_one:.2f}x)",
                "",
            ],
            [
                "tag pass CPU s per scene (network and words), one torch thread",
                f"{old_tag:.3f}",
                f"{tag_cost:.3f} ({tag_cost / old_tag:.2f}x)",
                "<= 1.5x",
            ],
            ["frames through the network per scene", "1 centre crop", f"{looks:.2f} whole", ""],
            [
                "network CPU ms, one 224 x 224 frame: plain / compiled",
                f"{engine[0]:.1f}",
                f"{engine[1]:.1f}",
                "",
            ],
        ],
    )
    per_scene = markdown_table(
        ["scene", "before", "now", "text read"],
        [
            [
                f"{s.clip} #{s.number}",
                ", ".join(s.old_tags),
                ", ".join(s.tags),
                " / ".join(" ".join(line) for line in s.words),
            ]
            for s in scenes
        ],
    )
    search = markdown_table(["query", "relevant", "found", "P@3", "recall"], queries_rows)
    return "\n\n".join(
        [
            "## vision: tags, on-screen text, faces (hand labels)",
            f"`python -m bench.vision_eval`: {len(scenes)} labelled scenes of "
            f"{len({s.clip for s in scenes})} shared clips (`bench/vision_labels.json`), "
            "offline models (MobileNetV2, Tesseract rus+eng, dlib HOG faces); per scene 2 "
            "frames for tags, up to 8 for on-screen text, 4 for faces; CPU, 2 cores shared "
            f"with other work (load average {load_average()} at the end of the run: the CPU "
            f"ratio moves by about 0.1 between runs); measured on commit {commit()}.",
            summary,
            per_scene,
            search,
        ]
    )


if __name__ == "__main__":
    main()
