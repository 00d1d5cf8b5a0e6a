"""``manage.py prefetch_models``: make every configured model available before the first job.

Joins the offline ``base`` pack into ``MODELS_DIR``, or downloads from the Hugging Face hub
when the model is neither local nor packed (needs network), and prints where each model lives.
Also fetches the vision models that ``auto`` picks (BLIP, CLIP ViT-B/32; ``vision.choice``)
into the Hugging Face cache with a progress bar; those are optional: one that cannot be had
is reported and the offline describer and MobileNetV2 stay in use.
Run it at deploy time so the first analysis does not wait for a download.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.conf import setting
from analysis.pipeline.models import resolve_whisper_model


class Command(BaseCommand):
    help = "Prepare the Whisper model(s) and the VAD model; print where each one lives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-vision", action="store_true", help="Skip the captioning and CLIP models."
        )
        parser.add_argument(
            "--whisper",
            action="append",
            default=[],
            help="Also prepare this Whisper size or path (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sizes = list(dict.fromkeys([setting("WHISPER_MODEL_SIZE"), *options["whisper"]]))
        for size in sizes:
            self.stdout.write(f"whisper {size}: {self._whisper(size)}")
        self.stdout.write(f"silero vad: {self._vad()}")
        if not options["no_vision"]:
            self._vision()

    def _vision(self) -> None:
        from vision.choice import downloadable, prefetch_candidates, where

        for name in prefetch_candidates():
            found = where(name)
            if found is None and downloadable():
                found = self._download(name)
            self.stdout.write(f"vision {name}: {found or 'not available (offline)'}")

    def _download(self, name: str) -> str | None:
        from huggingface_hub import snapshot_download

        try:  # shows a progress bar per file
            return str(snapshot_download(name))
        except Exception as exc:  # network errors come in many types from huggingface_hub
            self.stderr.write(f"vision {name}: cannot be downloaded: {str(exc)[:200]}")
            return None

    def _whisper(self, size: str) -> str:
        location = resolve_whisper_model(size)
        if Path(location).is_dir():
            return location
        from faster_whisper.utils import download_model

        try:  # not local and not packed: only the hub is left
            return str(download_model(location))
        except Exception as exc:  # network errors come in many types from huggingface_hub
            raise CommandError(f"Whisper model '{size}' is not available offline: {exc}") from exc

    def _vad(self) -> str:
        from faster_whisper.utils import get_assets_path

        return str(Path(get_assets_path()) / "silero_vad_v6.onnx")
