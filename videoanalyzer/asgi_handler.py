"""Django's ASGI handler with the whole middleware chain and the view on one thread hop.

Django runs the middleware chain on the event loop under ASGI. Its built-in middleware
(sessions, CSRF, auth, messages, security, ...) is sync code behind ``MiddlewareMixin``, so each
``process_request`` and ``process_response`` is its own hop into a worker thread and back:
about a dozen hops per request, which measured 3-4 ms of a 5 ms 404 under Daphne. Our views
are sync too. This handler builds the chain in sync mode and enters it with one
``sync_to_async`` call; reading the body, sending the response (streaming included) and the
request signals stay on the event loop as in Django's own handler.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

IDLE_THREADS = 16  # request threads kept for the next requests; more are made when needed


class RequestThreads:
    """Single-thread executors lent to requests, each request's sync code on one thread.

    Django enters a ``ThreadSensitiveContext`` per request, which makes a thread for the
    request and joins it at the end: 8% of a status poll's time (py-spy). Lending a kept
    thread instead gives the same guarantee (the view, the middleware and
    ``request_finished``, which closes or returns the request's database connection, run on
    the one thread, one request at a time) without the thread's start and join.
    """

    def __init__(self, keep: int = IDLE_THREADS) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()
        self._keep = keep
        self._made = itertools.count()

    def lend(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{next(self._made)}")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)


class OneHopASGIHandler(ASGIHandler):
    threads = RequestThreads()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Mapping[str, Any]]],
        send: Callable[[Mapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive: the request's own thread (ThreadSensitiveContext), as Django does.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def skip_twisted_form_parsing() -> None:
    """Stop Daphne's Twisted layer from parsing form bodies that only Django reads.

    Twisted's ``Request.requestReceived`` parses every multipart POST body with the standard
    library's email parser, in the reactor thread, before Daphne hands the raw body to the
    ASGI application, which never looks at Twisted's result. For a 0.75 MB upload that stalled
    every other request of the process for tens of milliseconds (a quarter of the process's
    time in an upload burst, by py-spy). Django parses the body itself, once, in the view's
    thread; a malformed body is its 400. A no-op when Daphne is not the server.
    """
    try:
        from daphne import http_protocol
    except ImportError:
        return
    if getattr(http_protocol.WebRequest, "raw_body_only", False):
        return

    class RawBodyRequest(http_protocol.WebRequest):  # type: ignore[misc, name-defined]
        raw_body_only = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._parsePOSTFormSubmission = False  # Twisted's own switch for this

    # Daphne's protocol factory builds its requests from this module-level name.
    http_protocol.WebRequest = RawBodyRequest


def get_asgi_application() -> OneHopASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with :class:`OneHopASGIHandler`."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
