"""``manage.py serve``: the site on one socket, served by several Daphne processes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from videoanalyzer.embedded import start_configured
from videoanalyzer.serving import ServeError, Supervisor, bind, check_processes


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets with several Daphne processes sharing one socket."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.WEB_PROCESSES,
            help="Daphne processes (default WEB_PROCESSES: one per core, at most 4; one "
            "without Redis)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = not settings.REDIS_URL
        try:
            processes = check_processes(options["processes"], embedded)
            sock = bind(options["host"], options["port"])
        except ServeError as exc:
            raise CommandError(str(exc)) from exc
        # The embedded database is started here, not on the first request of each process.
        start_configured()
        self.stdout.write(
            f"Serving http://{options['host']}:{options['port']}/ with {processes} "
            f"process{'es' if processes > 1 else ''}"
        )
        Supervisor(sock, processes).run()
