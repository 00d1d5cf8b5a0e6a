"""Speaker embeddings with Resemblyzer (256-d, from its bundled ``pretrained.pt``).

Each transcript segment's audio is normalised and stripped of long silences, cut into 1.6 s
windows (Resemblyzer's partial utterances), and all windows of all segments go through the
network in batches; a segment's embedding is the normalised mean of its windows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000  # Resemblyzer's rate, and the rate of the pipeline's audio cache
WINDOW_BATCH = 128

logger = logging.getLogger(__name__)
_encoders: dict[str, Any] = {}
_lock = threading.Lock()


def torch_cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def select_device(requested: str, cuda_available: bool) -> str:
    """``auto`` means CUDA when torch sees a GPU; CUDA asked of a machine without one is CPU."""
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    if requested == "cuda" and not cuda_available:
        logger.warning("speakers: CUDA requested but torch sees no GPU; using the CPU")
        return "cpu"
    return requested


def load_encoder(device: str) -> Any:
    """The ``resemblyzer.VoiceEncoder`` on ``device``, loaded once per process."""
    with _lock:
        if device not in _encoders:
            from resemblyzer import VoiceEncoder

            _encoders[device] = VoiceEncoder(device=device, verbose=False)
        return _encoders[device]


def _windows(samples: np.ndarray) -> np.ndarray | None:
    """Mel windows (n, 160, 40) of one segment, or None when no voice is left after trimming."""
    import numpy as np
    from resemblyzer import VoiceEncoder, audio, preprocess_wav

    wav = preprocess_wav(samples.astype(np.float32, copy=False), source_sr=SAMPLE_RATE)
    if wav.size < SAMPLE_RATE // 4:
        return None
    wav_slices, mel_slices = VoiceEncoder.compute_partial_slices(wav.size, 1.3, 0.75)
    needed = wav_slices[-1].stop
    if needed > wav.size:
        wav = np.pad(wav, (0, needed - wav.size))
    mel = audio.wav_to_mel_spectrogram(wav)
    return np.stack([mel[s] for s in mel_slices])


def embed_segments(
    excerpts: list[np.ndarray], device: str, progress: Callable[[float], None] | None = None
) -> list[np.ndarray | None]:
    """One unit-length embedding per excerpt (16 kHz mono float), None where no voice is."""
    import numpy as np
    import torch

    encoder = load_encoder(device)
    windows = []
    for done, excerpt in enumerate(excerpts):
        if progress is not None:
            progress(0.8 * done / len(excerpts))  # the preparation is most of the work
        windows.append(_windows(excerpt))
    owners = [i for i, w in enumerate(windows) if w is not None for _ in range(len(w))]
    if not owners:
        return [None] * len(excerpts)
    stacked = np.concatenate([w for w in windows if w is not None])
    outputs = []
    with torch.no_grad():
        for start in range(0, len(stacked), WINDOW_BATCH):
            batch = torch.from_numpy(stacked[start : start + WINDOW_BATCH]).to(encoder.device)
            outputs.append(encoder(batch).cpu().numpy())
    partial = np.concatenate(outputs)
    result: list[np.ndarray | None] = [None] * len(excerpts)
    owner_array = np.asarray(owners)
    for index in set(owners):
        mean = partial[owner_array == index].mean(axis=0)
        result[index] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return result
