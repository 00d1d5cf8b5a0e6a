"""Optional language model: any OpenAI-compatible chat endpoint (hosted, vLLM, Ollama…).

Off unless ``LLM_BASE_URL`` and ``LLM_MODEL`` are set (``story.conf``; ``LLM_API_KEY`` is
sent as a bearer token when given). It names and summarises storylines and proposes
cause-and-effect links between scenes; a link is kept only if both quotes it gives as evidence
really occur in the transcripts. Any failure is logged and the analysis goes on without it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from story.conf import setting

logger = logging.getLogger(__name__)
MAX_SCENE_CHARS = 400


class LLMError(Exception):
    """The endpoint failed or answered something unusable."""


@dataclass(frozen=True)
class CausalLink:
    cause: int  # scene position
    effect: int
    cause_quote: str
    effect_quote: str
    explanation: str


def enabled() -> bool:
    return bool(setting("LLM_BASE_URL") and setting("LLM_MODEL"))


def chat_json(system: str, user: str) -> Any:
    """Ask the model and parse the JSON object or array in its answer."""
    import requests

    headers = {"Content-Type": "application/json"}
    if setting("LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {setting('LLM_API_KEY')}"
    body: dict[str, Any] = {
        "model": setting("LLM_MODEL"),
        "temperature": 0,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    url = str(setting("LLM_BASE_URL")).rstrip("/") + "/chat/completions"
    try:
        response = requests.post(url, json=body, headers=headers, timeout=setting("LLM_TIMEOUT"))
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
    except (requests.RequestException, KeyError, IndexError, ValueError) as exc:
        raise LLMError(f"chat endpoint failed: {exc}") from exc
    match = re.search(r"[\[{].*[\]}]", text, re.DOTALL)  # models like to wrap JSON in prose
    if not match:
        raise LLMError("the answer holds no JSON")
    try:
        return json.loads(match.group(0))
    except ValueError as exc:
        raise LLMError(f"the answer's JSON does not parse: {exc}") from exc


NAME_PROMPT = (
    "You name storylines of a video for a film editor. For each storyline you get its scenes' "
    'transcripts and key words. Answer only JSON: {"storylines": [{"id": <id>, "name": '
    '<at most 5 words>, "summary": <one or two sentences>}]}, in the transcripts\' language.'
)
CAUSAL_PROMPT = (
    "You find cause and effect between scenes of a video from their transcripts (e.g. an object "
    'taken in one scene is missed in a later one). Answer only JSON: {"links": [{"cause": '
    '<scene number>, "effect": <later scene number>, "cause_quote": <exact words from the '
    'cause scene>, "effect_quote": <exact words from the effect scene>, "explanation": '
    "<short>}]}. Quote exactly; give no link you cannot quote. An empty list is fine."
)


def name_storylines(groups: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """``{group id: {"name", "summary"}}`` for groups ``[{"id", "texts", "words"}]``."""
    lines = []
    for g in groups:
        texts = " / ".join(t[:MAX_SCENE_CHARS] for t in g["texts"] if t)[:2000]
        lines.append(f"Storyline {g['id']}: words: {', '.join(g['words'])}; transcript: {texts}")
    answer = chat_json(NAME_PROMPT, "\n".join(lines))
    result = {}
    for item in answer.get("storylines", []) if isinstance(answer, dict) else []:
        try:
            key = int(item["id"])
        except (KeyError, TypeError, ValueError):
            continue
        name = str(item.get("name", "")).strip()[:200]
        if name:
            result[key] = {"name": name, "summary": str(item.get("summary", "")).strip()[:2000]}
    return result


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def causal_links(texts: list[str]) -> list[CausalLink]:
    """Links between scene positions whose quotes are found in the right transcripts."""
    numbered = [f"Scene {i + 1}: {t[:MAX_SCENE_CHARS]}" for i, t in enumerate(texts) if t.strip()]
    if len(numbered) < 2:
        return []
    answer = chat_json(CAUSAL_PROMPT, "\n".join(numbered))
    links = []
    for item in answer.get("links", []) if isinstance(answer, dict) else []:
        try:
            cause, effect = int(item["cause"]) - 1, int(item["effect"]) - 1
            quotes = str(item["cause_quote"]), str(item["effect_quote"])
        except (KeyError, TypeError, ValueError):
            continue
        if not (0 <= cause < effect < len(texts)):
            continue
        found = all(
            _normalise(q) and _normalise(q) in _normalise(texts[i])
            for q, i in zip(quotes, (cause, effect), strict=True)
        )
        if found:  # an unquotable link is a hallucination: dropped
            explanation = str(item.get("explanation", ""))[:500]
            links.append(CausalLink(cause, effect, quotes[0][:300], quotes[1][:300], explanation))
    return links
