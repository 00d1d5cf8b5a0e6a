"""Speech in every language a film speaks: the language rules on their own, then the transcript
stage on real generated English and Russian speech (espeak-ng) with the real Whisper model."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from django.db import transaction
from django.test import Client

from analysis.models import Analysis, Scene, TranscriptSegment, Video
from analysis.pipeline import load_stages
from analysis.pipeline.base import STAGES, StageContext
from analysis.pipeline.speech.batched import Decoded, WordTiming, batches
from analysis.pipeline.speech.encoded import Encoded, split
from analysis.pipeline.speech.languages import decide, restrict, smooth
from analysis.pipeline.speech.recognise import notes_on
from analysis.pipeline.speech.sound import loudness
from analysis.pipeline.speech.whisper import (
    Heard,
    Word,
    finish,
    heard_of,
    unheard,
    with_sandwiched,
    without_words_near,
)
from analysis.pipeline.speech.windows import CHUNK_SECONDS, Chunk, Stretch, heard_part, pack
from analysis.selectors import scene_json
from analysis.subtitles import Cue, parse_subtitles_text, to_srt, to_vtt
from mediakit.probe import probe
from tests.fixtures_media import (
    EN_SENTENCES,
    RU_SENTENCE,
    Clip,
    make_clip,
    speak,
    speech_track,
)

CYRILLIC = re.compile(r"[\u0430-\u044f\u0451]+")


# --- The rules, on made-up detector outputs -------------------------------------------------------


def test_unplaced_probability_goes_to_the_expected_languages_other_than_english() -> None:
    # What base Whisper says of synthetic Russian: anything but Russian or English.
    heard = {"ar": 0.4, "ja": 0.3, "en": 0.1, "ru": 0.02, "mn": 0.18}
    restricted = restrict(heard, ["en", "ru"])
    assert restricted["en"] == pytest.approx(0.1)
    assert restricted["ru"] == pytest.approx(0.9)
    assert restrict(heard, []) == heard  # nothing expected: every language counts


def test_unplaced_probability_is_shared_in_proportion() -> None:
    restricted = restrict({"ru": 0.3, "de": 0.1, "en": 0.0, "fr": 0.6}, ["en", "ru", "de"])
    assert restricted == pytest.approx({"en": 0.0, "ru": 0.75, "de": 0.25})


def test_a_short_unsure_stretch_follows_its_neighbour_in_the_same_scene() -> None:
    stretches = [Stretch(0.0, 1.2), Stretch(2.3, 5.8)]
    short, long_ = {"en": 0.34, "th": 0.6, "ru": 0.0}, {"en": 0.97, "ru": 0.0, "la": 0.03}
    decisions = decide(stretches, [short, long_], cuts=[], expected=["en", "ru"])
    assert [d.language for d in decisions] == ["en", "en"] and all(d.sure for d in decisions)
    # Across a cut the short stretch is on its own, and alone it is not English.
    alone = decide(stretches, [short, long_], cuts=[2.0], expected=["en", "ru"])
    assert [d.language for d in alone] == ["ru", "en"]


def test_a_stretch_padded_across_a_cut_stays_in_its_own_scene() -> None:
    # VAD pads stretches with silence: the first ends 0.3 s after the cut at 7.0 s.
    stretches = [Stretch(0.0, 7.3), Stretch(7.6, 9.4)]
    probabilities = [{"en": 1.0, "ru": 0.0}, {"en": 0.27, "ru": 0.0, "la": 0.73}]
    decisions = decide(stretches, probabilities, cuts=[7.0], expected=["en", "ru"])
    assert [d.language for d in decisions] == ["en", "ru"]


def test_smoothing_reaches_only_close_neighbours() -> None:
    stretches = [Stretch(0.0, 3.0), Stretch(10.0, 13.0)]
    probabilities = [{"en": 1.0, "ru": 0.0}, {"en": 0.0, "ru": 1.0}]
    assert smooth(stretches, probabilities, []) == probabilities


def test_a_long_confident_passage_is_not_flipped_by_a_noisy_neighbour() -> None:
    stretches = [Stretch(0.0, 6.0), Stretch(6.5, 7.0), Stretch(7.5, 13.0)]
    probabilities = [{"ru": 0.95, "en": 0.01}, {"en": 0.9, "ru": 0.05}, {"ru": 0.9, "en": 0.05}]
    decisions = decide(stretches, probabilities, [], ["en", "ru"])
    assert [d.language for d in decisions] == ["ru", "ru", "ru"]


def test_speech_the_detector_cannot_place_is_noted_and_still_given_a_language() -> None:
    # A language Whisper knows badly: its probability spread thin over many languages.
    stretches = [Stretch(0.0, 4.0), Stretch(4.5, 9.5)]
    spread = {"sw": 0.22, "yo": 0.2, "ln": 0.18, "en": 0.15, "ha": 0.15, "so": 0.1}
    decisions = decide(stretches, [spread, spread], cuts=[], expected=[])
    assert [d.sure for d in decisions] == [False, False]
    assert {d.language for d in decisions} == {"sw"}  # the most likely, not nothing
    (note,) = notes_on(stretches, decisions, [spread, spread], [])
    assert "could not be told with confidence" in note and "9 s of 9 s" in note, note
    # Speech the detector is sure of: no note.
    sure = [{"en": 0.97, "de": 0.03}] * 2
    assert notes_on(stretches, decide(stretches, sure, [], []), sure, []) == []


def test_chunks_never_mix_languages_and_hold_at_most_30_seconds() -> None:
    stretches = [Stretch(i * 10.0, i * 10.0 + 8.0) for i in range(8)]
    languages = ["en", "ru", "en", "en", "ru", "en", "en", "en"]
    chunks = pack(stretches, languages)
    assert [c.language for c in chunks] == ["en", "en", "ru"]
    assert all(c.duration <= CHUNK_SECONDS for c in chunks)
    assert sorted(s for c in chunks for s in c.stretches) == sorted(stretches)
    english = [c for c in chunks if c.language == "en"]
    assert english[1].at == pytest.approx(english[0].duration)  # packed back to back


def test_a_batch_mixes_languages_only_where_the_encoder_output_can_be_split() -> None:
    chunks = [Chunk(lang, (Stretch(i, i + 1.0),), 0.0) for i, lang in enumerate("eerrre")]
    on_cpu = [[c.language for c in b] for b in batches(chunks, 4, mixed=True)]
    assert on_cpu == [["e", "e", "r", "r"], ["r", "e"]]
    elsewhere = [[c.language for c in b] for b in batches(chunks, 4, mixed=False)]
    assert elsewhere == [["e", "e"], ["r", "r", "r"], ["e"]]


def test_speech_a_chunks_text_passed_over_is_decoded_again() -> None:
    stretches = (Stretch(0.0, 4.0), Stretch(10.0, 13.0), Stretch(20.0, 21.0))
    chunk = Chunk("en", stretches, at=0.0)
    db = loudness(np.zeros(22 * 16_000, dtype=np.float32))
    early = Decoded(chunk, " Hello there", [WordTiming(" Hello", 0.5, 1.0, 0.9)])
    (again,) = unheard(early, heard_of(early, db))
    assert again.stretches == stretches[1:] and again.language == "en"
    # Words in every stretch: nothing to retry; an unheard second is not retried.
    said = [(" One", 0.5, 0.9), (" two", 5.0, 5.4), (" three", 7.1, 7.4), (" four", 7.5, 7.9)]
    heard = Decoded(chunk, " One two three four", [WordTiming(*w, 0.9) for w in said])
    assert unheard(heard, heard_of(heard, db)) == []
    short = Decoded(chunk, " One two", [WordTiming(*w, 0.9) for w in said[:2]])
    assert unheard(short, heard_of(short, db)) == []
    assert unheard(Decoded(chunk, "", []), None) == []  # silence heard: nothing to retry


def test_speech_skipped_in_the_middle_of_a_chunk_is_decoded_again() -> None:
    """Whisper followed the first voice and aligned its last word over the next scenes'
    speech (same_place: "...do for" at 6.6 s, "him." stretched over 27.9-31.0 s, 20 s of two
    other storylines' speech lost): the stretches between are decoded again."""
    stretches = (Stretch(0.0, 6.0), Stretch(7.0, 11.0), Stretch(12.0, 16.0), Stretch(17.0, 21.0))
    chunk = Chunk("en", stretches, at=0.0)
    db = loudness(np.zeros(22 * 16_000, dtype=np.float32))
    first = [(" And", 0.2, 0.6), (" he", 1.0, 1.3), (" had", 2.0, 2.4), (" leisure", 3.0, 5.5)]
    words = [WordTiming(*w, 0.9) for w in first] + [WordTiming(" him.", 14.2, 17.5, 0.4)]
    skipped = Decoded(chunk, " And he had leisure him.", words)
    (again,) = unheard(skipped, heard_of(skipped, db))
    assert again.stretches == stretches[1:]
    # The retry's words replace the first pass's where they overlap; the rest is kept.
    heard = heard_of(skipped, db)
    assert heard is not None and heard.words[-1].start >= 17.0
    retry = [Word(" The", 17.2, 17.5, 0.9), Word(" garden", 17.6, 18.1, 0.9)]
    kept = without_words_near(heard, retry)
    assert kept is not None and [w.word for w in kept.words] == [w for w, *_ in first]
    assert kept.text == " And he had leisure" and kept.end == heard.words[3].end
    assert without_words_near(heard, []) is heard
    alone = Heard(17.0, 18.0, " him.", [heard.words[-1]], "en", stretches[3])
    assert without_words_near(alone, retry) is None


def test_a_short_stretch_between_skipped_ones_is_decoded_again_with_them() -> None:
    """Whisper skipped two scenes' speech and alignment left two words of the next scene
    ("But thou") on a short stretch between them (mix_real_ru, seed 22): that stretch is
    decoded again with the skipped ones; a long one between them is not."""
    stretches = (
        Stretch(0.0, 4.0),
        Stretch(5.0, 8.0),
        Stretch(8.5, 9.5),
        Stretch(10.0, 13.0),
        Stretch(14.0, 20.0),
    )
    chunk = Chunk("en", stretches, at=0.0)
    db = loudness(np.zeros(21 * 16_000, dtype=np.float32))
    # Times in the packed audio: stretch 2 lies at 7-8 s, stretch 4 at 11-17 s.
    said = [(" He", 0.5, 0.8), (" was.", 1.0, 1.4), (" But", 7.1, 7.4), (" thou", 7.5, 7.9)]
    said += [(" contracted", 11.2, 11.8), (" to", 12.0, 12.2), (" thine", 12.3, 12.6)]
    said += [(" own", 12.8, 13.0), (" bright", 13.2, 13.5), (" eyes.", 13.6, 14.0)]
    words = [WordTiming(*w, 0.9) for w in said]
    skipped = Decoded(chunk, "".join(w for w, *_ in said), words)
    (again,) = unheard(skipped, heard_of(skipped, db))
    assert again.stretches == stretches[1:4]
    assert with_sandwiched(stretches, [False, True, False, True, False]) == [
        False,
        True,
        True,
        True,
        False,
    ]
    longer = (Stretch(0.0, 4.0), Stretch(5.0, 8.0), Stretch(8.5, 11.5), Stretch(12.0, 15.0))
    assert with_sandwiched(longer, [False, True, False, True]) == [False, True, False, True]


class Beam:
    """A ``batched.Decoder`` whose beam finished a longer hypothesis than the one it chose."""

    def __init__(self, longer: Decoded | None) -> None:
        self.model = SimpleNamespace(model=SimpleNamespace(device="cpu"))
        self.found, self.retried = longer, list[list[Chunk]]()

    def longer(self, decoded: Decoded) -> Decoded | None:
        return self.found

    def decode(self, chunks: list[Chunk]) -> list[Decoded]:
        self.retried.append(chunks)
        words = [WordTiming(" Again", 0.1 + k, 0.5 + k, 0.9) for k in range(3)]
        return [Decoded(c, " Again", words) for c in chunks]


def test_a_chunk_the_beam_wrote_whole_is_not_decoded_again() -> None:
    """The beam's choice stopped before the second voice (story_dev_02: "...amiable himself."
    then the sonnet's 12.8 s) while another finished hypothesis wrote it too: that one is
    taken and nothing is decoded again; a longer one that passes over speech too is not."""
    stretches = (Stretch(0.0, 4.0), Stretch(10.0, 16.0))
    chunk = Chunk("en", stretches, at=0.0)
    db = loudness(np.zeros(17 * 16_000, dtype=np.float32))
    first = [WordTiming(" Had", 0.5, 0.9, 0.9), WordTiming(" himself.", 2.0, 2.6, 0.9)]
    early = Decoded(chunk, " Had himself.", first)
    sonnet = [WordTiming(f" w{k}", 4.2 + k, 4.6 + k, 0.9) for k in range(5)]
    whole = Decoded(chunk, " Had himself. w0 w1 w2 w3 w4", first + sonnet)
    beam = Beam(whole)
    (heard,) = finish(beam, [early], db, 4, lambda seconds: None)  # type: ignore[arg-type]
    assert beam.retried == [] and heard.text == whole.text
    assert [w.word for w in heard.words][2:] == [w.word for w in sonnet]
    assert heard.words[-1].start >= 10.0
    beam = Beam(Decoded(chunk, " Had himself. w0", [*first, sonnet[0]]))
    heard_again = list(finish(beam, [early], db, 4, lambda seconds: None))  # type: ignore[arg-type]
    assert [[c.stretches for c in batch] for batch in beam.retried] == [[stretches[1:]]]
    assert {h.text for h in heard_again} == {" Had himself.", " Again"}


def test_a_stretchs_encoder_output_is_cut_at_fifty_positions_a_second() -> None:
    stretches = (Stretch(1.0, 2.0), Stretch(5.0, 5.5), Stretch(9.0, 10.0))
    output = np.arange(1500, dtype=np.float32)[:, None].repeat(2, axis=1)  # row i holds i
    window = Encoded(Chunk("", stretches, 0.0), output)
    assert window.positions(stretches[1]) == (50, 75)  # after 1 s of packed speech
    part = window.part([stretches[0], stretches[2]], "ru")
    assert part.chunk == Chunk("ru", (stretches[0], stretches[2]), 0.0)
    assert part.output[:, 0].tolist() == [*range(50), *range(75, 125)]


def test_windows_of_one_language_are_decoded_whole_and_mixed_ones_packed_anew() -> None:
    english = tuple(Stretch(i * 5.0, i * 5.0 + 4.0) for i in range(3))
    mixed = (Stretch(20.0, 24.0), Stretch(25.0, 28.0), Stretch(30.0, 33.0))
    windows = [Encoded(Chunk("", english, 0.0), "first"), Encoded(Chunk("", mixed, 0.0), "x")]
    languages = {**dict.fromkeys(english, "en"), mixed[0]: "en", mixed[1]: "ru", mixed[2]: "en"}
    whole, again = split(windows, languages)
    assert whole == [Encoded(Chunk("en", english, 0.0), "first")]  # its encoder output reused
    assert [(c.language, c.stretches) for c in again] == [
        ("en", (mixed[0], mixed[2])),
        ("ru", (mixed[1],)),
    ]


def tones(bursts: list[tuple[float, float, float]], seconds: float) -> Any:
    """Silence with a 200 Hz tone of amplitude ``a`` from ``start`` to ``end`` for every
    ``(start, end, a)``, under noise 60 dB below full scale: words and pauses."""
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 0.001, int(seconds * 16_000)).astype(np.float32)
    for start, end, amplitude in bursts:
        t = np.arange(int(start * 16_000), int(end * 16_000))
        samples[t] += amplitude * np.sin(2 * np.pi * 200 * t / 16_000).astype(np.float32)
    return samples


def test_a_word_glued_across_a_seam_goes_where_it_is_spoken() -> None:
    # Two scenes' stretches packed back to back (the cut at 6.0 s): "buy" ends the first at
    # 5.0 s, then a pause; the second stretch starts at 6.2 s with a quiet "and" (6.3-6.5 s,
    # 20 dB under "buy") and a loud "Mister" from 6.6 s. Packed, the seam is at 2.0 s.
    samples = tones([(4.4, 5.0, 0.5), (6.3, 6.5, 0.05), (6.6, 7.2, 0.5)], 8.0)
    chunk = Chunk("en", (Stretch(3.5, 5.5), Stretch(6.2, 7.5)), at=0.0)
    db = loudness(samples)
    # Alignment glues "and" to the end of "buy": most of it before the seam.
    words = [
        WordTiming(" buy", 0.9, 1.5, 0.9),
        WordTiming(" and", 1.5, 2.3, 0.9),
        WordTiming(" Mister", 2.4, 3.0, 0.9),
    ]
    heard = heard_of(Decoded(chunk, " buy and Mister", words), db)
    assert heard is not None
    starts = {w.word.strip(): w.start for w in heard.words}
    assert starts["buy"] == pytest.approx(4.4) and starts["Mister"] == pytest.approx(6.6)
    assert 6.2 <= starts["and"] <= 6.3  # in the second scene, not at the end of the first
    # A last word aligned past the seam into the next stretch's silent lead-in stays put.
    late = [WordTiming(" buy", 0.9, 2.08, 0.9), WordTiming(" Mister", 2.4, 3.0, 0.9)]
    heard = heard_of(Decoded(chunk, " buy Mister", late), db)
    assert heard is not None and heard.words[0].start == pytest.approx(4.4)
    assert heard.words[0].end == pytest.approx(5.5)  # clamped to its own stretch


def test_the_detector_hears_the_middle_of_a_long_window() -> None:
    assert heard_part(Stretch(2.0, 6.0)) == Stretch(2.0, 6.0)
    assert heard_part(Stretch(0.0, 30.0)) == Stretch(13.0, 17.0)


def test_a_word_maps_back_into_its_own_stretch() -> None:
    chunk = Chunk("en", (Stretch(2.0, 4.0), Stretch(10.0, 11.0)), at=0.0)
    assert chunk.film_time(2.5, 2.6) == pytest.approx(10.5)
    # A word aligned across the packing seam stays inside the stretch of its middle.
    assert chunk.film_time(1.9, 2.1) == pytest.approx(10.0)
    assert chunk.film_time(2.1, 1.95) == pytest.approx(4.0)


def test_subtitle_files_keep_each_lines_language_when_read_back() -> None:
    cues = [
        Cue(1.0, 2.0, "Fish & chips, 1 < 2", "en"),
        Cue(3.0, 6.0, "Привет", "ru"),
        Cue(7.0, 8.0, "Пока", "ru"),
        Cue(9.0, 9.5, "?"),
    ]
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\nLanguage: ru\n\n")  # the language of the most seconds
    assert "\n<lang en>Fish &amp; chips, 1 &lt; 2</lang>\n" in vtt
    assert vtt.endswith("00:00:09.000 --> 00:00:09.500\n?\n")  # no language known: no span
    srt = to_srt(cues)
    assert '\n<font lang="ru">Привет</font>\n' in srt
    for text, hint in ((vtt, "vtt"), (srt, "srt")):
        back = parse_subtitles_text(text, hint)
        assert [(c.text, c.language) for c in back[:3]] == [
            ("Fish & chips, 1 < 2", "en"),
            ("Привет", "ru"),
            ("Пока", "ru"),
        ], hint
    # A WebVTT cue without a span has the header's language; SubRip has no header.
    assert parse_subtitles_text(vtt, "vtt")[3].language == "ru"
    assert parse_subtitles_text(srt, "srt")[3].language == ""
    plain = to_srt([Cue(1.0, 2.0, "No language")])
    assert "<font" not in plain and not to_vtt([Cue(1.0, 2.0, "x")]).startswith("WEBVTT\nLang")


# --- The transcript stage on a film with English and Russian scenes ------------------------------


def run_stages(user: Any, clip: Clip, workdir: Path, **parameters: Any) -> Analysis:
    info = probe(clip.path)
    video = Video.objects.create(
        owner=user,
        file=f"videos/{user.pk}/{uuid.uuid4()}/source.mp4",
        original_name=clip.path.name,
        sha256=uuid.uuid4().hex * 2,
        duration=info.duration,
        fps=info.fps,
        frame_count=info.frame_count,
        width=info.width,
        height=info.height,
        has_audio=info.has_audio,
    )
    analysis = Analysis.objects.create(video=video, parameters=parameters)
    load_stages()
    ctx = StageContext(analysis, clip.path, workdir, lambda f, m: None, analysis.parameters)
    for name in ("shots", "transcript"):
        stage = STAGES[name]()
        result = stage.compute(ctx)
        with transaction.atomic():
            stage.persist(ctx, result)
    return Analysis.objects.get(pk=analysis.pk)


@pytest.mark.slow
@pytest.mark.django_db
def test_each_scene_is_transcribed_in_its_own_language(
    user: Any, alice: Client, mixed_language_clip: Clip, tmp_path: Path
) -> None:
    analysis = run_stages(user, mixed_language_clip, tmp_path)
    scenes = list(Scene.objects.filter(analysis=analysis).order_by("index"))
    assert len(scenes) == 3
    segments = list(TranscriptSegment.objects.filter(analysis=analysis).select_related("scene"))
    by_scene = {s.index: [seg for seg in segments if seg.scene_id == s.pk] for s in scenes}
    assert {seg.language for seg in by_scene[0] + by_scene[2]} == {"en"}
    assert {seg.language for seg in by_scene[1]} == {"ru"}
    russian = " ".join(seg.text for seg in by_scene[1]).lower()
    assert len(CYRILLIC.findall(russian)) >= 3, russian
    english = " ".join(seg.text for seg in by_scene[0]).lower()
    assert {"quick", "fox"} <= set(re.findall(r"\w+", english)), english
    assert all(0.5 <= (seg.language_probability or 0) <= 1 for seg in segments)
    # Every word is spoken inside its own scene (0.2 s of tolerance).
    for seg in segments:
        for word in seg.words:
            assert seg.scene.start_time - 0.2 <= word["start"] <= seg.scene.end_time + 0.2
    spoken = analysis.metadata["languages"]  # seconds of speech per language
    assert set(spoken) == {"en", "ru"}
    assert analysis.metadata["language"] == max(spoken, key=spoken.__getitem__)
    assert spoken["ru"] == pytest.approx(7.6, abs=1.0), spoken
    audio = [scene_json(s)["audio_analysis"] for s in scenes]
    assert [a["language"] for a in audio] == ["en", "ru", "en"]
    assert [a["languages"] for a in audio] == [["en"], ["ru"], ["en"]]
    answer = alice.get(f"/api/analyses/{analysis.pk}/transcript?language=ru").json()
    assert answer and {item["language"] for item in answer} == {"ru"}
    assert {item["scene_id"] for item in answer} == {scenes[1].public_id}
    in_order = sorted(segments, key=lambda s: s.start_time)
    for fmt in ("vtt", "srt"):  # each line read back from the file with its language
        answer = alice.get(f"/api/analyses/{analysis.pk}/transcript.{fmt}")
        back = parse_subtitles_text(answer.content.decode(), fmt)
        assert [(c.text, c.language) for c in back] == [(s.text, s.language) for s in in_order]
        assert f'transcript-{analysis.pk}.{fmt}"' in answer["Content-Disposition"]
    vtt = alice.get(f"/api/analyses/{analysis.pk}/transcript.vtt").content.decode()
    assert vtt.startswith(f"WEBVTT\nLanguage: {analysis.metadata['language']}\n")  # spoken most
    russian = alice.get(f"/api/analyses/{analysis.pk}/transcript.srt?language=ru")
    assert {c.language for c in parse_subtitles_text(russian.content.decode(), "srt")} == {"ru"}
    assert f'transcript-{analysis.pk}.ru.srt"' in russian["Content-Disposition"]


LONG_ENGLISH = (
    "The old lighthouse keeper climbed the narrow stairs every evening, lit the great lamp, "
    "and watched the ships pass slowly along the rocky coast until morning.",
    "In the spring the village held a market on the square, where farmers sold fresh bread, "
    "cheese and honey, and children ran between the wooden stalls.",
    "The train was late again, so the passengers waited on the cold platform, reading their "
    "newspapers and drinking hot coffee from paper cups.",
    "After the storm the fishermen repaired their nets on the beach, talking quietly about the "
    "weather and the price of fish in the city.",
)


@pytest.mark.slow
@pytest.mark.django_db
def test_russian_after_half_a_minute_of_english_is_transcribed_in_russian(
    user: Any, media_dir: Path, tmp_path: Path
) -> None:
    # The first 30 s of speech are English only, so the speech is encoded once in time order
    # and its languages detected on that encoder output; the second window holds English and
    # Russian and is decoded language by language.
    wavs = [speak(media_dir / f"long_en{i}.wav", text) for i, text in enumerate(LONG_ENGLISH)]
    wavs += [
        speak(media_dir / "after_ru.wav", RU_SENTENCE, voice="ru+f3"),
        speak(media_dir / "after_en.wav", EN_SENTENCES[1]),
    ]
    shots = [(source, 11.0) for source in ("testsrc2", "smptebars", "rgbtestsrc") * 2]
    clip = make_clip(media_dir / "english_then_russian.mp4", shots, speech_track(6, wavs, 11.0))
    analysis = run_stages(user, clip, tmp_path)
    scenes = list(Scene.objects.filter(analysis=analysis).order_by("index"))
    audio = [scene_json(s)["audio_analysis"] for s in scenes]
    assert [a["language"] for a in audio] == ["en", "en", "en", "en", "ru", "en"]
    segments = list(TranscriptSegment.objects.filter(analysis=analysis).select_related("scene"))
    said = {s.index: " ".join(g.text for g in segments if g.scene_id == s.pk) for s in scenes}
    assert len(CYRILLIC.findall(said[4].lower())) >= 3, said[4]
    assert {"stella", "things"} <= set(re.findall(r"\w+", said[5].lower())), said[5]
    assert {"lighthouse", "market", "platform", "fishermen"} <= set(
        re.findall(r"\w+", " ".join(said[i] for i in range(4)).lower())
    ), said


@pytest.mark.slow
@pytest.mark.django_db
def test_a_forced_language_still_applies_to_all_speech(
    user: Any, mixed_language_clip: Clip, tmp_path: Path
) -> None:
    analysis = run_stages(user, mixed_language_clip, tmp_path, language="en")
    segments = list(TranscriptSegment.objects.filter(analysis=analysis))
    assert segments and {seg.language for seg in segments} == {"en"}
    assert all(seg.language_probability is None for seg in segments)


@pytest.mark.slow
@pytest.mark.django_db
def test_a_forced_language_nobody_speaks_is_noted(
    user: Any, speech_clip: Clip, tmp_path: Path
) -> None:
    analysis = run_stages(user, speech_clip, tmp_path, language="ru")
    (note,) = analysis.metadata["transcript_notes"]
    assert "forced to 'ru'" in note and "sounds like en" in note, note
    assert TranscriptSegment.objects.filter(analysis=analysis).exists()  # transcribed all the same


@pytest.mark.django_db
def test_a_video_without_audio_says_so(user: Any, no_audio_clip: Clip, tmp_path: Path) -> None:
    analysis = run_stages(user, no_audio_clip, tmp_path)
    assert analysis.metadata["transcript_notes"] == ["The video has no audio to transcribe."]
    assert not TranscriptSegment.objects.filter(analysis=analysis).exists()


@pytest.mark.django_db
def test_audio_without_speech_says_so(user: Any, shots_clip: Clip, tmp_path: Path) -> None:
    analysis = run_stages(user, shots_clip, tmp_path)  # a 440 Hz tone, no voice
    assert analysis.metadata["transcript_notes"] == ["No speech was found in the audio."]
    assert not TranscriptSegment.objects.filter(analysis=analysis).exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_speech_in_a_language_nobody_expected_is_noted(
    user: Any, media_dir: Path, tmp_path: Path
) -> None:
    german = "Guten Morgen. Das Wetter ist heute sehr schön, und wir gehen in den Park spazieren."
    wav = speak(media_dir / "de.wav", german, voice="de")
    clip = make_clip(media_dir / "speech_de.mp4", [("testsrc2", 8.0)], speech_track(1, [wav], 8.0))
    analysis = run_stages(user, clip, tmp_path)  # expected: en, ru (the default)
    (note,) = analysis.metadata["transcript_notes"]
    assert "sound like de, not one of the expected languages (en, ru)" in note, note
    assert TranscriptSegment.objects.filter(analysis=analysis).exists()  # transcribed all the same
    named = run_stages(user, clip, tmp_path, expected_languages="de,en")
    assert named.metadata.get("transcript_notes", []) == []
    assert {s.language for s in TranscriptSegment.objects.filter(analysis=named)} == {"de"}


@pytest.mark.slow
def test_a_phrase_said_again_and_again_is_written_every_time(media_dir: Path) -> None:
    # Decoding forbids writing any run of ``NO_REPEAT_NGRAM`` tokens twice in a chunk, which
    # ends Whisper's loops on speech it hardly understands; speech that really repeats a short
    # phrase must keep every repeat (a rule of 2 tokens loses the third "come here").
    from analysis.pipeline.models import load_whisper_model
    from analysis.pipeline.speech.recognise import recognise
    from mediakit.audio import decode_audio

    text = "Come here, come here, come here now. Stop it, stop it, stop it, please."
    wav = speak(media_dir / "repeats.wav", text)
    recognition = recognise(
        load_whisper_model(),
        decode_audio(wav),
        cuts=[],
        language=None,
        expected=["en", "ru"],
        batch=4,
        progress=lambda fraction, message: None,
    )
    said = " ".join(s.text for s in recognition.segments).lower()
    assert said.count("come here") == 3 and said.count("stop it") == 3, said


@pytest.mark.slow
def test_whisper_features_are_computed_on_one_blas_thread(
    media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The features' one small matrix product costs ~50x the CPU on two OpenBLAS threads, which
    # then spin and take CPU from the next CTranslate2 call; identification computes features
    # for every detection window (bench/RESULTS.md, speech languages).
    from threadpoolctl import ThreadpoolController

    from analysis.pipeline.models import load_whisper_model
    from analysis.pipeline.speech.batched import Decoder
    from analysis.pipeline.speech.whisper import detect
    from mediakit.audio import decode_audio

    controller = ThreadpoolController()
    blas = controller.select(user_api="blas")
    if not blas.lib_controllers:
        pytest.skip("NumPy found no BLAS library to limit")
    model = load_whisper_model()
    extractor = model.feature_extractor
    threads: list[int] = []

    def spy(audio: Any) -> Any:
        threads.append(max(info["num_threads"] for info in blas.info()))
        return extractor(audio)

    monkeypatch.setattr(model, "feature_extractor", spy)
    samples = decode_audio(speak(media_dir / "blas.wav", EN_SENTENCES[0]))
    stretch = Stretch(0.0, min(3.0, samples.size / 16_000))
    with controller.limit(limits=2, user_api="blas"):  # as on a machine of two cores or more
        heard = detect(model, samples, stretch)
        Decoder(model, samples).features([Chunk("en", (stretch,), 0.0)])
        after = max(info["num_threads"] for info in blas.info())
    assert threads == [1, 1]
    assert after == 2  # the limit holds for the features only
    assert max(heard, key=heard.__getitem__) == "en"
