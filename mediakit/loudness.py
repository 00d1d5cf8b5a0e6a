"""Loudness of a mono track per ITU-R BS.1770-4 and EBU R128 (Tech 3341 / 3342).

The track is K-weighted once, and the mean square of the weighted signal kept on a 10 ms grid
(:class:`LoudnessMeter`); the loudness of any stretch (a scene, the whole video) is then read
off that grid without touching the samples again:

- integrated loudness (LUFS): 400 ms blocks every 100 ms (75 % overlap), an absolute gate at
  -70 LUFS and a relative gate 10 LU below the loudness of the blocks above the absolute gate;
- momentary maximum (LUFS): the loudest 400 ms block, ungated;
- loudness range (LU, EBU Tech 3342): the spread between the 10th and 95th percentiles of the
  3 s short-term loudness every 100 ms, after an absolute gate at -70 LUFS and a relative one
  20 LU below their power mean.

A stretch shorter than one block (or three seconds for the range), or with nothing above the
absolute gate (silence), measures ``None``, never ``-inf``: the values go into JSON.

K-weighting: BS.1770 defines the filter by its coefficients at 48 kHz (tables 1 and 2). Each
of the two biquads is mapped back to its analogue prototype (the inverse of the bilinear
transform at 48 kHz) and discretised again at the track's rate, pre-warped at the stage's own
corner frequency as the table places it. At 48 kHz that gives the table back; at 16 kHz the
response stays within 0.07 dB of the table's from 20 Hz to 7.5 kHz (0.05 dB at 997 Hz), where
reusing the 48 kHz numbers would move every corner frequency threefold.

The track is the pipeline's mono downmix, weighted as one channel (G = 1): a mono source reads
as a BS.1770 meter reads it; a stereo source reads as one channel of it, which for identical
channels is 3 LU below a stereo meter's reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# BS.1770-4, table 1 (the "pre-filter", a high shelf) and table 2 (the RLB high-pass), 48 kHz.
SHELF_48K = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (1.0, -1.69065929318241, 0.73248077421585),
)
HIGH_PASS_48K = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))
TABLE_RATE = 48_000

GRID_SECONDS = 0.01
BLOCK_GRID = 40  # 400 ms gating block
STEP_GRID = 10  # 100 ms between blocks: 75 % overlap
SHORT_TERM_GRID = 300  # 3 s short-term window of the loudness range
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated loudness
RANGE_RELATIVE_GATE = -20.0
RANGE_PERCENTILES = (10.0, 95.0)
CHUNK_SECONDS = 60  # filter this much at a time: a long track never doubles in memory


@dataclass(frozen=True)
class Loudness:
    integrated: float | None  # LUFS
    momentary_max: float | None  # LUFS
    range: float | None  # LU


SILENT = Loudness(None, None, None)


def _to_analogue(
    b: tuple[float, ...], a: tuple[float, ...], rate: float
) -> tuple[list[float], list[float]]:
    """Analogue (s-domain, highest power first) biquad whose bilinear transform is (b, a)."""
    c = 2.0 * rate  # z^-1 = (c - s) / (c + s)

    def poly(p: tuple[float, ...]) -> list[float]:
        return [p[0] - p[1] + p[2], 2 * c * (p[0] - p[2]), c * c * (p[0] + p[1] + p[2])]

    return poly(b), poly(a)


def _to_digital(num: list[float], den: list[float], rate: float) -> np.ndarray:
    """Bilinear transform of an analogue biquad at ``rate``, pre-warped so that its corner (pole
    frequency) stays where the 48 kHz table has it; one SOS row. At 48 kHz: the table itself."""
    import numpy as np
    from scipy import signal

    corner = math.sqrt(den[2] / den[0])  # rad/s, analogue: where the stage's poles sit
    table_corner = 2 * TABLE_RATE * math.atan(corner / (2 * TABLE_RATE))  # as the table has it
    # Scale s so that the transform at ``rate`` puts ``corner`` at ``table_corner``.
    k = 2 * rate * math.tan(table_corner / (2 * rate)) / corner
    num = [num[0], num[1] * k, num[2] * k * k]
    den = [den[0], den[1] * k, den[2] * k * k]
    b, a = signal.bilinear(num, den, fs=rate)
    sections: np.ndarray = np.concatenate([b, a]) / a[0]
    return sections


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter at ``rate`` Hz as second-order sections (shelf, then high-pass).

    Raises:
        ValueError: ``rate`` under 8 kHz, where the shelf's corner nears the Nyquist frequency.
    """
    import numpy as np

    if rate < 8000:
        raise ValueError(f"K-weighting needs a sample rate of 8 kHz or more, not {rate} Hz.")

    stages = [_to_analogue(*table, TABLE_RATE) for table in (SHELF_48K, HIGH_PASS_48K)]
    return np.vstack([_to_digital(num, den, rate) for num, den in stages])


def lufs(power: float) -> float:
    """Loudness of one channel's mean square (BS.1770 eq. 2 with G = 1); -inf for silence."""
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def _lufs_array(power: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(divide="ignore"):
        levels: np.ndarray = -0.691 + 10 * np.log10(power)
    return levels


class LoudnessMeter:
    """K-weighted mean squares of a mono track on a 10 ms grid; measures any stretch of it.

    Args:
        samples: mono samples, full scale = 1.
        rate: their sample rate in Hz (a 10 ms grid cell is ``round(rate / 100)`` samples).
    """

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self.cell = max(1, round(rate * GRID_SECONDS))
        self.grid = self._grid(samples, rate)

    def _grid(self, samples: np.ndarray, rate: int) -> np.ndarray:
        import numpy as np
        from scipy import signal

        sos = k_weighting(rate)
        state = np.zeros((sos.shape[0], 2))
        step = self.cell * round(CHUNK_SECONDS / GRID_SECONDS)
        cells: list[np.ndarray] = []
        for start in range(0, samples.size, step):
            weighted, state = signal.sosfilt(sos, samples[start : start + step], zi=state)
            whole = weighted[: weighted.size // self.cell * self.cell].reshape(-1, self.cell)
            cells.append(np.einsum("ij,ij->i", whole, whole) / self.cell)
        return np.concatenate(cells) if cells else np.zeros(0)

    @property
    def seconds(self) -> float:
        return self.grid.size * GRID_SECONDS

    def measure(self, start: float = 0.0, end: float = math.inf) -> Loudness:
        """Integrated loudness, momentary maximum and loudness range of ``[start, end)`` s."""
        first = max(0, round(start / GRID_SECONDS))
        last = min(self.grid.size, round(min(end, self.seconds) / GRID_SECONDS))
        blocks = _windows(self.grid[first:last], BLOCK_GRID)
        if blocks.size == 0 or lufs(float(blocks.max())) <= ABSOLUTE_GATE:
            return SILENT
        return Loudness(
            integrated=_rounded(gated_loudness(blocks)),
            momentary_max=_rounded(lufs(float(blocks.max()))),
            range=_rounded(loudness_range(_windows(self.grid[first:last], SHORT_TERM_GRID))),
        )


def _windows(grid: np.ndarray, width: int) -> np.ndarray:
    """Mean square of every ``width``-cell window starting every 100 ms."""
    import numpy as np

    if grid.size < width:
        return np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(grid, width)[::STEP_GRID]
    means: np.ndarray = windows.mean(axis=1)
    return means


def gated_loudness(blocks: np.ndarray) -> float | None:
    """BS.1770-4 integrated loudness of the blocks' mean squares; None if all are gated."""
    above = blocks[_lufs_array(blocks) > ABSOLUTE_GATE]
    if above.size == 0:
        return None
    threshold = lufs(float(above.mean())) + RELATIVE_GATE
    kept = above[_lufs_array(above) > threshold]
    return lufs(float(kept.mean()))


def loudness_range(short_term: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range of 3 s mean squares; None without one above the gate."""
    import numpy as np

    above = short_term[_lufs_array(short_term) > ABSOLUTE_GATE]
    if above.size == 0:
        return None
    threshold = lufs(float(above.mean())) + RANGE_RELATIVE_GATE
    levels = _lufs_array(above)
    low, high = np.percentile(levels[levels > threshold], RANGE_PERCENTILES)
    return float(high - low)


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 2)
