"""Where the faces stage's CPU goes, and what it finds, on the shared media and story videos.

    DATABASE_URL=postgres://... python -m bench.faces_cost capture [name ...]
    python -m bench.faces_cost run TAG [--truth-scenes] [name ...]
    python -m bench.faces_cost report BEFORE AFTER

``capture`` runs probe, shots, keyframes and the decode pass on each video once and keeps
what the faces stage is given: the scenes and the pass's pictures (``var/bench/faces_cost``).
``run`` replays the faces stage's search (``people.stages.faces.find_faces``, the stage's own
code, default configuration) on them, measuring its CPU seconds and, per thread, those of
its parts (full-frame searches, following, sideways searches, landmarks and chips, the
embeddings, reading the pictures), and scores what it found against the hand labels:

* story videos (``story_dev_*``, ``var/story_eval/*``): a truth scene should show a face when
  one of its source shots is labelled ``faces: true`` in ``bench/vision_labels.json`` (every
  Chaplin shot is); face-free when all its sources are labelled and none shows one;
* the labelled shared clips: each labelled shot, the same way;
* the bench film (``bench.pipeline_bench.build_film(4)``): cost only (its scenes loop the
  clips above).

A face counts in the scene or shot holding the time of its appearance's best face (the time an
appearance is stored with). With ``--truth-scenes`` the story videos are searched in their truth
scenes instead of the scenes the shots stage cut (same pictures): recall that does not hang on
where the cuts fell (a long scene gives the search 4 anchors among up to 12 pictures, a short
one searches nearly every picture). ``report`` writes the ``faces-cost`` section of RESULTS.md
from two runs' results.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import CACHE, MEDIA, ROOT, load_average, markdown_table, setup_django

HERE = CACHE / "faces_cost"
LABELS = ROOT / "bench" / "vision_labels.json"
STORY_BUILT = ROOT / "var" / "story_eval"
CLIPS = ["chaplin", "carphone_pristine", "goldeneye-vfr-drop3", "issue-134-rotate", "bikes"]
CLIPS += ["cockatoo", "testvideo"]
STORIES = ["story_dev_01", "story_dev_02", "same_place", "four_lines"]
FILM = "film_4min"
NAMES = [*STORIES, *CLIPS, FILM]


def video_path(name: str) -> Path:
    if name == FILM:
        from bench.pipeline_bench import build_film

        return build_film(4)
    if name in CLIPS:
        return MEDIA / "shots" / f"{name}.mp4"
    if name.startswith("story_dev_"):
        return MEDIA / "story" / f"{name}.mp4"
    from bench.story_videos import build

    return build(name).video


def truth_path(name: str) -> Path | None:
    if name.startswith("story_dev_"):
        return MEDIA / "story" / f"{name}.json"
    if name in STORIES:
        from bench.story_videos import build

        return build(name).truth
    return None


# --- capture -----------------------------------------------------------------------------


@dataclass
class Captured:
    """What the faces stage of one run was given."""

    scenes: list[Any]  # SceneSpan
    candidates: list[tuple[int, float, str]]  # (frame, time, file under the capture folder)
    width: int
    fps: float


def capture(name: str) -> None:
    """Run the stages before faces on ``name`` and keep the faces stage's input."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import override_settings

    import people.stages.faces as stage
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute

    folder = HERE / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "pictures").mkdir(parents=True)
    kept: dict[str, Any] = {}
    original = stage.scene_frames

    def keep(ctx: Any, scenes: list[Any], config: Any) -> Iterator[Any]:
        candidates = []
        for c in ctx.frame_pass().candidates() or []:
            shutil.copy(c.path, folder / "pictures" / c.path.name)
            candidates.append((c.index, c.time, c.path.name))
        video = ctx.analysis.video
        kept["input"] = Captured(scenes, candidates, video.width, video.fps or 25.0)
        return iter(())

    call_command("migrate", verbosity=0)
    stage.scene_frames = keep
    try:
        with (
            override_settings(MEDIA_ROOT=folder / "media", VAR_DIR=folder / "var"),
        ):
            owner, _ = get_user_model().objects.get_or_create(username="bench-faces-cost")
            try:
                record = services.video_create_from_path(owner=owner, path=video_path(name))
                stages = ["probe", "shots", "keyframes", "faces"]
                analysis = Analysis.objects.create(video=record, parameters={"stages": stages})
                done = analysis_execute(analysis_id=analysis.id)
                if done is None or done.status != "completed":
                    raise SystemExit(f"{name}: {done.error if done else 'not run'}")
            finally:
                owner.delete()
    finally:
        stage.scene_frames = original
        shutil.rmtree(folder / "media", ignore_errors=True)
        shutil.rmtree(folder / "var", ignore_errors=True)
    (folder / "input.pkl").write_bytes(pickle.dumps(kept["input"]))
    print(f"{name}: {len(kept['input'].scenes)} scenes, {len(kept['input'].candidates)} pictures")


# --- run ---------------------------------------------------------------------------------


class Parts:
    """CPU seconds of the faces code's parts, each measured on the thread that ran it."""

    WRAPPED = ("detect_faces", "follow_face", "sideways", "_face_at", "embed_faces")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.thread_time() - start
                with self._lock:
                    self.seconds[label] = self.seconds.get(label, 0.0) + spent
                    self.calls[label] = self.calls.get(label, 0) + 1

        return timed

    def install(self) -> Callable[[], None]:
        """Wrap the parts in ``people.faces`` (and picture reading); returns the undo."""
        import people.faces as faces
        import people.stages.faces as stage

        saved = {n: getattr(faces, n) for n in self.WRAPPED}
        for n in self.WRAPPED:
            setattr(faces, n, self.wrap(n, saved[n]))
        read = stage.read_file
        stage.read_file = self.wrap("read", read)

        def undo() -> None:
            for n, fn in saved.items():
                setattr(faces, n, fn)
            stage.read_file = read

        return undo


def truth_scenes(name: str, fps: float) -> list[Any] | None:
    """The truth scenes of a story video as the faces stage's scenes; None for the others."""
    from analysis.pipeline.stages.common import SceneSpan

    truth = truth_path(name)
    if truth is None:
        return None
    data = json.loads(truth.read_text())
    rate = data.get("fps", fps)
    return [
        SceneSpan(
            k, k, s["start_frame"] / rate, s["end_frame"] / rate, s["start_frame"], s["end_frame"]
        )
        for k, s in enumerate(data["scenes"])
    ]


def run(name: str, truth: bool = False) -> dict[str, Any]:
    """Replay the faces stage on ``name``'s capture: its cost, parts and what it found
    (``truth``: in the story video's truth scenes)."""
    from mediakit.framestore import Candidate
    from people.conf import face_config
    from people.faces import _model
    from people.stages import faces as stage

    folder = HERE / name
    kept: Captured = pickle.loads((folder / "input.pkl").read_bytes())
    candidates = [Candidate(i, t, folder / "pictures" / f) for i, t, f in kept.candidates]
    scenes = (truth_scenes(name, kept.fps) if truth else None) or kept.scenes
    config = face_config({})
    for kind in ("hog", "landmarks", "embedding"):
        _model(kind)  # loaded before the clock starts: once per worker, not per video
    parts = Parts()
    undo = parts.install()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        items = stage.candidate_frames(candidates, scenes, config.frames_per_scene)
        search = stage.FaceSearch(config, "hog", kept.width)
        result = stage.find_faces(items, len(scenes), search, lambda _f, _m: None)
    finally:
        undo()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    hits = [
        (hit.frame_time, n) for n, cluster in enumerate(result.clusters) for hit in cluster.hits
    ]
    return {
        "name": name,
        "cpu": round(cpu, 2),
        "wall": round(wall, 2),
        "parts": {k: round(v, 2) for k, v in parts.seconds.items()},
        "calls": parts.calls,
        "scenes": len(scenes),
        "frames": result.frames,
        "searched": result.searched,
        "held": result.held,
        "reused": result.reused,
        "narrowed": result.narrowed,
        "turned": result.turned_scenes,
        "tracks": result.faces,
        "characters": len(result.clusters),
        "hits": sorted(hits),
        "score": score(name, hits, kept.fps),
    }


# --- scoring -----------------------------------------------------------------------------


def _labels() -> dict[str, Any]:
    clips: dict[str, Any] = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    return clips


def _shot_faces(source: str, first: float, last: float, labels: dict[str, Any]) -> bool | None:
    """Whether source frames ``first``..``last`` show a labelled face; None if unlabelled."""
    clip = labels.get(Path(source).name)
    if clip is None:
        return None
    start, end = first / clip["fps"], last / clip["fps"]
    shots = [s for s in clip["shots"] if min(end, s["span"][1]) > max(start, s["span"][0])]
    return any(s["faces"] for s in shots)


def segments(name: str, fps: float) -> list[tuple[float, float, bool | None]]:
    """(start s, end s, shows a face) of the truth units of ``name``: None when unknown."""
    labels = _labels()
    truth = truth_path(name)
    if truth is not None:
        data = json.loads(truth.read_text())
        out = []
        for scene in data["scenes"]:
            wants = [_shot_faces(src, a, b, labels) for src, a, b in scene["shots"]]
            face = True if any(wants) else (None if None in wants else False)
            rate = data.get("fps", fps)
            out.append((scene["start_frame"] / rate, scene["end_frame"] / rate, face))
        return out
    clip = labels.get(f"{name}.mp4")
    if clip is None:
        return []
    return [(s["span"][0], s["span"][1], bool(s["faces"])) for s in clip["shots"]]


def score(name: str, hits: list[tuple[float, int]], fps: float) -> dict[str, Any]:
    """Face units with a face found, face-free units with one, per unit what was found."""
    units = segments(name, fps)
    found = [sorted({c for t, c in hits if a <= t < b}) for a, b, _face in units]
    wanted = [i for i, (_a, _b, face) in enumerate(units) if face]
    free = [i for i, (_a, _b, face) in enumerate(units) if face is False]
    return {
        "found": [i for i in wanted if found[i]],
        "wanted": wanted,
        "false": [i for i in free if found[i]],
        "free": free,
        "per_unit": found,
    }


# --- report ------------------------------------------------------------------------------


def results_file(tag: str) -> Path:
    return HERE / f"results-{tag}.json"


def report(before_tag: str, after_tag: str) -> str:
    before = {r["name"]: r for r in json.loads(results_file(before_tag).read_text())}
    after = {r["name"]: r for r in json.loads(results_file(after_tag).read_text())}
    rows = []
    for name in [n for n in NAMES if n in before and n in after]:
        b, a = before[name], after[name]
        rows.append(
            [
                name,
                b["scenes"],
                f"{b['cpu']:.1f} -> {a['cpu']:.1f}",
                f"{b['searched']} -> {a['searched']}",
                f"{b['frames']} -> {a['frames']}",
                f"{b['tracks']} -> {a['tracks']}",
                _recall(b) + " -> " + _recall(a),
                _false(b) + " -> " + _false(a),
            ]
        )
    total = [sum(r[k]["cpu"] for k in after if k in before) for r in (before, after)]
    return (
        markdown_table(
            [
                "video",
                "scenes",
                "faces CPU s",
                "frames searched whole",
                "frames looked at",
                "tracks",
                "face units with a face",
                "face-free units with one",
            ],
            rows,
        )
        + f"\n\nTotal faces CPU s over these videos: {total[0]:.1f} -> {total[1]:.1f}."
    )


def _recall(r: dict[str, Any]) -> str:
    s = r["score"]
    return f"{len(s['found'])}/{len(s['wanted'])}" if s["wanted"] else "-"


def _false(r: dict[str, Any]) -> str:
    s = r["score"]
    return f"{len(s['false'])}/{len(s['free'])}" if s["free"] else "-"


def parts_table(tag: str) -> str:
    results = json.loads(results_file(tag).read_text())
    labels = ["detect_faces", "follow_face", "sideways", "_face_at", "embed_faces", "read"]
    rows = [
        [
            r["name"],
            r["cpu"],
            *(f"{r['parts'].get(k, 0):.1f} ({r['calls'].get(k, 0)})" for k in labels),
        ]
        for r in results
    ]
    return markdown_table(["video", "CPU s", *labels], rows)


def main() -> None:
    command, *args = sys.argv[1:] or ["run", "now"]
    setup_django()
    if command == "capture":
        for name in args or NAMES:
            capture(name)
    elif command == "run":
        tag, *names = args
        truth = "--truth-scenes" in names
        names = [n for n in names if n != "--truth-scenes"]
        names = names or [n for n in NAMES if (HERE / n).exists()]
        results = [run(n, truth) for n in names]
        results_file(tag).write_text(json.dumps(results, indent=1))
        print(parts_table(tag))
        for r in results:
            print(r["name"], r["cpu"], _recall(r), _false(r), r["score"]["per_unit"])
    elif command == "report":
        print(report(*args))
        print(load_average())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
