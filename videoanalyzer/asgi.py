"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by Daphne)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")

from videoanalyzer.asgi_handler import get_asgi_application, skip_twisted_form_parsing

django_asgi_app = get_asgi_application()
skip_twisted_form_parsing()

from videoanalyzer.daphne_gate import install_daphne_gate  # noqa: E402

install_daphne_gate()

from videoanalyzer.embedded import start_configured  # noqa: E402

start_configured()  # a server process needs its database: start it at boot, not per request

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from frontend.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if settings.EMBEDDED_WORKER:
    from analysis.worker import start_embedded_worker

    start_embedded_worker()
