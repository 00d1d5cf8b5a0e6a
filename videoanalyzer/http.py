"""Request types for type checking: what the API's authentication puts on a request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class AuthedRequest(HttpRequest):
    """A request that passed the API's authentication: ``auth`` is the user (or API client)."""

    auth: Any
