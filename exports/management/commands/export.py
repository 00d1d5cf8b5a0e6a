"""``manage.py export ANALYSIS_ID --export DIR``: a stored analysis's files into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.models import Analysis
from exports.cli import add_export_arguments, export_from_options


class Command(BaseCommand):
    help = "Write every storyline's files (MP4, edit lists, subtitles...) and manifest.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("analysis_id")
        add_export_arguments(parser, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            analysis = Analysis.objects.select_related("video").get(pk=options["analysis_id"])
        except (Analysis.DoesNotExist, ValidationError) as exc:
            raise CommandError(f"No analysis {options['analysis_id']}.") from exc
        export_from_options(analysis, options, self.stderr)
        self.stderr.write(f"Files and manifest.json written to {Path(options['export'])}")
