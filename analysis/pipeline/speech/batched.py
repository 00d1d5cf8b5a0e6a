"""Batched decoding of chunks in several languages at once.

faster-whisper's ``BatchedInferencePipeline`` decodes a batch in one language, so a film in two
languages decoded language by language runs a short batch per language: each ``generate`` call
costs as many decoder steps as its longest chunk, whatever the batch size, and a batch of one
Russian chunk cost as much as a batch of three English ones (bench/RESULTS.md, speech
languages). Here a batch takes chunks of any language, each with its own language token in its
prompt, so a film decodes in as many batches as a film of one language. The options are the
pipeline's (beam 5, text tokens only, no temperature fallback) and one more: no run of
``NO_REPEAT_NGRAM`` tokens written twice. Words are aligned per language (the alignment's start
sequence names the language).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from analysis.pipeline.speech.windows import Chunk

BEAM_SIZE = 5  # faster-whisper's default, as the batched pipeline used before
# No run of this many tokens is written twice in a chunk. Without timestamp tokens or
# temperature fallback, Whisper can loop on speech it hardly understands: on story_dev_02's
# synthetic Russian it wrote "-гин-гин-гин..." to 223 tokens, 124 with this rule (the beam
# leaves the loop), a quarter of the film's decoding saved and the Russian WER down to the
# oracle's (bench/RESULTS.md, speech languages). Speech that really repeats itself keeps its
# repeats (the beam writes them with other tokens or punctuation; a test), and legitimate
# repeats in the bench's text are shorter ("to be ill-disposed" twice in one chunk, 5-6 tokens).
NO_REPEAT_NGRAM = 8


@dataclass(frozen=True)
class WordTiming:
    """A word as faster-whisper times it (seconds from the start of its chunk's audio)."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Decoded:
    """One chunk's text and words, times from the start of the chunk's audio; ``longer``:
    the tokens of the beam's finished hypothesis that wrote the most, when it wrote more than
    the text's (``Decoder.longer``), with the chunk's encoder output to align it on."""

    chunk: Chunk
    text: str
    words: list[WordTiming]
    longer: list[int] | None = None
    encoded: Any = None


def punctuation() -> tuple[str, str]:
    """The punctuation faster-whisper merges into the word before or after (its defaults)."""
    from faster_whisper import BatchedInferencePipeline

    parameters = inspect.signature(BatchedInferencePipeline.transcribe).parameters
    return (
        str(parameters["prepend_punctuations"].default),
        str(parameters["append_punctuations"].default),
    )


def batches(chunks: list[Chunk], size: int, mixed: bool) -> Iterator[list[Chunk]]:
    """``chunks`` in batches of ``size``; with ``mixed`` False a batch holds one language
    (the encoder output can only be split by language on the CPU, see ``subset``)."""
    group: list[Chunk] = []
    for chunk in chunks:
        if group and (len(group) == size or (not mixed and chunk.language != group[0].language)):
            yield group
            group = []
        group.append(chunk)
    if group:
        yield group


def subset(encoded: Any, indexes: list[int], total: int) -> Any:
    """The encoder output of the batch items ``indexes`` (a CPU StorageView)."""
    if len(indexes) == total:
        return encoded
    import ctranslate2
    import numpy as np

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(encoded)[indexes]))


class Decoder:
    """Decodes batches of chunks of mixed languages with one loaded ``WhisperModel``."""

    def __init__(self, model: Any, samples: Any) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model, self.samples = model, samples
        self.tokenizers: dict[str, Any] = {}
        self.new_tokenizer = lambda language: Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
        )
        self.suppress = list(get_suppressed_tokens(self.tokenizer("en"), [-1]))
        self.prepend, self.append = punctuation()

    def tokenizer(self, language: str) -> Any:
        if language not in self.tokenizers:
            self.tokenizers[language] = self.new_tokenizer(language)
        return self.tokenizers[language]

    def features(self, chunks: list[Chunk]) -> Any:
        """Log-mel features of each chunk's packed audio, padded to Whisper's 30 s."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim

        from analysis.pipeline.speech.whisper import excerpt, log_mel

        audio = [np.concatenate([excerpt(self.samples, s) for s in c.stretches]) for c in chunks]
        return np.stack([pad_or_trim(log_mel(self.model, a)[..., :-1]) for a in audio])

    def decode(self, chunks: list[Chunk]) -> list[Decoded]:
        """Text and word times of every chunk of one batch."""
        return self.decode_encoded(chunks, self.model.encode(self.features(chunks)))

    def decode_encoded(self, chunks: list[Chunk], encoded: Any) -> list[Decoded]:
        """Text and word times of every chunk of one batch, given their encoder output (a
        StorageView, one item per chunk, all of one length)."""
        prompts = [
            self.model.get_prompt(self.tokenizer(c.language), [], without_timestamps=True)
            for c in chunks
        ]
        results = self.model.model.generate(
            encoded,
            prompts,
            beam_size=BEAM_SIZE,
            max_length=self.model.max_length,
            suppress_blank=True,
            suppress_tokens=self.suppress,
            no_repeat_ngram_size=NO_REPEAT_NGRAM,
            # The beam runs until BEAM_SIZE hypotheses have finished whatever this asks for:
            # all of them come back at no cost (``longer``).
            num_hypotheses=BEAM_SIZE,
        )
        tokens = [result.sequences_ids[0] for result in results]
        longest = [max(result.sequences_ids, key=len) for result in results]
        words: list[list[WordTiming]] = [[] for _ in chunks]
        for language in dict.fromkeys(c.language for c in chunks):
            own = [i for i, c in enumerate(chunks) if c.language == language]
            encoded_own = subset(encoded, own, len(chunks))
            timed = self.align(encoded_own, language, [(chunks[i], tokens[i]) for i in own])
            for index, found in zip(own, timed, strict=True):
                words[index] = found
        return [
            self.decoded(chunk, tokens[i], words[i], longest[i], encoded, i, len(chunks))
            for i, chunk in enumerate(chunks)
        ]

    def decoded(
        self,
        chunk: Chunk,
        tokens: list[int],
        words: list[WordTiming],
        longest: list[int],
        encoded: Any,
        index: int,
        total: int,
    ) -> Decoded:
        text = self.tokenizer(chunk.language).decode(tokens)
        # Kept on the CPU only: ``subset`` reads the output back as an array there.
        if len(longest) <= len(tokens) or str(self.model.model.device) != "cpu":
            return Decoded(chunk, text, words)
        return Decoded(chunk, text, words, longest, subset(encoded, [index], total))

    def longer(self, decoded: Decoded) -> Decoded | None:
        """``decoded`` with the text of the beam's finished hypothesis that wrote the most
        (None when none wrote more), aligned on the chunk's encoder output. The beam's choice
        is the best score per token, and a hypothesis that ends early, before speech it would
        write with less confidence (another voice packed after a seam), can win it although
        the beam wrote that speech too (story_dev_02's Austen + sonnet chunk ended at
        "...amiable himself.": bench/RESULTS.md, speech languages)."""
        if decoded.longer is None:
            return None
        language = decoded.chunk.language
        words = self.align(decoded.encoded, language, [(decoded.chunk, decoded.longer)])[0]
        text = self.tokenizer(language).decode(decoded.longer)
        return Decoded(decoded.chunk, text, words)

    def align(
        self, encoded: Any, language: str, items: list[tuple[Chunk, list[int]]]
    ) -> list[list[WordTiming]]:
        """Word times of chunks of one ``language`` (with their text tokens), by
        faster-whisper's alignment and its rules for long first and last words."""
        segments: list[list[dict[str, Any]]] = [
            [{"tokens": tokens, "start": 0.0, "end": chunk.duration, "seek": 0}]
            for chunk, tokens in items
        ]
        # Mel frames per chunk (two per encoder position), no more than the encoder output has.
        most = 2 * int(encoded.shape[1])
        frames = [
            min(most, math.ceil(chunk.duration) * self.model.frames_per_second)
            for chunk, _ in items
        ]
        self.model.add_word_timestamps(
            segments, self.tokenizer(language), encoded, frames, self.prepend, self.append, 0.0
        )
        return [
            [
                WordTiming(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
                for w in segment[0].get("words", [])
            ]
            for segment in segments
        ]
