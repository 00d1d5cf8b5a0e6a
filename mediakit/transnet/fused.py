"""TransNetV2 rebuilt for inference: the same weights in a cheaper form.

The package's network spends 80% of its CPU time in 3D convolutions, in float32. This copy of
it (built from the loaded package model, sharing nothing it changes):

- runs its six convolutional cells in a low-precision dtype where the hardware has native
  kernels for it: bfloat16 on CPUs with AVX-512 BF16 or AMX (oneDNN), float16 on CUDA, and
  its widest dense layer (4864 inputs) too. The frame-similarity, colour-histogram and
  output layers stay in float32;
- folds each cell's batch norm (a per-channel scale and shift after the four branches are
  joined) into the branches' temporal convolutions;
- pools with strided adds, which work in bfloat16 (``AvgPool3d`` has no CPU kernel for it);
- runs each dilated temporal convolution as an undilated one over time folded by its
  dilation (oneDNN's dilated convolutions are 2-3x slower on the same work);
- hands the frame-similarity layer each block's per-frame means, taken in the channels-last
  layout the convolutions leave (the package's layer takes them across it, and copies every
  block's output to float32 first).

The probabilities stay within 0.01 of the float32 network's on real footage
(``tests/mediakit/test_transnet_fused.py`` checks the exact float32 rebuild and the tolerance);
its speed is in bench/RESULTS.md ("design measurements").
torch is imported inside :func:`build` and :func:`fast_dtype` (the web process never loads it);
the module classes are defined on first use.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, cast


def build(model: Any, dtype: Any = None) -> Any:
    """The inference rebuild of the package's ``model``; ``dtype`` for its convolutions
    (None: float32, the package's own arithmetic). Same inputs and outputs as the package's."""
    return _classes().FusedTransNetV2(model, dtype)


@functools.cache
def _classes() -> Any:
    """The rebuild's modules, defined once torch is loaded."""
    import torch
    from torch import nn
    from torch.nn import functional

    class FusedCell(nn.Module):
        """One DilatedDCNNV2 cell with its batch norm folded into the temporal convolutions."""

        def __init__(self, cell: Any) -> None:
            super().__init__()
            branches = [cell.Conv3D_1, cell.Conv3D_2, cell.Conv3D_4, cell.Conv3D_8]
            self.spatial = nn.ModuleList(copy.deepcopy(branch.layers[0]) for branch in branches)
            scale, shift = _batch_norm_terms(cell.bn, [b.layers[1].out_channels for b in branches])
            temporal = [branch.layers[1] for branch in branches]
            self.temporal = nn.ModuleList(
                _folded(conv, s, t) for conv, s, t in zip(temporal, scale, shift, strict=True)
            )
            self.relu = cell.activation is not None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pairs = zip(self.spatial, self.temporal, strict=True)
            x = torch.cat([_temporal(cast(nn.Conv3d, t), s(x)) for s, t in pairs], dim=1)
            return functional.relu(x) if self.relu else x

    def _temporal(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
        """``conv`` (3 frames apart by its dilation d, one pixel) without the dilation.

        The frames t, t + d, t + 2d... form d interleaved sequences; with time split into
        (T / d, d) and the d folded into the height (which the 3x1x1 kernel does not reach),
        they are one sequence of T / d frames convolved without dilation. The view costs no
        copy in either layout (time is next to height), and oneDNN's convolutions run 2-3x
        slower dilated than not on the same work.
        """
        d, (n, c, frames, h, w) = conv.dilation[0], x.shape
        plain: Callable[[torch.Tensor], torch.Tensor] = conv
        if d == 1 or frames % d or conv.padding[0] != d:
            return plain(x)
        folded = _reshaped(x, (n, c, frames // d, d * h, w))
        if folded is None:
            return plain(x)
        out = functional.conv3d(folded, conv.weight, conv.bias, padding=(1, 0, 0))
        back = _reshaped(out, (n, out.shape[1], frames, h, w))
        return out.reshape(n, out.shape[1], frames, h, w) if back is None else back

    def _reshaped(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor | None:
        """``x`` seen as ``shape`` without a copy, in its own layout; None if it cannot be.

        ``view`` gives a batch axis of length one whatever stride; a channels-last tensor
        needs its usual one, or the convolution takes it for another layout and copies it.
        """
        last = torch.channels_last_3d
        if x.is_contiguous(memory_format=last):
            _n, c, t, h, w = shape
            return x.as_strided(shape, (t * h * w * c, 1, h * w * c, w * c, c))
        if x.is_contiguous():
            return x.view(shape)
        return None

    def _batch_norm_terms(
        bn: nn.BatchNorm3d | None, sizes: list[int]
    ) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None]]:
        """The norm's per-channel (scale, shift), cut into the branches' channel ranges."""
        if bn is None:
            return [None] * len(sizes), [None] * len(sizes)
        assert bn.running_var is not None and bn.running_mean is not None  # a trained norm
        scale = bn.weight.data / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias.data - bn.running_mean * scale
        split = torch.split  # typed, where ``Tensor.split`` is not
        return list(split(scale, sizes)), list(split(shift, sizes))

    def _folded(
        conv: nn.Conv3d, scale: torch.Tensor | None, shift: torch.Tensor | None
    ) -> nn.Conv3d:
        """``conv`` followed by ``x * scale + shift`` per output channel, as one convolution."""
        out = copy.deepcopy(conv)
        bias = conv.bias.data.clone() if conv.bias is not None else torch.zeros(conv.out_channels)
        if scale is not None and shift is not None:
            out.weight.data *= scale.view(-1, 1, 1, 1, 1)
            bias = bias * scale + shift
        out.bias = nn.Parameter(bias, requires_grad=False)
        return out

    class FusedBlock(nn.Module):
        """One StackedDDCNNV2 block: its cells, the shortcut from the first, then pooling."""

        def __init__(self, block: Any) -> None:
            super().__init__()
            if block.stochastic_depth_drop_prob != 0.0 or not block.shortcut:
                raise ValueError("only TransNetV2's published configuration is supported")
            self.cells = nn.ModuleList(FusedCell(cell) for cell in block.DDCNN)
            if not isinstance(block.pool, nn.AvgPool3d):
                raise ValueError("only TransNetV2's published configuration is supported")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = shortcut = self.cells[0](x)
            for cell in self.cells[1:]:
                x = cell(x)
            x = functional.relu(x) + shortcut
            return _halve(x)

    def _halve(x: torch.Tensor) -> torch.Tensor:
        """2x2 average pooling over height and width (odd edges dropped, as AvgPool3d does).

        AvgPool3d has no bfloat16 kernel on the CPU; two strided adds do the same.
        """
        h, w = x.shape[3] // 2 * 2, x.shape[4] // 2 * 2
        x = x[:, :, :, :h, :w]
        rows = x[:, :, :, 0::2] + x[:, :, :, 1::2]
        return (rows[..., 0::2] + rows[..., 1::2]) * 0.25

    def _frame_means(x: torch.Tensor) -> torch.Tensor:
        """Each frame's mean per channel, shaped (N, C, T, 1, 1) for the frame-similarity layer
        (whose own mean over height and width leaves it as it is).

        The convolutions leave their outputs channels-last: reducing over height and width in
        that layout, as the package's layer does, costs a tenth of the whole network on the
        CPU; over the permuted view it reads memory in order.
        """
        means = x.permute(0, 2, 3, 4, 1).mean(dim=(2, 3), dtype=torch.float32)
        return means.transpose(1, 2)[..., None, None]

    class FusedTransNetV2(nn.Module):
        """TransNetV2's forward pass over the rebuilt cells (the package's inputs and outputs).

        ``dtype`` is the convolutions' dtype (None: float32, the package's own arithmetic).
        """

        def __init__(self, model: Any, dtype: torch.dtype | None = None) -> None:
            super().__init__()
            extras = (model.frame_sim_layer, model.color_hist_layer)
            if model.use_mean_pooling or None in extras:
                raise ValueError("only TransNetV2's published configuration is supported")
            self.dtype = dtype or torch.float32
            self.blocks = nn.ModuleList(FusedBlock(block) for block in model.SDDCNN).to(self.dtype)
            self.frame_sim_layer = model.frame_sim_layer
            self.color_hist_layer = model.color_hist_layer
            # The widest dense layer (4864 inputs) in the low precision too: float32 made it
            # a twentieth of the network's time.
            self.fc1 = copy.deepcopy(model.fc1).to(self.dtype)
            self.cls_layer1 = model.cls_layer1
            self.cls_layer2 = model.cls_layer2
            self.eval()

        def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            # Fresh standard strides whatever the caller's (a stride-0 batch axis makes oneDNN
            # copy the activations around every convolution).
            x = inputs.to(self.dtype, memory_format=torch.contiguous_format)
            x = x.permute(0, 4, 1, 2, 3).div_(255.0)
            means = []
            for block in self.blocks:
                x = block(x)
                means.append(_frame_means(x))
            x = x.float().permute(0, 2, 3, 4, 1).reshape(x.shape[0], x.shape[2], -1)
            x = torch.cat([self.frame_sim_layer(means), x], 2)
            x = torch.cat([self.color_hist_layer(inputs), x], 2)
            x = functional.relu(self.fc1(x.to(self.dtype))).float()
            return self.cls_layer1(x), {"many_hot": self.cls_layer2(x)}

    from types import SimpleNamespace

    return SimpleNamespace(FusedTransNetV2=FusedTransNetV2, halve=_halve, temporal=_temporal)


def fast_dtype(device: str) -> Any:
    """The low-precision dtype worth using on ``device``, or None for float32.

    CUDA: float16 (tensor cores). CPU: bfloat16 where oneDNN has native bfloat16 kernels
    (AVX-512 BF16 or AMX); emulated elsewhere, it would be slower than float32.
    """
    import torch

    if device.startswith("cuda"):
        return torch.float16
    if device == "cpu" and torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
        flags = _cpu_flags()
        if {"avx512_bf16"} <= flags or {"amx_bf16"} <= flags:
            return torch.bfloat16
    return None


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
