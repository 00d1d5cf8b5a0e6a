"""Search over scene indexes: full-text (Russian and English), typo tolerance and meaning.

1. Keyword: the query as ``websearch_to_tsquery`` in the ``english`` and the ``russian``
   configuration (OR), matched against each scene's weighted ``search_vector`` (GIN index).
2. Typos: ``pg_trgm``'s word similarity against the scene text when the extension exists;
   otherwise query words are corrected to the closest words of the indexed texts
   (rapidfuzz) and searched again.
3. Meaning: the query's multilingual sentence embedding against every indexed chunk (speech
   segment, caption, on-screen text, tags), so "флешка" finds "USB stick".
4. Who is seen: a query naming a person ("man in a hat", "человек в шляпе") is also matched
   against the scenes' tags with that word read as the tag the faces stage gives people
   ("person", "people"), so the person and a tag said of them ("hat") are found together.
5. Picture: when the scenes have CLIP image embeddings, the query's CLIP text embedding against
   them ("man in a hat" finds the picture, whatever the tags say); Russian editor words are
   put into English first (CLIP reads English).

A scene's score is its best score from these, plus a little for each further way it
matched. Every hit has a snippet and the moment to open the player at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import F
from django.urls import NoReverseMatch, reverse

from analysis.models import Analysis
from videoanalyzer.errors import Refused
from vision.conf import setting
from vision.models import ChunkKind, SceneChunk, SceneEmbedding, SceneIndex

if TYPE_CHECKING:
    import numpy as np

MAX_QUERY_CHARS = 200
MAX_LIMIT = 100
TRIGRAM_MIN = 0.5
FUZZY_MIN_RATIO = 75.0
FUZZY_MIN_LENGTH = 4
SNIPPET_CHARS = 180
KINDS_BONUS = 0.05
FIELD_NAMES: dict[str, str] = {ChunkKind.PHRASE: ChunkKind.SPEECH}
TAGS_SCORE = 0.75  # a scene whose tags hold the person and the rest of the query
# Query words for a person, and Russian stems of them (any case ending): the faces stage
# tags a scene "person" or "people" whoever they are.
PERSON_WORDS = frozenset(
    [
        "man",
        "men",
        "woman",
        "women",
        "person",
        "persons",
        "people",
        "guy",
        "guys",
        "boy",
        "boys",
        "girl",
        "girls",
    ]
)
PERSON_STEMS_RU = ("человек", "люд", "мужчин", "женщин", "парн", "парен", "девушк")
PERSON_TAGS = ("person", "people")
_trigram_cache: dict[str, bool] = {}


class SearchError(Refused):
    """The query cannot be searched; the message is for the user."""


@dataclass
class Hit:
    index_pk: int
    scores: dict[str, float] = field(default_factory=dict)  # keyword/typo/semantic -> score
    chunk_pk: int | None = None

    @property
    def score(self) -> float:
        return max(self.scores.values()) + KINDS_BONUS * (len(self.scores) - 1)


def clean_query(raw: str | None) -> str:
    query = " ".join((raw or "").split())
    if not query:
        raise SearchError("Type something to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"The query is too long (at most {MAX_QUERY_CHARS} characters).")
    return query


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def text_query(query: str) -> Any:
    """The query in both configurations: a scene matches when either matches."""
    english = SearchQuery(query, config="english", search_type="websearch")
    return english | SearchQuery(query, config="russian", search_type="websearch")


def trigram_available() -> bool:
    """Whether ``pg_trgm`` is installed in this database (the embedded Postgres lacks it)."""
    name = str(connection.settings_dict.get("NAME"))
    if name not in _trigram_cache:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            _trigram_cache[name] = cursor.fetchone() is not None
    return _trigram_cache[name]


def keyword_hits(indexes: Any, query: str) -> dict[int, float]:
    """Index pk -> full-text rank of the scenes matching ``query``."""
    ts_query = text_query(query)
    rows = (
        indexes.filter(search_vector=ts_query)
        .annotate(rank=SearchRank(F("search_vector"), ts_query))
        .values_list("pk", "rank")
    )
    return {pk: float(rank) for pk, rank in rows}


def _scaled(ranks: dict[int, float], low: float, high: float) -> dict[int, float]:
    top = max(ranks.values(), default=0.0) or 1.0
    return {pk: low + (high - low) * min(1.0, rank / top) for pk, rank in ranks.items()}


def is_person_word(word: str) -> bool:
    folded = word.casefold()
    return folded in PERSON_WORDS or folded.startswith(PERSON_STEMS_RU)


def person_queries(query: str) -> list[str]:
    """The query with its person words read as each tag the faces stage gives people ("man
    in a hat" -> "person in a hat", "people in a hat"); none when it names no person."""
    parts = query.split()
    if not any(is_person_word(w.strip(".,!?")) for w in parts):
        return []
    return [
        " ".join(tag if is_person_word(w.strip(".,!?")) else w for w in parts)
        for tag in PERSON_TAGS
    ]


def tag_hits(indexes: Any, query: str) -> dict[int, float]:
    """Index pk -> ``TAGS_SCORE`` for scenes whose tags alone match a :func:`person_queries`
    reading of the query (the person tag and every other word)."""
    readings = person_queries(query)
    if not readings:
        return {}
    tags = SearchVector("keywords", config="english") + SearchVector("keywords", config="russian")
    found: set[int] = set()
    for reading in readings:
        matched = indexes.annotate(tags=tags).filter(tags=text_query(reading))
        found.update(matched.values_list("pk", flat=True))
    return dict.fromkeys(found, TAGS_SCORE)


def trigram_hits(indexes: Any, query: str) -> dict[int, float]:
    rows = (
        indexes.annotate(similarity=TrigramWordSimilarity(query, "document"))
        .filter(similarity__gte=TRIGRAM_MIN)
        .values_list("pk", "similarity")
    )
    return {pk: float(sim) for pk, sim in rows}


def corrected_query(indexes: Any, query: str) -> str | None:
    """``query`` with unknown words replaced by the closest indexed words, or None."""
    from rapidfuzz import fuzz, process

    vocabulary: set[str] = set()
    for document in indexes.values_list("document", flat=True):
        vocabulary.update(words(document))
    changed, fixed = False, []
    for word in words(query):
        if len(word) < FUZZY_MIN_LENGTH or word in vocabulary:
            fixed.append(word)
            continue
        match = process.extractOne(
            word, vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_RATIO
        )
        fixed.append(match[0] if match else word)
        changed = changed or bool(match)
    return " ".join(fixed) if changed else None


def typo_hits(indexes: Any, query: str) -> tuple[str, dict[int, float]]:
    """(method, index pk -> score in 0.45..0.75) for near matches of misspelt words."""
    if trigram_available():
        return "pg_trgm", {pk: 0.45 + 0.3 * sim for pk, sim in trigram_hits(indexes, query).items()}
    fixed = corrected_query(indexes, query)
    if fixed is None:
        return "rapidfuzz", {}
    return "rapidfuzz", _scaled(keyword_hits(indexes, fixed), 0.5, 0.7)


def semantic_hits(analyses: list[Analysis], query: str) -> dict[int, tuple[float, int]]:
    """Index pk -> (cosine similarity, chunk pk) of the best chunk above the threshold."""
    import numpy as np

    from vision import sentences

    model = sentences.model_name()
    rows = list(
        SceneChunk.objects.filter(analysis__in=analyses, model=model)
        .exclude(vector=b"")
        .values_list("pk", "index_id", "vector")
    )
    if not rows:
        return {}
    query_vector = sentences.encode([query], model)[0]
    matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<f2")
    similarity = matrix.reshape(len(rows), -1).astype(np.float32) @ query_vector
    threshold = float(setting("SEARCH_SEMANTIC_MIN"))
    best: dict[int, tuple[float, int]] = {}
    for (chunk_pk, index_pk, _vector), value in zip(rows, similarity.tolist(), strict=True):
        if value >= threshold and value > best.get(index_pk, (-1.0, 0))[0]:
            best[index_pk] = (round(float(value), 4), chunk_pk)
    return best


def visual_hits(analyses: list[Analysis], query: str) -> dict[int, float]:
    """Index pk -> score in 0.5..0.8 for scenes whose CLIP image embedding matches the query's
    CLIP text embedding (cosine at least ``SEARCH_VISUAL_MIN``); {} without CLIP embeddings."""
    import numpy as np

    from vision import clip
    from vision.captioning import ModelUnavailable
    from vision.vocabulary import english

    rows = list(
        SceneEmbedding.objects.filter(analysis__in=analyses)
        .exclude(model__in=["", "mobilenet_v2"])
        .values_list("scene_id", "model", "vector")
    )
    threshold = float(setting("SEARCH_VISUAL_MIN"))
    found: dict[int, float] = {}
    for model in sorted({row[1] for row in rows}):
        try:
            text = clip.embed_texts([f"a photo of {english(query)}"], model, "cpu")[0]
        except (ModelUnavailable, OSError, ValueError):
            continue  # not a CLIP model here any more: the other ways still search
        mine = [r for r in rows if r[1] == model]
        matrix = np.stack([as_vector(r[2]) for r in mine])
        for (scene_id, _m, _v), value in zip(mine, (matrix @ text).tolist(), strict=True):
            if value >= threshold:
                found[scene_id] = max(
                    found.get(scene_id, 0.0), min(0.8, 0.5 + 3 * (value - threshold))
                )
    pks = dict(SceneIndex.objects.filter(scene_id__in=found).values_list("scene_id", "pk"))
    return {pks[scene]: round(score, 4) for scene, score in found.items() if scene in pks}


def merge(parts: dict[str, dict[int, float]], semantic: dict[int, tuple[float, int]]) -> list[Hit]:
    hits: dict[int, Hit] = {}
    for kind, scores in parts.items():
        for pk, score in scores.items():
            hits.setdefault(pk, Hit(pk)).scores[kind] = round(score, 4)
    for pk, (score, chunk_pk) in semantic.items():
        hit = hits.setdefault(pk, Hit(pk))
        hit.scores["semantic"] = score
        hit.chunk_pk = chunk_pk
    return list(hits.values())


def keyword_chunks(index_pks: list[int], query: str) -> dict[int, int]:
    """Index pk -> the earliest chunk of it that matches ``query`` word for word."""
    vector = SearchVector("text", config="english") + SearchVector("text", config="russian")
    rows = (
        SceneChunk.objects.filter(index_id__in=index_pks)
        .exclude(kind=ChunkKind.PHRASE)
        .annotate(words_vector=vector)
        .filter(words_vector=text_query(query))
        .order_by("time")
        .values_list("index_id", "pk")
    )
    found: dict[int, int] = {}
    for index_pk, chunk_pk in rows:
        found.setdefault(index_pk, chunk_pk)
    return found


def closest_chunks(index_pks: list[int], query: str) -> dict[int, int]:
    """Index pk -> the chunk most like ``query`` letter for letter (for typo matches)."""
    from rapidfuzz import fuzz

    best: dict[int, tuple[float, int]] = {}
    rows = (
        SceneChunk.objects.filter(index_id__in=index_pks)
        .exclude(kind=ChunkKind.PHRASE)
        .values_list("index_id", "pk", "text")
    )
    for index_pk, chunk_pk, text in rows:
        score = fuzz.partial_ratio(query.casefold(), text.casefold())
        if score > best.get(index_pk, (-1.0, 0))[0]:
            best[index_pk] = (score, chunk_pk)
    return {pk: chunk for pk, (_score, chunk) in best.items()}


def snippet(text: str, query: str) -> str:
    """About ``SNIPPET_CHARS`` of ``text`` around the first query word it contains."""
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    lowered = text.casefold()
    stems = [w[: max(4, len(w) - 2)] for w in words(query)]
    position = min((p for s in stems if (p := lowered.find(s)) >= 0), default=0)
    start = max(0, position - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def player_url(analysis_id: Any, seconds: float) -> str:
    try:
        base = reverse("frontend:analysis", args=[analysis_id])
    except NoReverseMatch:
        base = f"/analyses/{analysis_id}/"
    return f"{base}?t={seconds:.1f}"


def _result(hit: Hit, index: SceneIndex, chunk: SceneChunk | None, query: str) -> dict[str, Any]:
    scene = index.scene
    analysis = index.analysis
    time = chunk.time if chunk is not None else scene.start_time
    text = (chunk.context or chunk.text) if chunk is not None else index.document
    return {
        "analysis_id": str(analysis.pk),
        "video_id": str(analysis.video_id),
        "video_name": analysis.video.original_name,
        "scene_id": scene.public_id,
        "scene_index": scene.index,
        "start_time": round(scene.start_time, 3),
        "end_time": round(scene.end_time, 3),
        "time": round(time, 3),
        "snippet": snippet(text, query),
        "field": FIELD_NAMES.get(chunk.kind, chunk.kind) if chunk is not None else "scene",
        "matched_by": sorted(hit.scores),
        "score": round(hit.score, 4),
        "url": player_url(analysis.pk, time),
        "thumbnail_url": scene.thumbnail.url if scene.thumbnail else None,
    }


def tag_chunks(index_pks: list[int]) -> dict[int, int]:
    """Index pk -> its chunk of tags (what a match on the tags points at)."""
    rows = SceneChunk.objects.filter(index_id__in=index_pks, kind=ChunkKind.OBJECTS)
    return dict(rows.values_list("index_id", "pk"))


def _chunks_for(hits: list[Hit], query: str) -> dict[int, int]:
    keyword = [h.index_pk for h in hits if "keyword" in h.scores]
    chosen = keyword_chunks(keyword, query) if keyword else {}
    tagged = [h.index_pk for h in hits if "tags" in h.scores and h.index_pk not in chosen]
    chosen.update(tag_chunks(tagged) if tagged else {})
    for hit in hits:
        if hit.index_pk not in chosen and hit.chunk_pk is not None:
            chosen[hit.index_pk] = hit.chunk_pk
    rest = [h.index_pk for h in hits if h.index_pk not in chosen]
    chosen.update(closest_chunks(rest, query) if rest else {})
    return chosen


def search_scenes(analyses: list[Analysis], raw_query: str, limit: int = 20) -> dict[str, Any]:
    """Ranked scenes of ``analyses`` matching the query, with snippets and player links."""
    query = clean_query(raw_query)
    limit = max(1, min(int(limit), MAX_LIMIT))
    indexes = SceneIndex.objects.filter(analysis__in=analyses)
    typo_method, typo = typo_hits(indexes, query)
    keyword = _scaled(keyword_hits(indexes, query), 0.6, 1.0)
    visual = visual_hits(analyses, query)
    parts = {"keyword": keyword, "typo": typo, "tags": tag_hits(indexes, query), "visual": visual}
    hits = merge(parts, semantic_hits(analyses, query))
    hits.sort(key=lambda h: -h.score)
    hits = hits[:limit]
    chunk_pks = _chunks_for(hits, query)
    rows = SceneIndex.objects.select_related("scene", "analysis__video").in_bulk(
        [h.index_pk for h in hits]
    )
    chunks = SceneChunk.objects.in_bulk(list(chunk_pks.values()))
    results = [
        _result(h, rows[h.index_pk], chunks.get(chunk_pks.get(h.index_pk, -1)), query) for h in hits
    ]
    results.sort(key=lambda r: (-r["score"], r["video_name"], r["time"]))
    return {
        "query": query,
        "total": len(results),
        "typo_tolerance": typo_method,
        "results": results,
    }


def as_vector(data: bytes | memoryview, dtype: str = "<f4") -> np.ndarray:
    import numpy as np

    return np.frombuffer(bytes(data), dtype=dtype).astype(np.float32)
