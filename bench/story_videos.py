"""The storyline evaluation's videos: the two shared ones and our own, built on demand.

Our own are described by ``bench/story_configs/*.json`` (the shared ``make_story.py`` config
format, with paths relative to ``../shared/media``, plus ``about`` texts and the build's seed
and scene count). Two kinds of speech are made here rather than read: ``tts:<name>`` is
espeak-ng reading a text of ``story_configs/tts.json`` and ``silence:<seconds>`` is silence
(scenes without speech). Built videos go to ``var/story_eval/`` and are rebuilt only when their
config changes. ``story_configs/extra`` holds more videos of the same kinds with other seeds, to
check that a change generalises: left out of ``make eval`` unless ``STORY_EVAL_EXTRA=1`` or
named in ``STORY_EVAL_VIDEOS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("SHARED_MEDIA", ROOT.parent / "shared" / "media"))
CONFIGS = ROOT / "bench" / "story_configs"
EXTRA = CONFIGS / "extra"
BUILD = ROOT / "var" / "story_eval"
MAKE_STORY = MEDIA.parent / "tools" / "make_story.py"
SHARED = ("story_dev_01", "story_dev_02")


@dataclass
class StoryVideo:
    name: str
    video: Path
    truth: Path
    about: str  # what makes it hard
    storylines: dict[str, str]  # truth label -> what the storyline is


def _speech(item: str, folder: Path) -> str:
    """A config's speech entry as an absolute path, making espeak-ng or silence files."""
    kind, _, arg = item.partition(":")
    if kind == "tts":
        spec = json.loads((CONFIGS / "tts.json").read_text())[arg]
        out = folder / f"tts_{arg}.wav"
        if not out.exists():
            raw = folder / f"tts_{arg}.raw.wav"
            voice, speed = spec["voice"], str(spec.get("speed", 160))
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", speed, "-w", str(raw), spec["text"]], check=True
            )
            _ffmpeg(["-i", str(raw), "-ar", "16000", "-ac", "1", str(out)])
        return str(out)
    if kind == "silence":
        out = folder / f"silence_{arg}.wav"
        if not out.exists():
            _ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", arg, str(out)])
        return str(out)
    return str(MEDIA / item)


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _describe_sources(truth: dict) -> dict[str, str]:
    """What each storyline of a shared truth is, from its sources."""
    out = {}
    for label, line in truth["storylines"].items():
        speech = sorted(
            {Path(s).stem.split("_64kb")[0].rstrip("0123456789_") for s in line["speech"]}
        )
        shots = sorted({Path(s).stem for s in line["shot_sources"]})
        out[label] = f"speech {', '.join(speech)}; footage {', '.join(shots)}"
    return out


def build(name: str) -> StoryVideo:
    """Our video ``name`` (``story_configs/<name>.json``), built if missing or out of date."""
    path = CONFIGS / f"{name}.json"
    config = json.loads((path if path.exists() else EXTRA / f"{name}.json").read_text())
    BUILD.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(
        (json.dumps(config, sort_keys=True) + (CONFIGS / "tts.json").read_text()).encode()
    ).hexdigest()[:10]
    video, truth = BUILD / f"{name}.mp4", BUILD / f"{name}.json"
    stamp = BUILD / f"{name}.config-sha"
    if not (video.exists() and truth.exists() and stamp.exists() and stamp.read_text() == digest):
        lines = {
            key: {
                "shots": [[str(MEDIA / f), a, b] for f, a, b in line["shots"]],
                "speech": [_speech(s, BUILD) for s in line["speech"]],
            }
            for key, line in config["storylines"].items()
        }
        spec = BUILD / f"{name}.make.json"
        spec.write_text(json.dumps({"media_root": "/", "storylines": lines}))
        args = [str(spec), str(BUILD), name, "--seed", str(config.get("seed", 1))]
        args += ["--scenes", str(config.get("scenes", 14))]
        subprocess.run([sys.executable, str(MAKE_STORY), *args], check=True)
        stamp.write_text(digest)
    storylines = {k: v.get("about", "") for k, v in config["storylines"].items()}
    return StoryVideo(name, video, truth, config.get("about", ""), storylines)


def shared(name: str) -> StoryVideo:
    truth = MEDIA / "story" / f"{name}.json"
    data = json.loads(truth.read_text())
    return StoryVideo(
        name, MEDIA / "story" / f"{name}.mp4", truth, "shared", _describe_sources(data)
    )


def all_videos(only: list[str] | None = None) -> list[StoryVideo]:
    """The shared story videos and every configured one (``only``: these names)."""
    names = [*SHARED, *sorted(p.stem for p in CONFIGS.glob("*.json") if p.stem != "tts")]
    if only or os.environ.get("STORY_EVAL_EXTRA") == "1":
        names += sorted(p.stem for p in EXTRA.glob("*.json"))
    names = [n for n in names if not only or n in only]
    return [shared(n) if n in SHARED else build(n) for n in names]


if __name__ == "__main__":
    for v in all_videos(sys.argv[1:] or None):
        print(v.name, v.video, v.truth)
