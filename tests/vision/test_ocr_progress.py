"""The ocr stage's fraction moves scene by scene, not only when a batch's Tesseract run ends."""

from __future__ import annotations

import threading

import pytest

from vision.stages.ocr import SEARCH_SHARE, SceneCount


def test_the_fraction_grows_as_each_scene_is_searched_then_as_each_batch_is_read() -> None:
    count = SceneCount(4)
    seen = []
    for _ in range(4):  # two batches of two scenes, searched before either is read
        count.searched()
        seen.append(count.fraction())
    assert seen == pytest.approx([SEARCH_SHARE * k / 4 for k in range(1, 5)])
    count.read(2)
    assert count.fraction() == pytest.approx(SEARCH_SHARE + (1 - SEARCH_SHARE) / 2)
    count.read(2)
    assert count.fraction() == pytest.approx(1.0) and count.read_scenes == 4


def test_threads_counting_at_once_lose_no_scene() -> None:
    count = SceneCount(200)

    def batch() -> None:
        for _ in range(50):
            count.searched()
        count.read(50)

    threads = [threading.Thread(target=batch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count.fraction() == pytest.approx(1.0) and count.read_scenes == 200
