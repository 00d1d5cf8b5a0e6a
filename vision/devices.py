"""Which torch device and precision a vision model runs with.

``auto`` picks CUDA when torch sees a GPU, else the CPU. Asking for CUDA on a machine without
one is a clear error rather than a silent slow run. The analysis parameter ``device`` (``cpu``
or ``cuda``, which also routes the job to the GPU queue) wins over ``VISION_DEVICE``.
"""

from __future__ import annotations

from typing import Any

from analysis.pipeline.base import StageError
from vision.conf import setting


def cuda_device_count() -> int:
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def select_device(requested: str | None = None, *, gpus: int | None = None) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` for ``requested`` (``auto`` or empty: the best there is).

    Args:
        requested: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; None reads ``VISION_DEVICE``.
        gpus: how many GPUs there are (asked from torch when None).
    """
    wanted = (requested or setting("VISION_DEVICE") or "auto").strip().lower()
    count = cuda_device_count() if gpus is None and wanted != "cpu" else (gpus or 0)
    if wanted == "auto":
        return "cuda" if count > 0 else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "cuda" or wanted.startswith("cuda:"):
        number = int(wanted.partition(":")[2] or 0)
        if number >= count:
            raise StageError(f"Device '{wanted}' was asked for, but this worker has no such GPU.")
        return wanted
    raise StageError(f"Unknown device '{wanted}'; use auto, cpu, cuda or cuda:N.")


def stage_device(parameters: dict[str, Any], *, gpus: int | None = None) -> str:
    """The device for a stage: the analysis's ``device`` parameter, else ``VISION_DEVICE``."""
    return select_device(parameters.get("device") or None, gpus=gpus)


def select_dtype(precision: str, device: str) -> str:
    """The torch dtype name for ``precision``: ``auto`` is float16 on CUDA and float32 on CPU.

    ``8bit`` keeps float16 for the parts bitsandbytes does not quantise. Half precision on a
    CPU is refused: most CPU kernels lack it, so it would be slower, not faster.
    """
    precision = (precision or "auto").lower()
    on_gpu = device.startswith("cuda")
    if precision == "auto":
        return "float16" if on_gpu else "float32"
    if precision in {"fp32", "float32"}:
        return "float32"
    if precision in {"fp16", "float16", "8bit", "int8"}:
        if not on_gpu:
            raise StageError(f"Precision '{precision}' needs a CUDA device; use fp32 on the CPU.")
        return "float16"
    raise StageError(f"Unknown precision '{precision}'; use auto, fp32, fp16 or 8bit.")
