"""The ocr stage's fraction moves scene by scene, not only when a batch's Tesseract run ends."""

from __future__ import annotations

import threading

from vision.stages.ocr import SEARCH_SHARE, SceneCount


def test_the_fraction_grows_as_each_scene_is_searched_then_as_each_batch_is_read() -> None:
    seen: list[float] = []
    count = SceneCount(4, lambda fraction, _message: seen.append(fraction))
    count._progress.interval = 0.0  # every report passes (the throttle is not under test)
    for _ in range(4):  # two batches of two scenes, searched before either is read
        count.searched()
    assert seen == [SEARCH_SHARE * k / 4 for k in range(1, 5)]
    count.read(2)
    count.read(2)
    assert seen[-2:] == [SEARCH_SHARE + (1 - SEARCH_SHARE) / 2, 1.0]


def test_threads_counting_at_once_lose_no_scene() -> None:
    seen: list[float] = []
    count = SceneCount(200, lambda fraction, _message: seen.append(fraction))

    def batch() -> None:
        for _ in range(50):
            count.searched()
        count.read(50)

    threads = [threading.Thread(target=batch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[-1] == 1.0 and seen == sorted(seen)
