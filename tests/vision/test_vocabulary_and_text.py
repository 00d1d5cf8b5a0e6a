"""Editor words from ImageNet classes, words vs gibberish in read text, and sideways text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fixtures_vision import BANNER_LINES, sample_image
from vision import mobilenet, ocr, vocabulary, wordcheck


def probabilities(**mass: float) -> np.ndarray:
    """A frame's class probabilities with ``mass`` on ImageNet classes named c<id>."""
    row = np.zeros(1000)
    for name, value in mass.items():
        row[int(name[1:])] = value
    row[999] += 1.0 - row.sum()  # the rest on toilet paper, which no word covers
    return row


def words(tags: list[dict[str, object]]) -> list[object]:
    return [t["label"] for t in tags]


def test_fine_classes_pool_into_the_editor_word() -> None:
    # No car class is sure on its own (cab, minivan, station wagon), together they are.
    frame = probabilities(c468=0.25, c656=0.2, c436=0.2)
    tags = vocabulary.imagenet_tags([frame])
    assert words(tags) == ["car", "street"]
    assert tags[0]["label_ru"] == "машина" and tags[0]["source"] == "imagenet"
    taxi = vocabulary.imagenet_tags([probabilities(c468=0.7)])
    assert words(taxi) == ["car", "taxi", "street"] or words(taxi)[:2] == ["taxi", "car"]


def test_one_frames_hallucination_is_averaged_away() -> None:
    sure, empty = probabilities(c89=0.8), probabilities()
    assert "bird" in words(vocabulary.imagenet_tags([sure, sure]))
    assert "bird" in words(vocabulary.imagenet_tags([sure, empty]))  # 0.4: still a bird
    # A rock crab on one frame only (textures look like one) never makes "animal".
    assert vocabulary.imagenet_tags([probabilities(c119=0.9), empty]) == []
    assert vocabulary.imagenet_tags([probabilities(c119=0.9)]) == []


def test_real_photos_get_words_and_nothing_wrong() -> None:
    images = [sample_image(name) for name in ("chelsea", "coffee", "rocket")]
    cat, coffee, rocket = mobilenet.run_mobilenet(images).probabilities
    assert words(vocabulary.imagenet_tags([cat])) == ["cat", "animal"]
    assert words(vocabulary.imagenet_tags([coffee])) == ["food"]
    assert vocabulary.imagenet_tags([rocket]) == []  # no word for it: better none than wrong


def wide_frame_with_cat_at_the_edge() -> np.ndarray:
    """A 3.2:1 frame of road-grey with the cat photo squeezed into its right end."""
    import cv2

    cat = cv2.resize(sample_image("chelsea"), (300, 300), interpolation=cv2.INTER_AREA)
    frame = np.full((300, 960, 3), 110, np.uint8)
    frame[:, -300:] = cat
    return frame


def test_a_surface_filling_the_frame_is_a_texture_a_thing_on_it_is_not() -> None:
    gravel = sample_image("gravel")
    assert words(vocabulary.imagenet_tags(mobilenet.run_windows([gravel]))) == ["texture"]
    # The same gravel with the cat photo standing on its right end: not every part is surface.
    import cv2

    height = gravel.shape[0]
    cat = cv2.resize(sample_image("chelsea"), (height, height), interpolation=cv2.INTER_AREA)
    wide = np.concatenate([gravel, cat], axis=1)
    tags = words(vocabulary.imagenet_tags(mobilenet.run_windows([wide])))
    assert "texture" not in tags and "cat" in tags
    # A word of the whole frame scores its weakest window, others their strongest.
    surface = probabilities(c599=0.9)  # honeycomb
    assert vocabulary.word_scores([np.stack([surface, probabilities()])])["texture"] < 0.1
    assert vocabulary.word_scores([np.stack([surface, surface])])["texture"] > 0.8


def test_windows_see_what_the_centre_crop_cuts_off() -> None:
    frame = wide_frame_with_cat_at_the_edge()
    centre = mobilenet.run_mobilenet([frame]).probabilities
    windows = mobilenet.run_windows([frame, frame[:, ::-1].copy()])
    assert "cat" not in words(vocabulary.imagenet_tags(centre))
    assert [w.shape for w in windows] == [(16, 1000), (16, 1000)]  # 22 cells wide, 7 x 7
    assert words(vocabulary.imagenet_tags(windows[:1]))[:1] == ["cat"]
    assert words(vocabulary.imagenet_tags(windows[1:]))[:1] == ["cat"]  # mirrored: left end
    # The window that sees the cat is at the end it stands at.
    cats = sorted(vocabulary.WORDS[[w.en for w in vocabulary.WORDS].index("cat")].classes)
    assert int(windows[0][:, cats].sum(axis=1).argmax()) >= 13
    assert int(windows[1][:, cats].sum(axis=1).argmax()) <= 2


def test_one_whole_frame_pass_gives_the_centre_crops_embedding_and_classes() -> None:
    images = [sample_image(name) for name in ("chelsea", "coffee", "rocket")]
    crops = mobilenet.run_mobilenet(images)
    looks = mobilenet.look_at_frames(images)
    for k, look in enumerate(looks):
        # The centre window of the whole frame's map sees what the centre crop sees.
        assert int(look.centre.argmax()) == int(crops.probabilities[k].argmax())
        assert float(look.embedding @ crops.embeddings[k]) > 0.9
        assert abs(float(np.linalg.norm(look.embedding)) - 1.0) < 1e-4
    assert float(looks[0].embedding @ looks[1].embedding) < 0.7  # a cat is not a coffee
    assert [look.windows.shape[1] for look in looks] == [1000] * 3


def test_the_compiled_network_gives_the_plain_networks_maps() -> None:
    import torch

    plain = mobilenet.load_mobilenet_v2("cpu").features
    compiled = mobilenet.feature_extractor("cpu")
    assert compiled is not plain  # compiled on this CPU, not the fallback
    for image in (sample_image("chelsea"), wide_frame_with_cat_at_the_edge()):
        batch = mobilenet.whole_frames([image, image[:, ::-1].copy()])
        with torch.inference_mode():
            assert torch.allclose(compiled(batch), plain(batch), atol=1e-3)


def test_the_second_frame_is_looked_at_only_where_the_keyframe_leaves_tags_open() -> None:
    from vision.looks import look_at_scenes

    cat, rocket = sample_image("chelsea"), sample_image("rocket")
    scenes = [[cat, cat[:, ::-1].copy()], [rocket, rocket[:, ::-1].copy()], [cat]]
    assert [len(found) for found in look_at_scenes(scenes, "cpu", 4)] == [2, 1, 1]
    assert vocabulary.open_words({"bird": 0.21})  # 0.26 needed: the second frame may lift it
    assert not vocabulary.open_words({"bird": 0.1, "animal": 0.3})
    # Twice its threshold (0.26) on the keyframe: a bird whatever the second frame shows.
    assert not vocabulary.open_words({"bird": 0.6})
    assert vocabulary.imagenet_tags([probabilities(c89=0.6), probabilities()])[0]["label"] == "bird"


def test_the_second_look_is_where_the_keyframe_saw_the_open_words() -> None:
    from vision.looks import second_view

    frame = wide_frame_with_cat_at_the_edge()  # 960 wide, the cat in the last 300 px
    keyframe = mobilenet.look_at_frames([frame])[0]
    view = second_view(frame, keyframe)
    assert view is not None and view.shape[0] == frame.shape[0]
    assert 300 <= view.shape[1] <= 480  # the cat's windows and a cell beyond: not the road
    assert (view[:, -300:] == frame[:, -300:]).all()  # it ends where the frame ends
    assert (
        second_view(sample_image("rocket"), mobilenet.look_at_frames([sample_image("rocket")])[0])
        is None
    )


def test_the_network_runs_on_one_thread_and_gives_the_count_back() -> None:
    import torch

    before = torch.get_num_threads()
    with mobilenet.few_threads():
        assert torch.get_num_threads() == 1
        with mobilenet.few_threads():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1  # the outer caller is still inside
    assert torch.get_num_threads() == before


def test_the_thread_count_is_a_setting(settings: Any) -> None:
    import torch

    settings.VISION_TORCH_THREADS = 3  # neither the default nor this machine's core count
    with mobilenet.few_threads():
        assert torch.get_num_threads() == 3


def test_words_editors_use_for_fine_classes() -> None:
    assert words(vocabulary.imagenet_tags([probabilities(c353=0.5, c352=0.3)])) == [
        "deer",
        "animal",
    ]
    cockatoo = vocabulary.imagenet_tags([probabilities(c89=0.6, c87=0.2)])
    assert words(cockatoo) == ["bird", "parrot", "animal"]
    assert [t["label_ru"] for t in cockatoo] == ["птица", "попугай", "животное"]
    bike = vocabulary.imagenet_tags([probabilities(c671=0.2)])  # mountain bike, unsure
    assert words(bike) == ["bicycle"]
    # A white cockatoo's windows lean to the fluffy dog breeds (Kuvasz): not sure enough.
    assert "dog" not in words(vocabulary.imagenet_tags([probabilities(c222=0.55)]))


def test_people_and_black_and_white_tags() -> None:
    colour = sample_image("chelsea")
    grey = np.stack([colour.mean(axis=2).astype(np.uint8)] * 3, axis=-1)
    black = np.zeros_like(colour)
    assert vocabulary.is_black_and_white([grey]) and not vocabulary.is_black_and_white([colour])
    assert not vocabulary.is_black_and_white([black])  # a black frame says nothing
    tags = vocabulary.scene_tags([probabilities()], faces=3, black_and_white=True)
    assert [(t["label"], t["label_ru"]) for t in tags] == [
        ("people", "люди"),
        ("black and white", "чёрно-белое"),
    ]
    assert words(vocabulary.scene_tags([probabilities()], faces=1)) == ["person"]


def test_clip_prompts_become_editor_words() -> None:
    ranked = [("a bicycle", 0.6), ("a city street", 0.25), ("a dog", 0.1)]
    tags = vocabulary.clip_tags(ranked, 0.2)
    assert [(t["label"], t["label_ru"]) for t in tags] == [
        ("bicycle", "велосипед"),
        ("street", "улица"),
    ]


@pytest.mark.parametrize(
    ("read", "kept"),
    [
        ([("TAXI", 91.0)], ["TAXI"]),
        ([("Breaking", 93.0), ("news:", 90.0)], ["Breaking", "news:"]),
        ([("Новости", 88.0), ("дня", 90.0)], ["Новости", "дня"]),
        (
            [("Copyright", 90.0), ("2013", 92.0), ("Castellano", 91.0)],
            ["Copyright", "2013", "Castellano"],
        ),
        ([("lIl", 80.0), ("Wee", 71.0), ("ЁЁЁ", 75.0)], []),
        ([("Initiate", 90.0), ("Search", 88.0), ("Searc", 60.0)], ["Initiate", "Search"]),
        ([("Initiate", 90.0), ("Searc", 60.0), ("xqzt", 95.0)], []),
        ([("3095", 81.0), ("dD]", 60.0)], []),
        ([("www", 91.0), ("bcastell", 90.0), ("com", 97.0)], ["www.bcastell.com"]),
        ([("www", 60.0), ("bcastell", 90.0), ("com", 97.0)], []),
    ],
)
def test_gibberish_is_dropped_and_words_kept(
    read: list[tuple[str, float]], kept: list[str]
) -> None:
    assert wordcheck.real_words(read) == kept


def test_text_filmed_sideways_is_read_and_boxed_on_the_frame(
    banner_png: Path, tmp_path: Path
) -> None:
    import cv2

    upright = cv2.imread(str(banner_png))
    for code in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE):
        sideways = cv2.rotate(upright, code)
        lines = ocr.read_scene([sideways], "rus+eng", tmp_path)
        assert [line.text for line in lines] == list(BANNER_LINES)
        height, width = sideways.shape[:2]
        for line in lines:  # a tall box (the line stands on its side) inside the frame
            x, y, w, h = line.box
            assert x >= 0 and x + w <= width and y >= 0 and y + h <= height and h > w


def test_the_frame_with_the_most_text_is_read(banner_png: Path, tmp_path: Path) -> None:
    import cv2

    banner = cv2.imread(str(banner_png))
    blank = np.full_like(banner, 128)
    lines = ocr.read_scene([blank, banner, blank], "rus+eng", tmp_path)
    assert [line.text for line in lines] == list(BANNER_LINES)
    assert ocr.read_scene([blank], "rus+eng", tmp_path) == []


def test_part_windows_lift_only_the_small_words() -> None:
    """A bicycle (small word) and cars come through in a part window only: the bicycle is
    lifted to it, the car stays at its whole-height score."""
    whole = np.stack([probabilities(c671=0.05, c436=0.1), probabilities()])
    part = np.stack([probabilities(c671=0.3, c436=0.6)])  # mountain bike, station wagon
    plain = vocabulary.word_scores([whole])
    lifted = vocabulary.word_scores([whole], [part])
    assert plain["bicycle"] == pytest.approx(0.05) and lifted["bicycle"] == pytest.approx(0.3)
    assert lifted["car"] == pytest.approx(plain["car"])
    # Only a frame where a small word already shows a little is worth its part windows.
    assert vocabulary.wants_parts(whole) and not vocabulary.wants_parts(np.stack([whole[1]]))


SHARED = Path(__file__).parents[3] / "shared" / "media"


def shared_frames(clip: str, seconds: list[float]) -> list[np.ndarray]:
    import os

    import cv2

    path = Path(os.environ.get("SHARED_MEDIA", SHARED)) / "shots" / clip
    if not path.exists():
        pytest.skip(f"no shared clip {clip}")
    capture, frames = cv2.VideoCapture(str(path)), []
    for at in seconds:
        capture.set(cv2.CAP_PROP_POS_MSEC, at * 1000)
        ok, frame = capture.read()
        assert ok
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def test_a_bicycle_behind_a_bollard_is_named_from_part_windows() -> None:
    """The shared bikes clip's last shot (a bicycle parked by a wall, a bollard in front):
    no whole-height window is sure of it, a part window is; package photos without a bicycle
    are not even classified in part windows."""
    from vision.looks import look_at_scenes, scores_of

    frames = shared_frames("bikes.mp4", [8.74, 8.48])  # the keyframe and 1 s in, as stored
    looks = look_at_scenes([frames], "cpu", 4)[0]
    assert all(look.parts is not None for look in looks)
    assert vocabulary.word_scores([look.windows for look in looks])["bicycle"] < 0.15
    assert "bicycle" in words(vocabulary.sure_words(scores_of(looks)))
    photos = [sample_image(name) for name in ("chelsea", "coffee", "rocket", "astronaut")]
    assert all(
        look.parts is None
        for look in mobilenet.look_at_frames(photos, parts=vocabulary.wants_parts)
    )
