"""The progress WebSocket answers messages it cannot use with an error and stays open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client

from tests.fixtures_robustness import make_owned

pytestmark = pytest.mark.django_db(transaction=True)


def test_bad_messages_get_an_error_answer_and_the_socket_stays_open(user: Any) -> None:
    from channels.testing import WebsocketCommunicator

    from videoanalyzer.asgi import application

    owned = make_owned(user)
    client = Client()
    client.force_login(user)
    headers = [
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
    ]
    path = f"/ws/analyses/{owned.ids['analysis_id']}/"

    async def scenario() -> None:
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await socket.connect()
        assert connected
        first = await socket.receive_json_from(timeout=10)
        assert first["type"] == "progress" and first["status"] == "completed"
        for message, fragment in (
            ({"bytes_data": b"\x00\xff\x10"}, "not binary"),
            ({"text_data": "not json {"}, "must be JSON"),
            ({"text_data": "[1, 2]"}, "Unknown message"),
            ({"text_data": '{"type": "delete everything"}'}, "Unknown message"),
        ):
            await socket.send_to(**message)
            answer = await socket.receive_json_from(timeout=10)
            assert answer["type"] == "error" and fragment in answer["detail"], answer
        # Still open and still useful.
        await socket.send_json_to({"type": "refresh"})
        state = await socket.receive_json_from(timeout=10)
        assert state["type"] == "progress" and state["status"] == "completed"
        await socket.disconnect()

    asyncio.run(scenario())
