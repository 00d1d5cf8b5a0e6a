"""The exports' command-line options, shared by ``manage.py analyze`` and ``manage.py export``,
and the terminal's progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser, OutputWrapper

from analysis.models import Analysis
from exports.errors import ExportError
from exports.services.directory import DEFAULT_FORMATS, export_to_directory, parse_formats


def add_export_arguments(parser: CommandParser, *, required: bool) -> None:
    parser.add_argument(
        "--export",
        type=Path,
        required=required,
        metavar="DIR",
        help="write every storyline's files and manifest.json into DIR",
    )
    parser.add_argument(
        "--formats",
        default=None,
        help=f"comma-separated formats (default {','.join(DEFAULT_FORMATS)}; also zip, json, csv)",
    )
    parser.add_argument(
        "--mode",
        choices=("smart", "exact", "copy"),
        default=None,
        help="how videos are cut: smart (default, frame-accurate), exact (re-encode "
        "everything) or copy (keyframes only: includes neighbouring frames)",
    )


def check_export_options(options: dict[str, Any]) -> None:
    """Refuse bad ``--formats`` before a long analysis, not after it."""
    if options.get("export"):
        try:
            parse_formats(options.get("formats"))
        except ExportError as exc:
            raise CommandError(str(exc)) from exc


def export_from_options(analysis: Analysis, options: dict[str, Any], err: OutputWrapper) -> None:
    """Run ``--export`` with a progress bar on the terminal; a failure is one clear line."""
    from tqdm import tqdm

    with tqdm(total=100, unit="%", file=sys.stderr, bar_format="{l_bar}{bar}| {desc}") as bar:

        def show(number: int, total: int, what: str, fraction: float) -> None:
            bar.n = round(100 * (number + fraction) / max(total, 1))
            bar.set_description_str(f"{number + 1}/{total} {what}"[:60])
            bar.refresh()

        try:
            formats = parse_formats(options.get("formats"))
            export_to_directory(
                analysis=analysis,
                directory=options["export"],
                formats=formats,
                mode=options.get("mode"),
                listener=show,
            )
        except ExportError as exc:
            raise CommandError(f"Export failed: {exc}") from exc
        bar.n = 100
        bar.refresh()
