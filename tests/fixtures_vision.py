"""Session fixtures for the vision tests: tiny captioning/translation models, images, a clip.

The tiny models are randomly initialised from small configs and saved with
``save_pretrained``: the vision code then loads them through the same path a real BLIP or
MarianMT model takes. Images are real (scikit-image's samples) or rendered here.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
BANNER_LINES = ("Новости дня", "Breaking news: flash drive found")
CAPTION_WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[DEC]",
    "a",
    "man",
    "cat",
    "dog",
    "on",
    "the",
    "street",
    "with",
    "bike",
    "red",
    "car",
    "sofa",
    "sitting",
    "riding",
    "of",
    "picture",
    "in",
    "and",
]
SPEECH = (
    "The USB stick is on the table.",
    "Please call Stella tomorrow morning.",
    "The weather is fine today.",
)


def render_banner(path: Path, size: tuple[int, int] = (1280, 720)) -> Path:
    """A news banner with a Russian and an English line on a plain background."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    image = Image.new("RGB", size, (40, 60, 90))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), size[1] // 13)
    top = int(size[1] * 0.68)
    draw.rectangle([size[0] // 12, top, size[0] * 11 // 12, top + size[1] // 4], fill="white")
    for i, line in enumerate(BANNER_LINES):
        draw.text((size[0] // 10, top + 10 + i * size[1] // 10), line, font=font, fill="black")
    image.save(path)
    return path


def sample_image(name: str) -> np.ndarray:
    """An RGB sample image of scikit-image (chelsea = a cat, coffee = a cup of espresso)."""
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


@pytest.fixture(scope="session")
def vision_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vision")


@pytest.fixture(scope="session")
def banner_png(vision_dir: Path) -> Path:
    return render_banner(vision_dir / "banner.png")


@pytest.fixture(scope="session")
def tiny_blip(vision_dir: Path) -> Path:
    """A randomly initialised BLIP captioner with a 24-word BERT tokenizer, saved to disk."""
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    folder = vision_dir / "tiny-blip"
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(CAPTION_WORDS) + "\n")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")
    text = dict(
        vocab_size=len(CAPTION_WORDS),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        bos_token_id=5,
        pad_token_id=0,
        sep_token_id=3,
        eos_token_id=3,
        encoder_hidden_size=32,
    )
    vision = dict(
        hidden_size=32,
        image_size=32,
        patch_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
    )
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(
        BlipConfig(text_config=text, vision_config=vision, projection_dim=16)
    )
    processor = BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_clip(vision_dir: Path) -> Path:
    """A randomly initialised CLIP (16-d projections) with a letter-level BPE tokenizer."""
    import string

    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    folder = vision_dir / "tiny-clip"
    folder.mkdir()
    letters = [*string.ascii_lowercase, *"абвгдеёжзийклмнопрстуфхцчшщъыьэюя"]
    tokens = ["<|startoftext|>", "<|endoftext|>", *letters, *(c + "</w>" for c in letters)]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    text = dict(
        vocab_size=len(tokens),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=77,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    vision = dict(
        hidden_size=32,
        image_size=32,
        patch_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
    )
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def _train_spm(corpus: list[str]) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=model,
        vocab_size=40,
        character_coverage=1.0,
        hard_vocab_limit=False,
    )
    return model.getvalue()


@pytest.fixture(scope="session")
def tiny_marian(vision_dir: Path) -> Path:
    """A randomly initialised English->Russian MarianMT model with trained tiny tokenizers."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder = vision_dir / "tiny-marian"
    folder.mkdir()
    corpus = [
        "a cat on the sofa",
        "a man riding a bike",
        "the street at night",
        "кошка на диване",
        "мужчина на велосипеде",
        "улица ночью",
    ] * 20
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for name in ("source", "target"):
        (folder / f"{name}.spm").write_bytes(_train_spm(corpus))
        pieces = spm.SentencePieceProcessor(model_file=str(folder / f"{name}.spm"))
        for i in range(pieces.get_piece_size()):
            vocab.setdefault(pieces.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tokenizer = MarianTokenizer(
        str(folder / "source.spm"),
        str(folder / "target.spm"),
        str(folder / "vocab.json"),
        source_lang="en",
        target_lang="ru",
    )
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=2,
        eos_token_id=0,
        decoder_start_token_id=2,
        forced_eos_token_id=0,
    )
    torch.manual_seed(0)
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="session")
def vision_clip(vision_dir: Path, banner_png: Path) -> Path:
    """9 s, 640x360: a cat photo (someone says "The USB stick is on the table."), the news
    banner ("Please call Stella tomorrow morning."), then moving test patterns
    ("The weather is fine today.")."""
    from PIL import Image

    from tests.fixtures_media import speak, speech_track

    cat = vision_dir / "cat.png"
    Image.fromarray(sample_image("chelsea")).resize((640, 360)).save(cat)
    wavs = [speak(vision_dir / f"speech{i}.wav", text) for i, text in enumerate(SPEECH)]
    path = vision_dir / "vision.mp4"
    scale = "scale=640:360,setsar=1,fps=25,format=yuv420p"
    audio = speech_track(3, wavs, 3.0)
    *audio_inputs, audio_filter = audio
    _ffmpeg(
        "-loop",
        "1",
        "-t",
        "3",
        "-i",
        str(cat),
        "-loop",
        "1",
        "-t",
        "3",
        "-i",
        str(banner_png),
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        *audio_inputs,
        "-filter_complex",
        f"[0:v]{scale}[v0];[1:v]{scale}[v1];[2:v]{scale}[v2];[v0][v1][v2]concat=n=3:v=1:a=0[v];"
        + audio_filter.replace("[a]", "[aout]"),
        "-map",
        "[v]",
        "-map",
        "[aout]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-r",
        "25",
        str(path),
    )
    return path


def tiny_models(settings: Any, blip: Path | None = None, marian: Path | None = None) -> None:
    """Point the vision settings at the tiny models."""
    settings.CAPTION_MODEL = str(blip) if blip else ""
    settings.TRANSLATION_MODEL = str(marian) if marian else ""


def mser_region(*boxes: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """A stable region as MSER gives it: its pixels (x, y) filling ``boxes``, and its box."""
    points = np.unique(
        np.concatenate(
            [
                np.stack(np.meshgrid(np.arange(x, x + w), np.arange(y, y + h)), -1).reshape(-1, 2)
                for x, y, w, h in boxes
            ]
        ),
        axis=0,
    )
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return points, (int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1))
