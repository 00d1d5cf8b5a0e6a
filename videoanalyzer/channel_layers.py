"""An in-memory channel layer that worker threads can publish to safely.

In the embedded mode the Dramatiq worker runs in threads of the web process and publishes
progress with ``async_to_sync(group_send)``, which runs on a private event loop. Channels'
in-memory layer keeps asyncio queues owned by the server's loop; waking them from another loop
is not thread-safe and can leave a consumer asleep. This layer hands such calls over to the
server's loop instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    _home_loop: asyncio.AbstractEventLoop | None = None

    def _remember_loop(self) -> None:
        if self._home_loop is None:
            self._home_loop = asyncio.get_running_loop()

    def _foreign(self) -> bool:
        home = self._home_loop
        return home is not None and home.is_running() and home is not asyncio.get_running_loop()

    async def _on_home(self, coro: Any) -> Any:
        assert self._home_loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._home_loop))

    async def receive(self, channel: str) -> Any:
        self._remember_loop()
        return await super().receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        self._remember_loop()
        await super().group_add(group, channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if self._foreign():
            await self._on_home(super().send(channel, message))
        else:
            await super().send(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if self._foreign():
            await self._on_home(super().group_send(group, message))
        else:
            await super().group_send(group, message)
