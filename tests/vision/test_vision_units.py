"""The vision building blocks on real inputs: MobileNetV2, OCR, motion, captioner, describer."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.pipeline.base import StageError
from analysis.pipeline.stages.common import SceneSpan
from tests.fixtures_vision import BANNER_LINES, sample_image
from vision import captioning, describer, devices, hub, mobilenet, motion, ocr
from vision.imagenet import class_names

CATS = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian Mau


def top5(probabilities: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-probabilities)[:5]]


def test_our_mobilenet_has_torchvisions_layer_names() -> None:
    import torch

    state = torch.load(mobilenet.weights_path(), map_location="cpu", weights_only=True)
    assert set(mobilenet.build_mobilenet_v2().state_dict()) == set(state)


def test_mobilenet_recognises_known_images() -> None:
    images = [sample_image(name) for name in ("chelsea", "coffee", "rocket")]
    out = mobilenet.run_mobilenet(images, batch_size=2)
    cat, coffee, rocket = (top5(p) for p in out.probabilities)
    assert CATS & set(cat), [class_names()[i] for i in cat]
    assert 967 in coffee[:2]  # espresso
    assert 812 in rocket  # space shuttle
    assert out.embeddings.shape == (3, 1280)
    assert np.allclose(np.linalg.norm(out.embeddings, axis=1), 1.0, atol=1e-4)
    # Two different pictures are far apart, the same picture is the same point.
    again = mobilenet.run_mobilenet([images[0]]).embeddings[0]
    assert float(again @ out.embeddings[0]) > 0.999
    assert float(out.embeddings[0] @ out.embeddings[1]) < 0.7


def test_imagenet_names_come_from_the_package() -> None:
    names = class_names()
    assert len(names) == 1000 and names[967] == "espresso" and names[671] == "mountain bike"


def test_device_selection_without_and_with_gpus() -> None:
    assert devices.select_device("auto", gpus=0) == "cpu"
    assert devices.select_device("auto", gpus=1) == "cuda"
    assert devices.select_device("cpu", gpus=2) == "cpu"
    assert devices.select_device("cuda:1", gpus=2) == "cuda:1"
    with pytest.raises(StageError, match="no such GPU"):
        devices.select_device("cuda", gpus=0)
    with pytest.raises(StageError, match="Unknown device"):
        devices.select_device("tpu", gpus=0)
    assert devices.select_device(None) == "cpu"  # this machine has no GPU
    assert devices.stage_device({"device": "cpu"}) == "cpu"


def test_precision_selection() -> None:
    assert devices.select_dtype("auto", "cpu") == "float32"
    assert devices.select_dtype("auto", "cuda") == "float16"
    assert devices.select_dtype("8bit", "cuda:0") == "float16"
    with pytest.raises(StageError, match="needs a CUDA device"):
        devices.select_dtype("fp16", "cpu")


def test_model_resolution_order(settings: Any, tmp_path: Path, monkeypatch: Any) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    local = tmp_path / "my-blip"
    local.mkdir()
    assert hub.resolve_model(str(local)) == hub.ResolvedModel(str(local), True, "directory")
    prepared = settings.MODELS_DIR / "Salesforce--blip-image-captioning-base"
    prepared.mkdir(parents=True)
    (prepared / "config.json").write_text("{}")
    resolved = hub.resolve_model("Salesforce/blip-image-captioning-base")
    assert resolved.source == str(prepared) and resolved.kwargs() == {"local_files_only": True}
    assert resolved.kind == "models dir"
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    remote = hub.resolve_model("Salesforce/blip2-opt-2.7b")
    assert remote == hub.ResolvedModel("Salesforce/blip2-opt-2.7b", False)
    assert remote.kwargs() == {"local_files_only": False}
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert remote.kwargs() == {"local_files_only": True}


def test_caption_model_names(settings: Any) -> None:
    settings.CAPTION_MODEL = ""
    assert captioning.caption_model_name() is None
    assert captioning.caption_model_name("blip2") == "Salesforce/blip2-opt-2.7b"
    assert captioning.caption_model_name("describer") is None
    assert captioning.model_type("Salesforce/blip2-opt-2.7b") == "blip-2"


def test_tiny_blip_captions_every_keyframe_in_batches(tiny_blip: Path) -> None:
    import torch
    from PIL import Image
    from transformers import AutoProcessor, BlipForConditionalGeneration

    images = [sample_image(name) for name in ("chelsea", "coffee", "astronaut")]
    config = captioning.CaptionerConfig(name=str(tiny_blip), beams=3, max_tokens=8, batch_size=2)
    captions = captioning.generate_captions(images, config)
    assert len(captions) == 3 and all(isinstance(c, str) and c.strip() for c in captions)
    assert captioning.generate_captions(images, config) == captions  # beam search: no sampling
    # The same model called directly, one image at a time, says the same.
    model = BlipForConditionalGeneration.from_pretrained(tiny_blip).eval()
    processor = AutoProcessor.from_pretrained(tiny_blip)
    for image, caption in zip(images, captions, strict=True):
        inputs = processor(images=[Image.fromarray(image)], return_tensors="pt")
        with torch.inference_mode():
            ids = model.generate(**inputs, num_beams=3, max_new_tokens=8, do_sample=False)
        direct = processor.batch_decode(ids, skip_special_tokens=True)[0]
        assert caption == captioning.tidy(direct)


def test_tiny_marian_translates_through_the_same_path(tiny_marian: Path) -> None:
    texts = ["A cat on the sofa", "A man riding a bike"]
    out = captioning.translate(texts, str(tiny_marian))
    assert len(out) == 2 and all(t.strip() for t in out)
    assert captioning.translate(texts, str(tiny_marian)) == out


def test_a_missing_model_is_reported_as_unavailable(monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = captioning.CaptionerConfig(name="Salesforce/blip-image-captioning-base")
    with pytest.raises(captioning.ModelUnavailable):
        captioning.load_captioner(config)


def test_ocr_reads_a_russian_and_english_banner(banner_png: Path, tmp_path: Path) -> None:
    import cv2

    image = cv2.imread(str(banner_png))
    lines = ocr.read_text(image, "rus+eng", tmp_path)
    texts = [line.text for line in lines]
    assert texts == list(BANNER_LINES), texts
    for line in lines:  # boxes are in the banner's own pixels, on its lower white band
        x, y, w, _h = line.box
        assert x >= 0 and x + w <= image.shape[1] and image.shape[0] * 0.6 < y < image.shape[0]


def test_a_photo_without_text_yields_no_text(tmp_path: Path) -> None:
    import cv2

    image = cv2.cvtColor(sample_image("coffee"), cv2.COLOR_RGB2BGR)
    assert ocr.read_text(image, "rus+eng", tmp_path) == []


def test_repeated_text_in_consecutive_scenes_is_flagged() -> None:
    line = ocr.Line("Breaking news: flash drive found", 95.0, (0, 0, 10, 10))
    other = ocr.Line("Погода", 90.0, (0, 0, 10, 10))
    texts = [
        ocr.SceneText(0, [line]),
        ocr.SceneText(1, [line]),
        ocr.SceneText(2, []),
        ocr.SceneText(3, [other]),
        ocr.SceneText(4, [line]),
    ]
    marked = {t.scene_index: t for t in ocr.mark_repeats(texts)}
    assert [marked[i].continues for i in range(5)] == [False, True, False, False, False]
    assert marked[1].first_scene_index == 0 and marked[4].first_scene_index == 4


def _clip(path: Path, source: str) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "veryfast",
            str(path),
        ],
        check=True,
    )
    return path


def _pass_motion(clip: Path, workdir: Path) -> Path:
    """Leave ``motion.npy`` in ``workdir`` as the shots stage's decode pass does."""
    from mediakit.decode import run_frame_pass
    from mediakit.meters import MotionMeter

    meter = MotionMeter()
    run_frame_pass(clip, [meter])
    meter.save(workdir)
    return workdir


def test_motion_tells_a_still_shot_from_moving_pictures(tmp_path: Path) -> None:
    still = _clip(tmp_path / "still.mp4", "color=c=gray:size=320x240:rate=25")
    moving = _clip(tmp_path / "moving.mp4", "testsrc2=size=320x240:rate=25")
    scenes = [SceneSpan(1, 0, 0.0, 1.0, 0, 25), SceneSpan(2, 1, 1.0, 2.0, 25, 50)]
    calm = motion.shared_motion(_pass_motion(still, tmp_path / "still"), scenes, 25.0)
    busy = motion.shared_motion(_pass_motion(moving, tmp_path / "moving"), scenes, 25.0)
    assert calm is not None and busy is not None and set(calm) == set(busy) == {0, 1}
    assert motion.shared_motion(tmp_path / "nothing", scenes, 25.0) is None
    assert max(calm.values()) < 0.005 and min(busy.values()) > 0.01
    assert motion.action_label(calm[0]) == "static"
    assert motion.action_label(0.2) == "fast motion"


def test_describer_in_english_and_russian() -> None:
    facts = describer.SceneFacts(
        objects=[("tabby cat", 0.6), ("Egyptian Mau", 0.2), ("sofa", 0.01)],
        faces=2,
        people=["Anna"],
        text="Новости дня",
        place="indoor",
        action="calm",
    )
    english = describer.describe(facts, "en")
    assert english == (
        "A scene indoors with little movement: tabby cat, Egyptian Mau. "
        "2 people are visible (Anna). On-screen text: “Новости дня”."
    )
    russian = describer.describe(facts, "ru")
    assert russian.startswith("Сцена в помещении (спокойное движение): tabby cat, Egyptian Mau.")
    assert "В кадре 2 человека (Anna)" in russian and "«Новости дня»" in russian  # noqa: RUF001
    unsure = describer.SceneFacts(objects=[("tripod", 0.07)])
    assert describer.describe(unsure) == "A scene: possibly tripod."
    assert describer.describe(describer.SceneFacts(), "ru") == "Сцена."
