"""Settings of the story app: a Django setting of the same name wins, then the environment.

- ``LLM_BASE_URL`` (empty: off): an OpenAI-compatible chat endpoint, e.g.
  ``http://127.0.0.1:11434/v1``, that names storylines and proposes cause-and-effect links.
- ``LLM_MODEL`` (empty: off): the model the endpoint should use.
- ``LLM_API_KEY`` (empty): sent as a bearer token when given.
- ``LLM_TIMEOUT`` (60): seconds to wait for an answer.
"""

from __future__ import annotations

from typing import Any

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "LLM_BASE_URL": "",
    "LLM_MODEL": "",
    "LLM_API_KEY": "",
    "LLM_TIMEOUT": 60.0,
}

setting = AppSettings(DEFAULTS)
