"""The runner imports the stages' heavy packages on one thread before the lanes start side by
side: two threads importing torch at once saw it half made and a resumed run failed with
"partially initialized module 'torch' has no attribute 'Tensor'"."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, ClassVar

import pytest

from analysis.pipeline import build_pipeline
from analysis.pipeline.base import Stage, StageContext
from analysis.pipeline.lanes import preload_imports

# Small standard modules that nothing in the test process imports on its own.
FIRST, SECOND = "xml.dom.minidom", "wsgiref.simple_server"


def stage(name: str, lane: str, modules: tuple[str, ...]) -> Stage[Any]:
    class Imports(Stage[None]):
        label = name
        imports: ClassVar[tuple[str, ...]] = modules

        def compute(self, ctx: StageContext) -> None:
            return None

        def persist(self, ctx: StageContext, result: None) -> None:
            return None

    Imports.name = name
    Imports.lane = lane
    return Imports()


@pytest.fixture
def forgotten() -> None:
    for name in (FIRST, SECOND):
        sys.modules.pop(name, None)


def test_two_lanes_have_their_packages_imported_first(forgotten: None) -> None:
    lanes = {
        "main": [stage("pictures", "main", (FIRST, "no_such_package_here"))],
        "sound": [stage("speech", "sound", (SECOND, FIRST))],
    }
    assert preload_imports(lanes) == [FIRST, SECOND]  # once each; the missing one skipped
    assert FIRST in sys.modules and SECOND in sys.modules


def test_one_lane_imports_nothing_ahead(forgotten: None) -> None:
    lanes = {"main": [stage("pictures", "main", (FIRST,))], "sound": []}
    assert preload_imports(lanes) == []
    assert FIRST not in sys.modules


def test_every_declared_package_of_the_default_pipeline_exists() -> None:
    stages = build_pipeline(None)
    declared = {name for s in stages for name in s.imports}
    assert {"torch", "faster_whisper", "resemblyzer", "cv2"} <= declared
    missing = [name for name in declared if importlib.util.find_spec(name) is None]
    assert missing == []


@pytest.mark.django_db
def test_a_run_asks_for_passive_waits_before_its_stages_import(
    user: Any, three_shot_clip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis import services
    from analysis.pipeline.runner import analysis_execute

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    video = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video, parameters={"stages": ["probe"]}, enqueue=False)
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed", done and done.error
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
