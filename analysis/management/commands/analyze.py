"""``manage.py analyze PATH``: the whole pipeline in the foreground, for scripts and the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import services
from analysis.models import Analysis
from analysis.pipeline.runner import analysis_execute
from analysis.progress import eta_seconds, time_left_text
from analysis.selectors import analysis_status_json
from exports.cli import add_export_arguments, check_export_options, export_from_options
from mediakit.probe import MediaError
from videoanalyzer.database import database_prepare
from videoanalyzer.errors import DomainError

CLI_USER = "cli"


class Command(BaseCommand):
    help = "Analyse a video file in the foreground and print or save the result JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--storylines", default=None, help="number of storylines, or 'auto'")
        parser.add_argument("--json", dest="json_out", type=Path, help="write the result JSON here")
        parser.add_argument("--user", default=CLI_USER, help="owner of the video in the library")
        parser.add_argument("--language", default=None, help="force the transcript language")
        add_export_arguments(parser, required=False)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        check_export_options(options)
        try:
            database_prepare()  # a fresh checkout has an embedded database with no tables yet
            analysis = self._start(path, options)
        except (MediaError, DomainError) as exc:
            raise CommandError(f"{path.name}: {exc}") from exc  # one line, no traceback
        finished = self._run(analysis)
        body = analysis_status_json(finished)
        if finished.status != "completed":
            raise CommandError(f"Analysis {finished.status}: {finished.error or finished.message}")
        self._write(body, options["json_out"])
        if options["export"]:
            export_from_options(finished, options, self.stderr)
            self.stderr.write(f"Files and manifest.json written to {options['export']}")

    def _start(self, path: Path, options: dict[str, Any]) -> Analysis:
        owner, _ = get_user_model().objects.get_or_create(username=options["user"])
        params = {
            "num_storylines": options["storylines"] or "auto",
            "language": options["language"],
        }
        video = services.video_create_from_path(owner=owner, path=path)
        return services.analysis_start(video=video, parameters=params, enqueue=False)

    def _run(self, analysis: Analysis) -> Analysis:
        from tqdm import tqdm

        # The wrapped stream itself: tqdm redraws its line with "\r", which the wrapper would
        # end with a newline.
        out = getattr(self.stderr, "_out", sys.stderr)
        with tqdm(total=100, unit="%", file=out, bar_format="{l_bar}{bar}| {desc}") as bar:

            def show(current: Analysis) -> None:
                bar.n = round(current.progress * 100)
                left = time_left_text(eta_seconds(current), current.work_done)
                bar.set_description_str(" · ".join(filter(None, [current.message[:60], left])))
                bar.refresh()

            result = analysis_execute(analysis_id=analysis.id, listener=show)
            bar.n = 100 if result and result.status == "completed" else bar.n
            bar.refresh()
        if result is None:
            raise CommandError("The analysis could not be started.")
        return result

    def _write(self, body: dict[str, Any], out: Path | None) -> None:
        text = json.dumps(body, ensure_ascii=False, indent=2)
        if out:
            out.write_text(text, encoding="utf-8")
            self.stderr.write(f"Result written to {out}")
        else:
            self.stdout.write(text)
