"""Fixtures of the export tests: the long-GOP numbered clip and a finished analysis of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_exports import ASSIGNMENT, NAMES, LongGopClip, make_long_gop_clip


@pytest.fixture(scope="session")
def long_gop_clip(tmp_path_factory: pytest.TempPathFactory) -> LongGopClip:
    return make_long_gop_clip(tmp_path_factory.mktemp("long_gop") / "Numbered film.mp4")


@pytest.fixture
def long_gop_analysis(user: Any, long_gop_clip: LongGopClip) -> Any:
    """A completed analysis of the long-GOP clip: one scene per shot, two storylines."""
    from frontend.seeding import seed_analysis

    return seed_analysis(
        owner=user,
        video_path=long_gop_clip.path,
        cuts=long_gop_clip.cuts,
        storylines=2,
        assignment=ASSIGNMENT,
        names=NAMES,
    )
