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

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive: the request's own thread (ThreadSensitiveContext), as Django does.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> OneHopASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with :class:`OneHopASGIHandler`."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
