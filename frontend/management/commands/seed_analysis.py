"""``manage.py seed_analysis film.mp4 --user editor --scenes 1500 --storylines 5``.

Stores the video for the user and writes a made-up finished analysis of it (see
``frontend.seeding``); prints the analysis id. For demos, browser tests and benchmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontend.seeding import seed_analysis


class Command(BaseCommand):
    help = "Write a made-up finished analysis of a real video (no models run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("video", type=Path)
        parser.add_argument("--user", required=True)
        parser.add_argument("--scenes", type=int, default=12)
        parser.add_argument("--cuts", default="", help="comma-separated cut times in seconds")
        parser.add_argument("--storylines", type=int, default=3)
        parser.add_argument("--assignment", default="", help="storyline per scene, e.g. 0,1,0")
        parser.add_argument("--names", default="", help="storyline names, |-separated")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--unsure", default="", help="scene positions with an unsure storyline, e.g. 1,4"
        )
        parser.add_argument("--no-thumbnails", action="store_true")
        parser.add_argument(
            "--insights", action="store_true", help="also made-up people, speakers, tags, text"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        video: Path = options["video"]
        if not video.is_file():
            raise CommandError(f"No such file: {video}")
        try:
            owner = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}") from exc
        numbers = lambda text, kind: [kind(x) for x in text.split(",") if x.strip()]  # noqa: E731
        analysis = seed_analysis(
            owner=owner,
            video_path=video,
            cuts=numbers(options["cuts"], float) or None,
            scenes=options["scenes"],
            storylines=options["storylines"],
            assignment=numbers(options["assignment"], int) or None,
            names=[n for n in options["names"].split("|") if n] or None,
            seed=options["seed"],
            thumbnails=not options["no_thumbnails"],
            insights=options["insights"],
            unsure=numbers(options["unsure"], int),
        )
        self.stdout.write(str(analysis.pk))
