"""WebSocket consumers: forward what the services publish; no logic of their own."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from analysis.progress import group_name, progress_event
from analysis.selectors import analysis_get_for_user

CLOSE_NOT_FOUND = 4404  # the same answer for "not yours" and "does not exist"


class AnalysisProgressConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/analyses/<id>/``: the current state at once, then every progress event."""

    group: str = ""

    async def connect(self) -> None:
        analysis_id = self.scope["url_route"]["kwargs"]["analysis_id"]
        state = await self._state(analysis_id)
        if state is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = group_name(analysis_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(state)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """A message the socket cannot use gets an error message; the socket stays open."""
        if text_data is None:
            await self._error("Messages must be JSON text, not binary.")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self._error('Messages must be JSON, such as {"type": "refresh"}.')
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients may ask for a fresh state (after a reconnect); nothing else is understood.
        if not isinstance(content, dict) or content.get("type") != "refresh":
            await self._error('Unknown message; the socket understands {"type": "refresh"}.')
            return
        analysis_id = self.scope["url_route"]["kwargs"]["analysis_id"]
        state = await self._state(analysis_id)
        if state is not None:
            await self.send_json(state)

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

    async def analysis_progress(self, event: dict[str, Any]) -> None:
        await self.send_json({**event, "type": "progress"})

    async def storyline_changed(self, event: dict[str, Any]) -> None:
        """An editor changed the storylines (story app): clients reload what they show."""
        await self.send_json({**event, "type": "storyline.changed"})

    async def cuts_changed(self, event: dict[str, Any]) -> None:
        """An editor added, removed or moved a cut, or undid that (cuts app)."""
        await self.send_json({**event, "type": "cuts.changed"})

    async def export_progress(self, event: dict[str, Any]) -> None:
        """An export job of this analysis moved on (exports app)."""
        await self.send_json({**event, "type": "export.progress"})

    @database_sync_to_async
    def _state(self, analysis_id: Any) -> dict[str, Any] | None:
        try:
            analysis = analysis_get_for_user(self.scope.get("user"), analysis_id)
        except Http404:
            return None
        return dict(progress_event(analysis))
