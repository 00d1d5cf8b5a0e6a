"""Exit 0 when a worker can reach its database and broker (container health check)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from videoanalyzer.health import health_report


class Command(BaseCommand):
    help = "Check that the database and the broker answer."

    def handle(self, *args: Any, **options: Any) -> None:
        report = health_report()
        if report["status"] != "ok":
            raise CommandError(f"unhealthy: {report}")
        self.stdout.write("ok")
