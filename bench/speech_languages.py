"""Speech in every language: language per scene, WER per language, words per scene, cost.

    python -m bench.speech_languages   # writes the `speech languages` section of RESULTS.md
    python -m bench.speech_languages calls [VIDEO ...]   # where the CPU goes; writes nothing
    python -m bench.speech_languages seeds [SEED ...]   # WER on more mixes; writes nothing

Videos: ``story/story_dev_02.mp4`` (English storylines A and C, a synthetic Russian one B) and
three mixes built here with ``../shared/tools/make_story.py`` from ``../shared/media``:
``mix_real_ru`` (English JFK/TIMIT/ARCTIC/Austen, real Russian ``ru.wav`` + synthetic Russian,
the sonnet), ``mix_ru_main`` (two synthetic Russian storylines, one English) and ``mix_en_only``
(three English storylines: a film of one language). Every video is given its true scenes, so
the figures are about speech only.

* **today** = the transcript stage before issue 17: the language detected once on the first
  30 s, then all VAD chunks decoded in it (``BatchedInferencePipeline``, batches of 4, word
  timestamps);
* **ours** = ``analysis.pipeline.speech.recognise`` (language per VAD stretch, chunks of one
  language); the transcript stage's segments for the per-scene figures;
* **today told** = today's stage with ``WHISPER_LANGUAGE`` set to the language of most of the
  film's speech (what an editor could do before issue 17): all speech transcribed, in one
  language. Where today's detection already names that language it is today's run itself;
* **ours told** = our decoding with every stretch in its scene's true language and no
  identification: ours / ours told is what identifying the languages costs, the rest of
  ours / today is the price of transcribing the speech today drops;
* **today each** = today's stage run once per language on that language's scenes (cut out at
  the true cuts and put back to back) with ``WHISPER_LANGUAGE`` set to it: the cost of the
  same work (all speech, each in its language) with the tool as it was, given the split that
  ours finds by itself. Today's own run does less work where it drops a language (mix_ru_main:
  its English decoding of the Russian writes a fifth of the tokens), so ours / today there
  prices the speech today loses; ours / today each prices finding the languages;
* **oracle** = plain ``WhisperModel.transcribe`` of each scene's speech (its true span
  ± 0.3 s, cut out) with the scene's true language: what faster-whisper does when told.

Language: a speech scene is right when the language spoken most in its segments is its
storyline's. WER per language: each storyline's transcript (its scenes in order) against the
text of its recordings, lower case without punctuation, English numbers in one spelling; the
parts of a recording no scene uses count as deletions for every system alike. Wrong-scene
words: words whose start lies outside their scene by more than 0.2 s. Cost: CPU seconds of the
process (all threads; the machine is shared, CPU time is disturbed less than wall time), the
lowest of ``REPEATS`` alternating runs, ours / today. Single-language files: the English and
Russian recordings of ``truth.json``, each transcribed whole by today's and our recognition.

``seeds``: ``mix_real_ru``'s recordings mixed again with other seeds (default ``SEEDS``), WER
per language ours vs the oracle on each and their mean, the oracle run ``ORACLE_RUNS`` times
(its temperature fallback samples, so its WER moves from run to run).

``calls``: the same systems on the named videos (default: all four), alternating
``CALL_REPEATS`` times, each run's CPU seconds split by CTranslate2 call (encoder, language
detector, generation with the tokens it wrote, alignment), log-mel features and VAD. Generation
costs about the same per token written in every system, so a system that writes more (the
speech today's run drops) costs more for that reason alone. One more system there: **today on
one BLAS thread**, today's run with NumPy's BLAS limited to one thread as ours limits it for
the log-mel features (``speech.whisper.log_mel``): what today would cost with the same fix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.conf import setting
from bench.common import (
    CACHE,
    ROOT,
    load_average,
    markdown_table,
    require_media,
    setup_django,
    write_section,
)

SR = 16_000
REPEATS = 2
CALL_REPEATS = 3
SEEDS = (21, 22, 23, 24, 25, 26)
ORACLE_RUNS = 2
COUNTED = ("encode", "detect_language", "generate", "align")
EXPECTED = ["en", "ru"]
MIXES: dict[str, dict[str, Any]] = {
    "mix_real_ru": {
        "seed": 5,
        "speech": {
            "A": [
                "s/jfk.flac",
                "s/LDC93S1.wav",
                "s/arctic_a0024.wav",
                "s/sense_and_sensibility_01_austen_64kb-0920.wav",
                "s/sense_and_sensibility_01_austen_64kb-0930.wav",
            ],
            "B": ["s/ru.wav", *[f"tts/dev_ru_{i:02d}.wav" for i in range(5, 11)], "s/ru.wav"],
            "C": ["s/sonnet1.mp3"],
        },
    },
    "mix_ru_main": {
        "seed": 7,
        "speech": {
            "A": [f"tts/dev_ru_{i:02d}.wav" for i in range(1, 6)],
            "B": [*[f"tts/dev_ru_{i:02d}.wav" for i in range(6, 11)], "s/ru.wav"],
            "C": [
                f"s/sense_and_sensibility_01_austen_64kb-0{n}.wav"
                for n in (870, 880, 890, 920, 930)
            ],
        },
    },
    "mix_en_only": {  # one language: what today's single-language run was made for
        "seed": 11,
        "speech": {
            "A": [
                f"s/sense_and_sensibility_01_austen_64kb-0{n}.wav"
                for n in (870, 880, 890, 920, 930)
            ],
            "B": ["s/jfk.flac", "s/LDC93S1.wav", "s/arctic_a0024.wav"],
            "C": ["s/sonnet1.mp3"],
        },
    },
}


def normalise(text: str, language: str) -> str:
    """Lower case without punctuation; English numbers in one spelling (Whisper's own WER
    normaliser: "1" and "one" are the same word, and the sonnet's reference writes "1")."""
    words = " ".join(re.findall(r"\w+(?:'\w+)?", text.lower()))
    if language != "en":
        return words
    from transformers.models.whisper.english_normalizer import EnglishNumberNormalizer

    return str(EnglishNumberNormalizer()(words))


def language_of(recording: str) -> str:
    return "ru" if recording.startswith("tts/") or recording.endswith("ru.wav") else "en"


def reference_texts(media: Path) -> dict[str, str]:
    """The spoken text of every recording, by its path in a story config."""
    texts = {
        "s/" + name.split("/", 1)[1]: entry["text"]
        for name, entry in json.loads((media / "truth.json").read_text())["speech"].items()
    }
    lines = (media / "speech" / "tts_ru" / "dev_ru.txt").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate([line for line in lines if line.strip()], start=1):
        texts[f"tts/dev_ru_{number:02d}.wav"] = line
    return texts


def build_mixes(media: Path) -> list[Path]:
    """The mixes (built once into var/bench/speech_languages), shots as in story_dev_02."""
    return [build_mix(media, name, mix["speech"], mix["seed"]) for name, mix in MIXES.items()]


def build_mix(media: Path, name: str, speech: dict[str, list[str]], seed: int) -> Path:
    """A mix of ``speech`` (recordings per storyline) over story_dev_02's shots, built once
    into var/bench/speech_languages with ``make_story.py --seed seed``."""
    out = CACHE / "speech_languages"
    root = out / "media"
    root.mkdir(parents=True, exist_ok=True)
    for link, target in (("v", "shots"), ("s", "speech"), ("tts", "speech/tts_ru")):
        if not (root / link).exists():
            (root / link).symlink_to(media / target)
    if not (out / f"{name}.mp4").exists():
        base = json.loads((media / "story" / "story_dev_02.config.json").read_text())["storylines"]
        lines = {k: {"shots": base[k]["shots"], "speech": v} for k, v in speech.items()}
        config = out / f"{name}.config.json"
        config.write_text(json.dumps({"media_root": str(root), "storylines": lines}))
        tool = media.parent / "tools" / "make_story.py"
        command = [sys.executable, str(tool), str(config), str(out), name]
        subprocess.run([*command, "--seed", str(seed)], check=True)
    return out / f"{name}.mp4"


def today(model: Any, samples: Any, language: str | None = None) -> list[Any]:
    """The transcript stage's recognition before issue 17 (its segments): ``language`` as
    ``WHISPER_LANGUAGE`` forced it, else detected once on the first 30 s."""
    from faster_whisper import BatchedInferencePipeline

    language = language or model.detect_language(audio=samples)[0]
    pipeline = BatchedInferencePipeline(model)
    segments, _ = pipeline.transcribe(
        samples,
        batch_size=4,
        language=language,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    return list(segments)


def ours(model: Any, samples: Any, cuts: list[float]) -> Any:
    from analysis.pipeline.speech.recognise import recognise

    return recognise(
        model,
        samples,
        cuts=cuts,
        language=None,
        expected=EXPECTED,
        batch=4,
        progress=lambda fraction, message: None,
    )


def told(model: Any, samples: Any, truth: dict[str, Any], cuts: list[float]) -> Any:
    """Our decoding with every stretch in its scene's true language, no identification: what
    transcribing each language in its own costs."""
    from analysis.pipeline.speech.languages import Decision
    from analysis.pipeline.speech.whisper import decode
    from analysis.pipeline.speech.windows import pack, scene_number, speech_stretches

    stretches = speech_stretches(samples)
    truths = [scene_language(truth, scene_number(s, cuts)) for s in stretches]
    chunks = pack(stretches, truths)
    segments = list(decode(model, samples, chunks, 4, lambda seconds: None))
    return segments, [Decision(language, 1.0, True) for language in truths]


def today_each(model: Any, samples: Any, truth: dict[str, Any]) -> list[Any]:
    """``today`` told the language, once per language on its scenes cut out back to back."""
    import numpy as np

    fps = truth["fps"]
    spans: dict[str, list[Any]] = {}
    for scene in truth["scenes"]:
        language = scene_language(truth, scene["index"])
        part = samples[
            round(scene["start_frame"] / fps * SR) : round(scene["end_frame"] / fps * SR)
        ]
        spans.setdefault(language, []).append(part)
    return [
        segment
        for language, parts in spans.items()
        for segment in today(model, np.concatenate(parts), language)
    ]


def scene_language(truth: dict[str, Any], index: int) -> str:
    scene = truth["scenes"][index]
    line = truth["storylines"][scene["storyline"]]
    return language_of(line["speech"][0])


def main_language(truth: dict[str, Any]) -> str:
    """The language of most of the film's speech."""
    seconds: dict[str, float] = {}
    for scene in truth["scenes"]:
        if scene.get("speech"):
            language = scene_language(truth, scene["index"])
            spoken = scene["speech"]["end_s"] - scene["speech"]["start_s"]
            seconds[language] = seconds.get(language, 0.0) + spoken
    return max(seconds, key=seconds.__getitem__)


def runs_on(
    model: Any, samples: Any, truth: dict[str, Any], cuts: list[float]
) -> dict[str, Callable[[], Any]]:
    """The systems measured on a video (see the docstring), as calls to run."""
    return {
        "today": lambda: today(model, samples),
        "ours": lambda: ours(model, samples, cuts),
        "ours told": lambda: told(model, samples, truth, cuts),
        "today each": lambda: today_each(model, samples, truth),
    }


def on_one_blas_thread(run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` with NumPy's BLAS limited to one thread."""

    def limited() -> Any:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return run()

    return limited


def cpu_best(runs: dict[str, Any]) -> dict[str, tuple[float, float, Any]]:
    """Per system: (least CPU seconds, least wall seconds, first result), alternating."""
    best: dict[str, tuple[float, float, Any]] = {}
    for repeat in range(REPEATS):
        for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
            cpu, wall = time.process_time(), time.perf_counter()
            result = runs[name]()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            old = best.get(name, (cpu, wall, result))
            best[name] = (min(old[0], cpu), min(old[1], wall), old[2])
    return best


def scene_spans(truth: dict[str, Any]) -> list[Any]:
    from analysis.pipeline.stages.common import SceneSpan

    fps = truth["fps"]
    return [
        SceneSpan(
            s["index"],
            s["index"],
            s["start_frame"] / fps,
            s["end_frame"] / fps,
            s["start_frame"],
            s["end_frame"],
        )
        for s in truth["scenes"]
    ]


def pieces_of(samples: Any, scenes: list[Any]) -> list[Any]:
    from analysis.pipeline.base import StageContext
    from analysis.pipeline.stages.transcript import transcribe

    context = StageContext(None, Path("-"), Path("-"), lambda f, m: None, {})  # type: ignore[arg-type]
    return transcribe(context, samples, scenes).pieces


def oracle(model: Any, samples: Any, scene: dict[str, Any], language: str, fps: float) -> str:
    speech = scene["speech"]
    start = max(speech["start_s"] - 0.3, scene["start_frame"] / fps)
    end = min(speech["end_s"] + 0.3, scene["end_frame"] / fps)
    segments, _ = model.transcribe(samples[int(start * SR) : int(end * SR)], language=language)
    return " ".join(s.text for s in segments)


def video_figures(model: Any, path: Path, texts: dict[str, str]) -> dict[str, Any]:
    from mediakit.audio import decode_audio

    truth = json.loads(path.with_suffix(".json").read_text())
    samples = decode_audio(path)
    scenes = scene_spans(truth)
    cuts = [s.start_time for s in scenes[1:]]
    main = main_language(truth)
    runs = runs_on(model, samples, truth, cuts)
    runs["today told"] = lambda: today(model, samples, main)
    if model.detect_language(audio=samples)[0] == main:  # today hears the main language
        del runs["today told"]
    if len({scene_language(truth, s["index"]) for s in truth["scenes"]}) == 1:
        del runs["today each"]  # one language: today's run itself
    cost = cpu_best(runs)
    cost.setdefault("today told", cost["today"])
    cost.setdefault("today each", cost["today"])
    stretches = cost["ours"][2].decisions
    return {
        **speech_figures(model, samples, truth, texts, oracles(model, samples, truth)),
        "video": path.name,
        "cost": cost,
        "main": main,
        "stretches": len(stretches),
        "unsure": sum(not d.sure for d in stretches.values()),
    }


def oracles(model: Any, samples: Any, truth: dict[str, Any]) -> dict[int, str]:
    """The oracle's text of every speech scene, by scene index."""
    return {
        scene["index"]: oracle(
            model, samples, scene, scene_language(truth, scene["index"]), truth["fps"]
        )
        for scene in truth["scenes"]
        if scene.get("speech")
    }


def speech_figures(
    model: Any, samples: Any, truth: dict[str, Any], texts: dict[str, str], said: dict[int, str]
) -> dict[str, Any]:
    """Scenes in the right language, WER per language ours vs the oracle (``said``: its text
    per speech scene, ``oracles``) and words outside their scene, of the transcript stage."""
    import jiwer

    scenes = scene_spans(truth)
    pieces = pieces_of(samples, scenes)
    lines = truth["storylines"]
    true_language = {k: language_of(v["speech"][0]) for k, v in lines.items()}
    right, speech_scenes, wrong_words, words = 0, 0, 0, 0
    heard: dict[str, dict[str, list[str]]] = {k: {"ours": [], "oracle": []} for k in lines}
    for scene, span in zip(truth["scenes"], scenes, strict=True):
        own = [p for p in pieces if p.scene_index == span.index]
        for piece in own:
            for word in piece.words:
                words += 1
                wrong_words += not span.start_time - 0.2 <= word.start <= span.end_time + 0.2
        if not scene.get("speech"):
            continue
        language = true_language[scene["storyline"]]
        speech_scenes += 1
        seconds: dict[str, float] = {}
        for piece in own:
            seconds[piece.language] = (
                seconds.get(piece.language, 0) + piece.end_time - piece.start_time
            )
        right += bool(seconds) and max(seconds, key=seconds.__getitem__) == language
        heard[scene["storyline"]]["ours"].append(" ".join(p.text for p in own))
        heard[scene["storyline"]]["oracle"].append(said[scene["index"]])
    wer: dict[str, dict[str, list[str]]] = {}
    for key, systems in heard.items():
        reference = normalise(" ".join(texts[r] for r in lines[key]["speech"]), true_language[key])
        bucket = wer.setdefault(true_language[key], {"ref": [], "ours": [], "oracle": []})
        bucket["ref"].append(reference)
        for system in ("ours", "oracle"):
            bucket[system].append(normalise(" ".join(systems[system]), true_language[key]) or "-")
    per_language = {
        lang: {s: float(jiwer.wer(b["ref"], b[s])) for s in ("ours", "oracle")}
        for lang, b in wer.items()
    }
    return {
        "scenes": (right, speech_scenes),
        "wer": per_language,
        "words": (wrong_words, words),
    }


def single_language(model: Any, media: Path) -> list[list[Any]]:
    import jiwer

    from mediakit.audio import decode_audio

    rows: list[list[Any]] = []
    totals = {"today": [0.0, 0.0], "ours": [0.0, 0.0]}
    hyps: dict[str, list[str]] = {"today": [], "ours": []}
    refs = []
    flipped = 0
    for name, entry in json.loads((media / "truth.json").read_text())["speech"].items():
        samples = decode_audio(media / name)
        assert samples is not None, name
        seconds = len(samples) / SR
        cost = cpu_best(
            {
                "today": lambda audio=samples: today(model, audio),
                "ours": lambda audio=samples: ours(model, audio, []),
            }
        )
        refs.append(normalise(entry["text"], entry["lang"]))
        row: list[Any] = [name.split("/")[-1], entry["lang"], f"{seconds:.1f}"]
        texts = {
            "today": " ".join(s.text for s in cost["today"][2]),
            "ours": " ".join(s.text for s in cost["ours"][2].segments),
        }
        flipped += sum(d.language != entry["lang"] for d in cost["ours"][2].decisions.values())
        for system in ("today", "ours"):
            hyps[system].append(normalise(texts[system], entry["lang"]) or "-")
            totals[system][0] += cost[system][0]
            totals[system][1] += seconds
            row += [f"{jiwer.wer(refs[-1], hyps[system][-1]):.3f}", f"{cost[system][0]:.1f}"]
        rows.append(row)
        print(row, flush=True)
    rows.append(
        [
            f"**all** (corpus WER, CPU s; stretches in the wrong language: {flipped})",
            "",
            f"{totals['ours'][1]:.0f}",
            f"**{jiwer.wer(refs, hyps['today']):.3f}**",
            f"{totals['today'][0]:.1f}",
            f"**{jiwer.wer(refs, hyps['ours']):.3f}**",
            f"{totals['ours'][0]:.1f} ({totals['ours'][0] / totals['today'][0]:.2f}x)",
        ]
    )
    return rows


class Counted:
    """A loaded model's CTranslate2 calls, log-mel features and VAD counted: per kind, [calls,
    CPU seconds, tokens written (generation only)]."""

    def __init__(self, model: Any) -> None:
        import faster_whisper.transcribe
        import faster_whisper.vad

        self.tally: dict[str, list[float]] = {}
        inner, features = model.model, model.feature_extractor
        counted = self

        class Model:
            def __getattr__(self, name: str) -> Any:
                found = getattr(inner, name)
                return counted.timed(name, found) if name in COUNTED else found

        class Features:
            def __getattr__(self, name: str) -> Any:
                return getattr(features, name)

            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                return counted.timed("features", features)(*args, **kwargs)

        model.model, model.feature_extractor = Model(), Features()
        vad = self.timed("vad", faster_whisper.vad.get_speech_timestamps)
        faster_whisper.vad.get_speech_timestamps = vad
        faster_whisper.transcribe.get_speech_timestamps = vad  # today's pipeline imported it

    def timed(self, name: str, call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            cpu = time.process_time()
            found = call(*args, **kwargs)
            entry = self.tally.setdefault(name, [0, 0.0, 0])
            entry[0] += 1
            entry[1] += time.process_time() - cpu
            if name == "generate":
                entry[2] += sum(len(result.sequences_ids[0]) for result in found)
            return found

        return run

    def line(self) -> str:
        return ", ".join(
            f"{name} {int(calls)}x {cpu:.2f}" + (f" ({int(tokens)} tokens)" if tokens else "")
            for name, (calls, cpu, tokens) in sorted(self.tally.items())
        )


def calls(names: list[str]) -> None:
    """Prints where each system's CPU goes on the videos ``names`` (see the docstring)."""
    media = require_media()
    setup_django()

    from analysis.pipeline.models import load_whisper_model
    from mediakit.audio import decode_audio

    model = load_whisper_model()
    counted = Counted(model)
    videos = [media / "story" / "story_dev_02.mp4", *build_mixes(media)]
    for path in [v for v in videos if not names or v.stem in names]:
        truth = json.loads(path.with_suffix(".json").read_text())
        cuts = [s.start_time for s in scene_spans(truth)[1:]]
        runs = runs_on(model, decode_audio(path), truth, cuts)
        runs["today on one BLAS thread"] = on_one_blas_thread(runs["today"])
        for repeat in range(CALL_REPEATS):
            for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
                counted.tally.clear()
                cpu = time.process_time()
                runs[name]()
                cpu = time.process_time() - cpu
                load = os.getloadavg()[0]
                print(f"{path.stem} {name}: {cpu:.2f} CPU s (load {load:.1f}): {counted.line()}")


def seeds(numbers: list[int]) -> None:
    """Prints WER per language, ours vs the oracle, on mixes like ``mix_real_ru`` built with
    the seeds ``numbers`` (see the docstring)."""
    media = require_media()
    setup_django()

    from analysis.pipeline.models import load_whisper_model
    from mediakit.audio import decode_audio

    model = load_whisper_model()
    texts = reference_texts(media)
    speech = MIXES["mix_real_ru"]["speech"]
    named = {MIXES["mix_real_ru"]["seed"]: "mix_real_ru"}
    tally: dict[str, dict[str, list[float]]] = {}
    for seed in numbers:
        path = build_mix(media, named.get(seed, f"mix_real_ru_s{seed}"), speech, seed)
        truth = json.loads(path.with_suffix(".json").read_text())
        samples = decode_audio(path)
        runs = [
            speech_figures(model, samples, truth, texts, oracles(model, samples, truth))
            for _ in range(ORACLE_RUNS)
        ]
        for language in sorted(runs[0]["wer"]):
            ours_wer = runs[0]["wer"][language]["ours"]  # ours is deterministic
            oracle_wer = [run["wer"][language]["oracle"] for run in runs]
            own = tally.setdefault(language, {"ours": [], "oracle": []})
            own["ours"].append(ours_wer)
            own["oracle"].append(sum(oracle_wer) / len(oracle_wer))
            heard = ", ".join(f"{w:.3f}" for w in oracle_wer)
            print(f"{path.stem} {language}: ours {ours_wer:.3f}, oracle {heard}", flush=True)
        print(f"{path.stem}: scenes {runs[0]['scenes']}, words outside {runs[0]['words']}")
    for language, own in tally.items():
        ours_mean = sum(own["ours"]) / len(own["ours"])
        oracle_mean = sum(own["oracle"]) / len(own["oracle"])
        worse = sum(o > r for o, r in zip(own["ours"], own["oracle"], strict=True))
        print(
            f"mean {language}: ours {ours_mean:.3f}, oracle {oracle_mean:.3f}; ours worse on "
            f"{worse} of {len(own['ours'])}"
        )


def main() -> None:
    media = require_media()
    setup_django()

    from analysis.pipeline.models import load_whisper_model

    model = load_whisper_model()
    texts = reference_texts(media)
    videos = [media / "story" / "story_dev_02.mp4", *build_mixes(media)]
    rows = []
    for path in videos:
        figures = video_figures(model, path, texts)
        right, total = figures["scenes"]
        cost = figures["cost"]
        ratio = cost["ours"][0] / cost["today"][0]
        cpu = {name: cost[name][0] for name in cost}
        wall = {name: cost[name][1] for name in cost}
        wer = "; ".join(
            f"{lang} {w['ours']:.3f} vs {w['oracle']:.3f}"
            for lang, w in sorted(figures["wer"].items())
        )
        rows.append(
            [
                figures["video"],
                f"{right}/{total} ({right / max(total, 1):.0%})",
                wer,
                f"{figures['words'][0]} of {figures['words'][1]}",
                f"{figures['unsure']} of {figures['stretches']}",
                f"{cost['today'][0]:.1f} / {cost['ours'][0]:.1f} = **{ratio:.2f}x**",
                f"{cost['ours'][1] / cost['today'][1]:.2f}x",
                f"{figures['main']}: {cpu['today told']:.1f}"
                f" → {cpu['ours'] / cpu['today told']:.2f}x"
                f" (wall {wall['ours'] / wall['today told']:.2f}x)",
                f"{cpu['ours told']:.1f} → {cpu['ours'] / cpu['ours told']:.2f}x"
                f" (wall {wall['ours'] / wall['ours told']:.2f}x)",
                f"{cpu['today each']:.1f} → **{cpu['ours'] / cpu['today each']:.2f}x**",
            ]
        )
        print(rows[-1], flush=True)
    table = markdown_table(
        [
            "video",
            "speech scenes in the right language",
            "WER per language: ours vs oracle",
            "words outside their scene",
            "unsure stretches",
            "CPU s today / ours",
            "wall ratio",
            "today told the main language: CPU s → ours / it",
            "ours told each scene's language: CPU s → ours / it",
            "today told each language on its scenes: CPU s → ours / it",
        ],
        rows,
    )
    single = markdown_table(
        ["file", "lang", "audio s", "today WER", "today CPU s", "ours WER", "ours CPU s"],
        single_language(model, media),
    )
    body = f"""## speech languages

`python -m bench.speech_languages` (issue 17) — model `{setting("WHISPER_MODEL_SIZE")}` (offline
pack), CPU int8, 2 cores shared with other work (load average at the end {load_average()}),
expected languages {", ".join(EXPECTED)}. How it is measured: the module docstring. Targets:
≥ 95% of speech scenes in the right language, WER per language no worse than the oracle
(plain faster-whisper told each scene's true language), 0 words outside their scene, cost
≤ 1.15x today's single-language run.

{table}

Single-language recordings (`truth.json`), whole files: today's recognition against ours.

{single}
"""
    write_section("speech languages", body)
    print(body)


if __name__ == "__main__":
    os.chdir(ROOT)
    if sys.argv[1:2] == ["calls"]:
        calls(sys.argv[2:])
    elif sys.argv[1:2] == ["seeds"]:
        seeds([int(seed) for seed in sys.argv[2:]] or list(SEEDS))
    else:
        main()
