"""TransNetV2 inference on the 48x27 frame copies of the decode pass.

The network (Souček & Lokoč, 2020) reads 100-frame windows and gives two probabilities per
frame: "single" (this is the last frame of a shot) and "many-hot" (this frame is inside a
transition, gradual ones included). A cut is the frame after the most likely "single" frame of
every stretch above the threshold. The network is loaded by ``weights.load_transnet``; torch
is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mediakit.transnet.weights import TransNetConfig, load_transnet

if TYPE_CHECKING:
    import numpy as np

WINDOW = 100  # the network's training length
STEP = 50  # full-video mode keeps the middle 50 frames of each window
MIN_WINDOW = 24  # shorter windows give the temporal convolutions too little context
LENGTH_STEP = 8


def _run(frames: np.ndarray, network: TransNetConfig) -> tuple[np.ndarray, np.ndarray]:
    """(single, many-hot) probabilities for ``frames`` (T, 27, 48, 3) uint8, one window."""
    import numpy as np
    import torch

    model = load_transnet(network)
    device = network.device
    # A copy: torch wants a writable array and memory-mapped frames are read-only. The batch
    # axis comes from unsqueeze: numpy's ``[None]`` gives it stride 0, which sends every
    # convolution of the network through a layout copy (2x slower on the CPU).
    batch = torch.from_numpy(np.array(frames, dtype=np.uint8)).unsqueeze(0).to(device)
    with torch.inference_mode():
        single, extra = model(batch)
        single = torch.sigmoid(single)[0, :, 0].float().cpu().numpy()
        many = torch.sigmoid(extra["many_hot"])[0, :, 0].float().cpu().numpy()
    return single, many


def warm_up(network: TransNetConfig) -> None:
    """Load the network and run it once, as a worker has after its first video.

    The first call in a process loads the weights and lets oneDNN build its kernels (about a
    second on the CPU); benchmarks call this so they time the work, not the loading.
    """
    import numpy as np

    _run(np.zeros((MIN_WINDOW, 27, 48, 3), dtype=np.uint8), network)


@dataclass
class Window:
    """Frames [lo, hi) given to the network at once, for the unsure ``regions`` inside."""

    lo: int
    hi: int
    regions: list[tuple[int, int]] = field(default_factory=list)


def plan_windows(
    regions: list[tuple[int, int]], count: int, pad: int, until: int | None = None
) -> list[Window]:
    """One window per group of regions whose contexts touch or nearly touch.

    Each region gets ``pad`` frames of context on both sides; regions closer than
    ``LENGTH_STEP`` frames share a window (the frames between cost less than a second window
    rounded up on its own). Window lengths are rounded up to a multiple of ``LENGTH_STEP``
    (at least ``MIN_WINDOW``): oneDNN compiles its convolutions once per input length.

    With ``until`` (while the video is still being read: no region found later starts before
    it), only the windows that no later region could join are planned: the same windows,
    frame for frame, as planning once every region is known.
    """
    windows: list[Window] = []
    for start, end in sorted(regions):
        lo, hi = max(0, start - pad), min(count, end + pad)
        if windows and lo <= windows[-1].hi + LENGTH_STEP:
            windows[-1].hi = max(windows[-1].hi, hi)
            windows[-1].regions.append((start, end))
        else:
            windows.append(Window(lo, hi, [(start, end)]))
    if until is not None:
        windows = [w for w in windows if max(0, until - pad) > w.hi + LENGTH_STEP]
    for window in windows:
        wanted = min(
            count, max(MIN_WINDOW, -(-(window.hi - window.lo) // LENGTH_STEP) * LENGTH_STEP)
        )
        while window.hi - window.lo < wanted:
            window.lo = max(0, window.lo - 1)
            window.hi = min(count, window.hi + (window.hi - window.lo < wanted))
    return windows


def predict_window(
    window: Window, frames: np.ndarray, network: TransNetConfig
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(start, single, many-hot) for each region of ``window``; ``frames`` are its frames."""
    single, many = _run(frames, network)
    out = []
    for start, end in window.regions:
        a, b = start - window.lo, end - window.lo
        out.append((start, single[a:b], many[a:b]))
    return out


def predict_all(
    tiny: np.ndarray, network: TransNetConfig, done: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for every frame: 100-frame windows every 50 frames, edges repeated.

    ``done(frames)`` is called after each window with the frames decided so far."""
    import numpy as np

    count = len(tiny)
    if count == 0:
        return np.zeros(0), np.zeros(0)
    single = np.zeros(count, dtype=np.float32)
    many = np.zeros(count, dtype=np.float32)
    quarter = (WINDOW - STEP) // 2
    for first in range(0, count, STEP):  # frames [first, first + STEP) are kept
        index = np.clip(np.arange(first - quarter, first - quarter + WINDOW), 0, count - 1)
        s, m = _run(tiny[index], network)
        keep = min(STEP, count - first)
        single[first : first + keep] = s[quarter : quarter + keep]
        many[first : first + keep] = m[quarter : quarter + keep]
        if done is not None:
            done(first + keep)
    return single, many


def transitions(single: np.ndarray, many: np.ndarray, offset: int, threshold: float) -> list[int]:
    """Cut frames: after the peak "single" frame of each stretch where either is high."""
    import numpy as np

    above = np.maximum(single, many) > threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    cuts = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        peak = int(start + np.argmax(single[start:end]))
        cuts.append(offset + peak + 1)  # the network marks the last frame of the old shot
    return cuts
