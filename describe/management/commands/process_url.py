"""``manage.py process_url URL [--subtitles URL]``: describe a video in the foreground.

The original service's ``client.py`` sent one request to try the service by hand; this runs the
same job in this process and prints each description as it is accepted.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from describe import services
from describe.models import DescribeClient, DescriptionResult
from describe.processing import job_execute
from describe.selectors import job_json


class Command(BaseCommand):
    help = "Describe the video at URL (optionally with subtitles) and print the descriptions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        parser.add_argument("--subtitles", help="URL of SRT or WebVTT subtitles")
        parser.add_argument("--language", help="language of the descriptions (en, ru)")
        parser.add_argument("--callback", help="also post results here (needs --client)")
        parser.add_argument("--client", help="name of the client whose secret signs callbacks")
        parser.add_argument(
            "--allow-private", action="store_true", help="allow local and private addresses"
        )
        parser.add_argument("--json", action="store_true", help="print the job as JSON at the end")

    def handle(self, *args: Any, **options: Any) -> None:
        client = None
        if options["client"]:
            client = DescribeClient.objects.filter(name=options["client"]).first()
            if client is None:
                raise CommandError(f"No client named {options['client']!r}.")
        elif options["callback"]:
            raise CommandError("--callback needs --client: its secret signs the callbacks.")
        data = {
            "url": options["url"],
            "subtitles": options["subtitles"],
            "callback_url": options["callback"],
            "language": options["language"],
        }
        try:
            job = services.job_create(
                client=client, data=data, enqueue=False, allow_private_urls=options["allow_private"]
            )
        except services.JobRequestError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.id}")
        finished = job_execute(
            job_id=job.id, on_result=self._print_result, on_progress=self._print_progress
        )
        if finished is None:
            raise CommandError("The job was not run.")
        self.stderr.write("")
        if options["json"]:
            self.stdout.write(json.dumps(job_json(finished), ensure_ascii=False, indent=2))
        self.stdout.write(f"{finished.status} {finished.error}".strip())
        if finished.error:
            raise CommandError(finished.error)

    def _print_result(self, result: DescriptionResult) -> None:
        self.stderr.write("")
        span = f"{result.timestamp:8.2f}-{result.end:.2f}"
        self.stdout.write(f"{span}  scene {result.scene + 1}: {result.text}")

    def _print_progress(self, fraction: float, message: str) -> None:
        self.stderr.write(f"\r{fraction * 100:5.1f}% {message[:60]:<60}", ending="")
